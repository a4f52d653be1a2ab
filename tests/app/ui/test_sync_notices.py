"""The 同步 screen says what happened (issue 11, findings 3 and 5): a server restored from a
backup, with how many records this device offered again, against the real server on 127.0.0.1."""

from __future__ import annotations

import pytest
from harness import Harness
from realsync import FAST
from typer.testing import CliRunner

from sync.client.cli import ENROLLMENT_KEY
from sync.server import admin as server_admin
from sync.server.cli import admin_app
from tests.support.server import RealServer


@pytest.fixture
def sync_options() -> dict:
    return {"background": False, **FAST}  # no runner thread: these tests sync when they mean to


def _admin(server: RealServer, *args: str) -> None:
    r = CliRunner().invoke(admin_app, ["--db", f"sqlite:///{server.root / 'server.sqlite'}", *args])
    assert r.exit_code == 0, r.output


def test_sync_screen_says_the_server_was_restored(run_app, services, sync_svc, server, tmp_path):
    _, code = server.run(server_admin.create_enrollment, server.org.users["w1"])

    async def scenario(h: Harness) -> None:
        await h.nav(4)
        await h.tap("sync-enroll-open")
        await h.type("enroll-url", server.url)
        await h.type("enroll-code", code)
        await h.tap("enroll-submit")
        assert services.store.meta_get(ENROLLMENT_KEY)
        await h.tap("sync-now")
        _admin(server, "backup", str(tmp_path / "b.sqlite3"))
        hid, _ = services.save_household({"head": "王建国", "address": "东村3组1号"})
        await h.tap("sync-now")
        assert h.by_key("sync-status").value == "全部已同步"
        assert not h.has_key("sync-notice-0")  # nothing to say yet
        _admin(server, "restore", str(tmp_path / "b.sqlite3"))
        assert hid not in server.state()  # the restore lost it
        await h.tap("sync-now")
        assert h.by_key("sync-status").value == "全部已同步"
        notice = h.by_key("sync-notice-0").value
        assert "从备份恢复" in notice and "重新提交了 1 条" in notice and "其中 1 条" in notice
        assert server.state()[hid]["fields"]["head"] == "王建国"  # given back by the device

    run_app(scenario, route="/")

