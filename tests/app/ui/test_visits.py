"""走访: a visit with a demand becomes a visit and a new issue in one step; photos; history."""

from __future__ import annotations

from harness import Harness, browser_picker
from ui_photos import make_jpeg, picker_answer

from app.services import Services


def add_household(services: Services) -> str:
    hid, errors = services.save_household({"head": "王建国", "address": "东风村3组12号"})
    assert not errors
    return hid


def test_visit_with_demand_and_photos_creates_issue(run_app, services, tmp_path):
    hid = add_household(services)
    pics = [make_jpeg(tmp_path / "a.jpg"), make_jpeg(tmp_path / "b.jpg", (20, 90, 200))]

    async def scenario(h: Harness) -> None:
        h.conn.answers["pick_files"] = picker_answer(pics)
        await h.nav(2)
        await h.tap("visit-add")
        assert h.route == "/visits/new"
        await h.type("household-search", "wjg")
        await h.tap(f"pick-household:{hid}")
        assert "王建国" in h.by_key("picked-household").value
        await h.tap("visit-kind:care")
        await h.type("f:people_met", "王建国夫妇")
        await h.type("f:seen", "屋顶漏雨，墙面潮湿")
        await h.type("f:said", "希望帮忙修屋顶")
        await h.tap("demand-add")
        await h.type("d0:title", "屋顶漏雨需维修")
        await h.tap("d0-urgency:urgent")
        await h.tap("visit-photo-add")
        assert h.has_key("visit-photo-thumb:0") and h.has_key("visit-photo-thumb:1")
        # remove one before saving
        await h.tap("visit-photo-remove:0")
        assert h.has_key("visit-photo-thumb:0") and not h.has_key("visit-photo-thumb:1")
        await h.tap("save")
        assert h.route.startswith("/visits/") and h.route != "/visits/new"
        vid = h.route.rsplit("/", 1)[1]
        visit = services.store.get("visit", vid)["fields"]
        assert visit["household"] == hid and visit["kind"] == "care"
        assert visit["seen"] == "屋顶漏雨，墙面潮湿"
        assert len(visit["photos"]) == 1
        assert services.store.has_photo(visit["photos"][0])
        photos = services.store.all("photo")
        assert [p["fields"]["attached_to"] for p in photos] == [{"kind": "visit", "id": vid}]
        [issue_id] = visit["demands"]
        issue = services.store.get("issue", issue_id)["fields"]
        assert issue["title"] == "屋顶漏雨需维修" and issue["household"] == hid
        assert issue["urgency"] == "urgent"
        assert services.issue(issue_id)["status"] == "submitted"
        assert h.has_key(f"visit-demand:{issue_id}")
        # history lists it; the household detail shows the visit and the issue
        await h.back()
        assert h.route == "/visits" and h.has_key(f"visit:{vid}")
        await h.go(f"/households/{hid}")
        assert h.has_key(f"hh-visit:{vid}") and h.has_key(f"hh-issue:{issue_id}")

    run_app(scenario)


def test_visit_needs_household_and_demand_title(run_app, services):
    add_household(services)

    async def scenario(h: Harness) -> None:
        await h.go("/visits/new")
        await h.tap("demand-add")
        await h.tap("save")
        assert h.route == "/visits/new"
        assert h.by_key("household-search").error
        assert h.by_key("d0:title").error
        assert services.store.all("visit") == [] and services.store.all("issue") == []

    run_app(scenario)


def test_visit_draft_keeps_household_and_photos(run_app, services, tmp_path):
    hid = add_household(services)
    pic = make_jpeg(tmp_path / "a.jpg")

    async def scenario(h: Harness) -> None:
        h.conn.answers["pick_files"] = picker_answer([pic])
        await h.go(f"/households/{hid}")
        await h.tap("hh-new-visit")
        assert h.route == "/visits/new"
        assert "王建国" in h.by_key("picked-household").value
        await h.type("f:seen", "一切正常")
        await h.tap("visit-photo-add")
        await h.tap("back")
        await h.tap("leave-keep")
        await h.nav(0)
        await h.tap("home-new-visit")
        assert h.by_key("f:seen").value == "一切正常"
        assert h.has_key("visit-photo-thumb:0")
        assert "王建国" in h.by_key("picked-household").value

    run_app(scenario)


def test_not_an_image_is_refused_with_a_message(run_app, services, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"this is not a picture")

    async def scenario(h: Harness) -> None:
        h.conn.answers["pick_files"] = picker_answer([bad])
        await h.go("/visits/new")
        await h.tap("visit-photo-add")
        assert not h.has_key("visit-photo-thumb:0")
        problems = [c.value for c in h.all(where=lambda c: getattr(c, "key", None) == "visit-photo-problem")]
        assert problems and "notes.jpg" in problems[0]

    run_app(scenario)


def test_browser_photo_upload_path(run_app, services, tmp_path):
    """In a browser the picker gives no paths: files are uploaded to the upload folder,
    read from there, processed, and the uploaded copies removed."""
    hid = add_household(services)
    pics = [make_jpeg(tmp_path / "x.jpg"), make_jpeg(tmp_path / "y.jpg", (0, 120, 0))]

    async def scenario(h: Harness) -> None:
        browser_picker(pics, services.upload_dir, h.conn)
        await h.go("/visits/new")
        await h.type("household-search", "王")
        await h.tap(f"pick-household:{hid}")
        await h.tap("visit-photo-add")
        for _ in range(20):  # uploads report progress asynchronously
            if h.has_key("visit-photo-thumb:1"):
                break
            await h.settle()
        assert h.has_key("visit-photo-thumb:0") and h.has_key("visit-photo-thumb:1")
        assert not list(services.upload_dir.rglob("*.jpg"))
        await h.tap("save")
        vid = h.route.rsplit("/", 1)[1]
        assert len(services.store.get("visit", vid)["fields"]["photos"]) == 2

    run_app(scenario)


def test_forms_started_from_a_household_keep_their_defaults(run_app, services):
    hid = add_household(services)

    async def scenario(h: Harness) -> None:
        await h.go(f"/households/{hid}")
        await h.tap("hh-new-visit")
        assert h.by_key("visit-kind:routine").selected
        await h.type("f:seen", "一切正常")
        await h.tap("save")
        assert h.route.startswith("/visits/") and h.route != "/visits/new"
        assert services.store.all("visit")[0]["fields"]["kind"] == "routine"
        await h.go(f"/households/{hid}")
        await h.tap("hh-new-issue")
        assert h.by_key("urgency:normal").selected and h.by_key("visibility:named").selected

    run_app(scenario)
