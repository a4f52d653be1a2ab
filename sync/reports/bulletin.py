"""工作简报: the county's monthly bulletin. 三率 per township and per unit with a ranking,
环比 (the previous period) and 同比 (the same period a year before), the problems overdue at
the end of the period, and the hot categories (热点诉求).

Pure over a ``Dataset``; a county is a set of townships (names or township ids) given by the
caller, so the same figures serve one township, several, or a whole county.

The 三率 are the figures of ``sync.reports.metrics`` with their definitions and N, never a
second copy of their rules:

- 响应率 ``response_rate``: problems reported in the period (minus those still inside the
  accept limit and not accepted yet); accepted within the limit in working days.
- 按期办结率 ``on_time_rate``: problems whose deadline falls in the period and has passed
  (or that are resolved); resolved on or before the deadline day.
- 满意率 ``satisfied_rate``: issues re-checked in the period (each once, its last answer);
  the resident said satisfied.

综合得分 (the ranking's score) is the mean of those of the three rates that have N > 0; a group
with none is not ranked. Ranks are shared on equal scores (1, 2, 2, 4). Changes (环比, 同比)
are in percentage points, "—" when either side has N = 0. A unit's figures count the problems
that are with it at the end of the period (the fold's unit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from types import SimpleNamespace

from sync import workdays as workdays_mod
from sync import workflow
from sync.chinatime import china_today
from sync.i18n import t
from sync.ids import id_time_ms, is_id
from sync.public_code import public_code
from sync.reports.dates import Period, month_period, to_date
from sync.reports.metrics import NO_VALUE, Figure, compute_figures
from sync.reports.model import Dataset, IssueFacts, all_facts
from sync.workdays import WorkCalendar

RATES = ("response_rate", "on_time_rate", "satisfied_rate")  # 三率


@dataclass
class RateRow:
    """One township or unit: the three rates now, 环比 and 同比, the score and the rank."""

    key: str
    label: str
    figures: dict[str, Figure]
    previous: dict[str, Figure]  # 环比: the previous period
    last_year: dict[str, Figure]  # 同比: the same period a year before
    rank: int | None = None

    @property
    def score(self) -> float | None:
        vals = [self.figures[k].value for k in RATES if self.figures[k].value is not None]
        return sum(vals) / len(vals) if vals else None

    def change(self, key: str, against: str) -> float | None:
        """Percentage points against ``previous`` or ``last_year``; None when one side has N = 0."""
        now, then = self.figures[key].value, getattr(self, against)[key].value
        return None if now is None or then is None else (now - then) * 100

    def change_text(self, key: str, against: str) -> str:
        d = self.change(key, against)
        return NO_VALUE if d is None else f"{d:+.1f}"

    def score_text(self) -> str:
        s = self.score
        return NO_VALUE if s is None else f"{s * 100:.1f}"


@dataclass(frozen=True)
class OverdueRow:
    code: str  # public code
    title: str
    township: str
    village: str
    unit: str
    deadline: date
    days_over: int  # working days past the deadline at the end of the period
    which: str  # "unit": the dispatch deadline; "county": the county 督办卡's
    level: str  # 督办层级 as printed (县级2级督办, 乡镇1级督办, "")


@dataclass(frozen=True)
class HotCategory:
    label: str
    count: int
    share: float  # of the problems reported in the period
    previous: int  # the same category in the previous period (环比)


@dataclass
class Bulletin:
    county: str
    period: Period
    previous: Period
    last_year: Period
    as_of: date
    accept_limit_days: int
    townships: list[RateRow]
    units: list[RateRow]
    total: RateRow
    overdue: list[OverdueRow] = field(default_factory=list)
    hot: list[HotCategory] = field(default_factory=list)
    reported: int = 0  # problems reported in the period

    @property
    def number(self) -> str:
        """第几期: the month of a monthly bulletin."""
        return t("reports.bulletin.number", y=self.period.start.year, n=self.period.start.month)


def _shift_months(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, 1)


def _whole_months(p: Period) -> bool:
    return p.start.day == 1 and _shift_months(p.end, 1) - timedelta(days=1) == p.end


def previous_period(p: Period) -> Period:
    """The period before: the previous month / quarter / year for month-aligned periods, else
    the same number of days just before."""
    months = len(p.months())
    if _whole_months(p):
        start = _shift_months(p.start, -months)
        end = p.start - timedelta(days=1)
        return month_period(start.year, start.month) if months == 1 else Period(start, end, f"{start}..{end}")
    days = (p.end - p.start).days + 1
    start, end = p.start - timedelta(days=days), p.start - timedelta(days=1)
    return Period(start, end, f"{start}..{end}")


def year_before(p: Period) -> Period:
    def back(d: date) -> date:
        try:
            return d.replace(year=d.year - 1)
        except ValueError:  # 29 February
            return d.replace(year=d.year - 1, day=28)

    if len(p.months()) == 1 and _whole_months(p):
        return month_period(p.start.year - 1, p.start.month)
    return Period(back(p.start), back(p.end), f"{back(p.start)}..{back(p.end)}")


def township_of(ds: Dataset, village_id: str) -> tuple[str, str]:
    """(key, name) of a village's township: its township record when it names one (the county
    model's ``township_id``), else the township name it carries."""
    v = ds.ref.get("village", {}).get(village_id) or {}
    tid = str(v.get("township_id") or "")
    if tid:
        return tid, ds.name("township", tid)
    name = str(v.get("township") or "")
    return name, name


def touching(ds: Dataset, p: Period) -> Dataset:
    """The dataset with only the issues that can count in a period's 三率: reported in it (an
    event or the id's time), or with an event in it (accept, resolve, re-check), or given a
    deadline in it by an event made by its end. Every other issue has N = 0 in all three, so
    leaving it out changes no figure and saves its fold."""
    keep = []
    for issue in ds.issues:
        hit = reported = False
        for e in ds.events.get(issue["id"], ()):
            f = e.get("fields") or {}
            reported = reported or f.get("type") == "report"
            day = to_date(f.get("at"))
            if day is None or day > p.end:
                continue
            data = f.get("data") if isinstance(f.get("data"), dict) else {}
            if p.contains(day) or p.contains(to_date(data.get("deadline"))):
                hit = True
                break
        if not hit and not reported and is_id(issue["id"]):  # reported when its id was made
            hit = p.contains(to_date(id_time_ms(issue["id"])))
        if hit:
            keep.append(issue)
    return replace(ds, issues=keep)


def _rates(facts: list[IssueFacts], period: Period, as_of: date, limit: int, cal: WorkCalendar) -> dict[str, Figure]:
    figs = compute_figures(facts, [], set(), period, as_of, limit, cal, with_coverage=False)
    return {k: figs[k] for k in RATES}


def _ranked(rows: list[RateRow]) -> list[RateRow]:
    scored = sorted((r for r in rows if r.score is not None), key=lambda r: (-r.score, r.label))
    rank, last = 0, None
    for i, r in enumerate(scored, start=1):
        if r.score != last:
            rank, last = i, r.score
        r.rank = rank
    return scored + sorted((r for r in rows if r.score is None), key=lambda r: r.label)


def compute_bulletin(
    ds: Dataset,
    period: Period,
    townships: Iterable[str] | None = None,
    county: str = "",
    as_of: date | None = None,
    accept_limit_days: int = 2,
    top: int = 10,
) -> Bulletin:
    """The bulletin of ``period`` for the townships named (names or ids; None: every township
    in the data). ``as_of`` defaults to the period's end (or today, if earlier)."""
    as_of = as_of or min(period.end, china_today())
    cal = workdays_mod.from_records(ds.ref.get("holiday", {}).values())
    wanted = set(townships) if townships is not None else None

    def keep(f: IssueFacts) -> bool:
        key, name = township_of(ds, f.village)
        return f.kind != "wish" and (wanted is None or key in wanted or name in wanted)

    prev, ly = previous_period(period), year_before(period)
    now = [f for f in all_facts(ds, as_of) if keep(f)]
    # the periods compared need only the issues that can count in their 三率 (a fold each)
    before = [f for f in all_facts(touching(ds, prev), prev.end) if keep(f)]
    year_ago = [f for f in all_facts(touching(ds, ly), ly.end) if keep(f)]

    def rows(group: str) -> list[RateRow]:
        split: dict[str, tuple[list, list, list]] = {}
        labels: dict[str, str] = {}
        for i, facts in enumerate((now, before, year_ago)):
            for f in facts:
                if group == "township":
                    k, labels[k] = township_of(ds, f.village)
                else:
                    k, labels[f.unit] = f.unit, ds.name("unit", f.unit)
                if k:
                    split.setdefault(k, ([], [], []))[i].append(f)
        extra = sorted(wanted or ()) if group == "township" else []
        for k in extra:
            if k not in split and k not in labels.values():  # nothing in it: still a row (N = 0)
                split[k], labels[k] = ([], [], []), ds.name("township", k)
        return _ranked([RateRow(k, labels[k], _rates(a, period, as_of, accept_limit_days, cal),
                                _rates(b, prev, prev.end, accept_limit_days, cal),
                                _rates(c, ly, ly.end, accept_limit_days, cal))
                        for k, (a, b, c) in split.items()])

    total = RateRow("", county or t("reports.bulletin.all"), _rates(now, period, as_of, accept_limit_days, cal),
                    _rates(before, prev, prev.end, accept_limit_days, cal),
                    _rates(year_ago, ly, ly.end, accept_limit_days, cal))

    overdue = []
    for f in now:
        # the one rule of sync.workflow.deadline_flags (the unit's deadline while it is with a
        # unit, the county 督办 deadline while open), read from the facts as of the period's end
        for flag in workflow.deadline_flags(_flag_view(f), as_of, cal):
            if flag.status == "overdue":
                overdue.append(OverdueRow(
                    code=public_code(f.id), title=f.title, township=township_of(ds, f.village)[1],
                    village=ds.name("village", f.village), unit=ds.name("unit", f.unit) if f.unit else "",
                    deadline=date.fromisoformat(flag.deadline), days_over=-flag.days_left, which=flag.which,
                    level=_level(f),
                ))
    overdue.sort(key=lambda r: (-r.days_over, r.deadline, r.code, r.which))

    def top_label(cat: str) -> str:
        row = ds.ref.get("category", {}).get(cat) or {}
        return ds.name("category", row.get("parent")) if row.get("parent") else (ds.name("category", cat) if cat else
                                                                                  t("reports.wall.no_category"))

    reported = [f for f in now if f.created_at and period.contains(f.created_at.date())]
    counts = Counter(top_label(f.category) for f in reported)
    earlier = Counter(top_label(f.category) for f in before if f.created_at and prev.contains(f.created_at.date()))
    hot = [HotCategory(label, n, n / len(reported), earlier.get(label, 0))
           for label, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:top]]
    return Bulletin(county=county or t("reports.bulletin.all"), period=period, previous=prev, last_year=ly,
                    as_of=as_of, accept_limit_days=accept_limit_days, townships=rows("township"),
                    units=rows("unit"), total=total, overdue=overdue, hot=hot, reported=len(reported))


def _flag_view(f: IssueFacts) -> SimpleNamespace:
    """What ``workflow.deadline_flags`` reads of an issue state, from the facts (a rejected
    problem is closed in the workflow)."""
    return SimpleNamespace(
        state="closed" if f.state == "rejected" else f.state,
        deadline=f.deadline.isoformat() if f.deadline else None,
        county_deadline=f.county_deadline.isoformat() if f.county_deadline else None,
        county_level=f.county_level,
    )


def _level(f: IssueFacts) -> str:
    """督办层级 as printed: the county's when there is one, else the township's latest."""
    if f.county_level:
        return t("reports.notice.level.county", n=f.county_level)
    for e in reversed(f.timeline):
        if e.type == "supervise" and not e.flagged:
            return t("reports.notice.level.township", n=e.data.get("level") or 1)
    return ""
