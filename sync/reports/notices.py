"""督办卡 and 整改通知单: the printed documents an office sends to the unit answerable for a
problem, built from the issue's timeline (one structure, one A4 PDF writer).

Fields, as offices fill them in: 编号, 问题, 责任单位, 责任人, 整改要求, 时限, 督办层级, 签发.

- 编号: the county's card number when the county's 督办 gave one (``card_no``), else the
  document prefix, the year and the problem's public code (sync.public_code): stable, made
  on any device, no counter to share (``青山镇督〔2026〕K7QM-3XPD号``).
- 问题: title, place, category, reported date, the description (an office document for the
  unit: the unit needs to know where; the reporter's private contact is never on it).
- 责任单位: the unit the problem is with; 责任人: the staff member who dispatched it (units
  carry no named contact in the reference data; the ledger says the same).
- 整改要求: the 督办 note (督办卡) or the dispatch instructions (通知单), then the standard
  sentence on reporting back; ``requirement`` overrides the derived text.
- 时限: the county 督办 deadline when there is one (督办卡), else the unit's deadline, with the
  working days left counted by sync.workdays.
- 督办层级: 县级 n 级督办 (county) / 乡镇 n 级督办 (township) / 未督办.
- 签发: who issued it (the 督办 or dispatch actor, or the person printing it) and the date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sync import workdays, workflow
from sync.chinatime import china_today
from sync.i18n import t
from sync.public_code import public_code
from sync.reports.dates import ReportInputError, to_date
from sync.reports.model import Dataset, issue_facts
from sync.workdays import WorkCalendar

KINDS = ("duban", "zhenggai")  # 督办卡, 整改通知单


@dataclass(frozen=True)
class Notice:
    kind: str
    title: str  # 督办卡 / 整改通知单
    issuer: str  # the township (or county) in whose name it goes out
    number: str  # 编号
    problem: str  # 问题
    unit: str  # 责任单位
    person: str  # 责任人
    requirement: str  # 整改要求
    deadline: date | None
    deadline_text: str  # 时限, as printed
    level: str  # 督办层级
    signer: str  # 签发人
    signed_on: date
    code: str  # the public code (also on the resident's 回执)

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) in the order the document prints them."""
        sign = t("reports.notice.signed", who=self.signer or "—", date=_date_text(self.signed_on))
        return [(t(f"reports.notice.field.{k}"), v) for k, v in (
            ("number", self.number), ("problem", self.problem), ("unit", self.unit or "—"),
            ("person", self.person or "—"), ("requirement", self.requirement),
            ("deadline", self.deadline_text), ("level", self.level), ("signed", sign))]


def _date_text(d: date | None) -> str:
    return t("reports.date", y=d.year, m=d.month, d=d.day) if d else "—"


def _last(timeline: list[Any], *types: str) -> Any:
    for e in reversed(timeline):
        if e.valid and str((e.event.get("fields") or {}).get("type")) in types:
            return e
    return None


def _data(entry: Any) -> dict:
    if entry is None:
        return {}
    d = (entry.event.get("fields") or {}).get("data")
    return d if isinstance(d, dict) else {}


def build_notice(
    ds: Dataset, issue_id: str, kind: str, *, today: date | None = None, signer: str = "",
    requirement: str = "", calendar: WorkCalendar | None = None,
) -> Notice:
    """The 督办卡 (``duban``) or 整改通知单 (``zhenggai``) of one issue as it stands now.
    ``signer``: the person printing it, used when the timeline names nobody."""
    if kind not in KINDS:
        raise ReportInputError(t("reports.notice.error.kind", kind=kind, choices=", ".join(KINDS)))
    issue = next((i for i in ds.issues if i["id"] == issue_id), None)
    if issue is None:
        raise ReportInputError(t("reports.notice.error.issue", issue=issue_id))
    today = today or china_today()
    events = ds.events.get(issue_id, [])
    facts = issue_facts(issue, events, ds)
    st = workflow.fold(issue, events)
    if facts.kind == "wish":
        raise ReportInputError(t("reports.notice.error.wish"))
    county_level = int(getattr(st, "county_level", 0) or 0)  # the county's 督办 (docs/model.md "County")
    county_sup = _last(st.timeline, "county_supervise") if county_level else None
    town_sup = _last(st.timeline, "supervise") if st.supervised else None
    assign = _last(st.timeline, "assign", "transfer")
    if kind == "duban" and not (county_sup or town_sup):
        raise ReportInputError(t("reports.notice.error.not_supervised"))
    if kind == "zhenggai" and assign is None:
        raise ReportInputError(t("reports.notice.error.not_assigned"))

    issuer = ds.township_name() if county_sup is None else _county_name(ds) or ds.township_name()
    code = public_code(issue_id)
    year = today.year
    if kind == "duban":
        card_no = str(getattr(st, "county_card", "") or "") if county_sup else ""
        number = card_no or t("reports.notice.number.duban", org=issuer, year=year, code=code)
        sup = county_sup or town_sup
        deadline = to_date(getattr(st, "county_deadline", None)) if county_sup else None
        deadline = deadline or facts.deadline
        derived = str(_data(sup).get("note") or "")
        signed_by, signed_entry = sup.event["fields"].get("actor"), sup
    else:
        number = t("reports.notice.number.zhenggai", org=issuer, year=year, code=code)
        deadline = facts.deadline
        derived = str(_data(assign).get("note") or "")
        signed_by, signed_entry = assign.event["fields"].get("actor"), assign
    if county_level:
        level = t("reports.notice.level.county", n=county_level)
    elif st.supervised:
        level = t("reports.notice.level.township", n=st.supervised)
    else:
        level = t("reports.notice.level.none")
    req = requirement.strip() or "\n".join(x for x in (derived, t(f"reports.notice.standard.{kind}")) if x)
    signed_at = to_date((signed_entry.event.get("fields") or {}).get("at")) or today
    return Notice(
        kind=kind, title=t(f"reports.notice.title.{kind}"), issuer=issuer, number=number,
        problem=_problem_text(facts, ds), unit=ds.name("unit", facts.unit) if facts.unit else "",
        person=facts.assignee, requirement=req, deadline=deadline,
        deadline_text=_deadline_text(deadline, today, calendar),
        level=level, signer=ds.name("user", signed_by) if signed_by else signer, signed_on=signed_at,
        code=code,
    )


def _county_name(ds: Dataset) -> str:
    names = sorted({str(c.get("name")) for c in ds.ref.get("county", {}).values() if c.get("name")})
    return "、".join(names)


def _problem_text(facts: Any, ds: Dataset) -> str:
    place = " / ".join(x for x in (ds.name("village", facts.village), ds.name("grid", facts.grid)) if x)
    meta = "；".join(x for x in (
        t("reports.notice.place", place=place) if place else "",
        t("reports.notice.category", category=ds.category_label(facts.category)) if facts.category else "",
        t("reports.notice.reported", date=_date_text(facts.created_at.date() if facts.created_at else None)),
    ) if x)
    return "\n".join(x for x in (facts.title, meta, facts.description) if x)


def _deadline_text(deadline: date | None, today: date, calendar: WorkCalendar | None) -> str:
    if deadline is None:
        return "—"
    cal = calendar or workdays.official()
    if deadline >= today:
        left = cal.between(today, deadline)
        return t("reports.notice.deadline.left", date=_date_text(deadline), n=left)
    return t("reports.notice.deadline.over", date=_date_text(deadline), n=cal.between(deadline, today))
