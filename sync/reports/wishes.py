"""微心愿 figures (pure): wishes collected, claimed and fulfilled, and the days from collecting
a wish to fulfilling it, by village and by the kind of claimant (docs/people.md).

A wish's state is the workflow fold of its events (sync.workflow), so a claim or fulfilment
that landed invalid does not count. Who claimed it is the register's claimant the claim names
(its kind: volunteer, party member, unit); an older claim with a name only counts as
"unregistered". Every figure keeps its N (sync.reports.metrics.Figure).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.i18n import t
from sync.records import CLAIMANT_KINDS, DELETED, parse_time_ms
from sync.reports.metrics import Figure
from sync.workflow import fold

UNREGISTERED = "unregistered"
CLAIMANT_GROUPS = (*CLAIMANT_KINDS, UNREGISTERED)
COUNT_FIGURES = ("wishes_collected", "wishes_claimed", "wishes_fulfilled")
_CLAIMED = frozenset({"claimed", "fulfilled", "closed"})
DAY_MS = 86_400_000


@dataclass
class WishGroup:
    """The figures of one village or claimant kind (``key``), or of every wish (``key`` "")."""

    key: str
    label: str
    collected: int = 0
    claimed: int = 0
    fulfilled: int = 0
    days: list[float] = field(default_factory=list)  # collected -> fulfilled, per fulfilled wish

    @property
    def figures(self) -> dict[str, Figure]:
        n = self.collected
        return {
            "wishes_collected": Figure("wishes_collected", n if n else None, n, n),
            "wishes_claimed": Figure("wishes_claimed", self.claimed if n else None, self.claimed, n),
            "wishes_fulfilled": Figure("wishes_fulfilled", self.fulfilled if n else None, self.fulfilled, n),
        }

    @property
    def days_figure(self) -> Figure:
        """Median days from collecting to fulfilling; N = fulfilled wishes."""
        return Figure("wish_days", statistics.median(self.days) if self.days else None, sum(self.days),
                      len(self.days))

    def days_text(self) -> str:
        fig = self.days_figure
        return t("reports.unit.days", n=f"{fig.value:.1f}") if fig.value is not None else "—"


@dataclass
class WishReport:
    total: WishGroup
    villages: list[WishGroup]
    claimants: list[WishGroup]  # one per claimant kind, in CLAIMANT_GROUPS order (claimed wishes)


def wish_report(records: Iterable[Mapping[str, Any]], village_names: Mapping[str, str] | None = None,
                total_label: str = "") -> WishReport:
    """The 微心愿 figures over ``records`` (issues, issue events, claimants, grids are read)."""
    recs = list(records)
    grid_village = {r["id"]: str(r["fields"].get("village") or "") for r in recs if r.get("kind") == "grid"}
    claimant_kind = {r["id"]: str(r["fields"].get("claimant_kind") or UNREGISTERED)
                     for r in recs if r.get("kind") == "claimant"}
    events: dict[str, list[Mapping[str, Any]]] = {}
    for e in recs:
        if e.get("kind") == "issue_event":
            events.setdefault(str(e["fields"].get("issue")), []).append(e)
    names = village_names or {}
    total = WishGroup("", total_label or t("reports.people.all"))
    villages: dict[str, WishGroup] = {}
    kinds = {k: WishGroup(k, t(f"reports.claimant.{k}")) for k in CLAIMANT_GROUPS}
    for issue in recs:
        f = issue["fields"]
        if issue.get("kind") != "issue" or f.get("issue_kind") != "wish" or f.get(DELETED):
            continue
        st = fold(issue, events.get(issue["id"], []))
        if st.outcome == "rejected":
            continue  # not taken up: not a wish the village collected
        valid = [e for e in st.timeline if e.valid]
        report = next((e for e in valid if e.type == "report"), None)
        collected_ms = parse_time_ms(report.event["fields"].get("at")) if report else None
        claim = next((e for e in reversed(valid) if e.type == "claim"), None)
        who = UNREGISTERED
        if claim is not None:
            who = claimant_kind.get(str((claim.event["fields"].get("data") or {}).get("claimant")), UNREGISTERED)
        vid = str(f.get("village") or grid_village.get(str(issue.get("grid")), ""))
        if vid not in villages:
            villages[vid] = WishGroup(vid, names.get(vid, vid))
        groups = [total, villages[vid]] + ([kinds[who]] if st.state in _CLAIMED else [])
        done_ms = parse_time_ms(st.resolved_at) if st.resolved_at is not None else None
        for g in groups:
            g.collected += 1
            if st.state in _CLAIMED:
                g.claimed += 1
            if done_ms is not None:
                g.fulfilled += 1
                if collected_ms is not None:
                    g.days.append(max(0.0, (done_ms - collected_ms) / DAY_MS))
    return WishReport(total, sorted(villages.values(), key=lambda g: g.label),
                      [kinds[k] for k in CLAIMANT_GROUPS])
