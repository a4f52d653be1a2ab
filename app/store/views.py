"""What the device keeps derived from its records, so that a start reads a summary instead of
every record (docs/device-store.md, "Views"):

- ``folds``: issue id -> the issue's workflow state (the fold of its events, ``sync.workflow``)
  as the field app's rows show it, the ids of its events (``ev``), what in them can notify
  someone (``ib``: ``sync.inbox.causes``, so the inbox badge reads no event) and a mark that
  is new whenever the entry changes (``g``);
- ``visits``: household id -> {visit id: visit time ms} of its live visits (last visit, visits
  of a household, the newest visits without reading them all);
- ``search``: household id -> [stamp key, search text] (names, address, phone, pinyin initials);
- ``max_stamp``: the highest stamp of any record (the clock starts above it).

Each entry is a pure function of the records (``touch`` recomputes the entries one record
feeds from the records themselves), so the views are never ahead of or behind the data: the
store touches every record it writes, and at open every record a journal says may have been
written since the views were saved (docs/device-store.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import fields as dc_fields
from typing import Any

from sync import inbox
from sync import workflow as wf
from sync.ids import id_time_ms
from sync.records import parse_time_ms

VERSION = 4  # 3: the inbox's causes (``ib``) beside each fold; 4: a mark (``g``) on each
_PINYIN_CACHE: dict[str, str] = {}
Getter = Callable[[str, str], "dict | None"]  # (kind, id) -> the record (deleted ones too) or None


def initials(text: str) -> str:
    """Pinyin initials of Chinese text (``王建国`` -> ``wjg``); other characters kept."""
    if not text:
        return ""
    hit = _PINYIN_CACHE.get(text)
    if hit is not None:
        return hit
    from pypinyin import Style, lazy_pinyin  # its dictionaries are large: loaded on first use

    out = "".join(p[:1] for p in lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default"))
    out = out.lower()
    _PINYIN_CACHE[text] = out
    return out


def search_text(rec: dict) -> str:
    """What the household search matches: names, address, phone and the names' initials."""
    f = rec["fields"]
    members = f.get("members") if isinstance(f.get("members"), list) else []
    names = [_text(f.get("head"))] + [_text(m.get("name")) for m in members if isinstance(m, dict)]
    return " ".join([*names, _text(f.get("address")), _text(f.get("phone")),
                     *[initials(n) for n in names if n]]).lower()


def _text(v: Any) -> str:
    return v if isinstance(v, str) else ""


def stamp_key(rec: dict) -> str:
    return max((s for s in (rec.get("stamps") or {}).values() if isinstance(s, str)), default="")


def reported_at(rec: dict, st: Any) -> int:
    """When an issue was reported: its report event's time (ids made in a batch can be later)."""
    return next((parse_time_ms(e.event["fields"].get("at")) for e in st.timeline
                 if e.type == "report"), None) or id_time_ms(rec["id"])


def visit_time(rec: dict) -> int:
    return parse_time_ms(rec["fields"].get("time")) or id_time_ms(rec["id"])


_STATE_FIELDS = tuple(f.name for f in dc_fields(wf.IssueState) if f.name != "timeline")


def _generation() -> str:
    """A new mark for a fold that changed (``g``): random, so a reader that kept something
    derived from a fold across restarts (the ledger's lines) sees any change, a rebuild too."""
    return os.urandom(6).hex()


def _live(rec: dict | None) -> bool:
    return rec is not None and not rec.get("fields", {}).get("_deleted")


class FoldView:
    """An issue's folded state as the field app's rows use it (a ``wf.IssueState`` without
    the timeline; ``flagged`` and ``reported_at`` beside it)."""

    __slots__ = ("claimed_by", "deadline", "flagged", "issue_kind", "redo_count", "reported_at",
                 "state", "supervised")

    def __init__(self, d: dict) -> None:
        st = d["st"]
        self.state = st["state"]
        self.issue_kind = st["issue_kind"]
        self.redo_count = int(st.get("redo_count") or 0)
        self.supervised = int(st.get("supervised") or 0)
        self.deadline = st.get("deadline")
        self.claimed_by = st.get("claimed_by")
        self.flagged = bool(d.get("flagged"))
        self.reported_at = int(d["at"])


class Views:
    """The derived views of one store, kept in memory and saved as ``summary.json``."""

    def __init__(self) -> None:
        self.folds: dict[str, dict] = {}
        self.visits: dict[str, dict[str, int]] = {}
        self.search: dict[str, list] = {}
        self.max_stamp = ""
        self._home_of: dict[str, str] | None = None  # visit id -> household id, built on use
        self._last: dict[str, int] | None = None

    # ------------------------------------------------------------------ persistence
    def to_doc(self) -> dict:
        return {"info": {"version": VERSION, "max_stamp": self.max_stamp},
                "folds": self.folds, "visits": self.visits, "search": self.search}

    @classmethod
    def from_doc(cls, doc: dict | None) -> Views | None:
        """The views of a saved document; None when absent, of another version or malformed
        (then they are rebuilt from the records)."""
        if not doc or (doc.get("info") or {}).get("version") != VERSION:
            return None
        v = cls()
        try:
            v.folds, v.visits, v.search = dict(doc["folds"]), dict(doc["visits"]), dict(doc["search"])
            v.max_stamp = str(doc["info"].get("max_stamp") or "")
            if not all(isinstance(x, dict) for x in v.visits.values()) or \
                    not all(isinstance(x, dict) and isinstance(x.get("ev"), list) and
                            isinstance(x.get("st", {}), dict) and
                            ("st" not in x or (isinstance(x.get("ib"), dict) and isinstance(x.get("g"), str)))
                            for x in v.folds.values()):
                return None
        except (KeyError, TypeError, ValueError):
            return None
        return v

    # ------------------------------------------------------------------ upkeep
    def rebuild(self, records: Iterable[dict]) -> None:
        """Every view from every record (a store without views, or after damage)."""
        self.__init__()  # type: ignore[misc]
        issues: dict[str, dict] = {}
        events: dict[str, list[dict]] = {}
        for rec in records:
            self._stamp(rec)
            kind = rec["kind"]
            if kind == "issue":
                issues[rec["id"]] = rec
            elif kind == "issue_event":
                iid = rec["fields"].get("issue")
                if isinstance(iid, str):
                    events.setdefault(iid, []).append(rec)
            elif kind == "visit":
                self._visit(rec["id"], rec)
            elif kind == "household":
                self._household(rec["id"], rec)
        for iid in set(issues) | set(events):
            evs = events.get(iid, [])
            self._fold(iid, issues.get(iid), [e for e in evs if _live(e)], [e["id"] for e in evs])

    def touch(self, kind: str, rid: str, get: Getter, written: bool = True) -> None:
        """Recompute what the record ``(kind, rid)`` feeds, from the records as they are now.
        ``written``: the record was just written (else: named by the journal or the outbox at
        open, and maybe folded already)."""
        rec = get(kind, rid)
        if rec is not None:
            self._stamp(rec)
        if kind == "visit":
            self._visit(rid, rec)
        elif kind == "household":
            self._household(rid, rec)
        elif kind == "issue":
            entry = self.folds.get(rid)
            if entry and "st" in entry and rec is not None and \
                    entry["st"]["issue_kind"] == ("wish" if rec["fields"].get("issue_kind") == "wish" else "problem") \
                    and inbox.who(rec) == (entry["ib"]["reporter"], entry["ib"]["source"]):
                # the fold reads only the issue's id, kind, reporter and source: an edit of
                # its text changes nothing
                if _live(rec) == (not entry.get("deleted")):
                    return
            self.refold(rid, get)
        elif kind == "issue_event" and rec is not None:
            iid = rec["fields"].get("issue")
            if not isinstance(iid, str):
                return
            entry = self.folds.setdefault(iid, {"ev": []})
            if rid in entry["ev"]:
                if written:  # replaced whole by an earlier version of a differing re-send (sync.merge)
                    self.refold(iid, get)
                return  # else folded already (an unacked event named by the outbox at open)
            order = list(wf.event_order(rec))
            if "st" in entry and entry.get("last") is not None and order > entry["last"] and _live(rec):
                self._fold_more(iid, entry, rec, order)  # the common case: a new event, last
            else:
                entry["ev"].append(rid)
                self.refold(iid, get)

    def refold(self, iid: str, get: Getter) -> None:
        """Fold the issue again from all its events (they are read by id)."""
        ev = list((self.folds.get(iid) or {}).get("ev") or [])
        events = [e for e in (get("issue_event", x) for x in ev) if _live(e)]
        self._fold(iid, get("issue", iid), events, ev)

    def _fold(self, iid: str, issue: dict | None, events: list[dict], ev: list[str]) -> None:
        if issue is None:  # events pulled before their issue: folded when it comes
            self.folds[iid] = {"ev": ev}
            return
        st = wf.fold(issue, events)
        self.folds[iid] = {
            "st": {k: getattr(st, k) for k in _STATE_FIELDS}, "flagged": st.flagged,
            "at": reported_at(issue, st), "rep": any(e.type == "report" for e in st.timeline),
            "last": list(wf.event_order(st.timeline[-1].event)) if st.timeline else None, "ev": ev,
            "ib": inbox.causes(issue, st.timeline), "g": _generation(),
        }
        if not _live(issue):
            self.folds[iid]["deleted"] = True

    def _fold_more(self, iid: str, entry: dict, event: dict, order: list) -> None:
        st = wf.fold_more(wf.IssueState(**entry["st"]), iid, [event])
        new = st.timeline[-1]
        inbox.note(entry["ib"], new)
        entry["flagged"] = bool(entry.get("flagged")) or not new.valid
        if not entry.get("rep") and new.type == "report":
            entry["rep"] = True
            entry["at"] = parse_time_ms(new.event["fields"].get("at")) or id_time_ms(iid)
        entry["last"] = order
        entry["ev"].append(event["id"])
        entry["g"] = _generation()
        # last: a reader in another thread that keeps what it derived by the identity of "st"
        # (the inbox, the board) sees a new "st" only once the rest of the entry is new too
        entry["st"] = {k: getattr(st, k) for k in _STATE_FIELDS}

    def _stamp(self, rec: dict) -> None:
        s = stamp_key(rec)
        if s > self.max_stamp:
            self.max_stamp = s

    def _visit(self, vid: str, rec: dict | None) -> None:
        home = self.home_of().pop(vid, None)
        if home is not None:
            self.visits.get(home, {}).pop(vid, None)
            if not self.visits.get(home, True):
                del self.visits[home]
        hid = rec["fields"].get("household") if _live(rec) else None
        if isinstance(hid, str) and hid:
            self.visits.setdefault(hid, {})[vid] = visit_time(rec)  # type: ignore[arg-type]
            self.home_of()[vid] = hid
        self._last = None

    def _household(self, hid: str, rec: dict | None) -> None:
        if not _live(rec):
            self.search.pop(hid, None)
            return
        key = stamp_key(rec)  # type: ignore[arg-type]
        hit = self.search.get(hid)
        if not hit or hit[0] != key:
            self.search[hid] = [key, search_text(rec)]  # type: ignore[arg-type]

    # ------------------------------------------------------------------ reads
    def size(self) -> int:
        """Entries held (issues, households, visits): what saving the views costs."""
        return len(self.folds) + len(self.search) + len(self.home_of())

    def home_of(self) -> dict[str, str]:
        if self._home_of is None:
            self._home_of = {vid: hid for hid, vs in self.visits.items() for vid in vs}
        return self._home_of

    def last_visits(self) -> dict[str, int]:
        """household id -> time of its newest live visit."""
        if self._last is None:
            self._last = {hid: max(vs.values()) for hid, vs in self.visits.items() if vs}
        return self._last

    def fold_of(self, iid: str) -> FoldView | None:
        d = self.folds.get(iid)
        return FoldView(d) if d and "st" in d else None

    def issues_in(self, state: str) -> list[str]:
        """Ids of the live issues in ``state``, newest report first."""
        found = [(d["at"], iid) for iid, d in self.folds.items()
                 if "st" in d and d["st"]["state"] == state and not d.get("deleted")]
        found.sort(reverse=True)
        return [iid for _, iid in found]

    def event_ids(self, iid: str) -> list[str]:
        return list((self.folds.get(iid) or {}).get("ev") or [])

    def newest_visits(self, limit: int) -> list[str]:
        """Ids of the ``limit`` newest live visits (by visit time, then id)."""
        import heapq

        pairs = ((ms, vid) for vs in self.visits.values() for vid, ms in vs.items())
        return [vid for _, vid in heapq.nlargest(limit, pairs)]
