"""联户 on the staff screens: the figures per village with their N, the households without a
member, and the register with the households each member looks after."""

from __future__ import annotations

from harness import Harness
from staff_seed import CLOCK, township
from test_staff_screens import run_staff

from sync.changes import new_record


def put(services, kind: str, grid: str, fields: dict) -> str:
    rec, _ = new_record(kind, grid, fields, CLOCK, "worker-1")
    services.store.apply_remote([rec], None)
    return rec["id"]


def test_staff_see_pairing_figures_and_the_register(device, services):
    ids = township(services)
    east, west = ids["g-east"], ids["g-west"]
    h1 = put(services, "household", east, {"village": ids["v-east"], "head": "王建国", "address": "一组3号"})
    put(services, "household", east, {"village": ids["v-east"], "head": "刘芳", "address": "一组5号"})
    h3 = put(services, "household", west, {"village": ids["v-west"], "head": "陈强", "address": "湖边1号"})
    m = put(services, "member", east, {"name": "李党员", "village": ids["v-east"], "duty": "party_member",
                                        "uses_app": True})
    put(services, "pairing", east, {"member": m, "household": h1})
    put(services, "visit", east, {"household": h1, "visitor": "worker-1", "kind": "routine",
                                  "time": "2026-10-08T09:00:00", "companion": m})
    put(services, "visit", west, {"household": h3, "visitor": "worker-1", "kind": "routine",
                                  "time": "2026-10-09T09:00:00"})

    async def scenario(h: Harness) -> None:
        await h.go("/figures")
        await h.tap("open-people")
        assert h.route == "/figures/people"
        assert h.by_key("people-total:paired_households-value").value == "1"
        assert h.by_key("people-total:paired_households-n").value == "N=3"
        assert h.by_key("people-total:unpaired_households-value").value == "2"
        assert h.by_key("people-total:member_visits:2026-Q4").value == "1"
        assert h.by_key(f"people-v-{ids['v-west']}:paired_households-value").value == "0"
        text = h.screen_text()
        assert "东风村" in text and "西湖村" in text and "刘芳 · 一组5号" in text and "陈强 · 湖边1号" in text
        assert "王建国 · 一组3号" in h.by_key(f"staff-member-homes:{m}").value
        assert "党员" in text and "使用App" in text
        await h.back()
        assert h.route == "/figures"

    run_staff(device, scenario)


def test_pairing_travels_from_the_phone_to_the_staff_desk_through_the_real_server(server, tmp_path):
    from test_staff_sync import device

    wdev = device(server, tmp_path / "worker", "w1")
    sdev = device(server, tmp_path / "staff", "staff")
    worker = wdev.services
    try:
        wdev.sync.sync_now()  # the first sync brings the grid's village (the profile's until then is local)
        hid, errors = worker.save_household({"head": "王建国", "address": "一组3号"})
        assert not errors
        worker.save_household({"head": "刘芳", "address": "一组5号"})
        mid, errors = worker.save_member({"name": "李党员", "duty": "party_member", "uses_app": True})
        assert not errors
        assert worker.pair(mid, hid) == {}
        _vid, errors = worker.save_visit({"household": hid, "kind": "routine", "companion": mid}, [], [])
        assert not errors
        wdev.sync.sync_now()
        assert worker.outbox()["by_kind"] == {}, worker.outbox()  # nothing refused, nothing left
        sdev.sync.sync_now()
        staff = sdev.services
        assert [(m["name"], m["households"]) for m in staff.members()] == [("李党员", [hid])]
        report = staff.pairing_report()
        assert (report.total.households, report.total.paired, len(report.total.unpaired_ids)) == (2, 1, 1)
        assert sum(report.total.member_visits.values()) == 1
        # an unpairing on the phone reaches the desk as a delete
        worker.unpair(mid, hid)
        wdev.sync.sync_now()
        sdev.sync.sync_now()
        assert staff.household_members(hid) == [] and staff.pairing_report().total.paired == 0
    finally:
        wdev.close()
        sdev.close()
