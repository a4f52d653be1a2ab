"""The staff board's index: every issue's folded state, kept instead of folded again, and the
board's filters answered from it.

Folding is the cost of a township board: 50,000 issues with 275,000 events take seconds to
fold (each event's payload is checked), and the board used to fold them at every start. Here
each issue's fold is summarised (``Folded``: what the board, the echo wall and the flags list
read) and kept

- in memory, checked at each query by identity (the store replaces a record's dict when it
  changes and never mutates it) and by the issue's event count and newest event id (events
  are immutable: a new one changes the count);
- on disk (``staff-board.json`` in the device's folder, written at close and after many
  re-folds; a cache: deleting it loses nothing),
  with a content key per issue (its event count and newest event id), so a
  fresh start folds only the issues that changed since it was written.

The board's rows are then filtered from flat tuples (no fold, no record look-ups) and only
the rows a screen draws are finished (labels, dates).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from operator import itemgetter
from pathlib import Path
from typing import Any

from app.services.common import reported_at
from app.store import Store
from app.store.storage import atomic_write_bytes
from sync import records as rec_mod
from sync import workflow as wf

FILE = "staff-board.json"
FORMAT = 3  # bump when Folded changes: an older file is then ignored (and rewritten)
TAIL_MAX = 5000  # events arrived since the last look that are grouped one by one (else anew)
WRITE_AFTER = 500  # re-folded issues before the file is written again (and at close: a kill
# before that only means the next start folds those issues again)


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
        day = rec_mod.parse_date(st.deadline)
        return cls(st.state, st.issue_kind, st.unit, st.deadline, day.isoformat() if day else None,
                   st.supervised, st.flagged, st.redo_count, reported_at(rec, st), st.published,
                   st.public_title, st.public_text, st.reply, st.resolved_at, st.outcome,
                   st.county_level, st.county_deadline, st.county_card, st.county_note, st.transfer_count)


_NAMES = [f.name for f in fields(Folded)]
_ID = itemgetter("id")


def content_key(evs: list[dict] | tuple) -> list[Any]:
    """What an issue's fold depends on, comparable across restarts: its events (how many and
    the newest id: they are immutable and only ever arrive). Of the record itself the fold
    reads only the kind, which is written once."""
    return [len(evs), max(map(_ID, evs), default="")]


@dataclass(slots=True)
class Entry:
    """One issue as the board filters and sorts it (flat values; the record kept by identity)."""

    id: str
    rec: dict
    folded: Folded
    state: str  # folded.state, one attribute away: every filter reads it
    n_events: int
    last_event: str
    title: str
    title_lower: str
    grid: str
    category: str
    urgency: str
    appeal_type: str


class BoardIndex:
    """Folded issues of one device store, kept current and kept across restarts."""

    def __init__(self, store: Store, events_by_issue: Callable[[], dict[str, list[dict]]]) -> None:
        self.store = store
        self._events = events_by_issue
        self._entries: dict[str, Entry] = {}
        self._order: list[Entry] = []  # newest report first (then the newer id)
        self._loaded = False
        self._seen_events = -1
        self._seen_ids: list[int] = []
        self._disk: dict[str, list[Any]] = {}  # id -> content key + Folded values, as on disk
        self._dirty = 0
        self._grouped: dict[str, list[dict]] = {}
        self._grouped_n = -1
        self._arrived: set[str] = set()  # issues with events grouped since the last refresh
        self._full = True  # grouped anew since the last refresh: look at every issue
        self.refolded = 0  # issues folded by the last refresh (benchmarks, tests)

    @property
    def path(self) -> Path:
        return self.store.scratch_path(FILE)

    # ------------------------------------------------------------------ keeping it current
    def events(self) -> dict[str, list[dict]]:
        """Every issue's events: the services' grouping at first, then kept up by the events
        that arrived since (events are never edited or deleted, so their count tells which:
        the store keeps a kind's records in the order they came, new ones last)."""
        n = self.store.count("issue_event")
        if n == self._grouped_n:
            return self._grouped
        if 0 <= self._grouped_n < n and n - self._grouped_n <= TAIL_MAX:
            arrived = self.store.all("issue_event", include_deleted=True)[self._grouped_n:]
            grouped = self._grouped
            for e in arrived:  # new lists: whoever holds the old ones keeps what they had
                iid = e["fields"].get("issue")
                grouped[iid] = [*grouped.get(iid, ()), e]
                self._arrived.add(iid)
        else:
            self._grouped = dict(self._events())
            self._arrived = set()
            self._full = True
        self._grouped_n = n
        return self._grouped

    def entries(self) -> list[Entry]:
        """Every issue, newest report first, folded state current."""
        self.refresh()
        return self._order

    def get(self, iid: str) -> Entry | None:
        self.refresh()
        return self._entries.get(iid)

    def refresh(self) -> None:
        """Fold again only what changed since the last call (at the first call of a process:
        since the file was written)."""
        # events only ever arrive (never edited, never deleted): their count tells
        n_events = self.store.count("issue_event")
        issues = self.store.all("issue")
        ids = list(map(id, issues))  # a changed record is a new dict (never mutated in place)
        if self._loaded and n_events == self._seen_events and ids == self._seen_ids:
            return  # nothing changed: the common case, every filter and search
        if not self._loaded:
            self._disk = self._read()
            self._loaded = True
        same_issues = ids == self._seen_ids
        self._seen_events, self._seen_ids = n_events, ids
        events = self.events()
        entries = self._entries
        if same_issues and not self._full:  # only events arrived (an action, a small sync)
            todo = [r for r in (self.store.get("issue", i) for i in self._arrived) if r is not None]
        else:
            todo = issues
        self._arrived, self._full = set(), False
        changed = len(issues) != len(entries)  # the order changes with the set of issues
        refolded = 0
        replaced = False
        seen: set[str] = set()
        for rec in todo:
            iid = rec["id"]
            evs = events.get(iid, ())
            hit = entries.get(iid)
            last = evs[-1]["id"] if evs else ""
            seen.add(iid)
            if hit is not None and hit.rec is rec and hit.n_events == len(evs) and hit.last_event == last:
                continue
            replaced = True
            folded = None
            if hit is None and iid in self._disk:  # the first call: what the file says, if still true
                kept = self._disk.pop(iid)
                if kept[:2] == content_key(evs):
                    folded = Folded(*kept[2:])
            if folded is None:
                folded = Folded.of(rec, wf.fold(rec, evs))
                refolded += 1
            changed = changed or hit is None or hit.folded.reported_at != folded.reported_at
            fl = rec["fields"]
            title = str(fl.get("title") or "")
            entries[iid] = Entry(iid, rec, folded, folded.state, len(evs), last, title, title.lower(), rec.get("grid") or "",
                                 str(fl.get("category") or ""), fl.get("urgency") or "normal",
                                 str(fl.get("appeal_type") or ""))
        if todo is issues:
            for gone in set(entries) - seen:  # deleted (or gone with a damaged file)
                del entries[gone]
                changed = True
        self._disk = {}  # read once: everything in it has been taken or is stale
        self.refolded = refolded
        if changed:
            self._order = sorted(entries.values(), key=lambda e: (e.folded.reported_at, e.id), reverse=True)
        elif replaced:  # the same order, the new entries in it
            self._order = [entries[e.id] for e in self._order]
        self._dirty += refolded
        if self._dirty >= WRITE_AFTER:
            self.save()

    # ------------------------------------------------------------------ on disk
    def _read(self) -> dict[str, list[Any]]:
        try:
            doc = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}  # none yet, or unreadable: fold everything (and write it again)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("issues"), dict):
            return {}
        n = 2 + len(_NAMES)
        return {k: v for k, v in doc["issues"].items() if isinstance(v, list) and len(v) == n}

    def save(self) -> None:
        """Write the folded issues (atomically; a cache, so a failed write is only retried later)."""
        if not self._dirty:
            return
        events = self.events()
        out = {}
        for e in self._entries.values():
            out[e.id] = content_key(events.get(e.id, ())) + list(asdict(e.folded).values())
        data = json.dumps({"format": FORMAT, "issues": out}, ensure_ascii=False, separators=(",", ":"))
        try:
            atomic_write_bytes(self.path, data.encode("utf-8"))
        except OSError:
            return
        self._dirty = 0
