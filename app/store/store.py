"""The device store: records, outbox, pull cursor, conflict log and photos, crash-safe.

Layout under ``data_dir`` (every JSON file is a TinyDB document written atomically)::

    meta.json                  node, clock last stamp and offset, pull cursor, key-values
    records/<part>.json        {"records": {id: record}, "deferred": {id: remote record}}
    outbox/<seq>.ndjson        one change a line; append-only small segments, oldest first
    refused.json               {"refused": {change_id: {"change": ..., "reason": ...}}}
    conflicts.json             {"conflicts": {key: conflict}}  grow-only
    photos_uploaded.json       {"uploaded": {sha256: ms}}  photos the server has
    acked/<seq>.ndjson         acknowledged changes, kept ACKED_DAYS / ACKED_MAX to offer them
                               again should the server be restored from a backup
    enrollment.json            a second copy of the enrollment (survives a damaged meta.json)
    summary.json               views derived from the records (issue folds, visits per household,
                               the search index; app/store/views.py), and summary.journal: the
                               records written since it was saved (derived again at open)
    photos/<sha256>            photo bytes named by hash (thumbnails beside them)
    damaged/                   files that could not be read, moved aside (never deleted)

Record partitions: visits, issues and issue events by month of their UUIDv7 time and a shard of the
id's random bits; other kinds by shard. A save appends one outbox line and rewrites one partition.
Partitions are read on first use (a start reads the views, not every record).

Write order (what makes a kill at any moment safe):

- ``save``: outbox segment first, then conflicts, then the partition. On open every change
  still in the outbox is merged into its record again (merge is idempotent).
- ``apply_remote``: conflicts, then partitions, then ``meta.json`` with the cursor. A kill
  before the cursor is written only makes the next pull fetch the page again.
- ``mark_refused``: refused.json, then the outbox segment (open drops refused ids from it).
"""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout

from sync import merge
from sync.client.replica import DAMAGE_KEY, RESTORE_KEY
from sync.clock import HybridClock, is_stamp
from sync.hashes import is_sha256
from sync.i18n import t
from sync.ids import id_time_ms, is_id, new_id
from sync.merge import drop_future_values
from sync.records import IMMUTABLE_KINDS

from .storage import (
    TMP_SUFFIX,
    AtomicJSONStorage,
    DamagedFile,
    append_line,
    atomic_write_bytes,
    dumps,
    fsync_dir,
    read_journal,
    remove_durably,
)
from .views import FoldView, Views

TIME_KINDS = frozenset({"visit", "issue", "issue_event"})
TIME_SHARDS = 16  # per month: keeps the current month's file small at township scale
OTHER_SHARDS = 32
SEGMENT_MAX = 32  # changes per outbox segment file
# Acknowledged changes are kept this long (and at most this many) so that they can be offered
# again when the server goes back to a backup (docs/device-store.md): backups are daily, and a
# month of a grid worker's changes is a few MB.
ACKED_DAYS = 30
ACKED_MAX = 20_000
ACKED_SEGMENT_MAX = 500
# The views (summary.json) are saved again once the journal names this many records: a start
# re-derives at most this many entries (each reads a few small partitions).
VIEWS_CHECKPOINT = 1000
WRITTEN_MAX = 20_000  # writes a reader of Store.written_since can catch up on (else it reads all)
# Meta keys kept a second time in enrollment.json (the device cannot sync without them).
APART_KEYS = ("sync.enrollment",)
_PART_RE = re.compile(r"^[a-z_]+-(\d{4}-\d{2}-|undated-)?[0-9a-f]$")
_SEG_RE = re.compile(r"^\d{10}$")


class StoreError(Exception):
    """A clear, translated message about what went wrong and what to do."""


class MergeResultLike(Protocol):
    record: dict
    conflicts: list
    changed: bool


class Merger(Protocol):
    def apply_change(self, record: dict | None, change: dict) -> MergeResultLike: ...

    def merge_records(self, a: dict, b: dict) -> MergeResultLike: ...


@dataclass
class DamagedReport:
    name: str  # file name as it was in the store
    moved_to: Path
    reason: str
    message: str  # translated, for people


def _default_merger() -> Merger:
    return merge  # type: ignore[return-value]


def partition_name(kind: str, record_id: str) -> str:
    """The records/ file (without .json) that holds a record: derived from kind and id only."""
    shard_digit = int(record_id[-1], 16) if record_id and record_id[-1] in "0123456789abcdef" else 0
    if kind in TIME_KINDS:
        shard = shard_digit % TIME_SHARDS
        if is_id(record_id):
            month = time.strftime("%Y-%m", time.gmtime(id_time_ms(record_id) / 1000))
        else:
            month = "undated"
        return f"{kind}-{month}-{shard:x}"
    return f"{kind}-{shard_digit % OTHER_SHARDS:x}"


def conflict_key(conflict: dict, record_id: str | None = None) -> str:
    """Dedupe key of a conflict (as ``sync.merge.Conflict.key``): record id, field, stamp of
    the value that lost."""
    rid = conflict.get("id") or conflict.get("record_id") or record_id or ""
    return f"{rid}|{conflict.get('field', '')}|{conflict.get('lost_stamp') or ''}"


def _max_stamp(record: dict) -> str | None:
    try:
        return max(record.get("stamps", {}).values(), default=None)
    except TypeError:  # a non-string stamp: ignore it here, merge reports it
        return max((s for s in record["stamps"].values() if isinstance(s, str)), default=None)


def _looks_like_record(rid: Any, rec: Any) -> bool:
    """Enough shape to index and merge (records in partitions, changes in the outbox)."""
    return (
        isinstance(rec, dict) and rec.get("id") == rid and isinstance(rid, str)
        and isinstance(rec.get("kind"), str) and isinstance(rec.get("fields"), dict)
        and isinstance(rec.get("stamps"), dict)
    )


def _write_failed(path: Path, exc: OSError) -> StoreError:
    return StoreError(t("store.write_failed", name=path.name, error=exc.strerror or exc))


def _check_shape(obj: Any, keys: tuple[str, ...], message: str) -> None:
    """Enough shape to merge: a change (``store.bad_change``) or a record (``store.bad_record``)."""
    if not isinstance(obj, dict):
        raise StoreError(t(message, problem="not an object"))
    for key in keys:
        if not isinstance(obj.get(key), str) or not obj.get(key):
            raise StoreError(t(message, problem=f"missing {key}"))
    if not re.fullmatch(r"[a-z_]+", obj["kind"]):
        raise StoreError(t("store.unknown_kind", kind=obj["kind"]))
    if not isinstance(obj.get("fields"), dict) or not isinstance(obj.get("stamps"), dict):
        raise StoreError(t(message, problem="fields and stamps must be objects"))
    for f, s in obj["stamps"].items():
        if not is_stamp(s):
            raise StoreError(t(message, problem=f"bad stamp for {f}"))


def _check_change(change: Any) -> None:
    _check_shape(change, ("change_id", "id", "kind"), "store.bad_change")


def _check_record(rec: Any) -> None:
    _check_shape(rec, ("id", "kind"), "store.bad_record")


def salvage_journal(path: Path) -> tuple[list[dict], int]:
    """The readable changes of a damaged journal and how many lines could not be read
    (a torn last line is a save that never returned, not a loss)."""
    import json

    lines = path.read_bytes().split(b"\n")
    good, lost = [], 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (UnicodeDecodeError, ValueError):
            entry = None
        if isinstance(entry, dict) and _looks_like_record(entry.get("id"), entry):
            good.append(entry)
        elif i < len(lines) - 1:
            lost += 1
    return good, lost


def _part_damaged_message(path: Path, reason: str) -> str:
    """What a damaged records/ file held, in words: its kind (and month) come from its name."""
    stem = path.stem
    kind = stem.split("-", 1)[0]
    month = re.search(r"-(\d{4}-\d{2})-", stem)
    what = t(f"store.what.{kind}") if kind in ("household", "visit", "issue", "issue_event", "photo", "voice") else kind
    if month:
        what = t("store.what_month", what=what, month=month.group(1))
    return t("store.damaged_part", name=path.name, reason=reason, what=what)


class Store:
    """The device replica. Open with :meth:`Store.open`; one process at a time per folder.

    Reads come from memory (loaded at open); records returned are the store's own dicts and
    must not be mutated by callers (make a change instead).
    """

    def __init__(self) -> None:  # use Store.open
        self._lock = threading.RLock()
        self._save_listeners: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ open / close

    @classmethod
    def open(
        cls,
        data_dir: Path | str,
        node: str | None = None,
        merger: Merger | None = None,
    ) -> Store:
        """Open (or create) the store in ``data_dir``; recover whatever a crash left behind."""
        self = cls()
        self.data_dir = Path(data_dir)
        self._merger = merger
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise StoreError(t("store.not_dir", path=self.data_dir))
        for sub in ("records", "outbox", "acked", "photos", "damaged"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        # One process at a time per folder (another app or shell on the same data would lose
        # writes). filelock: the OS lock of the platform (flock, or msvcrt on a Windows PC).
        self._dir_lock = FileLock(self.data_dir / ".lock", timeout=0)
        try:
            self._dir_lock.acquire()
        except Timeout:
            raise StoreError(t("store.locked", path=self.data_dir)) from None
        self._closed = False
        self._records_unsynced = False
        self._damaged: list[DamagedReport] = []
        # Loading makes ~10 objects per record; the cyclic GC would scan them again and
        # again (about a quarter of a township-scale open). Nothing loaded here is cyclic.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            self._remove_temp_files()
            self._load(node)
        except BaseException:
            self._dir_lock.release()
            raise
        finally:
            if gc_was_on:
                gc.enable()
        return self

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self._views_dirty:
                self._checkpoint_views()
            self._write_meta()
            self._closed = True
            self._dir_lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def merger(self) -> Merger:
        if self._merger is None:
            self._merger = _default_merger()
        return self._merger

    def _remove_temp_files(self) -> None:
        # Leftovers of writes killed before their rename; the real file is intact.
        for d in (self.data_dir, self.data_dir / "records", self.data_dir / "outbox",
                  self.data_dir / "acked", self.data_dir / "photos"):
            for p in d.glob(f".*{TMP_SUFFIX}"):
                p.unlink(missing_ok=True)

    def _read(self, path: Path, outbox: bool = False) -> dict[str, dict] | None:
        """Read a store file; a damaged one is moved aside and reported, and None returned."""
        try:
            return AtomicJSONStorage(path).read()
        except DamagedFile as exc:
            self._move_aside(path, exc.reason, outbox)
            return None

    def _move_aside(self, path: Path, reason: str, outbox: bool = False, message: str | None = None) -> None:
        dest = self.data_dir / "damaged" / path.name
        n = 1
        while dest.exists():
            dest = self.data_dir / "damaged" / f"{path.name}.{n}"
            n += 1
        os.replace(path, dest)
        fsync_dir(path.parent)
        fsync_dir(dest.parent)
        key = "store.damaged_outbox" if outbox else "store.damaged_file"
        self._damaged.append(
            DamagedReport(path.name, dest, reason, message or t(key, name=path.name, reason=reason))
        )

    def _load(self, node: str | None) -> None:
        d = self.data_dir
        meta_doc = self._read(d / "meta.json") or {}
        self._meta: dict[str, Any] = dict(meta_doc.get("meta", {}))
        meta_damaged = bool(self._damaged)
        apart = self._read(d / "enrollment.json") or {}
        kv = self._meta.setdefault("kv", {})
        restored_apart = [k for k, v in apart.get("kv", {}).items() if k in APART_KEYS and k not in kv]
        for k in restored_apart:
            kv[k] = apart["kv"][k]
        self._by_kind: dict[str, dict[str, dict]] = {}
        self._parts: dict[str, dict[str, dict]] = {}
        self._deferred: dict[str, dict[str, dict]] = {}
        best = self._meta.get("clock_last")
        self._parts_damaged = False
        # Partitions are read when a record of theirs is first needed (a kind's all(), a get):
        # a start reads the summary (views) and the small kinds, not years of visits.
        self._part_names: dict[str, set[str]] = {}  # kind -> partition files on disk
        self._loaded: set[str] = set()
        self._full: set[str] = set()  # kinds whose every partition is loaded
        self._loaded_top = ""  # highest stamp of the records loaded so far
        self._version = 0  # counts writes of records and rebuilds of the views (Store.version)
        self._written: list[tuple[str, str]] = []  # (kind, id) of the latest writes, oldest first
        self._written_base = 0  # the version before _written[0]
        self._ready = False  # deferred values are released at load only once the clock runs
        with os.scandir(d / "records") as it:
            for entry in it:
                if entry.name.endswith(".json") and not entry.name.startswith("."):
                    pname = entry.name[:-5]
                    self._part_names.setdefault(pname.split("-", 1)[0], set()).add(pname)
        # Outbox segments, oldest first.
        self._segments: dict[int, dict[str, dict]] = {}
        self._seg_of: dict[str, int] = {}
        stale: set[int] = set()
        for path in sorted((d / "outbox").glob("*.ndjson")):
            if not _SEG_RE.match(path.stem):
                continue
            reason = None
            try:
                entries = read_journal(path)
                if not all(_looks_like_record(c.get("id"), c) for c in entries):
                    reason = "a line is not a change"
            except DamagedFile as exc:
                reason = exc.reason
            if reason is not None:
                # Keep every change that can still be read; say loudly how many could not.
                entries, lost = salvage_journal(path)
                self._move_aside(path, reason, outbox=True, message=t(
                    "store.damaged_outbox_lost", name=path.name, lost=lost, kept=len(entries)))
                if entries:  # the readable changes stay in the outbox, under the same name
                    atomic_write_bytes(path, b"".join(dumps(c) + b"\n" for c in entries))
            seq = int(path.stem)
            seg = self._segments[seq] = {}
            for change in entries:
                cid = change.get("change_id")
                if not isinstance(cid, str):
                    continue
                if cid in self._seg_of:
                    # Only a server_restored killed midway writes a change twice: its new
                    # segments (later) hold the order that counts; the older copy goes.
                    stale.add(self._seg_of[cid])
                    del self._segments[self._seg_of[cid]][cid]
                seg[cid] = change
                self._seg_of[cid] = seq
        # This session appends to a new segment: never after a torn line of an old one.
        self._next_seq = (max(self._segments) + 1) if self._segments else 1
        self._cur_seq: int | None = None
        for seq in sorted(stale):
            self._write_segment(seq)  # finish the interrupted rewrite (removed when empty)
        self._refused: dict[str, dict] = (self._read(d / "refused.json") or {}).get("refused", {})
        self._conflicts: dict[str, dict] = (
            self._read(d / "conflicts.json") or {}
        ).get("conflicts", {})
        self._uploaded: dict[str, int] = (
            self._read(d / "photos_uploaded.json") or {}
        ).get("uploaded", {})
        self._pending_fields: dict[str, dict[str, int]] = {}  # counted just below
        for cid in [c for c in self._seg_of if c in self._refused]:
            # Killed between writing refused.json and the outbox segment: finish the move.
            self._drop_from_outbox([cid])
        for change in self._iter_pending():
            self._count_pending(change, +1)
            for s in change.get("stamps", {}).values():
                if best is None or s > best:
                    best = s
        # The views (summary.json) and the journal of records written since they were saved.
        try:
            views = Views.from_doc(AtomicJSONStorage(d / "summary.json").read())
        except DamagedFile:
            views = None  # derived data: rebuilt from the records below
        touched: dict[tuple[str, str], None] = {}
        jpath = d / "summary.journal"
        if views is not None and jpath.exists():
            try:
                for entry in read_journal(jpath):
                    for kind, rid in entry.get("t") or ():
                        touched[(kind, rid)] = None
                    if is_stamp(entry.get("s")) and (best is None or entry["s"] > best):
                        best = entry["s"]
            except (DamagedFile, TypeError, ValueError):
                views = None
        if views is None:
            # No views yet (a store written before they existed) or unreadable: read every
            # partition once, derive them, save them (the next start reads the summary only).
            for kind in list(self._part_names):
                self._ensure_kind(kind)
        elif views.max_stamp and (best is None or views.max_stamp > best):
            best = views.max_stamp
        if self._loaded_top and (best is None or self._loaded_top > best):
            best = self._loaded_top
        # Node id: given > persisted > the one in our own outbox > a new one.
        persisted = self._meta.get("node")
        if node is None:
            node = persisted
        if node is None:
            node = next((c.get("node") for c in self._iter_pending() if c.get("node")), None)
        if node is None:
            node = (apart.get("node") or {}).get("id")  # kept apart too (enrollment.json)
        if node is None:
            node = "d" + new_id().replace("-", "")[-12:]
        try:
            offset = int(self._meta.get("clock_offset", 0))
        except (TypeError, ValueError):
            offset = 0
        if not is_stamp(best):
            # A hand-edited value sorted highest: take the highest real stamp instead.
            cands = [s for r in self._iter_all() for s in r.get("stamps", {}).values()]
            cands += [s for c in self._iter_pending() for s in c.get("stamps", {}).values()]
            best = max((s for s in cands if is_stamp(s)), default=None)
        try:
            self._clock = HybridClock(node, last=best, offset_ms=offset)
        except ValueError:
            raise StoreError(t("store.bad_node", node=node)) from None
        self._meta["node"] = node
        self._views = views or Views()
        self._views_dirty = views is None
        self._journal_n = len(touched)
        self._ready = True
        # Remote values held back for unacked fields whose changes are gone now (in the
        # partitions read so far; the others are released when they are read).
        dirty: set[str] = set()
        new_conflicts = False
        for pname in list(self._loaded):
            new_conflicts |= self._release_loaded(pname, dirty)
        # Replay: every change still in the outbox is merged into its record again.
        for change in self._iter_pending():
            cur = self._get_any(change["kind"], change["id"])
            touched[(change["kind"], change["id"])] = None
            try:
                res = self.merger.apply_change(cur, change)
            except ValueError:
                continue  # save() merged it before queueing; only a hand-edited file gets here
            if res.changed:
                self._put(res.record)
                dirty.add(partition_name(change["kind"], change["id"]))
            new_conflicts |= self._log_conflicts(res.conflicts, change["id"])
        if new_conflicts:
            self._write_conflicts()
        for pname in sorted(dirty):
            self._write_part(pname)
        if views is None or self._parts_damaged:
            self._views.rebuild(self._iter_all())
            self._views_dirty = True
        else:
            for kind, rid in touched:
                self._views.touch(kind, rid, self._get_any, written=False)
        if self._views_dirty and (views is None or self._journal_n or self._parts_damaged):
            self._checkpoint_views()
        self._load_acked()
        if self._parts_damaged:
            # Records the server has may be gone from here: pull everything again (merge is
            # idempotent, local changes stay in the outbox and keep their values).
            self._meta["cursor"] = None
        if meta_damaged:
            key = "store.enrollment_kept" if restored_apart else "store.enrollment_lost"
            self._damaged[0].message = t("store.damaged_meta", reason=self._damaged[0].reason,
                                         enrollment=t(key))
        if self._damaged:
            now = int(time.time() * 1000)
            notes = list(kv.get(DAMAGE_KEY) or [])
            notes += [{"at_ms": now, "name": r.name, "message": r.message} for r in self._damaged]
            kv[DAMAGE_KEY] = notes[-20:]
        if persisted != node or not (d / "meta.json").exists() or self._damaged or restored_apart:
            self._write_meta()
        if any(k in kv for k in APART_KEYS) and not apart:
            self._write_apart()

    # ------------------------------------------------------------------ internals

    def _iter_all(self) -> Iterable[dict]:
        self._ensure_all()
        for recs in list(self._by_kind.values()):
            yield from list(recs.values())

    # ------------------------------------------------------------------ partitions, read lazily

    def _ensure_all(self) -> None:
        for kind in list(self._part_names):
            self._ensure_kind(kind)

    def _ensure_kind(self, kind: str) -> None:
        if kind in self._full:
            return
        # A whole kind read after the open (a township's 50,000 issues): as at the open, the
        # cyclic GC would scan these acyclic records again and again, during the read and at
        # every later full collection (a board sort's CPU tripled): kept out of its reach.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            for pname in sorted(self._part_names.get(kind, ())):
                self._ensure_part(pname)
        finally:
            if gc_was_on:
                gc.freeze()
                gc.enable()
        self._full.add(kind)

    def _ensure_part(self, pname: str) -> None:
        """Read one records/ partition into memory (once); a damaged one is moved aside."""
        if pname in self._loaded:
            return
        self._loaded.add(pname)
        if pname not in self._part_names.get(pname.split("-", 1)[0], ()):
            return  # no such file yet
        path = self.data_dir / "records" / f"{pname}.json"
        try:
            doc = AtomicJSONStorage(path).read()
        except DamagedFile as exc:
            self._part_damaged(path, exc.reason)
            return
        if doc is None:
            return
        recs = doc.get("records", {})
        by_kind = self._by_kind
        top = self._loaded_top
        try:
            # The hot loop of a read: index by kind, track the highest stamp, check shape.
            for rid, rec in recs.items():
                if rec["id"] != rid or type(rec["fields"]) is not dict:
                    raise TypeError(rid)
                by_kind.setdefault(rec["kind"], {})[rid] = rec
                st = max(rec["stamps"].values(), default="")
                if st > top:
                    top = st
        except (TypeError, KeyError, AttributeError):
            for kind_recs in by_kind.values():  # undo this file's part of the index
                for rid in [r for r in kind_recs if r in recs]:
                    del kind_recs[rid]
            self._part_damaged(path, "a record in it is not a record")
            return
        self._loaded_top = top
        self._parts[pname] = recs
        self._deferred[pname] = doc.get("deferred", {})
        if self._ready and self._deferred[pname]:
            dirty: set[str] = set()
            if self._release_loaded(pname, dirty):
                self._write_conflicts()
            for name in dirty:
                self._write_part(name)

    def _release_loaded(self, pname: str, dirty: set[str]) -> bool:
        """Merge the held-back remote records of a partition whose local changes are gone
        (acked or refused, the store killed before it merged them); True if conflicts grew."""
        rids = [rid for rid in self._deferred.get(pname, {}) if rid not in self._pending_fields]
        if not rids:
            return False
        kind = pname.split("-", 1)[0]
        self._journal_touch([(kind, rid) for rid in rids])
        new_conflicts = False
        for rid in rids:
            new_conflicts |= self._merge_deferred(pname, rid)
        dirty.add(pname)
        return new_conflicts

    def _part_damaged(self, path: Path, reason: str) -> None:
        self._move_aside(path, reason, message=_part_damaged_message(path, reason))
        self._parts_damaged = True
        if not self._ready:
            return  # the open says it (cursor, notes) once it has read what it needs
        # Found when first read: the same as at open, and the views are derived again.
        self._meta["cursor"] = None
        kv = self._meta.setdefault("kv", {})
        rep = self._damaged[-1]
        kv[DAMAGE_KEY] = (list(kv.get(DAMAGE_KEY) or []) + [
            {"at_ms": int(time.time() * 1000), "name": rep.name, "message": rep.message}])[-20:]
        self._write_meta()
        self._views.rebuild(self._iter_all())
        self._version += 1
        self._written, self._written_base = [], self._version  # everything may differ now
        self._checkpoint_views()

    # ------------------------------------------------------------------ views (summary.json)

    def _journal_touch(self, keys: list[tuple[str, str]], stamp: str | None = None) -> None:
        """Before records are written outside a save: name them in the journal, so that an
        open after a kill derives their views again (saves are named by the outbox)."""
        if not keys or not self._ready:
            return
        path = self.data_dir / "summary.journal"
        try:
            append_line(path, dumps({"t": keys, "s": stamp or self._clock.last}) + b"\n")
        except OSError as exc:
            raise _write_failed(path, exc) from exc
        self._journal_n += len(keys)

    def _checkpoint_views(self) -> None:
        """Save the views, then forget the journal (the partitions they cover made durable
        first: a power cut must not bring back an older partition under newer views)."""
        self._sync_records()
        self._write(self.data_dir / "summary.json", self._views.to_doc())
        remove_durably(self.data_dir / "summary.journal")
        self._journal_n = 0
        self._views_dirty = False

    def _maybe_checkpoint(self) -> None:
        # A township's store holds ten times a grid's: its views are saved less often (the
        # cost of a save grows with them), a grid's at least every VIEWS_CHECKPOINT records.
        if self._journal_n >= max(VIEWS_CHECKPOINT, self._views.size() // 32):
            self._checkpoint_views()

    def _iter_pending(self) -> Iterable[dict]:
        for seq in sorted(self._segments):
            yield from self._segments[seq].values()

    def _count_pending(self, change: dict, delta: int) -> None:
        rid = change["id"]
        fields = self._pending_fields.setdefault(rid, {})
        for f in change.get("fields", {}):
            n = fields.get(f, 0) + delta
            if n > 0:
                fields[f] = n
            else:
                fields.pop(f, None)
        if not fields:
            self._pending_fields.pop(rid, None)

    def _get_any(self, kind: str, rid: str) -> dict | None:
        if kind not in self._full:
            self._ensure_part(partition_name(kind, rid))
        return self._by_kind.get(kind, {}).get(rid)

    def _put(self, record: dict) -> str:
        kind, rid = record["kind"], record["id"]
        pname = partition_name(kind, rid)
        self._ensure_part(pname)  # a partition is rewritten whole: read it first
        self._part_names.setdefault(kind, set()).add(pname)
        self._parts.setdefault(pname, {})[rid] = record
        self._by_kind.setdefault(kind, {})[rid] = record
        self._version += 1
        self._written.append((kind, rid))
        if len(self._written) > WRITTEN_MAX:  # a reader this far behind reads everything again
            del self._written[:WRITTEN_MAX // 2]
            self._written_base += WRITTEN_MAX // 2
        if self._ready:
            self._views.touch(kind, rid, self._get_any)
            self._views_dirty = True
        return pname

    def _write(self, path: Path, doc: dict, sync_dir: bool = True) -> None:
        try:
            AtomicJSONStorage(path, sync_dir=sync_dir).write(doc)
        except OSError as exc:
            raise _write_failed(path, exc) from exc

    def _write_part(self, pname: str) -> None:
        doc: dict[str, dict] = {"records": self._parts.get(pname, {})}
        deferred = self._deferred.get(pname)
        if deferred:
            doc["deferred"] = deferred
        # The folder fsync is batched (_sync_records): until it runs, a power cut can only
        # bring back the partition's previous version, and the outbox still holds the change.
        self._write(self.data_dir / "records" / f"{pname}.json", doc, sync_dir=False)
        self._records_unsynced = True

    def _sync_records(self) -> None:
        """Make partition renames durable; before the outbox forgets or the cursor moves."""
        if self._records_unsynced:
            fsync_dir(self.data_dir / "records")
            self._records_unsynced = False

    def _segment_path(self, seq: int) -> Path:
        return self.data_dir / "outbox" / f"{seq:010d}.ndjson"

    def _write_segment(self, seq: int) -> None:
        """Rewrite a segment atomically (after acks or refusals); remove it when empty."""
        path = self._segment_path(seq)
        seg = self._segments.get(seq)
        if seg:
            data = b"".join(dumps(c) + b"\n" for c in seg.values())
            try:
                atomic_write_bytes(path, data)
            except OSError as exc:
                raise _write_failed(path, exc) from exc
        else:
            self._segments.pop(seq, None)
            remove_durably(path)

    def _write_meta(self) -> None:
        self._sync_records()  # the cursor (and clock) never become durable before the data
        self._meta["clock_last"] = self._clock.last
        self._meta["clock_offset"] = self._clock.offset_ms
        self._write(self.data_dir / "meta.json", {"meta": self._meta})

    def _write_conflicts(self) -> None:
        self._write(self.data_dir / "conflicts.json", {"conflicts": self._conflicts})

    def _log_conflicts(self, conflicts: Iterable[Any], record_id: str) -> bool:
        added = False
        for c in conflicts or ():
            entry = c.to_dict() if hasattr(c, "to_dict") else dict(c)
            entry.setdefault("id", record_id)
            key = conflict_key(entry, record_id)
            if key not in self._conflicts:
                entry.setdefault("logged_at", int(time.time() * 1000))
                self._conflicts[key] = entry
                added = True
        return added

    def _merge_deferred(self, pname: str, rid: str) -> bool:
        """Merge a held-back remote record now that no local change covers its fields."""
        remote = self._deferred[pname].pop(rid)
        self._ensure_part(pname)
        cur = self._parts.get(pname, {}).get(rid)
        if cur is None:
            self._put(remote)
            return False
        res = self.merger.merge_records(drop_future_values(cur, remote, (), self._clock.wall_ms()), remote)
        self._put(res.record)
        return self._log_conflicts(res.conflicts, rid)

    def _drop_from_outbox(self, change_ids: Iterable[str]) -> list[dict]:
        self._sync_records()
        touched: set[int] = set()
        dropped = []
        for cid in change_ids:
            seq = self._seg_of.pop(cid, None)
            if seq is None:
                continue
            change = self._segments[seq].pop(cid)
            self._count_pending(change, -1)
            dropped.append(change)
            touched.add(seq)
        for seq in sorted(touched):
            self._write_segment(seq)
        return dropped

    # ------------------------------------------------------------------ local writes

    @property
    def node(self) -> str:
        return self._clock.node

    @property
    def clock(self) -> HybridClock:
        return self._clock

    def set_clock_offset(self, ms: int) -> None:
        """The server told us how far off the device clock is; persist it."""
        with self._lock:
            self._clock.offset_ms = int(ms)
            self._write_meta()

    def add_save_listener(self, fn: Callable[[], None]) -> None:
        """``fn()`` after each local change is queued for upload (the app's sync schedules a
        sync); called in the saving thread, outside the store's lock."""
        self._save_listeners.append(fn)

    def save(self, change: dict) -> dict:
        """Apply a locally made change, queue it for upload; returns the merged record.

        When this returns, the change is durable: it survives a kill at any later moment.
        """
        record, queued = self._save(change)
        if queued:
            for fn in list(self._save_listeners):
                fn()
        return record

    def _save(self, change: dict) -> tuple[dict, bool]:
        _check_change(change)
        with self._lock:
            cid = change["change_id"]
            if cid in self._seg_of or cid in self._refused:
                return self._get_any(change["kind"], change["id"]) or {}, False
            change = copy.deepcopy(change)
            change.setdefault("node", self.node)
            cur = self._get_any(change["kind"], change["id"])
            try:  # merge first (pure): a change that cannot merge never reaches the outbox
                res = self.merger.apply_change(cur, change)
            except ValueError as exc:
                raise StoreError(t("store.bad_change", problem=str(exc))) from None
            # 1. outbox first: once this file is renamed in place, the save is durable.
            seq = self._cur_seq
            if seq is None or len(self._segments.get(seq, {})) >= SEGMENT_MAX:
                seq = self._cur_seq = self._next_seq
                self._next_seq += 1
            path = self._segment_path(seq)
            try:
                append_line(path, dumps(change) + b"\n")
            except OSError as exc:
                raise _write_failed(path, exc) from exc
            self._segments.setdefault(seq, {})[cid] = change
            self._seg_of[cid] = seq
            self._count_pending(change, +1)
            for s in change["stamps"].values():
                self._clock.observe(s)
            # 2. conflicts, then the record (a kill before this point is repaired by the
            # replay at open; the conflict log is deduped, so logging twice is harmless).
            if self._log_conflicts(res.conflicts, change["id"]):
                self._write_conflicts()
            if res.changed or cur is None:
                pname = self._put(res.record)
                self._write_part(pname)
            return res.record, True

    # ------------------------------------------------------------------ reads

    def get(self, kind: str, record_id: str, include_deleted: bool = False) -> dict | None:
        with self._lock:
            rec = self._get_any(kind, record_id)
        if rec is None or (not include_deleted and rec.get("fields", {}).get("_deleted")):
            return None
        return rec

    def all(self, kind: str, include_deleted: bool = False) -> list[dict]:
        # Under the lock: the sync engine may be adding records from another thread.
        with self._lock:
            self._ensure_kind(kind)
            recs = self._by_kind.get(kind, {}).values()
            if include_deleted:
                return list(recs)
            return [r for r in recs if not r.get("fields", {}).get("_deleted")]

    def query(
        self, kind: str, predicate: Callable[[dict], bool], include_deleted: bool = False
    ) -> list[dict]:
        return [r for r in self.all(kind, include_deleted) if predicate(r)]

    def kinds(self) -> list[str]:
        """The kinds of record the store holds (from its partition files: nothing is read; a
        kind may come back whose records are all deleted)."""
        with self._lock:
            return sorted(set(self._part_names) | {k for k, v in self._by_kind.items() if v})

    # ------------------------------------------------------------------ views (derived, kept)

    def issue_state(self, issue_id: str) -> FoldView | None:
        """The issue's folded workflow state as rows show it (kept up to date at every save
        and pull, not folded again here); None for an issue the store does not hold."""
        with self._lock:
            return self._views.fold_of(issue_id)

    def issues_in_state(self, state: str) -> list[str]:
        """Ids of the issues whose folded state is ``state``, newest report first (no issue
        is read)."""
        with self._lock:
            return self._views.issues_in(state)

    def issue_folds(self) -> dict[str, dict]:
        """Every issue's kept fold, by issue id, as the views hold it (``app/store/views.py``:
        "st" the state without its timeline, "flagged", "at" the report time, "deleted").
        The store's own dicts: read them, never mutate them; "st" is a new dict whenever
        the fold changes, so its identity tells a reader that kept one what changed."""
        with self._lock:
            return self._views.folds

    def issue_fold_keys(self) -> dict[str, tuple[str | None, int, dict | None, bool]]:
        """Of every issue's kept fold: (its mark, new whenever the fold changes; events held;
        the state without its timeline; flagged), read together under the lock (a write in
        another thread changes a fold piece by piece; a reader that keys what it derives on
        the mark must not see a new mark with the old state)."""
        with self._lock:
            return {iid: (d.get("g"), len(d.get("ev") or ()), d.get("st"), bool(d.get("flagged")))
                    for iid, d in self._views.folds.items()}

    @property
    def version(self) -> int:
        """A number that grows whenever a record is written or the views are derived again
        (in this process): a reader of kept data knows from it, without reading any record,
        that nothing changed."""
        return self._version

    def written_since(self, version: int) -> list[tuple[str, str]] | None:
        """(kind, id) of the records written since ``version`` (a record may repeat), or
        None when that is too long ago to say (then a reader reads everything again)."""
        with self._lock:
            if version < self._written_base or version > self._version:
                return None
            return self._written[version - self._written_base:]

    def issue_events(self, issue_id: str) -> list[dict]:
        """The issue's events (only their partitions are read)."""
        with self._lock:
            out = []
            for eid in self._views.event_ids(issue_id):
                rec = self._get_any("issue_event", eid)
                if rec is not None and not rec.get("fields", {}).get("_deleted"):
                    out.append(rec)
            return out

    def last_visits(self) -> dict[str, int]:
        """household id -> time (ms) of its newest visit."""
        with self._lock:
            return dict(self._views.last_visits())

    def search_texts(self) -> dict[str, str]:
        """household id -> what the household search matches (names, address, phone, pinyin
        initials), kept up to date as households change."""
        with self._lock:
            return {hid: v[1] for hid, v in self._views.search.items()}

    def visits_of(self, household_id: str) -> list[dict]:
        """The household's visits (only their partitions are read)."""
        with self._lock:
            ids = list(self._views.visits.get(household_id, {}))
            return [r for r in (self._get_any("visit", v) for v in ids) if r is not None]

    def newest_visits(self, limit: int) -> list[dict]:
        """The ``limit`` newest visits by visit time (only their partitions are read)."""
        with self._lock:
            ids = self._views.newest_visits(limit)
            return [r for r in (self._get_any("visit", v) for v in ids) if r is not None]

    def count(self, kind: str) -> int:
        """How many records of a kind the store holds, deleted ones included: cheap enough to
        ask at every screen (a kind that only grows, like issue_event, changes count whenever
        a record arrives)."""
        with self._lock:
            self._ensure_kind(kind)
            return len(self._by_kind.get(kind, ()))

    # ------------------------------------------------------------------ replica interface

    def pending_changes(self, limit: int = 100) -> list[dict]:
        """Changes the server has not acknowledged, oldest first."""
        with self._lock:
            out: list[dict] = []
            for change in self._iter_pending():
                if len(out) >= limit:
                    break
                out.append(change)
            return copy.deepcopy(out)  # the engine may annotate what it sends

    def outbox_size(self) -> int:
        return len(self._seg_of)

    def mark_acked(self, change_ids: Iterable[str]) -> None:
        """The server has these changes: keep them in the acknowledged log, drop them from the outbox."""
        with self._lock:
            change_ids = list(change_ids)
            acked = [self._segments[self._seg_of[c]][c] for c in change_ids if c in self._seg_of]
            self._log_acked(acked)
            # The outbox stops naming these records: the journal names them until the views
            # are saved.
            self._journal_touch([(c["kind"], c["id"]) for c in acked])
            dropped = self._drop_from_outbox(change_ids)
            self._release_deferred(dropped)
            if dropped:
                self._write_meta()
            self._maybe_checkpoint()

    def _release_deferred(self, dropped: list[dict]) -> None:
        """Merge held-back remote records whose fields no longer have pending local changes."""
        dirty: set[str] = set()
        new_conflicts = False
        for change in dropped:
            rid = change["id"]
            pname = partition_name(change["kind"], rid)
            self._ensure_part(pname)  # reading it releases what it holds for rid, if anything
            if rid not in self._pending_fields and rid in self._deferred.get(pname, {}):
                new_conflicts |= self._merge_deferred(pname, rid)
                dirty.add(pname)
        if new_conflicts:
            self._write_conflicts()
        for pname in sorted(dirty):
            self._write_part(pname)

    def mark_refused(self, change_id: str, reason: str) -> None:
        """The server refused this change: keep it visible in refused_changes(), stop sending."""
        with self._lock:
            seq = self._seg_of.get(change_id)
            if seq is None:
                return
            change = self._segments[seq][change_id]
            self._journal_touch([(change["kind"], change["id"])])
            self._refused[change_id] = {
                "change": change, "reason": reason, "at": int(time.time() * 1000)
            }
            self._write(self.data_dir / "refused.json", {"refused": self._refused})
            self._release_deferred(self._drop_from_outbox([change_id]))

    def refused_changes(self) -> list[dict]:
        """Each refused change with the server's reason: {"change", "reason", "at"}."""
        with self._lock:
            return list(self._refused.values())

    def cursor(self) -> str | None:
        return self._meta.get("cursor")

    def apply_remote(self, records: list[dict], cursor: str | None) -> None:
        """Merge pulled records, then save the cursor (never before the data is durable).

        A field with a local change the server has not acknowledged keeps the local value;
        the remote record is held back and merged once those changes are acknowledged.
        """
        for rec in records:
            _check_record(rec)
        with self._lock:
            # Merge the whole page first without touching the store: a record that cannot
            # merge is refused with nothing changed.
            staged: dict[tuple[str, str], dict] = {}
            held: dict[tuple[str, str], dict] = {}
            conflicts: list[tuple[str, Any]] = []
            for remote in records:
                kind, rid = remote["kind"], remote["id"]
                key = (kind, rid)
                cur = staged.get(key) or self._get_any(kind, rid)
                try:
                    if cur is None:
                        staged[key] = self.merger.merge_records(None, remote).record
                        continue
                    pending = self._pending_fields.get(rid)
                    cur_for_merge = drop_future_values(cur, remote, pending or (), self._clock.wall_ms())
                    res = self.merger.merge_records(cur_for_merge, remote)
                    merged = res.record
                    hold = False
                    if pending and kind not in IMMUTABLE_KINDS:
                        for f in pending:
                            if f in cur["fields"] and merged["stamps"].get(f) != cur["stamps"].get(f):
                                # Our unacked value stays until the server has it.
                                merged["fields"][f] = copy.deepcopy(cur["fields"][f])
                                merged["stamps"][f] = cur["stamps"][f]
                                merged.setdefault("bases", {})[f] = (cur.get("bases") or {}).get(f)
                                hold = True
                    if hold:
                        prev = held.get(key) or self._deferred.get(
                            partition_name(kind, rid), {}).get(rid)
                        held[key] = (
                            self.merger.merge_records(prev, remote).record
                            if prev else copy.deepcopy(remote)
                        )
                except ValueError as exc:
                    raise StoreError(t("store.bad_record", problem=str(exc))) from None
                conflicts.extend((rid, c) for c in res.conflicts)
                if res.changed or key in held:
                    staged[key] = merged
            # Commit to memory, then to disk: journal, conflicts, partitions, cursor last.
            top = max((_max_stamp(r) or "" for r in records), default="")
            self._journal_touch(list(dict.fromkeys([*staged, *held])), max(top, self._clock.last or ""))
            dirty: set[str] = set()
            new_conflicts = False
            for rid, c in conflicts:
                new_conflicts |= self._log_conflicts([c], rid)
            for rec in staged.values():
                dirty.add(self._put(rec))
            for (kind, rid), remote in held.items():
                pname = partition_name(kind, rid)
                self._deferred.setdefault(pname, {})[rid] = remote
                dirty.add(pname)
            for remote in records:
                s = _max_stamp(remote)
                if s:
                    self._clock.observe(s)
            if new_conflicts:
                self._write_conflicts()
            for pname in sorted(dirty):
                self._write_part(pname)
            # Last: the cursor. Killed before this line, the page is pulled and merged again.
            if cursor is not None:
                self._meta["cursor"] = cursor
            self._write_meta()
            self._maybe_checkpoint()

    def conflicts(self) -> list[dict]:
        """The local conflict log (grow-only, deduped by record id, field and lost stamp)."""
        with self._lock:
            return list(self._conflicts.values())

    # ------------------------------------------------------------------ photos

    def _check_sha(self, sha256: str) -> None:
        if not is_sha256(sha256):
            raise StoreError(t("store.bad_sha", sha=sha256))

    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"

    def photo_path(self, sha256: str) -> Path:
        """``photos/<sha256>.jpg``: the naming of sync.photos (store_photo, photo_paths)."""
        self._check_sha(sha256)
        return self.photos_dir / f"{sha256}.jpg"

    def thumb_path(self, sha256: str) -> Path:
        self._check_sha(sha256)
        return self.photos_dir / f"{sha256}.thumb.jpg"

    def has_photo(self, sha256: str) -> bool:
        return self.photo_path(sha256).exists()

    def _put_bytes(self, sha256: str, data: bytes) -> Path:
        path = self.photo_path(sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(t("store.photo_mismatch", sha=sha256))
        if not path.exists():
            atomic_write_bytes(path, data)
        return path

    def voice_path(self, sha256: str) -> Path:
        """``photos/<sha256>.voice``: a voice note's bytes as recorded, beside the photos (the
        blobs of the device travel one way, by sha256)."""
        self._check_sha(sha256)
        return self.photos_dir / f"{sha256}.voice"

    def put_voice_file(self, sha256: str, data: bytes) -> Path:
        """A voice note recorded here (already checked by sync.voice): queued for upload."""
        path = self.voice_path(sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(t("store.photo_mismatch", sha=sha256))
        if not path.exists():
            atomic_write_bytes(path, data)
        return path

    def voice_bytes(self, sha256: str) -> bytes | None:
        try:
            return self.voice_path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def _is_voice(self, sha256: str) -> bool:
        return any(r.get("fields", {}).get("sha256") == sha256 for r in self.all("voice"))

    def put_photo(self, sha256: str, data: bytes) -> Path:
        """Store photo bytes by sha256, with a thumbnail (replica interface); the bytes of a
        voice note (a voice record names them) are kept as they are.

        Bytes that a pulled photo record was waiting for came from the server: they are
        marked as already there. Otherwise they are a photo taken here and queued for upload.
        """
        if self._is_voice(sha256):  # came from the server for a pulled voice record
            path = self.put_voice_file(sha256, data)
            self.mark_photo_uploaded(sha256)
            return path
        fetched = not self.photo_path(sha256).exists() and any(
            r.get("fields", {}).get("sha256") == sha256 for r in self.all("photo")
        )
        path = self._put_bytes(sha256, data)
        thumb = self.thumb_path(sha256)
        if not thumb.exists():
            try:
                from sync.photos import make_thumbnail  # Pillow: loaded only for photos

                atomic_write_bytes(thumb, make_thumbnail(data))
            except Exception:  # noqa: BLE001 - a photo without a thumbnail still shows
                pass
        if fetched:
            self.mark_photo_uploaded(sha256)
        return path

    def put_photo_file(self, sha256: str, data: bytes, thumbnail: bytes | None = None) -> Path:
        """A photo taken on this device (already processed): queued for upload."""
        if thumbnail is not None:  # thumbnail first: a present photo always has one
            self._check_sha(sha256)
            atomic_write_bytes(self.thumb_path(sha256), thumbnail)
        return self._put_bytes(sha256, data)

    def put_processed_photo(self, processed: Any) -> Path:
        """Store a sync.photos.ProcessedPhoto taken here (photo + thumbnail), queued for upload."""
        from sync.photos import store_photo  # Pillow: only loaded when photos are handled

        return store_photo(processed, self.photos_dir)

    def photos_to_upload(self) -> list[str]:
        """sha256 of photo and voice files on this device that the server has not confirmed."""
        out = []
        for p in [*self.photos_dir.glob("*.jpg"), *self.photos_dir.glob("*.voice")]:
            sha = p.name.removesuffix(p.suffix)  # "<sha>.thumb" is no sha256: thumbnails stay home
            if is_sha256(sha) and sha not in self._uploaded:
                out.append(sha)
        return sorted(out)

    def mark_photo_uploaded(self, sha256: str) -> None:
        with self._lock:
            self._check_sha(sha256)
            if sha256 not in self._uploaded:
                self._uploaded[sha256] = int(time.time() * 1000)
                self._write(self.data_dir / "photos_uploaded.json", {"uploaded": self._uploaded})

    def photo_bytes(self, sha256: str) -> bytes | None:
        """The bytes of a photo or a voice note (replica interface: the engine uploads both)."""
        try:
            return self.photo_path(sha256).read_bytes()
        except FileNotFoundError:
            return self.voice_bytes(sha256)

    def missing_photos(self) -> list[str]:
        """sha256 of photo and voice records whose bytes are not on this device."""
        out = []
        for rec in [*self.all("photo"), *self.all("voice")]:
            sha = rec.get("fields", {}).get("sha256")
            if is_sha256(sha) and not self.has_photo(sha) and not self.voice_path(sha).exists():
                out.append(sha)
        return out

    # ------------------------------------------------------------------ meta, stats, damage

    def meta_get(self, key: str, default: Any = None) -> Any:
        return self._meta.get("kv", {}).get(key, default)

    def meta_set(self, key: str, value: Any) -> None:
        with self._lock:
            self._meta.setdefault("kv", {})[key] = value
            if key in APART_KEYS:
                self._write_apart()  # first: the copy that survives a damaged meta.json
            self._write_meta()

    def _write_apart(self) -> None:
        kv = self._meta.get("kv", {})
        self._write(self.data_dir / "enrollment.json",
                    {"kv": {k: kv[k] for k in APART_KEYS if k in kv}, "node": {"id": self.node}})

    # ------------------------------------------------------------------ acknowledged log

    def _acked_path(self, seq: int) -> Path:
        return self.data_dir / "acked" / f"{seq:010d}.ndjson"

    def _load_acked(self) -> None:
        """Index the acknowledged log (sizes and newest time per segment); drop what is too old."""
        self._acked: dict[int, list[int]] = {}  # seq -> [entries, newest at_ms]
        for path in sorted((self.data_dir / "acked").glob("*.ndjson")):
            if not _SEG_RE.match(path.stem):
                continue
            # Only the size and the newest time are needed here: count lines, read the last one
            # (a full month of log is ~10 MB; parsing it at every open would cost ~0.2 s). A
            # line damaged in the middle is found when the log is read to be offered again.
            raw = path.read_bytes()
            try:
                newest = int(json.loads(raw.rstrip(b"\n").rsplit(b"\n", 1)[-1])["acked_ms"])
                count = raw.count(b"\n")
            except (ValueError, KeyError, TypeError):
                entries = self._check_acked(path)
                count = len(entries)
                newest = max((int(e.get("acked_ms") or 0) for e in entries), default=0)
            self._acked[int(path.stem)] = [count, newest]
        self._acked_seq: int | None = None  # this session appends to a new segment
        self._prune_acked()

    def _check_acked(self, path: Path) -> list[dict]:
        """The entries of an acked-log segment; a damaged one is reported and its readable
        lines kept (the original moved aside)."""
        try:
            return read_journal(path)
        except DamagedFile as exc:
            entries, lost = salvage_journal(path)
            self._move_aside(path, exc.reason, message=t("store.damaged_acked", name=path.name, lost=lost))
            if entries:
                atomic_write_bytes(path, b"".join(dumps(c) + b"\n" for c in entries))
            return entries

    def _prune_acked(self) -> None:
        cutoff = int(time.time() * 1000) - ACKED_DAYS * 86_400_000
        total = sum(n for n, _ in self._acked.values())
        for seq in sorted(self._acked):
            n, newest = self._acked[seq]
            if newest >= cutoff and total <= ACKED_MAX:
                break
            if seq == self._acked_seq:
                break
            remove_durably(self._acked_path(seq))
            del self._acked[seq]
            total -= n

    def _log_acked(self, changes: list[dict]) -> None:
        """Append acknowledged changes to the log (one fsync), before they leave the outbox."""
        if not changes:
            return
        seq = self._acked_seq
        if seq is None or self._acked.get(seq, [0])[0] >= ACKED_SEGMENT_MAX:
            seq = self._acked_seq = max(self._acked, default=0) + 1
        now = int(time.time() * 1000)
        path = self._acked_path(seq)
        lines = b"".join(dumps({**c, "acked_ms": now}) + b"\n" for c in changes)
        try:
            append_line(path, lines)
        except OSError as exc:
            raise _write_failed(path, exc) from exc
        entry = self._acked.setdefault(seq, [0, 0])
        entry[0] += len(changes)
        entry[1] = now
        self._prune_acked()

    def acked_count(self) -> int:
        """Acknowledged changes kept to be offered again after a server restore."""
        return sum(n for n, _ in self._acked.values())

    def scratch_path(self, name: str) -> Path:
        """A file in the store's folder for work that survives a restart (a download)."""
        return self.data_dir / name

    def server_restored(self, epoch: str) -> list[str]:
        """The server went back to a backup (feed generation ``epoch``).

        The acknowledged changes kept here go back to the head of the outbox (in the order they
        were made, before changes not sent yet, which may depend on them); the cursor goes to
        the start of the new generation; every photo is checked with the server again. Returns
        the change ids offered again. Kill-safe: the outbox is rewritten before the log and
        the cursor are touched, and the whole step runs again if the cursor was not saved."""
        with self._lock:
            back: dict[str, dict] = {}
            found = len(self._damaged)
            for seq in sorted(self._acked):
                path = self._acked_path(seq)
                entries = self._check_acked(path) if path.exists() else []
                for e in entries:
                    cid = e.get("change_id")
                    if isinstance(cid, str) and cid not in self._seg_of and cid not in self._refused:
                        e.pop("acked_ms", None)
                        back.setdefault(cid, e)
            ordered = list(back.values()) + list(self._iter_pending())
            old_segs = sorted(self._segments)
            new_segs: dict[int, dict[str, dict]] = {}
            seq = self._next_seq
            for i in range(0, len(ordered), SEGMENT_MAX):
                chunk = ordered[i : i + SEGMENT_MAX]
                new_segs[seq] = {c["change_id"]: c for c in chunk}
                atomic_write_bytes(self._segment_path(seq), b"".join(dumps(c) + b"\n" for c in chunk))
                seq += 1
            for old in old_segs:
                remove_durably(self._segment_path(old))
            for change in back.values():
                self._count_pending(change, +1)
            self._segments = new_segs
            self._seg_of = {cid: s for s, seg in new_segs.items() for cid in seg}
            self._next_seq, self._cur_seq = seq, None
            for old in sorted(self._acked):
                remove_durably(self._acked_path(old))
            self._acked, self._acked_seq = {}, None
            self._uploaded = {}
            self._write(self.data_dir / "photos_uploaded.json", {"uploaded": self._uploaded})
            self._meta["cursor"] = f"{epoch}:0"
            kv = self._meta.setdefault("kv", {})
            now = int(time.time() * 1000)
            kv[RESTORE_KEY] = {"at_ms": now, "epoch": epoch, "offered": len(back), "recovered": 0}
            if len(self._damaged) > found:  # a damaged acked log: said like any damaged file
                kv[DAMAGE_KEY] = (list(kv.get(DAMAGE_KEY) or []) + [
                    {"at_ms": now, "name": r.name, "message": r.message} for r in self._damaged[found:]])[-20:]
            self._write_meta()
            return list(back)

    def damaged_files(self) -> list[DamagedReport]:
        """Files found damaged (moved to damaged/), each with a message for people; every
        partition is read first, so a damaged one not yet read is found too."""
        with self._lock:
            self._ensure_all()
            return list(self._damaged)

    def stats(self) -> dict:
        with self._lock:
            return self._stats()

    def _stats(self) -> dict:
        self._ensure_all()
        return {
            "counts": {k: sum(1 for r in v.values() if not r.get("fields", {}).get("_deleted"))
                       for k, v in sorted(self._by_kind.items())},
            "outbox": len(self._seg_of),
            "refused": len(self._refused),
            "conflicts": len(self._conflicts),
            "photos_to_upload": len(self.photos_to_upload()),
            "cursor": self.cursor(),
            "last_sync": self.meta_get("last_sync"),
            "damaged": [d.name for d in self._damaged],
        }
