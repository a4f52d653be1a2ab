"""首页 (today's work) and 同步 (the outbox, read from the store)."""

from __future__ import annotations

from harness import Harness
from ui_photos import make_jpeg

from app.services import Services


def test_home_shows_unsynced_and_visits_due(run_app, services):
    visited, _ = services.save_household({"head": "王建国", "address": "1号"})
    due, _ = services.save_household({"head": "李桂兰", "address": "2号"})
    vid, errors = services.save_visit({"household": visited, "kind": "routine"}, [], [])
    assert not errors

    async def scenario(h: Harness) -> None:
        unsynced = h.by_key("home-unsynced")
        assert "3" in [c.value for c in h.all(root=unsynced) if hasattr(c, "value")]
        assert h.has_key(f"due:{due}") and not h.has_key(f"due:{visited}")
        await h.tap(f"due:{due}")
        assert h.route == f"/households/{due}"

    run_app(scenario)


def test_sync_screen_counts_records_and_photos_truthfully(run_app, services: Services, tmp_path):
    hid, _ = services.save_household({"head": "王建国", "address": "1号"})
    ref = services.add_photo(make_jpeg(tmp_path / "a.jpg").read_bytes())
    services.save_visit({"household": hid, "kind": "routine"}, [], [ref])
    # The same picture attached to a problem too: two attachment records, one photo file.
    iid, _ = services.save_issue({"title": "路灯坏了", "category": "infra.lighting"}, [ref])
    assert iid

    async def scenario(h: Harness) -> None:
        await h.nav(4)
        n = services.store.outbox_size()  # household, visit, issue, its report event, 2 attachments
        assert n == 6 and h.by_key("sync-waiting").value.startswith(f"{n} ")
        assert h.by_key("sync-kind:photo").title.value == "照片附件"
        assert h.by_key("sync-kind:photo").subtitle.value == "2"
        assert h.by_key("sync-photos").value.startswith("照片文件 1 张等待上传")  # one definition: files
        assert h.by_key("sync-kind:household").subtitle.value == "1"
        assert h.by_key("sync-kind:visit").subtitle.value == "1"
        await h.nav(0)
        assert h.by_key("home-unsynced").content.controls[0].value == str(n)  # 首页 counts the same
        await h.nav(4)
        # nothing pretends to sync: no button on this screen
        assert not h.all(where=ft_button)
        # what the sync engine acknowledges disappears from the list; the photo file still
        # waits until the server confirms it (records go first, photos after)
        services.store.mark_acked([c["change_id"] for c in services.store.pending_changes()])
        await h.nav(0)
        await h.nav(4)
        assert h.has_key("sync-kind:household") is False
        assert h.by_key("sync-waiting").value.startswith("0 ")
        assert h.by_key("sync-photos").value.startswith("照片文件 1 张等待上传")

    run_app(scenario)


def ft_button(c) -> bool:
    import flet as ft

    return isinstance(c, (ft.FilledButton, ft.OutlinedButton, ft.Button, ft.TextButton)) and c.key not in ("nav", "open-settings", "open-inbox")  # the app bar
