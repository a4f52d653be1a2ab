"""What reports read: a dataset of plain record dicts, and per-issue facts from the workflow fold.

Reports are pure functions over lists of records (the shape of docs/architecture.md), so the
same code runs on the server (records from its SQL store), in the app (from the device
store) and in tests. The issue's state always comes from ``sync.workflow.fold``: reports
never decide workflow rules themselves.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sync import reference, registry, workflow
from sync.chinatime import CHINA_TZ
from sync.i18n import t
from sync.ids import id_time_ms
from sync.records import REFERENCE_KINDS as _SYNCED_REFERENCE
from sync.reports.dates import to_date, to_datetime

# the synced reference kinds (township records among them since the county level)
REFERENCE_KINDS = tuple(dict.fromkeys(("township", *_SYNCED_REFERENCE)))


def label(prefix: str, value: str) -> str:
    """The catalog text of ``prefix.value`` (a state, an event type), or the value itself
    when the catalog has none."""
    key = f"{prefix}.{value}"
    text = t(key)
    return value if text == key else text


def _fields(rec: dict) -> dict:
    return rec.get("fields") or {}


def _alive(rec: dict) -> bool:
    return not _fields(rec).get("_deleted")


@dataclass
class Dataset:
    """Records split by kind; deleted records dropped. Reference data indexed by id."""

    issues: list[dict] = field(default_factory=list)
    events: dict[str, list[dict]] = field(default_factory=dict)  # issue id -> its events
    households: list[dict] = field(default_factory=list)
    visits: list[dict] = field(default_factory=list)
    photos: dict[str, dict] = field(default_factory=dict)  # record id -> photo record
    visit_demands: set[str] = field(default_factory=set)  # issue ids raised at a visit
    ref: dict[str, dict[str, dict]] = field(default_factory=dict)  # kind -> id -> fields

    @classmethod
    def from_records(cls, records: Iterable[dict]) -> Dataset:
        ds = cls(ref={k: {} for k in REFERENCE_KINDS})
        events: dict[str, list[dict]] = defaultdict(list)
        for rec in records:
            kind = rec.get("kind")
            if not _alive(rec):
                continue
            if kind == "issue":
                ds.issues.append(rec)
            elif kind == "issue_event":
                events[str(_fields(rec).get("issue"))].append(rec)
            elif kind == "household":
                ds.households.append(rec)
            elif kind == "visit":
                ds.visits.append(rec)
                ds.visit_demands.update(str(d) for d in _fields(rec).get("demands") or ())
            elif kind == "photo":
                ds.photos[rec["id"]] = rec
            elif kind in REFERENCE_KINDS:
                ds.ref[kind][rec["id"]] = {**_fields(rec), "id": rec["id"]}
        ds.events = dict(events)
        return ds

    # -- reference data look-ups (a missing id shows as itself, never as an error)

    def name(self, kind: str, ref_id: object) -> str:
        if not ref_id:
            return ""
        row = self.ref.get(kind, {}).get(str(ref_id))
        return str(row.get("name") or ref_id) if row else str(ref_id)

    def village_of_grid(self, grid_id: object) -> str:
        row = self.ref.get("grid", {}).get(str(grid_id or ""))
        return str(row.get("village") or "") if row else ""

    def village_of(self, issue: dict) -> str:
        """The village of an issue: its own field, else its grid's village."""
        grid = str(issue.get("grid") or _fields(issue).get("grid") or "")
        return str(_fields(issue).get("village") or self.village_of_grid(grid))

    def category_label(self, cat_id: object) -> str:
        """``parent/child`` for a two-level category, else its name."""
        row = self.ref.get("category", {}).get(str(cat_id or ""))
        if not row:
            return str(cat_id or "")
        parent = row.get("parent")
        name = str(row.get("name") or cat_id)
        return f"{self.name('category', parent)}/{name}" if parent else name

    # -- the county level (issue 14): grid -> village -> township -> county; a grid's worker

    def township_of_grid(self, grid_id: object) -> str:
        row = self.ref.get("village", {}).get(self.village_of_grid(grid_id))
        return str(row.get("township_id") or "") if row else ""

    def county_of_grid(self, grid_id: object) -> str:
        row = self.ref.get("township", {}).get(self.township_of_grid(grid_id))
        return str(row.get("county") or "") if row else ""

    def worker_of_grid(self, grid_id: object) -> str:
        """The grid worker answerable for a grid (the first by name when it has several)."""
        index = self.__dict__.get("_workers")
        if index is None:
            index = {}
            for uid, u in sorted(self.ref.get("user", {}).items(), key=lambda x: (str(x[1].get("name")), x[0])):
                if u.get("role") == "grid_worker" and u.get("grid"):
                    index.setdefault(str(u["grid"]), uid)
            self.__dict__["_workers"] = index
        return index.get(str(grid_id or ""), "")

    def source_label(self, source: str) -> str:
        """来源 as the ledger shows it: 网格员走访 / 问题墙 / 微心愿 for what grid workers raised,
        else the channel's name (its reference record, else the default name)."""
        if source in ("visit", "wall", "wish"):
            return t(f"reports.source.{source}")
        row = self.ref.get("source", {}).get(source)
        return str(row["name"]) if row and row.get("name") else reference.source_name(source)

    def township_name(self) -> str:
        """The township's name: from township records if any, else the villages' township;
        a county's name when the records span several townships of one county."""
        towns = self.ref.get("township", {})
        counties = {str(r.get("county")) for r in towns.values() if r.get("county")}
        if len(towns) > 1 and len(counties) == 1:
            return self.name("county", counties.pop())
        for row in towns.values():
            if row.get("name"):
                return str(row["name"])
        names = sorted({str(v["township"]) for v in self.ref.get("village", {}).values() if v.get("township")})
        return "、".join(names)


@dataclass
class Entry:
    """One timeline line, as the report needs it."""

    type: str
    at: datetime | None
    actor: str
    text: str
    data: dict
    flagged: bool


@dataclass
class IssueFacts:
    """An issue as reports see it: its record fields plus the fold's state."""

    id: str
    kind: str  # problem | wish
    title: str
    description: str
    category: str
    village: str
    grid: str
    source: str  # visit | wall | wish (a grid worker's), or the channel's source id (12345 ...)
    household: str
    created_at: datetime | None
    state: str
    unit: str
    assignee: str  # the name
    deadline: date | None
    supervised: bool
    redo_count: int
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    outcome: str  # the close outcome, or "rejected"
    reply: str
    measures: str
    published: bool
    public_title: str
    public_text: str
    public_photos: list[str]
    solved: bool | None
    satisfied: bool | None
    rechecks: list[Entry]  # valid re-check entries, oldest first
    timeline: list[Entry]
    fields: dict
    county_level: int = 0  # 县级督办 (0: none)
    county_deadline: date | None = None
    transfer_count: int = 0  # 转办
    assignee_id: str = ""


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    get = obj.get if isinstance(obj, dict) else functools.partial(getattr, obj)
    for n in names:
        v = get(n, None)
        if v is not None:
            return v
    return default


def _entry(raw: Any) -> Entry:
    """A report's view of a ``sync.workflow.TimelineEntry`` (its event record and validity)."""
    if isinstance(raw, dict):
        event, valid = raw.get("event", raw), raw.get("valid", True)
    else:
        event, valid = raw.event, raw.valid
    f = event.get("fields") or {}
    payload = f.get("data")
    payload = payload if isinstance(payload, dict) else {}
    data = {**payload, **f}
    data.pop("data", None)
    etype = str(f.get("type") or "")
    text = ""
    for k in registry.notes(etype):
        if payload.get(k):
            text = str(payload[k])
            break
    return Entry(
        type=etype,
        at=to_datetime(f.get("at")),
        actor=str(f.get("actor") or ""),
        text=text,
        data=data,
        flagged=not valid,
    )


def issue_source(f: dict, issue_id: str, ds: Dataset) -> str:
    """来源: a wish is 微心愿; a problem that came in by another channel is that channel (its
    ``source``: 12345热线, 信访 ...); a problem raised at a visit (a visit's demands link it) is
    网格员走访; anything else came to the problem wall (问题墙)."""
    if f.get("issue_kind") == "wish":
        return "wish"
    if f.get("source") and f.get("source") != reference.GRID_SOURCE:
        return str(f["source"])
    return "visit" if issue_id in ds.visit_demands else "wall"


def _id_time(record_id: str) -> datetime | None:
    """The creation time inside a UUIDv7 id (its first 48 bits are Unix milliseconds)."""
    try:
        return to_datetime(id_time_ms(record_id))
    except (ValueError, AttributeError):
        return None


def _happened_by(events: list[dict], until: datetime) -> list[dict]:
    """The events whose ``at`` is not after ``until`` (one without a time counts as by then)."""
    day = until.date().isoformat() if until.tzinfo is CHINA_TZ and until == end_of_day(until.date()) else None
    out = []
    for e in events:
        at = _fields(e).get("at")
        if day is not None and isinstance(at, str) and len(at) == 25 and at.endswith("+08:00"):
            # the shape events are written in (China time to the second), against the end of a
            # day: the date decides without parsing (a county-year's ledger reads 275,000)
            if at[:10] <= day:
                out.append(e)
        elif (to_datetime(at) or until) <= until:
            out.append(e)
    return out


def issue_facts(issue: dict, events: list[dict], ds: Dataset, until: datetime | None = None,
                kept: workflow.IssueState | None = None) -> IssueFacts:
    """Fold the issue's events (sync.workflow.fold) and collect what reports need.

    With ``until``, only events that happened by then count: the issue as it stood at that
    moment (a March report shows March's deadline, not one extended in April). ``kept``: the
    fold of exactly ``events``, when the caller keeps it and every event landed valid (a
    device's kept fold, not flagged); the events are then only put in order, not checked again.
    """
    f = _fields(issue)
    if until is not None:
        events = _happened_by(events, until)
    if kept is not None and until is None:
        st: Any = kept
        timeline = [_entry(e) for e in workflow.in_fold_order(events)]  # each valid
    else:
        st = workflow.fold(issue, events)
        timeline = [_entry(e) for e in (_get(st, "timeline", default=[]) or [])]
    rechecks = [e for e in timeline if e.type == "recheck" and not e.flagged]
    grid = str(issue.get("grid") or f.get("grid") or "")
    village = ds.village_of(issue)
    report = next((e for e in timeline if e.type == "report"), None)
    created = (
        to_datetime(_get(st, "reported_at", "created_at"))
        or (report.at if report else None)
        or _id_time(issue["id"])
        or (timeline[0].at if timeline else None)
    )
    # a wish has no unit; whoever claimed it (a department, a party member) is answerable
    unit = str(_get(st, "unit", "claimed_by", default="") or "")
    assign = next((e for e in reversed(timeline) if e.type == "assign" and not e.flagged), None)
    resolve = next((e for e in reversed(timeline) if e.type == "resolve" and not e.flagged), None)
    reply = str(_get(st, "reply", "resolution", default="") or (resolve.text if resolve else ""))
    # 整改措施: the resolution once there is one, before that the dispatch instructions.
    measures = reply or (assign.text if assign else "")
    # 责任人: units carry no named contact in the reference data, so the person answerable
    # is the township staff member who dispatched the issue.
    assignee_id = str(_get(st, "assignee", default="") or (assign.actor if assign else ""))
    assignee = ds.name("user", assignee_id) if assignee_id else ""
    after_photos: list[str] = []
    for e in timeline:
        if e.type in ("resolve", "fulfil") and not e.flagged:
            after_photos += [str(p) for p in e.data.get("photos") or ()]
    return IssueFacts(
        id=issue["id"],
        kind=str(f.get("issue_kind") or "problem"),
        title=str(f.get("title") or ""),
        description=str(f.get("description") or ""),
        category=str(f.get("category") or ""),
        village=village,
        grid=grid,
        source=issue_source(f, issue["id"], ds),
        household=str(f.get("household") or ""),
        created_at=created,
        # a rejected problem is closed in the workflow; reports call it 不予受理, not 已销号
        state="rejected" if st.state == "closed" and st.outcome == "rejected" else str(st.state),
        unit=unit,
        assignee=str(assignee),
        deadline=to_date(_get(st, "deadline")),
        supervised=int(_get(st, "supervised", default=0) or 0) > 0,
        redo_count=int(_get(st, "redo_count", default=0) or 0),
        accepted_at=to_datetime(_get(st, "accepted_at")),
        resolved_at=to_datetime(_get(st, "resolved_at")),
        closed_at=to_datetime(_get(st, "closed_at")),
        outcome=str(_get(st, "outcome", default="") or ""),
        reply=reply,
        measures=measures,
        published=bool(_get(st, "published", default=False)),
        public_title=str(_get(st, "public_title", default="") or ""),
        public_text=str(_get(st, "public_text", default="") or ""),
        public_photos=[str(p) for p in (_get(st, "public_photos", default=None) or after_photos)],
        solved=_get(st, "solved", default=None),
        satisfied=_get(st, "satisfied", default=None),
        rechecks=rechecks,
        timeline=timeline,
        fields=f,
        county_level=int(_get(st, "county_level", default=0) or 0),
        county_deadline=to_date(_get(st, "county_deadline")),
        transfer_count=int(_get(st, "transfer_count", default=0) or 0),
        assignee_id=assignee_id,
    )


def end_of_day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 23, 59, 59, 999999, tzinfo=CHINA_TZ)


def all_facts(ds: Dataset, as_of: date | None = None) -> list[IssueFacts]:
    """Facts of every issue (as they stood at the end of ``as_of``, if given), in report
    order (reported time, then id)."""
    until = end_of_day(as_of) if as_of else None
    out = [issue_facts(i, ds.events.get(i["id"], []), ds, until) for i in ds.issues]
    out.sort(key=lambda x: (x.created_at.timestamp() if x.created_at else 0.0, x.id))
    return out
