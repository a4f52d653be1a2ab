"""问题墙: report with category tree and photos, counts by status, timeline, comment,
re-check with the resident's verdict, wish claim and fulfil."""

from __future__ import annotations

from harness import Harness
from ui_photos import make_jpeg, picker_answer

from app.services import Services
from sync import workflow as wf
from sync.changes import new_record
from sync.clock import HybridClock


def staff_does(services: Services, iid: str, etype: str, data: dict) -> None:
    """A township staff event arriving by sync (pulled records are applied as-is)."""
    issue = services.store.get("issue", iid)
    events = [e for e in services.store.all("issue_event") if e["fields"]["issue"] == iid]
    clock = HybridClock("server-node")
    rec, _change = wf.new_event(issue, etype, data, clock, "staff-1", "township_staff", after=events)
    services.store.apply_remote([rec], None)


def resolved_issue(services: Services) -> str:
    iid, errors = services.save_issue({"title": "路灯不亮", "category": "infra.lighting"}, [])
    assert not errors
    staff_does(services, iid, "accept", {})
    staff_does(services, iid, "assign", {"unit": "power-station", "deadline": "2030-01-01"})
    staff_does(services, iid, "resolve", {"reply": "已更换灯泡"})
    return iid


def test_report_issue_with_category_and_photos(run_app, services, tmp_path):
    pics = [make_jpeg(tmp_path / "p1.jpg"), make_jpeg(tmp_path / "p2.jpg", (10, 160, 10))]
    hid, _ = services.save_household({"head": "李桂兰", "address": "东风村1组2号"})

    async def scenario(h: Harness) -> None:
        h.conn.answers["pick_files"] = picker_answer(pics)
        await h.nav(3)
        assert h.by_key("status:submitted").label.value.endswith("0")
        await h.tap("issue-add")
        await h.type("f:title", "村口道路塌陷")
        await h.type("f:description", "雨后塌了一个坑，约一米宽")
        await h.tap("cat:infra")
        await h.tap("subcat:infra.road")
        await h.tap("appeal:help")
        await h.tap("urgency:critical")
        await h.type("household-search", "李")
        await h.tap(f"pick-household:{hid}")
        await h.tap("visibility:hidden")
        await h.tap("issue-photo-add")
        assert h.has_key("issue-photo-thumb:1")
        await h.tap("save")
        iid = h.route.rsplit("/", 1)[1]
        f = services.store.get("issue", iid)["fields"]
        assert f["category"] == "infra.road" and f["appeal_type"] == "help"
        assert f["urgency"] == "critical" and f["reporter_visibility"] == "hidden"
        assert f["household"] == hid and len(f["photos"]) == 2
        assert h.by_key("issue-title").value == "村口道路塌陷"
        assert h.has_key("issue-photo:0") and h.has_key("issue-photo:1")
        # full view on tap
        await h.tap("issue-photo:0")
        assert h.all(where=lambda c: getattr(c, "key", None) == "photo-full")
        await h.tap("photo-close")
        # the timeline starts with the report
        assert "上报" in h.by_key("event:0").title.value
        await h.back()
        assert h.route == "/issues"
        assert h.by_key("status:submitted").label.value.endswith("1")
        assert h.has_key(f"issue:{iid}")
        await h.tap("status:closed")
        assert not h.has_key(f"issue:{iid}")

    run_app(scenario)


def test_issue_title_required_message(run_app, services):
    async def scenario(h: Harness) -> None:
        await h.go("/issues/new")
        await h.tap("save")
        assert "标题" in h.by_key("f:title").error
        assert services.store.all("issue") == []

    run_app(scenario)


def test_recheck_with_residents_verdict(run_app, services):
    iid = resolved_issue(services)

    async def scenario(h: Harness) -> None:
        # 首页 lists it as waiting for my re-check
        assert h.has_key(f"recheck:{iid}")
        await h.tap(f"recheck:{iid}")
        assert h.route == f"/issues/{iid}"
        # "not satisfied" needs a reason
        await h.tap("solved:yes")
        await h.tap("satisfied:no")
        await h.tap("recheck-save")
        assert h.by_key("recheck-reason").error
        await h.type("recheck-reason", "灯泡亮度不够")
        await h.tap("recheck-save")
        assert services.issue(iid)["status"] == "rechecked"
        assert not h.has_key("recheck-save")  # no second re-check
        texts = [h.by_key(k).subtitle.value for k in h.keys("event:")]
        assert any("灯泡亮度不够" in x for x in texts)
        await h.go("/")
        assert not h.has_key(f"recheck:{iid}")

    run_app(scenario)


def test_not_solved_goes_back_to_the_unit(run_app, services):
    iid = resolved_issue(services)

    async def scenario(h: Harness) -> None:
        await h.go(f"/issues/{iid}")
        await h.tap("solved:no")
        await h.tap("satisfied:no")
        await h.type("recheck-reason", "还是不亮")
        await h.tap("recheck-save")
        row = services.issue(iid)
        assert row["status"] == "assigned" and row["redo_count"] == 1

    run_app(scenario)


def test_comment(run_app, services):
    iid, _ = services.save_issue({"title": "垃圾没人清运"}, [])

    async def scenario(h: Harness) -> None:
        await h.go(f"/issues/{iid}")
        await h.tap("comment-send")
        assert h.by_key("comment").error
        await h.type("comment", "已经三天没有清运")
        await h.tap("comment-send")
        assert h.by_key("comment").value == ""
        assert any("已经三天没有清运" in (h.by_key(k).subtitle.value or "") for k in h.keys("event:"))

    run_app(scenario)


def test_wish_claim_and_fulfil(run_app, services, tmp_path):
    pic = make_jpeg(tmp_path / "gift.jpg")

    async def scenario(h: Harness) -> None:
        h.conn.answers["pick_files"] = picker_answer([pic])
        await h.go("/issues/new")
        await h.tap("kind:wish")
        await h.type("f:title", "想要一台收音机")
        await h.tap("save")
        iid = h.route.rsplit("/", 1)[1]
        assert services.issue(iid)["status"] == "collected"
        assert not h.has_key("fulfil-save") and not h.has_key("recheck-save")
        await h.tap("claim-save")  # nobody picked, nobody registered: refused
        assert "请选择认领人" in h.screen_text() and services.issue(iid)["status"] == "collected"
        await h.type("claimant-new-name", "县供电公司党支部")
        await h.tap("claimant-new-kind:unit")
        await h.tap("claim-save")  # registered, then claimed
        assert services.issue(iid)["status"] == "claimed"
        [c] = services.claimants()
        assert (c["name"], c["kind"]) == ("县供电公司党支部", "unit")
        claim = [e for e in services.store.all("issue_event") if e["fields"]["type"] == "claim"][0]
        assert claim["fields"]["data"] == {"claimant": c["id"], "by": "县供电公司党支部"}
        assert "县供电公司党支部" in h.by_key("issue-claimed").value
        await h.type("fulfil-note", "已送到老人家中")
        await h.tap("fulfil-photo-add")
        assert h.has_key("fulfil-photo-thumb:0")
        await h.tap("fulfil-save")
        row = services.issue(iid)
        assert row["status"] == "fulfilled"
        assert row["timeline"][-1]["photos"]
        await h.back()
        await h.tap("issue-kind:wish")
        assert h.by_key("status:fulfilled").label.value.endswith("1")

    run_app(scenario)


def test_a_hotline_problem_reaches_the_worker_who_calls_the_resident_and_rechecks(run_app, services):
    """Issue 14: a problem staff registered from the 12345 hotline, pulled into this grid,
    shows where it came from and whom to call; the worker does the 回头看 as for any other."""
    clock = HybridClock("server-node")
    fields = {"issue_kind": "problem", "title": "夜间施工噪音", "reporter": "county-1", "source": "hotline",
              "external_no": "QT-7", "contact_name": "王先生", "contact_phone": "13812345678",
              "reporter_visibility": "hidden"}
    rec, _ = new_record("issue", services.grid_id, fields, clock, "county-1")
    services.store.apply_remote([rec], None)
    ev, _ = wf.new_event(rec, "report", {"note": "由12345热线登记"}, clock, "county-1", "county_staff")
    services.store.apply_remote([ev], None)
    iid = rec["id"]
    staff_does(services, iid, "assign", {"unit": "county-housing", "deadline": "2030-01-01"})
    staff_does(services, iid, "resolve", {"reply": "已责令夜间停工"})

    async def scenario(h: Harness) -> None:
        assert h.has_key(f"recheck:{iid}")  # on 首页, waiting for my re-check
        await h.tap(f"recheck:{iid}")
        assert "12345热线 · QT-7" in h.by_key("issue-source").value
        assert "王先生 13812345678" in h.by_key("issue-contact").value
        await h.tap("solved:yes")
        await h.tap("satisfied:yes")
        await h.tap("recheck-save")
        assert services.issue(iid)["status"] == "rechecked"

    run_app(scenario)
