"""Every screen of the field app and the staff app, enrolled and with data, checked for
control combinations Flutter cannot lay out (tests/app/ui/layout_rules.py: each would paint as a
grey box). The harness runs the same check after every action of every UI test; this test
makes sure every screen is reached at least once, at phone and desk widths."""

from __future__ import annotations

import asyncio

from harness import Harness
from layout_rules import layout_faults
from test_staff_sync import device

from app.ui.app import make_main


def test_the_layout_rules_catch_a_wrapping_row_with_expanded_children():
    import flet as ft

    bad = ft.Row([ft.OutlinedButton("a", expand=True), ft.OutlinedButton("b")], wrap=True)
    assert layout_faults(bad) == ["OutlinedButton has expand inside a wrapping Row"]
    assert layout_faults(ft.Column([ft.Text("x", expand=True)], scroll=ft.ScrollMode.AUTO))
    assert layout_faults(ft.Row([ft.TextField(label="x")]))
    assert layout_faults(ft.Row([ft.Semantics(content=ft.TextField(label="x"))]))
    assert not layout_faults(ft.Row([ft.TextField(label="x", expand=True), ft.Dropdown(width=90)]))
    assert not layout_faults(ft.Row([ft.OutlinedButton("a", expand=True)]))


def test_every_screen_lays_out_enrolled_with_data(server, tmp_path):
    wdev = device(server, tmp_path / "worker", "w1")
    sdev = device(server, tmp_path / "staff", "staff")
    worker = wdev.services
    try:
        hid, errors = worker.save_household({"head": "王建国", "address": "一组 3 号",
                                             "members": [{"name": "王建国", "relation": "户主"}]})
        assert not errors, errors
        vid, errors = worker.save_visit({"household": hid, "kind": "routine", "seen": "屋顶漏雨"},
                                        [{"title": "屋顶漏雨", "urgency": "normal", "issue_kind": "problem"}], [])
        assert not errors, errors
        iid = worker.issues()[0]["id"]
        wdev.sync.sync_now()
        sdev.sync.sync_now()

        async def walk(dev, routes, width, taps=()) -> None:
            h = await Harness.start(make_main(dev), width=width, web=True)
            try:
                for route in routes:
                    await h.go(route)  # the harness checks the layout after every step
                    assert not [f for v in h.views for f in layout_faults(v)]
                    for key in taps:
                        if h.has_key(key):
                            await h.tap(key)
            finally:
                await h.close()

        field_routes = ["/", "/households", "/households/new", f"/households/{hid}",
                        f"/households/{hid}/edit", f"/households/{hid}/pair", "/households/members",
                        "/households/members/new", "/meetings", "/meetings/new", "/visits", "/visits/new", f"/visits/{vid}", "/issues",
                        "/issues/new", f"/issues/{iid}", "/sync", "/sync/enroll", "/settings"]
        staff_routes = ["/", "/board", f"/board/{iid}", "/wall", "/figures", "/figures/people", "/figures/wishes", "/meetings", "/flags", "/sync",
                        "/sync/enroll", "/settings"]
        # open the repeating parts of the forms (members, demands) and a category's children
        taps = ("member-add", "demand-add", "cat:infra")
        for width in (390, 1366):
            asyncio.run(walk(wdev, field_routes, width, taps))
            asyncio.run(walk(sdev, staff_routes, width))
    finally:
        wdev.close()
        sdev.close()
