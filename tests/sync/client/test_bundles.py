"""The .gwb format: round trip, export deletes nothing, and every bad bundle refused whole."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import zipfile

import pytest

from sync.bundles.format import BundleError, BundleLimits, build_bundle, read_bundle, sign
from sync.client.bundles import apply_return, export_bundle
from sync.client.replica import MemoryReplica

SECRET = bytes.fromhex("11" * 32)
OTHER = bytes.fromhex("22" * 32)


def secrets(dev: str) -> bytes | None:
    return SECRET if dev == "dev-a" else None


def _device_with_data() -> MemoryReplica:
    r = MemoryReplica("dev-a")
    for i in range(5):
        r.edit(None, "visit", "g1", {"note": f"走访 {i}"})
    r.add_photo(os.urandom(3000))
    return r


def _snapshot(r: MemoryReplica) -> dict:
    return copy.deepcopy({"records": r.records, "outbox": r.outbox, "refused": r.refused,
                          "photos": r.photos, "cursor": r.cursor(), "uploaded": r.uploaded})


def _craft(entries: dict[str, bytes], secret: bytes = SECRET, manifest: dict | None = None,
           listed: dict[str, bytes] | None = None, compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A bundle zip written by hand, so each check can be reached on its own."""
    listed = entries if listed is None else listed
    m = {"format": "gridwall-bundle", "version": 1, "kind": "return", "device_id": "dev-a",
         "user": "u", "created_ms": 1, "counts": {}, "cursor": "5", "from_cursor": None,
         "entries": {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in listed.items()}}
    m.update(manifest or {})
    mb = json.dumps(m).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compress) as z:
        z.writestr("manifest.json", mb)
        z.writestr("signature", sign(secret, mb))
        for n, d in entries.items():
            z.writestr(zipfile.ZipInfo(n), d, compress_type=compress)
    return buf.getvalue()


def _good_return() -> dict[str, bytes]:
    return {"acks.ndjson": b"", "records.ndjson": b""}


def test_round_trip_and_export_deletes_nothing(tmp_path):
    r = _device_with_data()
    before = _snapshot(r)
    s = export_bundle(r, tmp_path / "a.gwb", device_id="dev-a", user="u1", secret=SECRET)
    assert s.changes == 5 and s.photos == 1
    assert _snapshot(r) == before  # nothing deleted, nothing marked
    b = read_bundle(tmp_path / "a.gwb", secrets)
    assert b.kind == "device" and b.device_id == "dev-a"
    assert [c["change_id"] for c in b.changes] == list(r.outbox)
    assert set(b.blobs) == set(r.photos)
    assert b.manifest["counts"]["changes"] == 5
    assert set(b.manifest["entries"]) == {"changes.ndjson", *(f"blobs/{s}" for s in r.photos)}


def test_return_bundle_applies_with_the_replica_calls(tmp_path):
    r = _device_with_data()
    changes = r.pending_changes(100)
    acks = [{"change_id": c["change_id"], "status": "applied"} for c in changes[:3]]
    acks.append({"change_id": changes[3]["change_id"], "status": "duplicate"})
    acks.append({"change_id": changes[4]["change_id"], "status": "refused", "code": "scope", "reason": "不在你的网格"})
    other = {"id": "0190c4b2-0000-7000-8000-000000000001", "kind": "household", "grid": "g1",
             "fields": {"note": "服务器上的"}, "stamps": {"note": "1732435200000-0000-srv"}, "seq": 9}
    sha = next(iter(r.photos))
    data = build_bundle(kind="return", device_id="dev-a", user="u1", secret=SECRET, acks=acks,
                        records=[other], extra={"from_cursor": None, "cursor": "9", "photos_stored": [sha]})
    s = apply_return(r, data, device_id="dev-a", secret=SECRET)
    assert s.acked == 4 and len(s.refused) == 1 and s.cursor_moved
    assert r.outbox_size() == 0 and r.refused_changes()[0]["reason"] == "不在你的网格"
    assert r.records[other["id"]]["fields"]["note"] == "服务器上的" and r.cursor() == "9"
    assert r.photos_to_upload() == []
    # The same return bundle again changes nothing more; an old one does not move the cursor back.
    snap = _snapshot(r)
    s2 = apply_return(r, data, device_id="dev-a", secret=SECRET)
    assert not s2.cursor_moved and _snapshot(r) == snap


def _refused(data: bytes, code: str, limits: BundleLimits | None = None) -> BundleError:
    r = _device_with_data()
    before = _snapshot(r)
    with pytest.raises(BundleError) as ei:
        read_bundle(data, secrets, limits=limits)
    assert ei.value.code == code, ei.value.message
    with pytest.raises(BundleError):
        apply_return(r, data, device_id="dev-a", secret=SECRET, limits=limits)
    assert _snapshot(r) == before  # no side effects
    assert ei.value.message and "bundle.error" not in ei.value.message  # catalog text, not a key
    return ei.value


def test_good_crafted_bundle_is_accepted():
    b = read_bundle(_craft(_good_return()), secrets)
    assert b.kind == "return" and b.acks == [] and b.records == []


def test_not_a_zip():
    _refused(b"hello, this is a text file\n" * 10, "not_zip")


def test_truncated_copy():
    good = build_bundle(kind="device", device_id="dev-a", user="u", secret=SECRET,
                        changes=[{"change_id": str(i)} for i in range(50)])
    for cut in (10, len(good) // 2, len(good) - 5):
        err = _refused(good[:cut], "damaged")
        assert "拷贝" in err.message


def test_wrong_signature():
    _refused(_craft(_good_return(), secret=OTHER), "signature")


def test_unknown_device():
    _refused(_craft(_good_return(), manifest={"device_id": "dev-x"}), "unknown_device")


def test_tampered_entry_with_untouched_manifest():
    entries = _good_return()
    listed = dict(entries)
    entries = {**entries, "acks.ndjson": b'{"change_id":"x","status":"applied"}\n'}
    _refused(_craft(entries, listed=listed), "hash")


def test_manifest_edited_after_signing():
    data = _craft(_good_return())
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename == "manifest.json":
                body = body.replace(b'"cursor": "5"', b'"cursor": "9"')
            zout.writestr(info.filename, body)
    _refused(buf.getvalue(), "signature")


def test_blob_not_matching_its_name():
    fake = "ab" * 32
    _refused(_craft({**_good_return(), f"blobs/{fake}": b"not that"}), "hash")


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "blobs/../../x", "C:\\win", "a//b"])
def test_paths_outside_the_archive(name):
    _refused(_craft({**_good_return(), name: b"x"}), "bad_path")


def test_unknown_entry():
    _refused(_craft({**_good_return(), "run.sh": b"rm -rf /"}), "unknown_entry")


def test_entries_missing_from_manifest():
    entries = _good_return()
    _refused(_craft(entries, listed={"acks.ndjson": b""}), "entries_mismatch")


def test_too_many_entries():
    blobs = {f"blobs/{hashlib.sha256(bytes([i])).hexdigest()}": bytes([i]) for i in range(30)}
    _refused(_craft({**_good_return(), **blobs}), "too_many", BundleLimits(max_entries=20))


def test_entry_too_big_and_total_too_big():
    big = os.urandom(5000)
    entries = {**_good_return(), f"blobs/{hashlib.sha256(big).hexdigest()}": big}
    _refused(_craft(entries), "entry_too_big", BundleLimits(max_entry_bytes=4000))
    _refused(_craft(entries), "too_big", BundleLimits(max_total_bytes=4000))


def test_zip_bomb():
    zeros = b"\0" * (20 * 1024 * 1024)  # deflates about 1000:1
    _refused(_craft({**_good_return(), "records.ndjson": zeros}), "bomb")


def test_declared_size_lie():
    data = bytearray(_craft({**_good_return(), "records.ndjson": b'{"a":1}\n' * 500}))
    # Shrink the uncompressed size in the central directory entry of records.ndjson.
    name = b"records.ndjson"
    cd = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    data[cd + 24 : cd + 28] = (100).to_bytes(4, "little")
    _refused(bytes(data), "damaged")


def test_unknown_version_and_kind():
    _refused(_craft(_good_return(), manifest={"version": 2}), "version")
    _refused(_craft(_good_return(), manifest={"format": "other"}), "bad_manifest")
    device = build_bundle(kind="device", device_id="dev-a", user="u", secret=SECRET, changes=[])
    r = MemoryReplica("dev-a")
    with pytest.raises(BundleError) as ei:
        apply_return(r, device, device_id="dev-a", secret=SECRET)
    assert ei.value.code == "wrong_kind"
    # the kinds by their names, not the manifest's English words
    assert "设备导出的同步包" in ei.value.message and "device" not in ei.value.message


def test_bad_ndjson_line():
    _refused(_craft({"acks.ndjson": b'{"ok":1}\nnot json\n', "records.ndjson": b""}), "bad_line")


def test_return_bundle_for_another_device():
    r = _device_with_data()
    data = build_bundle(kind="return", device_id="dev-b", user="u", secret=SECRET, acks=[], records=[],
                        extra={"cursor": "1", "from_cursor": None})
    before = _snapshot(r)
    with pytest.raises(BundleError) as ei:
        apply_return(r, data, device_id="dev-a", secret=SECRET)
    assert ei.value.code == "not_for_device" and "dev-b" in ei.value.message
    assert _snapshot(r) == before
