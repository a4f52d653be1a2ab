"""The staff's figures and 整改台账: the device's records read as one ``sync.reports`` dataset,
the figures for a period, and exports into <data>/exports/ (the rules are sync.reports')."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from app.services.common import ServiceError, china_today, now_ms
from app.store import Store
from sync.chinatime import file_stamp
from sync.i18n import t


class StaffReports:
    """Figures and ledger exports over one device store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._ledger_lines: Any = None  # app.services.ledger_lines.LedgerLines, made on first use

    def dataset(self, without: tuple[str, ...] = ()) -> Any:
        """Every record (but the kinds in ``without``) as one ``sync.reports`` dataset."""
        from sync.reports.model import Dataset

        recs = []
        for kind in self.store.kinds():
            if kind not in without:
                recs.extend(self.store.all(kind))
        return Dataset.from_records(recs)

    @staticmethod
    def period_text(which: str, today: dt.date | None = None) -> str:
        d = today or china_today()
        if which == "quarter":
            return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
        if which == "year":
            return str(d.year)
        return f"{d.year}-{d.month:02d}"

    def figures(self, period: str, group_by: str = "village") -> Any:  # or grid, category
        """sync.reports' MetricsReport for a period text (``2026-03``, ``2026-Q1``, ``2026``)."""
        from sync.reports.dates import ReportInputError, parse_period
        from sync.reports.metrics import compute_metrics

        try:
            return compute_metrics(self.dataset(), parse_period(period), group_by=group_by)
        except ReportInputError as exc:
            raise ServiceError(str(exc)) from None

    def export_metrics(self, period: str, group_by: str = "village", fmt: str = "xlsx") -> Path:
        """Write the figures table for the period into <data>/exports/ and return its path."""
        from sync.reports.dates import parse_period
        from sync.reports.metrics import compute_metrics, export_metrics

        def write(path: Path) -> None:
            ds = self.dataset()  # one dataset for the figures and the township name
            export_metrics(compute_metrics(ds, parse_period(period), group_by=group_by), path,
                           ds.township_name())

        return self._export(f"metrics-{group_by}-{period}", fmt, write)

    def _export(self, stem: str, fmt: str, write: Any) -> Path:
        from sync.reports.dates import ReportInputError

        try:
            folder = self.store.data_dir / "exports"
            folder.mkdir(parents=True, exist_ok=True)
            stamp = file_stamp(now_ms())
            path = folder / f"{stem}-{stamp}.{fmt}"
            write(path)
        except ReportInputError as exc:
            raise ServiceError(str(exc)) from None
        except OSError as exc:
            raise ServiceError(t("ui.staff.error.export", error=exc.strerror or str(exc))) from None
        return path.resolve()

    def notice(self, iid: str, kind: str, signer: str = "") -> Any:
        """The 督办卡 (``duban``) or 整改通知单 (``zhenggai``) of an issue (sync.reports.notices)."""
        from sync.reports.dates import ReportInputError
        from sync.reports.notices import build_notice

        try:
            return build_notice(self.dataset(), iid, kind, signer=signer)
        except ReportInputError as exc:
            raise ServiceError(str(exc)) from None

    def export_notice(self, iid: str, kind: str, signer: str = "") -> Path:
        """Write the issue's 督办卡 / 整改通知单 as an A4 PDF into <data>/exports/."""
        from sync.reports.notice_pdf import write_notice_pdf

        notice = self.notice(iid, kind, signer)
        return self._export(f"{notice.title}-{notice.code}", "pdf", lambda path: write_notice_pdf(notice, path))

    def bulletin(self, period: str) -> Any:
        """The 工作简报 of every township on this device (sync.reports.bulletin) for a period."""
        from sync.reports.bulletin import compute_bulletin
        from sync.reports.dates import ReportInputError, parse_period

        try:
            ds = self.dataset()
            names = sorted({str(c.get("name")) for c in ds.ref.get("county", {}).values() if c.get("name")})
            return compute_bulletin(ds, parse_period(period), county="、".join(names))
        except ReportInputError as exc:
            raise ServiceError(str(exc)) from None

    def export_bulletin(self, period: str, fmt: str = "pdf") -> Path:
        """Write the period's 工作简报 (``pdf`` or ``xlsx``) into <data>/exports/."""
        from sync.reports.bulletin_export import export_bulletin

        bulletin = self.bulletin(period)
        return self._export(f"bulletin-{period}", fmt, lambda path: export_bulletin(bulletin, path))

    def export_ledger(self, period: str, fmt: str = "xlsx") -> Path:
        """Write the 整改台账 for the period into <data>/exports/ and return the file's path."""
        return self._export(f"ledger-{period}", fmt, lambda path: self._write_ledger(period, path))

    def _write_ledger(self, period: str, path: Path) -> None:
        from app.services.ledger_lines import LedgerLines
        from sync.reports.dates import parse_period
        from sync.reports.ledger import build_ledger, export_ledger

        per = parse_period(period)
        as_of = min(per.end, china_today())
        # the issues' events are read only for the issues whose kept line is out of date
        ds = self.dataset(without=("issue_event", "household"))
        if self._ledger_lines is None:
            self._ledger_lines = LedgerLines(self.store)
        export_ledger(build_ledger(ds, per, as_of=as_of, lines=self._ledger_lines.lines(ds, as_of)), path)
