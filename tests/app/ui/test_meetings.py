"""村民会议 in the field app and on the staff screens: a meeting to the 十有 standard with
participants from the register and free names, a problem raised that becomes an issue in the
same save, a photo, findable by date, place and topic, and its minutes printed."""

from __future__ import annotations

import subprocess

from harness import Harness
from staff_seed import make_staff
from ui_photos import make_jpeg, picker_answer

from app.services import Services


def test_record_a_meeting_that_raises_a_problem_and_print_its_minutes(run_app, services: Services, tmp_path):
    lead, _ = services.save_member({"name": "孙德明", "duty": "household_lead"})
    services.save_member({"name": "李红军", "duty": "party_member"})
    pic = make_jpeg(tmp_path / "m.jpg")

    async def scenario(h: Harness) -> None:
        h.conn.answers["pick_files"] = picker_answer([pic])
        await h.tap("open-meetings")
        assert h.route == "/meetings" and h.has_key("meeting-add")
        await h.tap("meeting-add")
        await h.type("f:time", "昨晚")
        await h.tap("demand-add")
        await h.tap("save")  # a bad time, no place, no topic, an empty problem: nothing is saved
        assert h.route == "/meetings/new"
        assert h.by_key("f:time").error and h.by_key("f:place").error and h.by_key("f:topic").error
        assert h.by_key("d0:title").error
        assert services.store.all("meeting") == [] and services.store.all("issue") == []
        await h.tap("meeting-kind:night_talk")
        await h.type("f:time", "2026-11-30 19:30")
        await h.type("f:place", "3组晒坝")
        await h.type("f:topic", "修缮村道排水沟")
        await h.type("f:host", "李红军")
        await h.tap("meeting-member:孙德明")
        await h.type("f:guests", "王大爷、赵婶")
        await h.type("f:agenda", "一、排水沟现状；二、出工办法")
        await h.type("f:speeches", "王大爷：雨季积水进屋")
        await h.type("f:decisions", "每户出工两天")
        await h.type("f:follow_ups", "孙德明12月10日前排工")
        await h.type("d0:title", "3组排水沟堵塞")
        await h.tap("d0-urgency:urgent")
        await h.tap("meeting-photo-add")
        await h.tap("save")
        assert h.route.startswith("/meetings/") and h.route != "/meetings/new"
        mid = h.route.rsplit("/", 1)[1]
        f = services.store.get("meeting", mid)["fields"]
        assert (f["meeting_kind"], f["place"], f["topic"], f["members"], f["guests"]) == (
            "night_talk", "3组晒坝", "修缮村道排水沟", [lead], "王大爷、赵婶")
        assert f["recorder"] == services.user_id and len(f["photos"]) == 1
        [iid] = f["raised"]
        issue = services.issue(iid)
        assert issue["title"] == "3组排水沟堵塞" and issue["urgency"] == "urgent" and issue["status"] == "submitted"
        assert [e["type"] for e in issue["timeline"]] == ["report"]
        assert [p["fields"]["attached_to"] for p in services.store.all("photo")] == [{"kind": "meeting", "id": mid}]
        assert "1 个问题已上报" in h.screen_text()
        assert h.by_key("meeting-people").value == "孙德明、王大爷、赵婶"
        assert h.has_key(f"meeting-issue:{iid}") and h.has_key("meeting-photo:0")
        await h.tap("meeting-print")
        path = h.by_key("minutes-path").value.split("：", 1)[-1].strip()
        text = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True, check=True).stdout
        assert "修缮村道排水沟" in text and "每户出工两天" in text and "3组排水沟堵塞" in text
        # findable by date, place and topic
        await h.back()
        assert h.route == "/meetings" and h.has_key(f"meeting:{mid}")
        for query, found in (("2026-11", True), ("晒坝", True), ("排水沟 2026-11-30", True), ("2026-10", False),
                             ("院坝会", False), ("乡村夜话", True)):
            await h.type("meeting-query", query)
            assert h.has_key(f"meeting:{mid}") is found, query

    run_app(scenario)


def test_staff_read_meetings_without_the_form(device, services: Services):
    from test_staff_screens import run_staff

    mid, errors = services.save_meeting({"meeting_kind": "council", "time": "2026-11-02 09:00", "place": "村委会",
                                         "topic": "议定低保评议", "decisions": "三户纳入"}, [], [])
    assert not errors
    make_staff(services)

    async def scenario(h: Harness) -> None:
        await h.go("/figures")
        await h.tap("open-meetings")
        assert h.route == "/meetings" and h.has_key(f"meeting:{mid}") and not h.has_key("meeting-add")
        await h.tap(f"meeting:{mid}")
        assert "三户纳入" in h.by_key("meeting-decisions").value
        assert h.by_key("meeting-agenda").value == "（未记录）"

    run_staff(device, scenario)


def test_the_demo_has_a_meeting_that_raised_a_problem(services: Services):
    from app.demo_seed import seed_demo

    seed_demo(services.store, services.grid_id, services.user_id, services.profile["village_id"],
              households=40, rng_seed=7, photos=0)
    [m] = services.meetings()
    assert m["kind"] == "yard" and m["member_names"] and m["decisions"] and m["headcount"] == 26
    [iid] = m["raised"]
    assert services.issue(iid)["status"] == "submitted"
    assert services.meetings("晒坝") and not services.meetings("不存在的地点")
