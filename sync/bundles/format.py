"""The ``.gwb`` bundle: a signed zip that carries changes and photos without a network.

Layout (docs/bundle-format.md)::

    manifest.json     what is inside, with the sha256 and size of every other entry
    signature         hex HMAC-SHA256 of manifest.json's bytes with the device secret
    changes.ndjson    one change per line (device bundles)
    acks.ndjson       one ack per line (return bundles)
    records.ndjson    one record per line (return bundles)
    snapshot.bin      a starter pack's records, columnar and compressed (sync/snapshot.py)
    blobs/<sha256>    photo bytes, named by their hash

Reading checks everything before anything is used and has no side effects: a bundle is
accepted whole or refused whole, with a message that says what is wrong and what to do.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.hashes import SHA256_PATTERN
from sync.i18n import t

FORMAT = "gridwall-bundle"
VERSION = 1
KINDS = ("device", "return", "snapshot")
_ALLOWED = re.compile(r"^(manifest\.json|signature|changes\.ndjson|acks\.ndjson|records\.ndjson|snapshot\.bin|blobs/"
                      + SHA256_PATTERN.strip("^$") + ")$")


@dataclass(frozen=True)
class BundleLimits:
    max_entries: int = 20_000
    max_entry_bytes: int = 64 * 1024 * 1024  # a photo, or a month of changes
    max_total_bytes: int = 256 * 1024 * 1024  # held in memory while checked: keep it modest
    max_ratio: float = 200.0  # uncompressed / compressed; JSON makes ~10-30, a bomb thousands
    ratio_floor_bytes: int = 1024 * 1024  # small entries may compress as well as they like
    max_manifest_bytes: int = 16 * 1024 * 1024


class BundleError(ValueError):
    """A bundle refused as a whole. ``code`` for machines, ``message`` for people."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        self.message = t(f"bundle.error.{code}", **params)
        super().__init__(self.message)


@dataclass
class Bundle:
    manifest: dict
    changes: list[dict] = field(default_factory=list)
    acks: list[dict] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    snapshot: bytes | None = None  # snapshot bundles: the payload, still compressed

    @property
    def device_id(self) -> str:
        return self.manifest["device_id"]

    @property
    def kind(self) -> str:
        return self.manifest["kind"]


def _ndjson(items: Iterable[dict]) -> bytes:
    return b"".join(json.dumps(i, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n" for i in items)


def sign(secret: bytes, manifest_bytes: bytes) -> str:
    return hmac.new(secret, manifest_bytes, hashlib.sha256).hexdigest()


def build_bundle(
    *,
    kind: str,
    device_id: str,
    user: str | None,
    secret: bytes,
    changes: Iterable[dict] = (),
    acks: Iterable[dict] = (),
    records: Iterable[dict] = (),
    blobs: dict[str, bytes] | None = None,
    extra: dict | None = None,
    created_ms: int | None = None,
    snapshot: bytes | None = None,
) -> bytes:
    """The bytes of a signed bundle."""
    if kind not in KINDS:
        raise ValueError(f"unknown bundle kind {kind!r}")
    entries: dict[str, bytes] = {}
    changes, acks, records = list(changes), list(acks), list(records)
    if kind == "device" or changes:
        entries["changes.ndjson"] = _ndjson(changes)
    if kind == "return":
        entries["acks.ndjson"] = _ndjson(acks)
        entries["records.ndjson"] = _ndjson(records)
    if kind == "snapshot":
        entries["snapshot.bin"] = snapshot or b""
    for sha, data in sorted((blobs or {}).items()):
        if hashlib.sha256(data).hexdigest() != sha:
            raise ValueError(f"blob bytes do not match {sha}")
        entries[f"blobs/{sha}"] = data
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "device_id": device_id,
        "user": user,
        "created_ms": created_ms if created_ms is not None else int(time.time() * 1000),
        "counts": {"changes": len(changes), "acks": len(acks), "records": len(records), "blobs": len(blobs or {})},
        "entries": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for name, data in entries.items()
        },
        **(extra or {}),
    }
    mbytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        # Fixed entry times: the same content gives the same bytes (a starter pack's download
        # resumes by byte range against a file the server makes again).
        z.writestr(zipfile.ZipInfo("manifest.json", date_time=(2020, 1, 1, 0, 0, 0)), mbytes,
                   compress_type=zipfile.ZIP_DEFLATED)
        z.writestr(zipfile.ZipInfo("signature", date_time=(2020, 1, 1, 0, 0, 0)), sign(secret, mbytes),
                   compress_type=zipfile.ZIP_DEFLATED)
        for name, data in entries.items():
            # Photos are JPEG already and a snapshot is compressed: storing them saves CPU on
            # the phone and loses nothing.
            stored = name.startswith("blobs/") or name == "snapshot.bin"
            ctype = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data, compress_type=ctype)
    return buf.getvalue()


def _safe_name(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or ":" in name:
        return False
    parts = name.split("/")
    return ".." not in parts and "" not in parts and "." not in parts


def _read_entry(z: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """Read at most the declared size (and the cap); a longer stream is a lie: refuse."""
    out = bytearray()
    with z.open(info) as f:
        while True:
            chunk = f.read(65536)
            if not chunk:
                break
            out.extend(chunk)
            if len(out) > info.file_size or len(out) > cap:
                raise BundleError("size_lie", name=info.filename)
    return bytes(out)


def _parse_lines(data: bytes, name: str) -> list[dict]:
    out = []
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise BundleError("bad_line", name=name, line=n) from None
        if not isinstance(item, dict):
            raise BundleError("bad_line", name=name, line=n)
        out.append(item)
    return out


def read_bundle(
    source: Path | str | bytes,
    secret_for: Callable[[str], bytes | None],
    limits: BundleLimits | None = None,
    expect_kind: str | None = None,
) -> Bundle:
    """Open, check and parse a bundle; raises BundleError (nothing is changed anywhere).

    ``secret_for(device_id)`` gives the signing secret for the device named in the manifest
    (None: unknown device).
    """
    lim = limits or BundleLimits()
    try:
        raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        raise BundleError("unreadable", detail=exc.strerror or str(exc)) from None
    try:
        z = zipfile.ZipFile(io.BytesIO(raw))
        infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        # A zip that starts right but cannot be opened was cut short (an unfinished copy).
        raise BundleError("damaged" if raw[:4] == b"PK\x03\x04" else "not_zip") from None
    with z:
        # 1. The table of contents, before any byte is inflated.
        if len(infos) > lim.max_entries:
            raise BundleError("too_many", n=len(infos), limit=lim.max_entries)
        names: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if not _safe_name(name):
                raise BundleError("bad_path", name=name[:200])
            if name in names:
                raise BundleError("duplicate_entry", name=name)
            if not _ALLOWED.match(name):
                raise BundleError("unknown_entry", name=name[:200])
            if info.file_size > lim.max_entry_bytes:
                raise BundleError("entry_too_big", name=name, size=info.file_size, limit=lim.max_entry_bytes)
            if info.file_size > lim.ratio_floor_bytes and info.file_size > lim.max_ratio * max(1, info.compress_size):
                raise BundleError("bomb", name=name)
            total += info.file_size
            names[name] = info
        if total > lim.max_total_bytes:
            raise BundleError("too_big", size=total, limit=lim.max_total_bytes)
        if "manifest.json" not in names or "signature" not in names:
            raise BundleError("no_manifest")
        # 2. Manifest and signature.
        try:
            mbytes = _read_entry(z, names["manifest.json"], lim.max_manifest_bytes)
            sig = _read_entry(z, names["signature"], 1024).decode("ascii", "replace").strip()
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error):
            raise BundleError("damaged") from None
        try:
            manifest = json.loads(mbytes)
        except (ValueError, UnicodeDecodeError):
            raise BundleError("bad_manifest") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BundleError("bad_manifest")
        if manifest.get("version") != VERSION:
            raise BundleError("version", version=manifest.get("version"), supported=VERSION)
        if manifest.get("kind") not in KINDS or not isinstance(manifest.get("device_id"), str):
            raise BundleError("bad_manifest")
        if expect_kind and manifest["kind"] != expect_kind:
            # the kinds by their names for people (a Chinese message must not say "device")
            raise BundleError("wrong_kind", kind=t(f"bundle.kind.{manifest['kind']}"),
                              expected=t(f"bundle.kind.{expect_kind}"))
        entries = manifest.get("entries")
        if not isinstance(entries, dict):
            raise BundleError("bad_manifest")
        secret = secret_for(manifest["device_id"])
        if secret is None:
            raise BundleError("unknown_device", device=manifest["device_id"][:64])
        if not hmac.compare_digest(sign(secret, mbytes), sig):
            raise BundleError("signature")
        # 3. Every entry listed, none missing, each hash right.
        listed = set(entries)
        present = set(names) - {"manifest.json", "signature"}
        if listed != present:
            missing = sorted(listed - present) or sorted(present - listed)
            raise BundleError("entries_mismatch", name=missing[0][:200])
        b = Bundle(manifest=manifest)
        for name in sorted(present):
            meta = entries[name]
            if not isinstance(meta, dict):
                raise BundleError("bad_manifest")
            try:
                data = _read_entry(z, names[name], lim.max_entry_bytes)
            except (zipfile.BadZipFile, EOFError, OSError, zlib.error):
                raise BundleError("damaged") from None
            digest = hashlib.sha256(data).hexdigest()
            if len(data) != meta.get("size") or digest != meta.get("sha256"):
                raise BundleError("hash", name=name)
            if name.startswith("blobs/"):
                sha = name[6:]
                if digest != sha:
                    raise BundleError("hash", name=name)
                b.blobs[sha] = data
            elif name == "changes.ndjson":
                b.changes = _parse_lines(data, name)
            elif name == "acks.ndjson":
                b.acks = _parse_lines(data, name)
            elif name == "records.ndjson":
                b.records = _parse_lines(data, name)
            elif name == "snapshot.bin":
                b.snapshot = data
        return b
