"""联户 figures (pure): which households a party member or 联户长 looks after, and the visits
they came along to, per village and per quarter (docs/people.md).

Input is plain records (``{id, kind, grid, fields}``) of the kinds household, member, pairing
and visit; deleted records are left out, and a pairing counts only while its member and its
household are both there. Every figure keeps its N (sync.reports.metrics.Figure).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.chinatime import china_time
from sync.i18n import t
from sync.records import DELETED, parse_time_ms
from sync.reports.metrics import Figure

PAIRING_FIGURES = ("paired_households", "unpaired_households")


def quarter_of(ms: int) -> str:
    """``2026-Q4`` for a time (China time)."""
    d = china_time(ms)
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


@dataclass
class PairingGroup:
    """The figures of one village (``key``) or of everything (``key`` "")."""

    key: str
    label: str
    households: int = 0
    paired: int = 0
    unpaired_ids: list[str] = field(default_factory=list)
    visits: dict[str, int] = field(default_factory=dict)  # quarter -> visits
    member_visits: dict[str, int] = field(default_factory=dict)  # quarter -> with a linked member

    @property
    def figures(self) -> dict[str, Figure]:
        return {
            "paired_households": Figure("paired_households", self.paired if self.households else None,
                                        self.paired, self.households),
            "unpaired_households": Figure("unpaired_households",
                                          len(self.unpaired_ids) if self.households else None,
                                          len(self.unpaired_ids), self.households),
        }

    def member_visit_figure(self, quarter: str) -> Figure:
        """Visits in the quarter that named a member who looks after the visited household;
        N = every visit of the quarter."""
        n = self.visits.get(quarter, 0)
        k = self.member_visits.get(quarter, 0)
        return Figure("member_visits", k if n else None, k, n)


@dataclass
class PairingReport:
    total: PairingGroup
    villages: list[PairingGroup]
    quarters: list[str]  # every quarter with a visit, oldest first


def _live(records: Iterable[Mapping[str, Any]], kind: str) -> dict[str, Mapping[str, Any]]:
    return {r["id"]: r for r in records if r.get("kind") == kind and not r["fields"].get(DELETED)}


def pairing_report(records: Iterable[Mapping[str, Any]], village_names: Mapping[str, str] | None = None,
                   total_label: str = "") -> PairingReport:
    """The 联户 figures over ``records`` (any kinds; the ones named above are read)."""
    recs = list(records)
    households = _live(recs, "household")
    members = _live(recs, "member")
    linked: dict[str, set[str]] = {}  # household id -> member ids looking after it
    for p in _live(recs, "pairing").values():
        hid, mid = p["fields"].get("household"), p["fields"].get("member")
        if hid in households and mid in members:
            linked.setdefault(hid, set()).add(mid)
    names = village_names or {}
    total = PairingGroup("", total_label or t("reports.people.all"))
    groups: dict[str, PairingGroup] = {}

    def group(vid: str) -> PairingGroup:
        if vid not in groups:
            groups[vid] = PairingGroup(vid, names.get(vid, vid))
        return groups[vid]

    for hid, h in households.items():
        for g in (total, group(str(h["fields"].get("village") or ""))):
            g.households += 1
            if linked.get(hid):
                g.paired += 1
            else:
                g.unpaired_ids.append(hid)
    quarters: set[str] = set()
    for v in _live(recs, "visit").values():
        f = v["fields"]
        h = households.get(f.get("household"))
        ms = parse_time_ms(f.get("time"))
        if h is None or ms is None:
            continue
        q = quarter_of(ms)
        quarters.add(q)
        by_member = f.get("companion") in linked.get(f["household"], set())
        for g in (total, group(str(h["fields"].get("village") or ""))):
            g.visits[q] = g.visits.get(q, 0) + 1
            if by_member:
                g.member_visits[q] = g.member_visits.get(q, 0) + 1
    return PairingReport(total, sorted(groups.values(), key=lambda g: g.label), sorted(quarters))
