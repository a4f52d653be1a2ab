"""Where a visit or an issue was made: the device's position (Flet's Geolocator) goes into
the record when the device gives one, is shown on the record's page, and a refusal or no
geolocation saves the record without it, with no dialog."""

from __future__ import annotations

from datetime import UTC, datetime

from harness import Harness
from test_visits import add_household

FIX_AT = datetime(2026, 12, 1, 2, 15, 0, tzinfo=UTC)


def grant(h: Harness, lat: float = 30.252678, lon: float = 120.168742, accuracy: float = 12.4) -> None:
    h.conn.answers["get_permission_status"] = lambda _a: "whileInUse"
    h.conn.answers["get_current_position"] = lambda _a: {
        "latitude": lat, "longitude": lon, "accuracy": accuracy, "timestamp": FIX_AT}


def refuse(h: Harness) -> None:
    h.conn.answers["get_permission_status"] = lambda _a: "denied"
    h.conn.answers["request_permission"] = lambda _a: "deniedForever"

    def no(_a: object) -> None:
        raise AssertionError("asked for a position without permission")
    h.conn.answers["get_current_position"] = no


def test_a_visit_records_where_it_was_made_and_shows_it(run_app, services):
    hid = add_household(services)

    async def scenario(h: Harness) -> None:
        grant(h)
        await h.go("/visits/new")
        await h.type("household-search", "wjg")
        await h.tap(f"pick-household:{hid}")
        await h.type("f:seen", "屋顶漏雨")
        await h.tap("save")
        vid = h.route.rsplit("/", 1)[1]
        loc = services.store.get("visit", vid)["fields"]["location"]
        assert loc == {"lat": 30.252678, "lon": 120.168742, "accuracy": 12.4,
                       "at": int(FIX_AT.timestamp() * 1000)}
        assert h.by_key("visit-location").value == "位置 30.25268, 120.16874（误差约 12 米）"

    run_app(scenario)


def test_an_issue_records_where_it_was_made_and_staff_see_it(run_app, services):
    async def scenario(h: Harness) -> None:
        grant(h, 29.5, 119.25, 35.0)
        await h.go("/issues/new")
        await h.type("f:title", "村口路灯不亮")
        await h.tap("save")
        iid = h.route.rsplit("/", 1)[1]
        assert services.store.get("issue", iid)["fields"]["location"]["lat"] == 29.5
        assert h.by_key("issue-location").value == "位置 29.50000, 119.25000（误差约 35 米）"
        # the staff's issue page (issue_head, shared) is built from the same row
        from app.services.staff import StaffServices

        assert StaffServices(services).staff_issue(iid)["location_text"] == "位置 29.50000, 119.25000（误差约 35 米）"

    run_app(scenario)


def test_refused_permission_or_no_geolocation_saves_without_location(run_app, services):
    async def scenario(h: Harness) -> None:
        refuse(h)
        await h.go("/issues/new")
        await h.type("f:title", "垃圾桶满了")
        await h.tap("save")
        iid = h.route.rsplit("/", 1)[1]
        assert "location" not in services.store.get("issue", iid)["fields"]
        assert not h.has_key("issue-location")
        # a client with no geolocation at all (answers nothing useful): saved, no location
        h.conn.answers.pop("get_permission_status")
        await h.go("/issues/new")
        await h.type("f:title", "井盖松动")
        await h.tap("save")
        iid2 = h.route.rsplit("/", 1)[1]
        assert iid2 != iid and "location" not in services.store.get("issue", iid2)["fields"]

    run_app(scenario)
