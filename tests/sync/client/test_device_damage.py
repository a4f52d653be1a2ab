"""A damaged device file, end to end (issue 11, finding 5): `gridwall sync status` says what was
damaged and what it means, and `gridwall sync now` brings back what the server has, against the
real server on 127.0.0.1."""

from __future__ import annotations

from typer.testing import CliRunner

from app.store import Store, partition_name
from sync.changes import new_record
from sync.client.cli import ENROLLMENT_KEY, make_sync_app
from sync.server import admin as server_admin

runner = CliRunner()
cli = make_sync_app(Store.open)


def _device(real, data, n=30) -> list[str]:
    _, code = real.run(server_admin.create_enrollment, real.org.users["w1"])
    r = runner.invoke(cli, ["enroll", "--data", str(data), "--server", real.url, "--code", code, "--name", "手机"])
    assert r.exit_code == 0, r.output
    with Store.open(data) as st:
        uid = st.meta_get(ENROLLMENT_KEY)["user"]["id"]
        ids = []
        for i in range(n):
            _, c = new_record("household", real.org.grid,
                              {"village": real.org.village, "address": f"{i}号", "head": f"户主{i}"}, st.clock, uid)
            ids.append(st.save(c)["id"])
    r = runner.invoke(cli, ["now", "--data", str(data)])
    assert r.exit_code == 0 and "全部已同步" in r.output, r.output
    return ids


def _households(data) -> set[str]:
    with Store.open(data) as st:
        return {h["id"] for h in st.all("household")}


def test_truncated_shard_is_said_and_pulled_back(real, tmp_path):
    data = tmp_path / "phone"
    ids = _device(real, data)
    pname = partition_name("household", ids[0])
    path = data / "records" / f"{pname}.json"
    path.write_bytes(path.read_bytes()[:-25])  # truncated
    lost = {i for i in ids if partition_name("household", i) == pname}
    assert lost and _households(data) == set(ids) - lost  # the rest opens

    out = runner.invoke(cli, ["status", "--data", str(data)]).output
    assert "全部已同步" not in out, out
    assert f"{pname}.json" in out and "住户记录" in out and "重新拉取" in out

    out = runner.invoke(cli, ["now", "--data", str(data)]).output
    assert "全部已同步" in out and f"{pname}.json" in out  # repaired, and still said what happened
    assert _households(data) == set(ids)  # what the server has came back


def test_damaged_meta_keeps_the_device_enrolled_and_syncing(real, tmp_path):
    data = tmp_path / "phone"
    ids = _device(real, data)
    (data / "meta.json").write_text('{"meta": {"node"')
    out = runner.invoke(cli, ["status", "--data", str(data)]).output
    assert "meta.json" in out and "无需重新注册" in out and "还没有注册" not in out, out
    r = runner.invoke(cli, ["now", "--data", str(data)])
    assert r.exit_code == 0 and "全部已同步" in r.output, r.output
    assert _households(data) == set(ids)


def test_outbox_that_lost_entries_says_so_and_sends_the_rest(real, tmp_path):
    data = tmp_path / "phone"
    _device(real, data, n=1)
    with Store.open(data) as st:
        uid = st.meta_get(ENROLLMENT_KEY)["user"]["id"]
        ids = [st.save(new_record("household", real.org.grid, {"village": real.org.village, "address": f"{i}号",
                                                              "head": f"新户{i}"}, st.clock, uid)[1])["id"]
               for i in range(4)]
    seg = sorted((data / "outbox").glob("*.ndjson"))[-1]
    lines = seg.read_bytes().split(b"\n")
    lines[1] = b"###"
    seg.write_bytes(b"\n".join(lines))
    out = runner.invoke(cli, ["status", "--data", str(data)]).output
    assert "! " in out and "1 条" in out and "丢失" in out and "3 条" in out, out
    r = runner.invoke(cli, ["now", "--data", str(data)])
    assert r.exit_code == 0 and "丢失" in r.output
    server = {rid for rid, rec in real.state().items() if rec["kind"] == "household"}
    assert set(ids) - server == {ids[1]}  # the unreadable one is gone, the three others arrived
