"""``gridwall report ledger|metrics|echo-wall``: exports from the server's records.

Records come from a pull over HTTP with a staff token (sync.client.fetch), so an office PC
needs nothing but the server's address and the token it was enrolled with. This module is
the one that composes: the report modules beside it stay pure (no HTTP, no database);
tests/test_layering.py states the exception.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sync.chinatime import china_today
from sync.client.fetch import FetchError, pull_records
from sync.i18n import t
from sync.reports.dates import ReportInputError, month_period, parse_period
from sync.reports.ledger import build_ledger, export_format, export_ledger
from sync.reports.metrics import GROUPINGS, compute_metrics, export_metrics
from sync.reports.model import Dataset

app = typer.Typer(name="report", help=t("reports.cli.help"), no_args_is_help=True, add_completion=False)
_err = Console(stderr=True)

Server = Annotated[str, typer.Option("--server", help="http://host:port", envvar="GRIDWALL_SERVER")]
Token = Annotated[str | None, typer.Option(
    "--token", help="staff token (令牌): gridwall admin token --user NAME", envvar="GRIDWALL_TOKEN")]
Township = Annotated[str | None, typer.Option(help="乡镇名 township name")]
Month = Annotated[str | None, typer.Option(help="YYYY-MM")]
Period = Annotated[str | None, typer.Option(help="2026-03 | 2026-Q1 | 2026 | 2026-01-01..2026-03-31")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")]
TableOut = Annotated[Path | None, typer.Option(help="FILE.xlsx | FILE.csv")]


def _clean_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input and unreachable servers: one clear line and exit code 1, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ReportInputError, FetchError) as exc:
            typer.echo(f"{t('reports.cli.error_prefix')}{exc}", err=True)
            raise typer.Exit(1) from None
        except OSError as exc:
            typer.echo(f"{t('reports.cli.error_prefix')}{t('reports.error.out_dir', path=exc.filename or '', reason=exc.strerror or exc)}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def _fetch(server: str, token: str | None) -> Dataset:
    if not token:
        raise ReportInputError(t("reports.error.no_token"))
    with _err.status(t("reports.cli.fetching")) as status:
        records = pull_records(server, token, progress=lambda n: status.update(t("reports.cli.fetched", n=n)))
    _err.print(t("reports.cli.fetched", n=len(records)))
    return Dataset.from_records(records)


def _period(month: str | None, period: str | None) -> Any:
    if month and period:
        raise ReportInputError(t("reports.error.month_and_period"))
    if period:
        return parse_period(period)
    if month:
        return parse_period(month) if "-" in month else parse_period(f"{china_today().year}-{month}")
    d = china_today()
    return month_period(d.year, d.month)


def _only_township(ds: Dataset, township: str | None) -> Dataset:
    """Keep the villages of one township (a staff token already sees only its own)."""
    if not township:
        return ds
    names = sorted({str(v.get("township") or "") for v in ds.ref["village"].values()} - {""})
    if township not in names:
        raise ReportInputError(t("reports.error.township", township=township, choices="、".join(names) or "—"))
    keep = {vid for vid, v in ds.ref["village"].items() if v.get("township") == township}
    ds.ref["village"] = {k: v for k, v in ds.ref["village"].items() if k in keep}
    grids = {gid for gid, g in ds.ref["grid"].items() if g.get("village") in keep}
    ds.issues = [i for i in ds.issues if i.get("grid") in grids]
    ds.households = [h for h in ds.households if h.get("grid") in grids]
    ds.ref["township"] = {"_": {"id": "_", "name": township}}
    return ds


def _village(ds: Dataset, village: str) -> str:
    """A village id from an id or a name."""
    villages = ds.ref.get("village", {})
    if village in villages:
        return village
    by_name = [vid for vid, v in villages.items() if v.get("name") == village]
    if len(by_name) == 1:
        return by_name[0]
    choices = "、".join(f"{v.get('name')}（{vid}）" for vid, v in sorted(villages.items())) or "—"
    raise ReportInputError(t("reports.error.village", village=village, choices=choices))


def _as_of(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReportInputError(t("reports.error.as_of", value=value)) from None


@app.command("ledger", help=t("reports.cli.ledger.help"))
@_clean_errors
def ledger_cmd(
    server: Server,
    token: Token = None,
    township: Township = None,
    month: Month = None,
    period: Period = None,
    village: Annotated[str | None, typer.Option(help="村 id or name")] = None,
    as_of: AsOf = None,
    out: TableOut = None,
) -> None:
    per = _period(month, period)
    out = out or Path(f"整改台账-{per.start.isoformat()[:7]}.xlsx")
    export_format(out)  # refuse a bad file name before fetching anything
    ds = _only_township(_fetch(server, token), township)
    vid = _village(ds, village) if village else None
    led = build_ledger(ds, per, village=vid, as_of=_as_of(as_of))
    export_ledger(led, out)
    typer.echo(t("reports.cli.wrote_ledger", path=out, n=len(led.rows)))


@app.command("metrics", help=t("reports.cli.metrics.help"))
@_clean_errors
def metrics_cmd(
    server: Server,
    token: Token = None,
    township: Township = None,
    month: Month = None,
    period: Period = None,
    group_by: Annotated[str, typer.Option("--group-by", help=" | ".join(GROUPINGS))] = "village",
    accept_limit: Annotated[int, typer.Option("--accept-limit", help="受理时限（工作日）")] = 2,
    holiday: Annotated[list[str] | None, typer.Option(help="YYYY-MM-DD, repeatable")] = None,
    as_of: AsOf = None,
    out: TableOut = None,
) -> None:
    per = _period(month, period)
    if not 0 <= accept_limit <= 30:
        raise ReportInputError(t("reports.error.accept_limit", value=accept_limit))
    holidays = []
    for h in holiday or []:
        try:
            holidays.append(date.fromisoformat(h))
        except ValueError:
            raise ReportInputError(t("reports.error.holiday", value=h)) from None
    out = out or Path(f"指标-{per.start.isoformat()[:7]}.xlsx")
    export_format(out)
    if group_by not in GROUPINGS:
        raise ReportInputError(t("reports.error.group_by", value=group_by, choices=", ".join(GROUPINGS)))
    ds = _only_township(_fetch(server, token), township)
    rep = compute_metrics(ds, per, group_by, as_of=_as_of(as_of), accept_limit_days=accept_limit, holidays=holidays)
    export_metrics(rep, out, township=ds.township_name())
    typer.echo(t("reports.cli.wrote_metrics", path=out, n=len(rep.groups)))


def find_issue(ds: Dataset, ref: str) -> str:
    """An issue id from its id or its public code (查询码)."""
    from sync.public_code import is_valid, same_code

    if any(i["id"] == ref for i in ds.issues):
        return ref
    hits = [i["id"] for i in ds.issues if is_valid(ref) and same_code(ref, i["id"])]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise ReportInputError(t("reports.notice.error.ambiguous", code=ref, ids="、".join(hits)))
    raise ReportInputError(t("reports.notice.error.issue", issue=ref))


@app.command("notice", help=t("reports.cli.notice.help"))
@_clean_errors
def notice_cmd(
    server: Server,
    issue: Annotated[str, typer.Option(help="问题编号或查询码 issue id or public code")],
    kind: Annotated[str, typer.Option(help="duban (督办卡) | zhenggai (整改通知单)")] = "duban",
    token: Token = None,
    requirement: Annotated[str | None, typer.Option(help="整改要求 (default: from the timeline)")] = None,
    out: Annotated[Path | None, typer.Option(help="FILE.pdf")] = None,
) -> None:
    from sync.reports.notice_pdf import write_notice_pdf
    from sync.reports.notices import KINDS, build_notice

    if kind not in KINDS:
        raise ReportInputError(t("reports.notice.error.kind", kind=kind, choices=", ".join(KINDS)))
    out = out or Path(f"{t(f'reports.notice.title.{kind}')}.pdf")
    if out.suffix.lower() != ".pdf":
        raise ReportInputError(t("reports.error.pdf_only", name=out.name))
    ds = _fetch(server, token)
    notice = build_notice(ds, find_issue(ds, issue), kind, requirement=requirement or "")
    pages = write_notice_pdf(notice, out)
    typer.echo(t("reports.cli.wrote_notice", path=out, title=notice.title, number=notice.number, pages=pages))


@app.command("bulletin", help=t("reports.cli.bulletin.help"))
@_clean_errors
def bulletin_cmd(
    server: Server,
    token: Token = None,
    township: Annotated[list[str] | None, typer.Option(help="乡镇名, repeatable (default: every township seen)")] = None,
    county: Annotated[str | None, typer.Option(help="县名 county name (the bulletin's title)")] = None,
    month: Month = None,
    period: Period = None,
    accept_limit: Annotated[int, typer.Option("--accept-limit", help="受理时限（工作日）")] = 2,
    as_of: AsOf = None,
    out: Annotated[Path | None, typer.Option(help="FILE.pdf | FILE.xlsx")] = None,
) -> None:
    from sync.reports.bulletin import compute_bulletin, township_of
    from sync.reports.bulletin_export import bulletin_format, export_bulletin

    per = _period(month, period)
    if not 0 <= accept_limit <= 30:
        raise ReportInputError(t("reports.error.accept_limit", value=accept_limit))
    out = out or Path(f"工作简报-{per.start.isoformat()[:7]}.pdf")
    bulletin_format(out)  # refuse a bad file name before fetching anything
    ds = _fetch(server, token)
    known = {name for vid in ds.ref["village"] for name in township_of(ds, vid)} - {""}
    for name in township or ():
        if name not in known:
            raise ReportInputError(t("reports.error.township", township=name, choices="、".join(sorted(known)) or "—"))
    names = sorted({str(c.get("name")) for c in ds.ref.get("county", {}).values() if c.get("name")})
    b = compute_bulletin(ds, per, township or None, county=county or "、".join(names), as_of=_as_of(as_of),
                         accept_limit_days=accept_limit)
    pages = export_bulletin(b, out)
    typer.echo(t("reports.cli.wrote_bulletin", path=out, n=len(b.townships), units=len(b.units), pages=pages))


@app.command("echo-wall", help=t("reports.cli.echo_wall.help"))
@_clean_errors
def echo_wall_cmd(
    server: Server,
    village: Annotated[str, typer.Option(help="村 id or name")],
    token: Token = None,
    out: Annotated[Path, typer.Option(help="FILE.pdf")] = Path("回音壁.pdf"),
) -> None:
    from sync.reports.echo_wall import build_echo_wall
    from sync.reports.pdf import write_echo_wall_pdf

    if out.suffix.lower() != ".pdf":
        raise ReportInputError(t("reports.error.pdf_name", name=out.name))
    ds = _fetch(server, token)
    wall = build_echo_wall(ds, _village(ds, village))
    pages = write_echo_wall_pdf(wall, out)
    typer.echo(t("reports.cli.wrote_wall", path=out, n=len(wall.items), pages=pages))
