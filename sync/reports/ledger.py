"""整改台账 (rectification ledger): one row per issue, monthly progress columns, XLSX and CSV.

The columns are the ones township offices keep (序号, 问题, 来源, 责任单位, 责任人, 整改措施,
时限, 进展 by month, 状态, 销号日期), with the village added so a township-wide ledger can be
sorted and filtered by village.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sync import registry
from sync.chinatime import china_today
from sync.i18n import t
from sync.reports.dates import Period, ReportInputError
from sync.reports.model import Dataset, IssueFacts, all_facts, issue_source, label


@dataclass
class LedgerRow:
    number: int
    title: str
    village: str
    source: str
    unit: str
    assignee: str
    measures: str
    deadline: date | None
    progress: dict[tuple[int, int], str]  # (year, month) -> notes of that month
    status: str
    closed_on: date | None
    issue_id: str


@dataclass
class Ledger:
    township: str
    period: Period
    months: list[tuple[int, int]]
    rows: list[LedgerRow]

    def headers(self) -> list[str]:
        fixed = [t(f"reports.ledger.col.{c}") for c in ("number", "title", "village", "source", "unit", "assignee", "measures", "deadline")]
        months = [t("reports.ledger.col.progress", m=m if len(self._years()) == 1 else f"{y}年{m}", y=y) for y, m in self.months]
        return fixed + months + [t("reports.ledger.col.status"), t("reports.ledger.col.closed_on")]

    def _years(self) -> set[int]:
        return {y for y, _ in self.months}

    def title(self) -> str:
        return t("reports.ledger.title", township=self.township, period=self.period.label)


class _Texts:
    """The catalog texts a ledger repeats, each looked up once per ledger: a county-year has
    hundreds of thousands of cells, and every ``t`` asks the host for the language (at
    50,000 issues a sixth of the ledger's time)."""

    def __init__(self) -> None:
        self._seen: dict[tuple, str] = {}

    def __call__(self, key: str, **params: object) -> str:
        k = (key, *params.items())
        hit = self._seen.get(k)
        if hit is None:
            hit = self._seen[k] = t(key, **params)
        return hit

    def label(self, prefix: str, value: str) -> str:
        k = ("label", prefix, value)
        hit = self._seen.get(k)
        if hit is None:
            hit = self._seen[k] = label(prefix, value)
        return hit


def status_text(f: LedgerLine, as_of: date, texts: _Texts | None = None) -> str:
    """状态 in Chinese, with 督办 and 超期 marks."""
    tx = texts or _Texts()
    text = tx.label("reports.status", f.state)
    marks = []
    if f.supervised and f.state not in ("closed", "rejected"):
        marks.append(tx("reports.mark.supervised"))
    if (
        f.deadline is not None
        and f.deadline < as_of
        and f.resolved_at is None
        and f.state not in ("closed", "rejected", "resolved", "rechecked")
    ):
        marks.append(tx("reports.mark.overdue"))
    return text + "".join(f"（{m}）" for m in marks)


def _note(p: list, tx: _Texts) -> str:
    """A progress cell's line from a ``LedgerLine.progress`` entry."""
    day, etype, text, solved, new_deadline = p
    what = tx.label("reports.event", etype)
    day = tx("reports.date.month_day", m=int(day[5:7]), d=int(day[8:10]))
    text = text.strip()
    if etype == "recheck":
        verdict = tx("reports.verdict.solved") if solved else tx("reports.verdict.not_solved")
        text = verdict + (f"，{text}" if text else "")
    if etype == "extend" and new_deadline:
        text = t("reports.ledger.new_deadline", d=str(new_deadline)) + (f"，{text}" if text else "")
    return f"{day} {what}" + (f"：{text}" if text else "")


def _in_period(line: LedgerLine, period: Period) -> bool:
    """On the ledger when reported by the period's end and not closed before it began."""
    if line.created_day is not None and line.created_day > period.end:
        return False
    return not (line.closed_day is not None and line.closed_day < period.start)


@dataclass
class LedgerLine:
    """What the ledger takes from one issue's fold (``IssueFacts``): the same for every period
    and language, and a function of the issue's events alone, so a device keeps one per issue
    and folds again only the issues whose events changed (``app/services/ledger_lines.py``).
    The issue's own fields (title, village, source) and the names of units and people are
    read when the row is made."""

    id: str
    created_ms: int  # for the order: reported time (0: unknown)
    created_day: date | None  # China date
    closed_day: date | None  # of ``closed_at`` (a rejected problem has one too)
    state: str
    unit: str
    assignee: str  # a user id
    measures: str
    deadline: date | None
    supervised: bool
    resolved_at: str | None  # only whether it is set is read (status_text)
    progress: list[list]  # [day, event type, note text, solved, new deadline] of valid progress events
    last_day: str  # the China date of the issue's latest event ("" when none has a time)

    @classmethod
    def of(cls, f: IssueFacts) -> LedgerLine:
        progress_types = registry.progress_events()  # how the rectification went: the month's cell
        progress = [[e.at.date().isoformat(), e.type, e.text, bool(e.data.get("solved")),
                     str(e.data.get("deadline") or "")]
                    for e in f.timeline if e.type in progress_types and not e.flagged and e.at]
        days = [e.at.date().isoformat() for e in f.timeline if e.at]
        return cls(
            id=f.id, created_ms=int(f.created_at.timestamp() * 1000) if f.created_at else 0,
            created_day=f.created_at.date() if f.created_at else None,
            closed_day=f.closed_at.date() if f.closed_at else None, state=f.state, unit=f.unit,
            assignee=f.assignee_id, measures=f.measures, deadline=f.deadline, supervised=f.supervised,
            resolved_at=f.resolved_at.isoformat() if f.resolved_at else None, progress=progress,
            last_day=max(days, default=""),
        )

    def to_doc(self) -> list:
        """A JSON list in field order (50,000 of them: no key repeated in each)."""
        d = [getattr(self, k) for k in _LINE_FIELDS]
        for i in _LINE_DATES:
            d[i] = d[i].isoformat() if d[i] else None
        return d

    @classmethod
    def from_doc(cls, d: list) -> LedgerLine:
        d = list(d)
        for i in _LINE_DATES:
            d[i] = date.fromisoformat(d[i]) if d[i] else None
        return cls(*d)


_LINE_FIELDS = tuple(f.name for f in dataclasses.fields(LedgerLine))
_LINE_DATES = tuple(_LINE_FIELDS.index(k) for k in ("created_day", "closed_day", "deadline"))


def ledger_lines(ds: Dataset, as_of: date) -> list[LedgerLine]:
    """Every issue's line as it stood at the end of ``as_of``."""
    return [LedgerLine.of(f) for f in all_facts(ds, as_of)]


def build_ledger(
    ds: Dataset,
    period: Period,
    village: str | None = None,
    as_of: date | None = None,
    lines: list[LedgerLine] | None = None,
) -> Ledger:
    """The ledger rows for the period (optionally one village), oldest report first.
    ``lines``: every issue's ``LedgerLine`` as of ``as_of``, when the caller keeps them (else
    they are made from ``ds``); the issues' records are read from ``ds``."""
    as_of = as_of or min(period.end, china_today())
    lines = ledger_lines(ds, as_of) if lines is None else sorted(lines, key=lambda x: (x.created_ms, x.id))
    issues = {i["id"]: i for i in ds.issues}
    months = period.months()
    start, end = period.start.isoformat(), period.end.isoformat()
    rows: list[LedgerRow] = []
    tx = _Texts()
    for line in lines:
        issue = issues.get(line.id)
        if issue is None or not _in_period(line, period):
            continue
        fields = issue.get("fields") or {}
        where = ds.village_of(issue)
        if village and where != village:
            continue
        progress: dict[tuple[int, int], list[str]] = {ym: [] for ym in months}
        for p in line.progress:
            if start <= p[0] <= end:
                progress[(int(p[0][:4]), int(p[0][5:7]))].append(_note(p, tx))
        title, category = str(fields.get("title") or ""), str(fields.get("category") or "")
        if category:
            title = f"{title}（{ds.category_label(category)}）" if title else ds.category_label(category)
        rows.append(
            LedgerRow(
                number=len(rows) + 1,
                title=title,
                village=ds.name("village", where),
                source=ds.source_label(issue_source(fields, line.id, ds)),
                unit=ds.name("unit", line.unit),
                assignee=ds.name("user", line.assignee) if line.assignee else "",
                measures=line.measures,
                deadline=line.deadline,
                progress={ym: "\n".join(v) for ym, v in progress.items()},
                status=status_text(line, as_of, tx),
                closed_on=line.closed_day if line.state == "closed" else None,
                issue_id=line.id,
            )
        )
    return Ledger(ds.township_name(), period, months, rows)


def _row_values(ledger: Ledger, r: LedgerRow) -> list[object]:
    return (
        [r.number, r.title, r.village, r.source, r.unit, r.assignee, r.measures, r.deadline]
        + [r.progress.get(ym, "") for ym in ledger.months]
        + [r.status, r.closed_on]
    )


# Column widths in Excel character units (a CJK character is about 2).
_WIDTHS = [6, 36, 12, 12, 18, 10, 36, 12]
_PROGRESS_WIDTH = 34
_TAIL_WIDTHS = [16, 12]


def write_xlsx(ledger: Ledger, out: Path | io.BytesIO) -> None:
    """Chinese headers, title row, bold shaded header, frozen panes at C3, widths, wrapped
    cells, real dates, autofilter, A4 landscape fit to width, title and header on every
    printed page, printed gridlines (not per-cell borders). Written row by row
    (``sync.reports.xlsx``): a county-year is half a million cells."""
    from sync.reports.xlsx import Table, write_table

    headers = ledger.headers()
    table = Table(sheet=t("reports.ledger.sheet"), title=ledger.title(), headers=headers,
                  widths=_WIDTHS + [_PROGRESS_WIDTH] * len(ledger.months) + _TAIL_WIDTHS,
                  date_columns=frozenset({8, len(headers)}), freeze="C3")
    write_table(table, [_row_values(ledger, r) for r in ledger.rows], out)


def write_csv(headers: list[str], rows: list[list[object]], out: Path | io.BytesIO) -> None:
    """UTF-8 with BOM (so Excel opens Chinese correctly), dates as YYYY-MM-DD."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(headers)
    for row in rows:
        w.writerow(["" if v is None else (v.isoformat() if isinstance(v, date) else v) for v in row])
    data = buf.getvalue().encode("utf-8-sig")
    if isinstance(out, io.BytesIO):
        out.write(data)
    else:
        Path(out).write_bytes(data)


def write_ledger_csv(ledger: Ledger, out: Path | io.BytesIO) -> None:
    write_csv(ledger.headers(), [_row_values(ledger, r) for r in ledger.rows], out)


def export_format(path: Path) -> str:
    """``xlsx`` or ``csv`` from the file name, or a clear error."""
    ext = path.suffix.lower().lstrip(".")
    if ext not in ("xlsx", "csv"):
        raise ReportInputError(t("reports.error.format", name=path.name))
    return ext


def export_ledger(ledger: Ledger, out: Path) -> None:
    if export_format(out) == "xlsx":
        write_xlsx(ledger, out)
    else:
        write_ledger_csv(ledger, out)
