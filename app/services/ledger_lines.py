"""The 整改台账's lines kept per issue on a staff PC, so the ledger of a county-year does not
fold 275,000 events again at every export.

A ``sync.reports.ledger.LedgerLine`` is a function of an issue's id, kind and events alone
(the issue's fields and the names of units and people are read when the row is made), and
events are only ever added (or, rarely, replaced whole by an earlier version): a line stays
right while the issue's kept fold (``app/store/views.py``) keeps its mark ``g``, which is new
whenever the fold changes. Lines are
kept in memory and in ``ledger-lines.json`` beside the records; that file is a cache (deleting
it costs one export the time of folding every issue) and is rewritten only when a line
changed. A line made over every event serves any period that ends after the issue's last
event; for an earlier one (last year's ledger, an issue that moved since) the issue is folded
as it stood then, and that line is not kept.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import date
from typing import Any

from app.store import Store, codec
from sync import workflow as wf
from sync.fileio import atomic_write_bytes
from sync.reports.ledger import LedgerLine
from sync.reports.model import Dataset, end_of_day, issue_facts

FILE = "ledger-lines.json"
VERSION = 3  # of the file, its keys and LedgerLine's shape: another one is read as no file
GROUP_AFTER = 2000  # issues to make lines for, beyond which every event is read and grouped once


class LedgerLines:
    """Every issue's ledger line over one device store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._kept: dict[str, tuple[str | None, LedgerLine]] | None = None
        self.made = 0  # lines made at the last call (the rest were kept)

    def lines(self, ds: Dataset, as_of: date) -> list[LedgerLine]:
        """The line of every live issue in ``ds`` as it stood at the end of ``as_of``."""
        kept = self._load()
        folds = self.store.issue_fold_keys()  # each issue's events and state, read together
        day, until = as_of.isoformat(), end_of_day(as_of)
        keys: dict[str, str | None] = {}
        for issue in ds.issues:
            g, _n, st, _flagged = folds.get(issue["id"]) or (None, 0, None, False)
            keys[issue["id"]] = g if st is not None else None
        stale = sum(1 for iid, key in keys.items() if key is None or (kept.get(iid) or (None,))[0] != key)
        events = self._events_of(stale)
        out: list[LedgerLine] = []
        fresh: dict[str, tuple[str | None, LedgerLine]] = {}
        self.made = 0
        for issue in ds.issues:
            iid = issue["id"]
            key = keys[iid]
            hit = kept.get(iid)
            if hit is None or key is None or hit[0] != key:
                _g, n, st, flagged = folds.get(iid) or (None, 0, None, False)
                evs = events(iid)
                if len(evs) != n:  # written meanwhile (a sync): fold what was read, keep nothing
                    key = st = None
                # the kept fold is these events' fold; when none landed invalid it is not redone
                kept_state = wf.IssueState(**st) if st is not None and not flagged else None
                hit = (key, LedgerLine.of(issue_facts(issue, evs, ds, kept=kept_state)))
                self.made += 1
            if key is not None:
                fresh[iid] = hit
            line = hit[1]
            if line.last_day > day:  # it moved after as_of: the issue as it stood then
                line = LedgerLine.of(issue_facts(issue, events(iid), ds, until))
            out.append(line)
        self._kept = fresh
        if self.made or len(fresh) != len(kept):
            self._save()
        return out

    def _events_of(self, n: int) -> Callable[[str], list[dict]]:
        """How to read an issue's events for ``n`` issues: each issue's own (only their
        partitions are read), or for many (the first export) all of them grouped at once."""
        if n <= GROUP_AFTER:
            return self.store.issue_events
        grouped: dict[str, list[dict]] = {}
        for e in self.store.all("issue_event"):
            grouped.setdefault(str(e["fields"].get("issue")), []).append(e)
        return lambda iid: grouped.get(iid, [])

    def _load(self) -> dict[str, tuple[str | None, LedgerLine]]:
        if self._kept is None:
            self._kept = {}
            gc_was_on = gc.isenabled()
            gc.disable()  # 50,000 lines of acyclic lists: nothing for the cyclic GC to find
            try:
                doc = codec.loads(self.store.scratch_path(FILE).read_bytes())
                if doc.get("version") == VERSION:
                    self._kept = {iid: (key, LedgerLine.from_doc(line)) for iid, (key, line) in doc["lines"].items()}
            except FileNotFoundError:
                pass
            except (ValueError, TypeError, KeyError, AttributeError):  # damaged: made again
                self._kept = {}
            finally:
                if gc_was_on:
                    gc.enable()
        return self._kept

    def _save(self) -> None:
        doc: dict[str, Any] = {"version": VERSION,
                               "lines": {iid: [key, line.to_doc()] for iid, (key, line) in (self._kept or {}).items()}}
        atomic_write_bytes(self.store.scratch_path(FILE), codec.dumps(doc))
