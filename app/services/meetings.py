"""Village meetings (院坝会, 乡村夜话, 村民议事会) to the 十有 standard: the list (findable by
date, place and topic), one meeting with the issues it raised, the save that makes the problems
raised into issues in the same step (as a visit's demands), and the printable minutes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.services.common import Core, PhotoRef, ServiceError, clean, fmt_time, now_ms
from sync import records as rec_mod
from sync.chinatime import file_stamp
from sync.i18n import t
from sync.ids import id_time_ms

_NAMES = re.compile(r"[、,，;；\s]+")


def guest_names(text: str) -> list[str]:
    """Free participant names as typed (separated by 、 , ; or spaces)."""
    return [x for x in _NAMES.split(text or "") if x]


class Meetings(Core):
    """Meetings and their minutes."""

    @staticmethod
    def meeting_kind_choices() -> list[tuple[str, str]]:
        """(value, label) of the kinds of meeting (院坝会, 乡村夜话, 村民议事会, 其他)."""
        return [(v, rec_mod.choice_label("meeting_kind", v)) for v in rec_mod.MEETING_KINDS]

    def meeting_row(self, rec: dict) -> dict[str, Any]:
        f = rec["fields"]
        at = rec_mod.parse_time_ms(f.get("time")) or id_time_ms(rec["id"])
        members = [n for n in (self.member_name(m) for m in f.get("members") or []) if n]
        guests = guest_names(f.get("guests") or "")
        kind = f.get("meeting_kind") or "other"
        return {
            "id": rec["id"], "kind": kind, "kind_label": rec_mod.choice_label("meeting_kind", kind),
            "at": at, "at_text": fmt_time(at), "place": f.get("place") or "", "topic": f.get("topic") or "",
            "host": f.get("host") or "", "recorder": self.user_name(f.get("recorder")),
            "members": list(f.get("members") or []), "member_names": members, "guests": guests,
            "headcount": f.get("headcount") if f.get("headcount") is not None else len(members) + len(guests),
            "agenda": f.get("agenda") or "", "speeches": f.get("speeches") or "",
            "decisions": f.get("decisions") or "", "follow_ups": f.get("follow_ups") or "",
            "raised": list(f.get("raised") or []), "photos": list(f.get("photos") or []),
            "village": f.get("village") or "",
        }

    def meetings(self, query: str = "") -> list[dict[str, Any]]:
        """Meetings, newest first; ``query`` words must each match the date (2026-11, 2026-11-30),
        the place, the topic, the kind, the host or the decisions."""
        words = [w.lower() for w in query.split() if w]
        rows = [self.meeting_row(r) for r in self.store.all("meeting")]
        if words:
            rows = [r for r in rows if all(w in " ".join((
                r["at_text"], r["place"], r["topic"], r["kind_label"], r["host"], r["decisions"])).lower()
                for w in words)]
        rows.sort(key=lambda r: r["at"], reverse=True)
        return rows

    def meeting(self, mid: str) -> dict[str, Any] | None:
        rec = self.store.get("meeting", mid)
        if rec is None:
            return None
        row = self.meeting_row(rec)
        row["raised_issues"] = [i for i in (self.issue_row_by_id(x) for x in row["raised"]) if i]
        return row

    def save_meeting(self, values: dict[str, Any], problems: list[dict[str, Any]],
                     photos: list[PhotoRef]) -> tuple[str | None, dict[str, str]]:
        """A meeting, its photos and one new issue per problem raised, in one step; a bad
        problem saves nothing."""
        fields = clean(values)
        if isinstance(fields.get("headcount"), str):
            fields["headcount"] = int(fields["headcount"]) if fields["headcount"].isdigit() else fields["headcount"]
        fields.setdefault("time", now_ms())
        fields.setdefault("village", self.profile.get("village_id", "village"))
        fields["recorder"] = self.user_id
        if photos:
            fields["photos"] = [p.sha256 for p in photos]
        errors = self.validate("meeting", fields)
        problem_fields, problem_errors = self.check_demands(problems, {})
        errors.update(problem_errors)
        if errors:
            return None, errors
        raised = self.raise_demands(problem_fields)
        if raised:
            fields["raised"] = raised
        rec = self.create_record("meeting", fields)
        self.attach_photos("meeting", rec["id"], photos)
        return rec["id"], {}

    def minutes(self, mid: str) -> Any:
        """The meeting as sync.reports.minutes.Minutes (names resolved, for the PDF)."""
        from sync.reports.minutes import Minutes

        m = self.meeting(mid)
        if m is None:
            raise ServiceError(t("ui.error.gone"))
        village = self.village_name(m["village"])
        return Minutes(
            village=village, kind=m["kind_label"], time=m["at_text"], place=m["place"], topic=m["topic"],
            host=m["host"], recorder=m["recorder"], participants=[*m["member_names"], *m["guests"]],
            headcount=m["headcount"], agenda=m["agenda"], speeches=m["speeches"], decisions=m["decisions"],
            follow_ups=m["follow_ups"], photos=len(m["photos"]),
            raised=[f"{i['title']}（{t('ui.status.' + i['status'])}）" for i in m["raised_issues"]])

    def export_minutes(self, mid: str) -> Path:
        """Write the meeting's minutes as an A4 PDF into <data>/exports/ and return its path."""
        from sync.reports.dates import ReportInputError
        from sync.reports.minutes import write_minutes_pdf

        minutes = self.minutes(mid)
        m = self.meeting(mid) or {}
        safe = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", minutes.topic)[:30]
        folder = self.store.data_dir / "exports"
        path = folder / f"minutes-{file_stamp(m.get('at') or now_ms())}-{safe}.pdf"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_minutes_pdf(minutes, path)
        except ReportInputError as exc:
            raise ServiceError(str(exc)) from None
        except OSError as exc:
            raise ServiceError(t("ui.staff.error.export", error=exc.strerror or str(exc))) from None
        return path.resolve()
