"""`gridwall sync ...` end to end: enroll, now, status, export, operator upload, import-return."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from app.store import Store
from sync.changes import new_record
from sync.client.cli import ENROLLMENT_KEY, make_sync_app
from sync.server import admin as server_admin

runner = CliRunner()
cli = make_sync_app(Store.open)


def _enroll(real, who, data) -> dict:
    _, code = real.run(server_admin.create_enrollment, real.org.users[who])
    r = runner.invoke(cli, ["enroll", "--data", str(data), "--server", real.url, "--code", code, "--name", "测试机"])
    assert r.exit_code == 0, r.output
    assert "已注册" in r.output
    st = Store.open(data)
    try:
        return st.meta_get(ENROLLMENT_KEY)
    finally:
        st.close()


def _add(real, data, en, n, head="户主"):
    st = Store.open(data)
    try:
        for i in range(n):
            _, c = new_record("household", real.org.grid,
                              {"village": real.org.village, "address": f"{i}号", "head": f"{head}{i}"},
                              st.clock, en["user"]["id"])
            st.save(c)
    finally:
        st.close()


def test_enroll_now_status(real, tmp_path):
    data = tmp_path / "dev"
    en = _enroll(real, "w1", data)
    r = runner.invoke(cli, ["status", "--data", str(data)])
    assert r.exit_code == 0 and "还没有同步过" in r.output
    _add(real, data, en, 4)
    r = runner.invoke(cli, ["now", "--data", str(data)])
    assert r.exit_code == 0, r.output
    assert "同步完成" in r.output and "全部已同步" in r.output
    assert real.count("applied_changes") == 4
    r = runner.invoke(cli, ["status", "--data", str(data)])
    assert "全部已同步" in r.output and "上次成功同步：" in r.output and "上次失败" not in r.output


def test_not_enrolled_and_bad_code_say_what_to_do(real, tmp_path):
    r = runner.invoke(cli, ["now", "--data", str(tmp_path / "x")])
    assert r.exit_code == 1 and "找不到设备数据目录" in r.output and "gridwall sync enroll" in r.output
    assert not (tmp_path / "x").exists()  # a mistyped --data creates nothing
    for cmd in (["status"], ["export", "--out", str(tmp_path / "b.gwb")]):
        r = runner.invoke(cli, [*cmd, "--data", str(tmp_path / "x")])
        assert r.exit_code == 1 and "找不到设备数据目录" in r.output and not (tmp_path / "x").exists()
    (tmp_path / "y").mkdir()
    r = runner.invoke(cli, ["now", "--data", str(tmp_path / "y")])
    assert r.exit_code == 1 and "还没有注册" in r.output
    r = runner.invoke(cli, ["enroll", "--data", str(tmp_path / "x"), "--server", real.url, "--code", "NOPE-NOPE"])
    assert r.exit_code == 1 and "注册码" in r.output


def test_bundle_round_trip_through_operator_upload(real, tmp_path):
    devs = {}
    drop = tmp_path / "u盘"
    drop.mkdir()
    for who in ("w1", "w2"):
        data = tmp_path / who
        en = _enroll(real, who, data)
        _add(real, data, en, 3, head=who)
        r = runner.invoke(cli, ["export", "--data", str(data), "--out", str(drop / f"{who}.gwb")])
        assert r.exit_code == 0 and "没有删除" in r.output, r.output
        devs[who] = (data, en)
    shutil.copy(drop / "w1.gwb", tmp_path / "copy-w1.gwb")  # the same bundle twice
    (drop / "bad.gwb").write_bytes(b"PK\x03\x04 this copy was cut short")
    op = real.enroll("operator")
    args = ["upload", str(drop), str(tmp_path / "copy-w1.gwb"), "--server", real.url, "--token", op.token]
    r = runner.invoke(cli, args)
    assert r.exit_code == 1, r.output  # the bad bundle
    assert "同步包无效" in r.output and "拷贝" in r.output
    assert real.count("applied_changes") == 6
    receipt = json.loads((drop / "w1.receipt.json").read_text(encoding="utf-8"))
    assert receipt["status"] == "ok" and receipt["accepted"] + receipt["duplicate"] == 3
    assert json.loads((drop / "bad.receipt.json").read_text(encoding="utf-8"))["status"] == "invalid"
    # Re-run with only the good ones: safe, all duplicate, exit 0.
    (drop / "bad.gwb").unlink()
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert real.count("applied_changes") == 6
    # Each device applies its return bundle: outbox empty, status synced after.
    for who, (data, _) in devs.items():
        r = runner.invoke(cli, ["import-return", str(drop / f"{who}.return.gwb"), "--data", str(data)])
        assert r.exit_code == 0 and "回执包已导入" in r.output, r.output
        st = Store.open(data)
        try:
            assert st.outbox_size() == 0
        finally:
            st.close()
    # A return bundle for the other device is refused, clearly.
    r = runner.invoke(cli, ["import-return", str(drop / "w1.return.gwb"), "--data", str(devs["w2"][0])])
    assert r.exit_code == 1 and "另一台设备" in r.output


def test_upload_needs_an_operator(real, tmp_path):
    data = tmp_path / "w1"
    en = _enroll(real, "w1", data)
    _add(real, data, en, 1)
    runner.invoke(cli, ["export", "--data", str(data), "--out", str(tmp_path / "a.gwb")])
    r = runner.invoke(cli, ["upload", str(tmp_path / "a.gwb"), "--server", real.url, "--token", en["token"]])
    assert r.exit_code == 1 and "运维" in r.output
    assert real.count("applied_changes") == 0


def test_upload_survives_a_cut_link(real, tmp_path):
    from tests.support.linkemu import Fault, FaultProxy

    data = tmp_path / "w1"
    en = _enroll(real, "w1", data)
    _add(real, data, en, 200)  # a bundle of some size
    out = tmp_path / "w1.gwb"
    assert runner.invoke(cli, ["export", "--data", str(data), "--out", str(out)]).exit_code == 0
    op = real.enroll("operator")
    with FaultProxy(("127.0.0.1", real.port)) as p:
        p.add(Fault.cut("up", 3000, match=b"PUT /api/v1/blobs/"), Fault.drop_response(match=b"POST /api/v1/bundles"))
        r = runner.invoke(cli, ["upload", str(out), "--server", p.url, "--token", op.token])
        assert r.exit_code == 0, r.output
        assert len(p.stats.faults_fired) == 2
    assert real.count("applied_changes") == 200
    receipt = json.loads((tmp_path / "w1.receipt.json").read_text(encoding="utf-8"))
    # The first import's answer was lost; the retry found everything already applied.
    assert receipt["status"] == "ok" and receipt["duplicate"] == 200


def test_upload_to_an_unreachable_server_says_so_for_the_operator(tmp_path):
    from tests.support.net import free_port

    port = free_port()  # closed again: nothing listens there
    bundle = tmp_path / "a.gwb"
    bundle.write_bytes(b"not really a bundle")
    r = runner.invoke(cli, ["upload", str(bundle), "--server", f"http://127.0.0.1:{port}", "--token", "t"])
    assert r.exit_code == 1
    receipt = json.loads((tmp_path / "a.receipt.json").read_text(encoding="utf-8"))
    assert receipt["status"] == "failed"
    assert f"连不上服务器 http://127.0.0.1:{port}" in receipt["message"] and "手机" not in receipt["message"]
