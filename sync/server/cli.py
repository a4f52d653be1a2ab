"""``gridwall server`` (run the API) and ``gridwall admin ...`` (organisation, devices, imports).

Both take the database as ``--db URL`` or a data folder ``--data DIR`` (default
``./gridwall-data``: ``server.sqlite3`` and ``blobs/``). Errors are one clear line and a
non-zero exit.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sync.chinatime import fmt_time
from sync.cli_numbers import Number
from sync.enroll_link import app_url
from sync.i18n import t
from sync.server import admin as admin_ops
from sync.server import auth, db
from sync.server.errors import ServerError
from sync.server.phone_app import MOUNT

DEFAULT_DATA = Path("gridwall-data")


def _console() -> Console:
    # Piped output (scripts, logs) gets wide tables instead of ellipses.
    return Console() if sys.stdout.isatty() else Console(width=200)

server_app = typer.Typer(help="运行中心服务器 Run the central sync server.", add_completion=False)
admin_app = typer.Typer(
    help="管理乡镇、网格、用户和设备 Manage townships, grids, users and devices.",
    no_args_is_help=True,
    add_completion=False,
)

DataOpt = Annotated[Path, typer.Option("--data", help="data folder (SQLite file and blobs)", envvar="GRIDWALL_DATA")]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="database URL, e.g. postgresql+psycopg://user@host/db", envvar="GRIDWALL_DB"),
]


def _print_rows(rows: Iterable[tuple[Any, str]]) -> None:
    """An import's refused or skipped rows: row number and reason (the three importers)."""
    table = Table(t("server.cli.col.row"), t("server.cli.col.reason"))
    for row, reason in rows:
        table.add_row(str(row), reason)
    _console().print(table)


def db_url(data: Path, url: str | None) -> str:
    return url or f"sqlite:///{(data / 'server.sqlite3').resolve()}"


def _fail(message: str) -> None:
    typer.echo(f"{t('server.cli.error')}: {message}", err=True)
    raise typer.Exit(1)


@server_app.callback(invoke_without_command=True)
def serve(
    data: DataOpt = DEFAULT_DATA,
    url: DbOpt = None,
    blobs: Annotated[Path | None, typer.Option("--blobs", help="blob folder (default DATA/blobs)")] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on", min=1, max=65535)] = 8000,
    migrate_only: Annotated[bool, typer.Option("--migrate-only", help="apply migrations and exit")] = False,
    max_inflight: Annotated[int, typer.Option(help="requests in flight before 429", min=1, max=100_000)] = 64,
    app_url: Annotated[list[str] | None, typer.Option(
        "--app-url", help="an app's address for the front page: NAME=URL or URL (repeat)")] = None,
    blob_quota_mb: Annotated[float, typer.Option(
        "--blob-quota-mb", help="photo storage per device, MB (0: no limit)", parser=Number(0, 10_000_000),
    )] = 2048,
    app_dir: Annotated[Path | None, typer.Option(
        "--app-dir", help="the field app's static build, served at /app/ (default: build/phone)")] = None,
) -> None:
    """运行服务器 Run the server (migrations are applied on start)."""
    import uvicorn

    from sync.server.api import Limits, open_server
    from sync.server.front import parse_app_link

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        if migrate_only:
            db.migrate(db.make_engine(db_url(data, url)))
            typer.echo(t("server.cli.migrated"))
            return
        from sync.server.phone_app import DEFAULT_APP_DIR

        quota = int(blob_quota_mb * 1024 * 1024) or None
        limits = Limits(max_inflight=max_inflight, blob_quota_bytes=quota)
        app = open_server(db_url(data, url), blobs or data / "blobs", limits, app_dir or DEFAULT_APP_DIR)
        app.state.app_links = [parse_app_link(u) for u in app_url or []]
    except ServerError as exc:
        _fail(exc.message())
    except Exception as exc:  # noqa: BLE001 - e.g. database unreachable: one line, not a traceback
        _fail(t("server.cli.cannot_open", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
    typer.echo(t("server.cli.listening", url=f"http://{host}:{port}/api/v1"))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


class _Ctx:
    def __init__(self, url: str, data: Path) -> None:
        self.url = url
        self.data = data

    def run(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Run fn(conn, ...) in one transaction on a migrated database; errors -> one line."""
        engine = None
        try:
            engine = db.make_engine(self.url)
            db.migrate(engine)
            with engine.begin() as conn:
                admin_ops.prepare(conn)
                return fn(conn, *args, **kwargs)
        except ServerError as exc:
            _fail(exc.message())
        finally:
            if engine is not None:
                engine.dispose()


@admin_app.callback()
def admin(ctx: typer.Context, data: DataOpt = DEFAULT_DATA, url: DbOpt = None) -> None:
    """管理命令 Administration (the database: --data DIR or --db URL)."""
    ctx.obj = _Ctx(db_url(data, url), data)


@admin_app.command("create-county")
def create_county(ctx: typer.Context, name: str) -> None:
    """新建县 Create a county (townships belong to one; its staff see them all)."""
    cid = ctx.obj.run(admin_ops.create_county, name)
    typer.echo(t("server.cli.created", what=name, id=cid))


@admin_app.command("create-township")
def create_township(
    ctx: typer.Context,
    name: str,
    county: Annotated[str | None, typer.Option(help="county name or id (needed when there are several)")] = None,
) -> None:
    """新建乡镇 Create a township in a county."""
    tid = ctx.obj.run(admin_ops.create_township, name, county)
    typer.echo(t("server.cli.created", what=name, id=tid))


@admin_app.command("create-village")
def create_village(
    ctx: typer.Context, name: str, township: Annotated[str, typer.Option(help="township name or id")]
) -> None:
    """新建村 Create a village in a township."""
    vid = ctx.obj.run(admin_ops.create_village, township, name)
    typer.echo(t("server.cli.created", what=name, id=vid))


@admin_app.command("create-grid")
def create_grid(
    ctx: typer.Context,
    name: str,
    township: Annotated[str, typer.Option(help="township name or id")],
    village: Annotated[str | None, typer.Option(help="village name or id, or 乡镇/村")] = None,
) -> None:
    """新建网格 Create a grid."""
    gid = ctx.obj.run(admin_ops.create_grid, township, name, village)
    typer.echo(t("server.cli.created", what=name, id=gid))


@admin_app.command("create-user")
def create_user(
    ctx: typer.Context,
    name: str,
    role: Annotated[str, typer.Option(help="grid_worker | township_staff | county_staff | operator | admin")],
    grid: Annotated[list[str] | None, typer.Option("--grid", help="grid name or id, or 村/网格 (repeat)")] = None,
    township: Annotated[str | None, typer.Option(help="township name or id")] = None,
    phone: Annotated[str | None, typer.Option(help="phone number")] = None,
    login: Annotated[str | None, typer.Option(help="login, unique (default: the name); two people of one name need two")] = None,
    county: Annotated[str | None, typer.Option(help="county name or id (county staff)")] = None,
) -> None:
    """新建用户 Create a user with a role and scope (NAME is the name people read)."""
    uid = ctx.obj.run(admin_ops.create_user, name, role, township, grid or [], phone, login, county)
    typer.echo(t("server.cli.created", what=name, id=uid))


def _ref_kind(kind: str) -> str:
    from sync.server.refdata import EDITABLE

    if kind not in EDITABLE:
        _fail(t("server.ref.bad_kind", kind=kind, kinds=", ".join(EDITABLE)))
    return kind


@admin_app.command("set-ref")
def set_ref(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="unit | category | source | appeal")],
    ref_id: Annotated[str | None, typer.Option("--id", help="the entry's id (a short slug); new when unknown")] = None,
    name: Annotated[str | None, typer.Option(help="the name people read")] = None,
    order: Annotated[int | None, typer.Option(help="place in the lists", min=0, max=10_000)] = None,
    deadline_days: Annotated[int | None, typer.Option("--deadline-days", help="category: working days to the deadline", min=1, max=365)] = None,
    parent: Annotated[str | None, typer.Option(help="category: the parent category's id")] = None,
    county: Annotated[str | None, typer.Option(help="unit: a county department (县直部门) of this county")] = None,
    township: Annotated[str | None, typer.Option(help="unit: an office of this township")] = None,
    phone: Annotated[str | None, typer.Option(help="unit: phone number")] = None,
) -> None:
    """编辑基础数据 Add or edit a unit, category (with its deadline rule), source or appeal type;
    devices get it at their next sync and old records keep their meaning."""
    from sync.server.refdata import set_reference

    fields = {"name": name, "order": order, "deadline_days": deadline_days, "parent": parent,
              "county": county, "township": township, "phone": phone}
    rid = ctx.obj.run(set_reference, _ref_kind(kind), ref_id, {k: v for k, v in fields.items() if v is not None})
    typer.echo(t("server.cli.ref_saved", kind=t(f"model.kind.{kind}"), id=rid))


@admin_app.command("retire-ref")
def retire_ref(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="unit | category | source | appeal")],
    ref_id: Annotated[str, typer.Argument(help="the entry's id")],
) -> None:
    """停用基础数据 Retire an entry: gone from the pickers, still named in every record that uses it."""
    from sync.server.refdata import retire

    ctx.obj.run(retire, _ref_kind(kind), ref_id)
    typer.echo(t("server.cli.ref_retired", kind=t(f"model.kind.{kind}"), id=ref_id))


@admin_app.command("list-ref")
def list_ref(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="unit | category | source | appeal")],
) -> None:
    """列出基础数据 List the entries of a kind (retired ones marked)."""
    from sync.server.refdata import list_reference

    rows = ctx.obj.run(list_reference, _ref_kind(kind))
    table = Table("id", t("server.cli.col.name"), t("server.cli.col.detail"), t("server.cli.col.state"))
    for r in rows:
        detail = " ".join(f"{k}={v}" for k, v in r.items() if k not in ("id", "name", "retired") and v is not None)
        table.add_row(r["id"], str(r.get("name") or ""), detail,
                      t("model.field.retired") if r["retired"] else t("server.cli.state.active"))
    _console().print(table)


@admin_app.command("add-holiday")
def add_holiday(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    township: Annotated[str, typer.Option(help="township name or id")],
    working: Annotated[bool, typer.Option("--working", help="a make-up working day (调休上班), not a rest day")] = False,
    name: Annotated[str | None, typer.Option(help="what the day is, e.g. 县庆")] = None,
) -> None:
    """添加本地节假日 Add a local rest day (or make-up working day); devices get it at their next sync."""
    try:
        date.fromisoformat(day)
    except ValueError:
        _fail(t("server.cli.bad_day", value=day))
    ctx.obj.run(admin_ops.add_holiday, township, day, working, name)
    typer.echo(t("server.cli.holiday_added", day=day, what=t("model.field.working") if working else t("model.kind.holiday")))


@admin_app.command("list-holidays")
def list_holidays(ctx: typer.Context) -> None:
    """列出本地节假日 List the local holidays and make-up working days."""
    rows = ctx.obj.run(admin_ops.list_holidays)
    table = Table(t("model.field.date"), t("server.cli.col.item"), t("server.cli.col.day_name"))
    for f in rows:
        table.add_row(str(f.get("date")), t("model.field.working") if f.get("working") else t("model.kind.holiday"),
                      str(f.get("name") or ""))
    _console().print(table)


@admin_app.command("list-users")
def list_users(ctx: typer.Context) -> None:
    """列出用户 List users."""
    users = ctx.obj.run(admin_ops.list_users)
    table = Table(t("server.cli.col.name"), t("server.cli.col.login"), t("server.cli.col.role"),
                  t("server.cli.col.grids"), "id")
    for u in users:
        table.add_row(u["name"], u["login"], u["role"], ", ".join(u["grids"]), u["id"])
    _console().print(table)


@admin_app.command("enroll")
def enroll(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="user login or id (or a name only one user has)")],
    hours: Annotated[float, typer.Option(help="hours the code stays valid (at most 30 days)",
                                         parser=Number(0, 720, min_open=True))] = 24.0,
    server: Annotated[str | None, typer.Option(
        help="the address phones reach this server at, e.g. http://192.168.1.10:8000 "
             "(default: guessed from this machine's network, port 8000)")] = None,
    qr: Annotated[bool, typer.Option(help="print the link's QR code in the terminal")] = True,
    qr_out: Annotated[Path | None, typer.Option(help="also write the QR code to FILE.png or FILE.svg")] = None,
) -> None:
    """生成一次性注册码 Print a one-time enrollment code for a user's device, the phone app's
    link with the code, and its QR code (a phone's camera app opens it)."""
    if server is not None and not server.strip().startswith(("http://", "https://")):
        _fail(t("server.cli.enroll_bad_server", server=server))
    if qr_out is not None and qr_out.suffix.lower() not in (".png", ".svg"):
        _fail(t("server.cli.enroll_qr_bad_suffix", path=qr_out))
    device_id, code = ctx.obj.run(admin_ops.create_enrollment, user, hours)
    typer.echo(t("server.cli.enroll_code", code=code, hours=hours, device=device_id))
    base = server.strip() if server else _guess_server()
    url = app_url(base, code, MOUNT)
    typer.echo(t("server.cli.enroll_link"))
    typer.echo(url)  # alone on its line: copied or sent as it is
    if server is None:
        typer.echo(t("server.cli.enroll_link_guess", server=base))
    import segno  # only this command draws QR codes

    code_img = segno.make(url, error="m")
    if qr:
        code_img.terminal(out=sys.stdout, compact=True)
    if qr_out is not None:
        try:
            code_img.save(str(qr_out), scale=8, border=4)
        except OSError as exc:
            _fail(f"{qr_out}: {exc.strerror or exc}")
        typer.echo(t("server.cli.enroll_qr_written", path=qr_out))


def _guess_server(port: int = 8000) -> str:
    """http://<this machine's address on its outgoing network>:port (no packet is sent)."""
    ip = "127.0.0.1"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # UDP connect only picks the interface
            ip = s.getsockname()[0]
    except OSError:
        pass
    return f"http://{ip}:{port}"


def issue_token(conn: object, user: str, device_name: str) -> dict:
    """A device of its own for ``user`` with its bearer token at once (no code to carry):
    what an office PC needs for `gridwall report` and `gridwall sync upload`."""
    _device, code = admin_ops.create_enrollment(conn, user, 0.1)
    return auth.enroll(conn, code, device_name)


@admin_app.command("token")
def token(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="user name or id")],
    name: Annotated[str, typer.Option(help="device name shown by list-devices")] = "office PC",
) -> None:
    """发放令牌 Print a token for a user's office PC (gridwall report, sync upload)."""
    doc = ctx.obj.run(issue_token, user, name)
    typer.echo(t("server.cli.token", token=doc["token"], user=doc["user"]["name"], device=doc["device_id"]))


@admin_app.command("revoke-device")
def revoke_device(ctx: typer.Context, device: str) -> None:
    """停用设备 Revoke a device: its token stops working at once."""
    ctx.obj.run(admin_ops.revoke_device, device)
    typer.echo(t("server.cli.revoked", device=device))


def _when(ms: int | None) -> str:
    return fmt_time(ms) or "-"


@admin_app.command("list-devices")
def list_devices(ctx: typer.Context) -> None:
    """列出设备 List devices."""
    devices = ctx.obj.run(admin_ops.list_devices)
    table = Table(t("server.cli.col.user"), t("server.cli.col.device"), t("server.cli.col.state"), t("server.cli.col.created"), t("server.cli.col.seen"))
    table.add_column("id", no_wrap=True)
    for d in devices:
        state = (
            t("server.cli.state.revoked") if d["revoked_ms"] else
            t("server.cli.state.active") if d["token_hash"] else t("server.cli.state.waiting")
        )  # fmt: skip
        table.add_row(d["user_name"], d["name"] or "-", state, _when(d["created_ms"]), _when(d["last_seen_ms"]), d["id"])
    _console().print(table)


@admin_app.command("starter-pack")
def starter_pack(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="the .gwb file to write")],
    user: Annotated[str | None, typer.Option(help="user name or id: their latest enrolled device")] = None,
    device: Annotated[str | None, typer.Option(help="device id (instead of --user)")] = None,
    blobs: Annotated[Path | None, typer.Option("--blobs", help="blob folder (default DATA/blobs)")] = None,
) -> None:
    """生成起步包 Write a new device's starter pack (its whole scope, signed for it) to hand over."""
    from sync.fileio import atomic_write_bytes
    from sync.server.snapshot import starter_pack as make

    if not user and not device:
        _fail(t("server.cli.starter_needs_device"))
    data, meta, p = ctx.obj.run(make, blobs or ctx.obj.data / "blobs", user, device)
    try:
        atomic_write_bytes(out, data)
    except OSError as exc:
        _fail(t("server.cli.cannot_write", path=out, detail=exc.strerror or str(exc)))
    typer.echo(t("server.cli.starter_written", path=out, records=meta.records, size=len(data),
                 user=p.name, device=p.device_id))


@admin_app.command("seed-reference")
def seed_reference(ctx: typer.Context) -> None:
    """写入默认问题分类和承办单位 Add the default categories and units (once)."""
    n = ctx.obj.run(admin_ops.seed_reference)
    typer.echo(t("server.cli.seeded", n=n))


@admin_app.command("import-households")
def import_households(
    ctx: typer.Context,
    file: Path,
    grid: Annotated[str, typer.Option(help="grid name or id the households belong to")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """导入住户花名册 Import households from CSV or XLSX (Chinese headers: 户主, 门牌/地址, 电话, 人口数, 关爱标签, 备注)."""
    from sync.server.households import import_households as run_import

    report = ctx.obj.run(run_import, file, grid)
    if as_json:
        typer.echo(json.dumps({"accepted": report.accepted, "refused": report.refused, "skipped": report.skipped}, ensure_ascii=False))
    else:
        typer.echo(t("server.cli.import_summary", accepted=len(report.accepted), refused=len(report.refused), skipped=len(report.skipped)))
        if report.refused or report.skipped:
            _print_rows(sorted(report.refused + report.skipped))
    if report.refused:
        raise typer.Exit(2)


@admin_app.command("import-issues")
def import_issues(
    ctx: typer.Context,
    file: Path,
    source: Annotated[str, typer.Option(help="the channel: hotline (12345热线), petition (信访), spot_check, "
                                             "superior, inspection, walk_in, other, or its name")] = "hotline",
    township: Annotated[str | None, typer.Option(help="township name or id (one township's list)")] = None,
    county: Annotated[str | None, typer.Option(help="county name or id (the list names each row's 乡镇)")] = None,
    by: Annotated[str | None, typer.Option(help="the staff member who registers them (login or id)")] = None,
    map_: Annotated[list[str] | None, typer.Option("--map", help="FIELD=列名 for a column named otherwise, "
                                                   "e.g. title=诉求摘要 (repeat)")] = None,
    check: Annotated[bool, typer.Option("--check", help="check every row, write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """导入热线/信访问题 Import problems from a hotline or petition system's export (XLSX/CSV):
    each goes to the grid of its household or village; all rows or none."""
    from sync.server.intake import import_issues as run_import

    mapping = {}
    for item in map_ or []:
        fname, sep, header = item.partition("=")
        if not sep or not fname.strip() or not header.strip():
            _fail(t("server.cli.bad_map", value=item))
        mapping[fname.strip()] = header.strip()
    report = ctx.obj.run(run_import, file, source=source, township=township, county=county, by=by,
                         mapping=mapping, check_only=check)
    if as_json:
        typer.echo(json.dumps({"imported": report.imported, "accepted": [r for r, _i, _g in report.accepted],
                               "refused": report.refused}, ensure_ascii=False))
    elif report.refused:
        typer.echo(t("server.cli.intake_refused", n=len(report.refused)))
        _print_rows(report.refused)
    elif report.imported:
        typer.echo(t("server.cli.intake_done", n=len(report.accepted)))
    else:
        typer.echo(t("server.cli.intake_checked", n=len(report.accepted)))
    if report.refused:
        raise typer.Exit(2)


@admin_app.command("import-pairing")
def import_pairing(
    ctx: typer.Context,
    file: Path,
    grid: Annotated[str, typer.Option(help="grid name or id the members and households belong to")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """导入联户名册 Import party members / 联户长 and the households they look after (XLSX or CSV: 联户人员, 身份, 电话, 使用App, 户主, 门牌). All or nothing."""
    from sync.server.pairing_import import import_pairing as run_import

    report = ctx.obj.run(run_import, file, grid)
    if as_json:
        typer.echo(json.dumps({"accepted": report.accepted, "refused": report.refused, "skipped": report.skipped}, ensure_ascii=False))
    elif report.refused:
        typer.echo(t("server.cli.pairing_refused", refused=len(report.refused)))
    else:
        typer.echo(t("server.cli.import_summary", accepted=len(report.accepted), refused=0, skipped=len(report.skipped)))
    if not as_json and (report.refused or report.skipped):
        _print_rows(sorted(report.refused or report.skipped))
    if report.refused:
        raise typer.Exit(2)


@admin_app.command("backup")
def backup_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="backup file to write (must not exist)")],
) -> None:
    """备份数据库 Back up the database (SQLite online backup, or pg_dump for PostgreSQL)."""
    from sync.server import backup

    try:
        info = backup.backup(ctx.obj.url, out)
    except ServerError as exc:
        _fail(exc.message())
    typer.echo(t("server.cli.backup_done", path=info["path"], seq=info["feed_seq"], bytes=info["bytes"]))


@admin_app.command("restore")
def restore_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="backup file written by `gridwall admin backup`")],
) -> None:
    """从备份恢复 Restore a backup; devices then pull again and re-offer what they recorded since."""
    from sync.server import backup

    try:
        info = backup.restore(ctx.obj.url, file)
    except ServerError as exc:
        _fail(exc.message())
    typer.echo(t("server.cli.restore_done", path=file, seq=info["feed_seq"], epoch=info["epoch"]))
    if info.get("kept"):
        typer.echo(t("server.cli.restore_kept", path=info["kept"]))


@admin_app.command("cleanup-partials")
def cleanup_partials(
    ctx: typer.Context,
    days: Annotated[float, typer.Option(help="drop partial uploads untouched this many days",
                                        parser=Number(0, 3650))] = 7.0,
    bundle_days: Annotated[float, typer.Option("--bundle-days", help="drop uploaded bundle files older than this",
                                               parser=Number(0, 3650))] = 7.0,
    blobs: Annotated[Path | None, typer.Option("--blobs", help="blob folder (default DATA/blobs)")] = None,
) -> None:
    """清理过期的未完成上传和同步包 Drop partial uploads untouched for DAYS days and uploaded bundles
    older than BUNDLE-DAYS days."""
    from sync.server.blobs import FsBlobStore

    store_ = FsBlobStore(blobs or ctx.obj.data / "blobs")
    n = store_.cleanup_partials(days)
    typer.echo(t("server.cli.cleaned", n=n, days=days))
    typer.echo(t("server.cli.cleaned_bundles", n=store_.cleanup_bundles(bundle_days), days=bundle_days))


@admin_app.command("status")
def status(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False
) -> None:
    """同步状况 Sync health: feed position, records by kind, devices, conflicts."""
    figures = ctx.obj.run(admin_ops.status)
    if as_json:
        typer.echo(json.dumps(figures, ensure_ascii=False))
        return
    table = Table(t("server.cli.col.item"), t("server.cli.col.value"))
    for key, value in figures.items():
        if key == "records":
            for kind, n in value.items():
                table.add_row(t("server.cli.status.records", kind=kind), str(n))
        else:
            table.add_row(t(f"server.cli.status.{key}"), str(value))
    _console().print(table)
