"""The staff board's index: every issue's folded state as the board reads it, and the
board's filters answered from it.

Folding is the cost of a township board: 50,000 issues with 275,000 events take seconds to
fold (each event's payload is checked). The device store keeps every issue's fold already
(its views, ``summary.json``: updated at every save and pull, docs/device-store.md), so the
board folds nothing and reads no event: it takes the kept folds and the issue records (its
titles, grids, categories). Each issue becomes a flat ``Entry``, checked at each query by
identity: the store replaces a record's dict when it changes and the view's state dict when
the fold changes (neither is mutated in place), and ``Store.version`` says when anything was
written at all.

The board's rows are then filtered from flat tuples (no fold, no record look-ups) and only
the rows a screen draws are finished (labels, dates).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

from app.services.common import reported_at
from app.store import Store
from sync import records as rec_mod
from sync import workflow as wf

TAIL_MAX = 5000  # records written since the last look that are followed one by one (else all)
FREEZE_AFTER = 1000  # entries made at once that are kept from the cyclic GC's scans
OLD_FILE = "staff-board.json"  # where the board kept its own folds before the store kept them


@dataclass
class Folded:
    """What the staff screens read of an issue's fold (``sync.workflow.IssueState`` without
    the timeline), plus its report time and whether an event landed invalid."""

    state: str
    issue_kind: str
    unit: str | None
    deadline: str | None
    due: str | None  # the deadline as a valid ISO date (None when missing or unreadable)
    supervised: int
    flagged: bool
    redo_count: int
    reported_at: int  # ms: the report event's time, else the id's
    published: bool
    public_title: str | None
    public_text: str | None
    reply: str | None
    resolved_at: Any
    outcome: str | None
    # the county level (issue 14): the county 督办卡 and 转办 (the deadline flags read these)
    county_level: int
    county_deadline: str | None
    county_card: str | None
    county_note: str | None
    transfer_count: int

    @classmethod
    def of(cls, rec: dict, st: wf.IssueState) -> Folded:
        """From a fold made here (an issue the store's views do not hold folded)."""
        view = {k: getattr(st, k) for k in ("state", "issue_kind", "unit", "deadline", "supervised", "redo_count",
                                            "published", "public_title", "public_text", "reply", "resolved_at",
                                            "outcome", "county_level", "county_deadline", "county_card",
                                            "county_note", "transfer_count")}
        return cls.of_view({"st": view, "flagged": st.flagged, "at": reported_at(rec, st)})

    @classmethod
    def of_view(cls, d: dict) -> Folded:
        """From the store's kept fold of the issue (``app/store/views.py``: "st" is the
        ``IssueState`` without its timeline, "flagged" and "at" beside it)."""
        st = d["st"]
        deadline = st.get("deadline")
        day = rec_mod.parse_date(deadline)
        return cls(st["state"], st["issue_kind"], st.get("unit"), deadline, day.isoformat() if day else None,
                   int(st.get("supervised") or 0), bool(d.get("flagged")), int(st.get("redo_count") or 0),
                   int(d["at"]), bool(st.get("published")), st.get("public_title"), st.get("public_text"),
                   st.get("reply"), st.get("resolved_at"), st.get("outcome"), int(st.get("county_level") or 0),
                   st.get("county_deadline"), st.get("county_card"), st.get("county_note"),
                   int(st.get("transfer_count") or 0))


@dataclass(slots=True)
class Entry:
    """One issue as the board filters and sorts it (flat values; the record and the store's
    fold kept by identity)."""

    id: str
    rec: dict
    st: dict | None  # the store's kept state dict it was made from (None: folded here)
    folded: Folded
    state: str  # folded.state, one attribute away: every filter reads it
    title: str
    title_lower: str
    grid: str
    category: str
    urgency: str
    appeal_type: str


class BoardIndex:
    """The issues of one device store as the board reads them, kept current."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._entries: dict[str, Entry] = {}
        self._order: list[Entry] = []  # newest report first (then the newer id)
        self._seen = -1  # Store.version at the last look
        self.refolded = 0  # issues folded here by the last call: the store's views hold the rest
        self.renewed = 0  # entries made again by the last call (new or changed issues)

    def entries(self) -> list[Entry]:
        """Every issue, newest report first, folded state current."""
        self.refresh()
        return self._order

    def get(self, iid: str) -> Entry | None:
        self.refresh()
        return self._entries.get(iid)

    def refresh(self) -> None:
        """Make again the entries of the issues whose record or kept fold changed."""
        version = self.store.version  # read first: a write after it is seen at the next call
        if version == self._seen:
            self.refolded = self.renewed = 0
            return  # nothing written: the common case, every filter and search
        written = self.store.written_since(self._seen) if self._seen >= 0 else None
        if self._seen < 0:
            # the board's own kept folds of earlier versions: the store keeps them now
            self.store.scratch_path(OLD_FILE).unlink(missing_ok=True)
        self._seen = version
        folds = self.store.issue_folds()
        self.refolded = self.renewed = 0
        if written is not None and len(written) <= TAIL_MAX:
            changed = self._catch_up(written, folds)  # an action, a small sync
        else:
            changed = self._all(folds)
        if changed:
            self._order = sorted(self._entries.values(), key=lambda e: (e.folded.reported_at, e.id), reverse=True)
        elif self.renewed:  # the same order, the new entries in it
            self._order = [self._entries[e.id] for e in self._order]
        if self.renewed > FREEZE_AFTER:
            gc.freeze()  # acyclic and long-lived, like the store's records (app/device.py)

    def _all(self, folds: dict[str, dict]) -> bool:
        """Every issue looked at (the first call, a big sync); True when the order changed."""
        issues = self.store.all("issue")
        entries = self._entries
        changed = False
        for rec in issues:
            changed = self._renew(rec, folds) or changed
        if len(entries) != len(issues):  # deleted (or gone with a damaged file)
            live = {r["id"] for r in issues}
            for gone in [i for i in entries if i not in live]:
                del entries[gone]
            changed = True
        return changed

    def _catch_up(self, written: list[tuple[str, str]], folds: dict[str, dict]) -> bool:
        """Only the issues the latest writes touched (an issue, or one of its events)."""
        iids: set[str] = set()
        for kind, rid in written:
            if kind == "issue":
                iids.add(rid)
            elif kind == "issue_event":
                ev = self.store.get("issue_event", rid, include_deleted=True)
                iid = ev["fields"].get("issue") if ev else None
                if isinstance(iid, str):
                    iids.add(iid)
        changed = False
        for iid in iids:
            rec = self.store.get("issue", iid)
            if rec is not None:
                changed = self._renew(rec, folds) or changed
            elif self._entries.pop(iid, None) is not None:  # deleted
                changed = True
        return changed

    def _renew(self, rec: dict, folds: dict[str, dict]) -> bool:
        """Make the issue's entry again if its record or kept fold changed; True when that
        moves it in the order (new, or another report time)."""
        iid = rec["id"]
        d = folds.get(iid)
        st = d.get("st") if d else None
        hit = self._entries.get(iid)
        if hit is not None and hit.rec is rec and hit.st is st and st is not None:
            return False
        if st is not None:
            folded = Folded.of_view(d)  # type: ignore[arg-type]
        else:  # not in the views (never expected): fold it from its events
            folded = Folded.of(rec, wf.fold(rec, self.store.issue_events(iid)))
            self.refolded += 1
        self.renewed += 1
        fl = rec["fields"]
        title = str(fl.get("title") or "")
        self._entries[iid] = Entry(iid, rec, st, folded, folded.state, title, title.lower(), rec.get("grid") or "",
                                   str(fl.get("category") or ""), fl.get("urgency") or "normal",
                                   str(fl.get("appeal_type") or ""))
        return hit is None or hit.folded.reported_at != folded.reported_at
