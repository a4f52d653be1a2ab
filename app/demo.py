"""``gridwall demo``: a central server on SQLite with a seeded township, enrolled devices and the
app, all on 127.0.0.1, with the URLs and the accounts printed.

Everything goes through the real paths: the township's records are written with the server's
``apply_changes`` as the people who made them (grid workers report, staff dispatch), devices
enroll with one-time codes over HTTP and pull their scope with the sync engine. Re-running is
safe: what exists (``demo.json`` in the demo folder) is reused, and the devices sync again.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import requests
import typer
from rich.console import Console
from rich.table import Table

from sync.client import SyncEngine, enroll
from sync.client.cli import ENROLLMENT_KEY
from sync.i18n import add_catalog_dir, t
from sync.ids import new_id
from sync.records import ATTACHMENT_KINDS
from sync.workflow import role_label

add_catalog_dir(Path(__file__).resolve().parent / "locale")

COUNTY = "青山县"
TOWNSHIP = "青山镇"
# village -> its grids, and who works each grid (demo people, not UI text)
VILLAGES: dict[str, list[tuple[str, str]]] = {
    "东风村": [("东风村第一网格", "张晓燕"), ("东风村第二网格", "刘建军")],
    "红旗村": [("红旗村第一网格", "王秀兰")],
    "石门村": [("石门村第一网格", "赵志刚")],
}
# the county's other townships: a village and a grid each, a smaller seed (the demo stays fast)
OTHER_TOWNSHIPS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "绿水镇": {"南溪村": [("南溪村第一网格", "李春梅")]},
    "白云镇": {"白云村": [("白云村第一网格", "周海涛")]},
}
# county departments (县直部门): units that take dispatched problems
COUNTY_UNITS = (("county-housing", "县住建局"), ("county-water", "县水利局"), ("county-env", "县生态环境分局"))
STAFF = "陈立新"  # township staff (乡镇干部) of 青山镇
OTHER_STAFF = {"绿水镇": "林晓东", "白云镇": "何美玲"}  # township staff of the other townships
COUNTY_STAFF = "吴建华"  # county staff (县级干部): the reviewer app is theirs
OPERATOR = "孙丽"  # sync operator
FIELD_USER = "张晓燕"  # the grid worker whose device the field app opens


@dataclass
class DemoInfo:
    """What the demo made; kept in ``demo.json`` so a re-run reuses it."""

    township: str = ""
    county: str = ""
    townships: dict[str, str] = field(default_factory=dict)  # name -> id
    villages: dict[str, str] = field(default_factory=dict)  # name -> id
    grids: dict[str, str] = field(default_factory=dict)  # name -> id
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {id, role, grid, place}
    devices: dict[str, str] = field(default_factory=dict)  # user name -> device folder
    report_token: str = ""  # township staff's office-PC token, for `gridwall report`
    hotline: str = ""  # the seeded 12345 problem's id (its 查询码 is printed for the lookup)
    hotline_village: str = ""  # and its village's name


def _seed_grid_records(store_dir: Path, grid: str, user: str, village: str, staff: str,
                       rng_seed: int, households: int) -> tuple[list[dict], dict[str, bytes]]:
    """Records of one demo grid (from app.demo_seed) and their photo bytes."""
    from app.demo_seed import seed_demo
    from app.store import Store
    from sync.records import RECORD_KINDS

    with Store.open(store_dir) as store:
        seed_demo(store, grid, user, village, households=households, rng_seed=rng_seed,
                  staff_id=staff)
        records = [r for kind in RECORD_KINDS for r in store.all(kind, include_deleted=True)]
        photos = {r["fields"]["sha256"]: store.photo_bytes(r["fields"]["sha256"])  # and voice notes
                  for r in records if r["kind"] in ATTACHMENT_KINDS}
    return records, {k: v for k, v in photos.items() if v}


def _as_change(record: dict, actor: str) -> dict:
    return {"change_id": new_id(), "id": record["id"], "kind": record["kind"],
            "grid": record["grid"], "fields": record["fields"], "stamps": record["stamps"],
            "bases": record.get("bases") or {}, "actor": actor, "node": "demo-seed"}


def _author(record: dict, worker: str) -> str:
    # Events name who emitted them; everything else in a grid is the grid worker's.
    return record["fields"]["actor"] if record["kind"] == "issue_event" else worker


def seed_server(server_dir: Path, households: int = 40) -> DemoInfo:
    """Create the township, people and a few months of records on the server database."""
    from sync.server import admin, auth, db, feed, refdata
    from sync.server.blobs import FsBlobStore

    engine = db.make_engine(f"sqlite:///{(server_dir / 'server.sqlite3').resolve()}")
    db.migrate(engine)
    blobs = FsBlobStore(server_dir / "blobs")
    info = DemoInfo()
    with engine.begin() as conn:
        auth.master_key(conn)
        admin.prepare(conn)  # the default categories, units, sources and appeal types
        info.county = admin.create_county(conn, COUNTY)
        for town, villages in {TOWNSHIP: VILLAGES, **OTHER_TOWNSHIPS}.items():
            info.townships[town] = admin.create_township(conn, town, info.county)
            for village, grids in villages.items():
                info.villages[village] = admin.create_village(conn, info.townships[town], village)
                for grid, worker in grids:
                    info.grids[grid] = admin.create_grid(conn, info.townships[town], grid, info.villages[village])
                    uid = admin.create_user(conn, worker, "grid_worker", grids=[info.grids[grid]])
                    info.users[worker] = {"id": uid, "role": "grid_worker", "grid": grid, "place": town}
        info.township = info.townships[TOWNSHIP]
        info.users[STAFF] = {"id": admin.create_user(conn, STAFF, "township_staff", township=info.township),
                             "role": "township_staff", "grid": "", "place": TOWNSHIP}
        info.users[COUNTY_STAFF] = {"id": admin.create_user(conn, COUNTY_STAFF, "county_staff", county=info.county),
                                    "role": "county_staff", "grid": "", "place": COUNTY}
        for town, name in OTHER_STAFF.items():
            info.users[name] = {"id": admin.create_user(conn, name, "township_staff", township=info.townships[town]),
                                "role": "township_staff", "grid": "", "place": town}
        info.users[OPERATOR] = {"id": admin.create_user(conn, OPERATOR, "operator", township=info.township),
                                "role": "operator", "grid": "", "place": TOWNSHIP}
        for rid, name in COUNTY_UNITS:
            refdata.set_reference(conn, "unit", rid, {"name": name, "county": info.county})
    for t_index, (town, villages) in enumerate({TOWNSHIP: VILLAGES, **OTHER_TOWNSHIPS}.items()):
        staff_id = info.users[STAFF if town == TOWNSHIP else OTHER_STAFF[town]]["id"]
        for n, (village, grids) in enumerate(villages.items()):
            for m, (grid, worker) in enumerate(grids):
                worker_id = info.users[worker]["id"]
                # the first grid in full, the rest of 青山镇 half, the other townships a quarter
                size = households if t_index == n == m == 0 else households // 2 if t_index == 0 else max(2, households // 4)
                with tempfile.TemporaryDirectory() as tmp:
                    records, photos = _seed_grid_records(
                        Path(tmp), info.grids[grid], worker_id, info.villages[village], staff_id,
                        rng_seed=20261124 + 1000 * t_index + 10 * n + m, households=size)
                by_actor: dict[str, list[dict]] = defaultdict(list)
                for r in records:
                    by_actor[_author(r, worker_id)].append(_as_change(r, _author(r, worker_id)))
                with engine.begin() as conn:
                    # Authors in the order they acted: the grid worker's records, then staff events.
                    for actor in sorted(by_actor, key=lambda a: a != worker_id):
                        principal = auth.principal_for_user(conn, actor)
                        acks = feed.apply_changes(conn, principal, by_actor[actor])
                        refused = [a for a in acks if a["status"] == "refused"]
                        if refused:
                            raise RuntimeError(f"demo seed refused: {refused[0]}")
                for sha, data in photos.items():
                    if not blobs.has(sha):
                        blobs.write_chunk(sha, 0, data, len(data))
                        blobs.finish(sha)
    with engine.begin() as conn:
        _seed_hotline(conn, info)
    engine.dispose()
    return info


def _seed_hotline(conn: Any, info: DemoInfo) -> None:
    """A 12345 hotline problem the county registered in 绿水镇, dispatched to a county
    department, with a county 督办卡: what the county's own work looks like on the board."""
    from datetime import timedelta

    from sync.changes import new_record
    from sync.chinatime import china_today
    from sync.clock import HybridClock
    from sync.server import auth, feed
    from sync.workflow import new_event

    county = auth.principal_for_user(conn, info.users[COUNTY_STAFF]["id"])
    clock = HybridClock("demo-seed")
    village = next(iter(OTHER_TOWNSHIPS["绿水镇"]))
    grid = info.grids[OTHER_TOWNSHIPS["绿水镇"][village][0][0]]
    fields = {"issue_kind": "problem", "title": "河道垃圾堆积", "description": "村口河道有大量生活垃圾，气味难闻",
              "reporter": county.user_id, "source": "hotline", "external_no": "QS12345-20261128-0031",
              "village": info.villages[village], "contact_name": "钱先生", "contact_phone": "13905710031",
              "reporter_visibility": "hidden", "urgency": "urgent", "category": "env.garbage"}
    rec, ch = new_record("issue", grid, fields, clock, county.user_id)
    today = china_today()
    changes = [ch]
    for etype, data in (("report", {"note": "由12345热线登记"}),
                        ("assign", {"unit": "county-env", "deadline": (today + timedelta(days=7)).isoformat()}),
                        ("county_supervise", {"level": 2, "deadline": (today + timedelta(days=2)).isoformat(),
                                              "card_no": "青县督〔2026〕8号", "note": "限期清理，按时反馈"})):
        _ev, ev_ch = new_event(rec, etype, data, clock, county.user_id, county.role)
        changes.append(ev_ch)
    acks = feed.apply_changes(conn, county, changes)
    refused = [a for a in acks if a["status"] == "refused"]
    if refused:
        raise RuntimeError(f"demo seed refused: {refused[0]}")
    info.hotline, info.hotline_village = rec["id"], village


def _enroll_device(server_dir: Path, url: str, device_dir: Path, user: dict[str, Any],
                   name: str) -> None:
    """Enroll a device folder for a user with a one-time code over HTTP (as a phone would)."""
    from app.store import Store
    from sync.server import admin, db

    engine = db.make_engine(f"sqlite:///{(server_dir / 'server.sqlite3').resolve()}")
    with engine.begin() as conn:
        _device, code = admin.create_enrollment(conn, user["id"])
    engine.dispose()
    en = enroll(url, code, t("ui.demo.device_name", name=name))
    with Store.open(device_dir) as st:
        st.meta_set(ENROLLMENT_KEY, en.document())


def sync_device(device_dir: Path, url: str, info: DemoInfo, name: str) -> Any:
    """One full sync of a demo device, then its app profile from what it pulled."""
    from app.device import open_device

    device = open_device(device_dir, background=False)  # one sync here, no runner thread
    svc = device.services
    try:
        en = svc.store.meta_get(ENROLLMENT_KEY)
        if en["server_url"] != url:  # the demo was started on another port this time
            en["server_url"] = url
            svc.store.meta_set(ENROLLMENT_KEY, en)
        report = SyncEngine(svc.store, en["server_url"], en["token"]).sync_once()
        user = info.users[name]
        grid = user["grid"] or next(iter(info.grids))
        village = next(v for v, grids in VILLAGES.items() if grid in [g for g, _ in grids])
        svc.set_profile(user_id=user["id"], user_name=name, grid_id=info.grids[grid],
                        grid_name=grid, village_id=info.villages[village], village=village)
        profile = svc.store.meta_get("profile")
        profile["role"] = user["role"]
        svc.store.meta_set("profile", profile)
        return report
    finally:
        device.close()


def _wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    if not _answers(f"{url}/api/v1/health", proc, timeout_s):
        raise RuntimeError(t("ui.demo.server_slow", url=url))


def _answers(url: str, proc: subprocess.Popen, timeout_s: float) -> bool:
    """Wait until ``url`` answers 200 (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(t("ui.demo.process_died", cmd=" ".join(proc.args[3:5]), code=proc.returncode))
        try:
            if requests.get(url, timeout=2).ok:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.3)
    return False


def _port_free(port: int) -> bool:
    from app.main import port_free

    return port_free("127.0.0.1", port)


def _gridwall(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def prepare(root: Path, server_port: int, households: int = 40,
            app_urls: tuple[str, ...] = (), app_dir: Path | None = None) -> tuple[DemoInfo, subprocess.Popen]:
    """Seed (first run), start the server, enroll (first run) and sync the devices.
    ``app_urls`` are where the apps will listen, linked from the server's front page;
    ``app_dir`` is the phone browser build the server serves at /app/."""
    console = Console()
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    info_file = root / "demo.json"
    server_dir = root / "server"
    if info_file.exists():
        info = DemoInfo(**json.loads(info_file.read_text(encoding="utf-8")))
        # Device folders live in the demo folder, wherever it was when they were made.
        info.devices = {k: str(root / Path(v).name) for k, v in info.devices.items()}
    else:
        # A half-made demo from an interrupted first run is started over.
        shutil.rmtree(server_dir, ignore_errors=True)
        for d in root.glob("device-*"):
            shutil.rmtree(d, ignore_errors=True)
        server_dir.mkdir(parents=True)
        console.print(t("ui.demo.seeding"))
        info = seed_server(server_dir, households)
    url = f"http://127.0.0.1:{server_port}"
    links = [arg for u in app_urls for arg in ("--app-url", u)]
    server = subprocess.Popen(
        _gridwall("server", "--data", str(server_dir), "--port", str(server_port), *links,
                  *(["--app-dir", str(app_dir)] if app_dir else [])),
        stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "ab"),  # noqa: SIM115
    )
    try:
        _wait_healthy(url, server)
        for name in (FIELD_USER, STAFF, COUNTY_STAFF):
            device_dir = root / f"device-{info.users[name]['id'][-12:]}"
            if name not in info.devices:
                _enroll_device(server_dir, url, device_dir, info.users[name], name)
                info.devices[name] = str(device_dir)
            report = sync_device(Path(info.devices[name]), url, info, name)
            if not report.ok:
                raise RuntimeError(report.error.message if report.error else t("ui.demo.sync_failed"))
        if not info.report_token:
            info.report_token = _report_token(server_dir, info.users[STAFF]["id"])
        info_file.write_text(json.dumps(asdict(info), ensure_ascii=False, indent=1), encoding="utf-8")
    except BaseException:
        server.terminate()
        raise
    return info, server


def _report_token(server_dir: Path, staff_id: str) -> str:
    """A token for township staff's office PC, as `gridwall admin token` makes one."""
    from sync.server import db
    from sync.server.cli import issue_token

    engine = db.make_engine(f"sqlite:///{(server_dir / 'server.sqlite3').resolve()}")
    with engine.begin() as conn:
        token = issue_token(conn, staff_id, t("ui.demo.report_device", name=STAFF))["token"]
    engine.dispose()
    return token


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stop the demo as Ctrl+C does (children too)."""


def _on_signal(signum: int, _frame: Any) -> None:
    raise _Stopped(signum)


def _stop(procs: list[subprocess.Popen]) -> None:
    # Stopping is not interrupted by a second signal (a closing terminal sends HUP and TERM).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()


def demo(
    folder: Annotated[Path, typer.Option("--dir", help=t("ui.demo.help_dir"))] = Path("demo-data"),
    server_port: Annotated[int, typer.Option("--server-port", min=1, max=65535)] = 8000,
    field_port: Annotated[int, typer.Option("--field-port", min=1, max=65535)] = 8550,
    staff_port: Annotated[int, typer.Option("--staff-port", min=1, max=65535)] = 8551,
    households: Annotated[int, typer.Option("--households", min=1, max=2000)] = 40,
    no_apps: Annotated[bool, typer.Option("--no-apps", help=t("ui.demo.help_no_apps"))] = False,
) -> None:
    """演示 Run the demo: server + seeded township + field app + reviewer app, URLs printed."""
    folder = folder.resolve()  # once, here: children and Flet get absolute paths only
    for port in (server_port,) if no_apps else (server_port, field_port, staff_port):
        if not _port_free(port):
            raise typer.BadParameter(t("ui.demo.port_busy", port=port))
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    # the reviewer app is the county staff's: every township of the county, the county's work
    apps = [] if no_apps else [(FIELD_USER, field_port), (COUNTY_STAFF, staff_port)]
    procs: list[subprocess.Popen] = []
    phone_dir = _phone_build()
    try:
        info, server = prepare(folder, server_port, households,
                               tuple(f"{_app_label(name)}=http://127.0.0.1:{port}/" for name, port in apps),
                               phone_dir)
        procs.append(server)
        url = f"http://127.0.0.1:{server_port}"
        for name, port in apps:
            procs.append(subprocess.Popen(
                _gridwall("app", "--data", info.devices[name], "--port", str(port)),
                stdout=subprocess.DEVNULL, stderr=open(folder / f"app-{port}.log", "ab"),  # noqa: SIM115
            ))
        # "Ready" only when every app answers: a tab opened at once must not fail.
        for (_name, port), proc in zip(apps, procs[1:], strict=True):
            if not _answers(f"http://127.0.0.1:{port}/", proc, 180):
                raise RuntimeError(t("ui.demo.app_slow", url=f"http://127.0.0.1:{port}/", log=folder / f"app-{port}.log"))
        _print_summary(info, url, apps, folder, phone=phone_dir is not None)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        dead = next(p for p in procs if p.poll() is not None)
        raise RuntimeError(t("ui.demo.process_died", cmd=" ".join(dead.args[3:5]), code=dead.returncode))
    except KeyboardInterrupt:
        typer.echo(t("ui.demo.stopping"))
    finally:
        _stop(procs)


def _app_label(name: str) -> str:
    """The field app (grid worker), the county desk or a township's reviewer app, with whose
    device it is."""
    role = {FIELD_USER: "ui.demo.field_app", COUNTY_STAFF: "ui.demo.county_app"}.get(name, "ui.demo.staff_app")
    return f"{t(role)}（{name}）"


def _phone_build() -> Path | None:
    """The phone browser build (made or remade when its inputs changed); None, with the
    reason printed, when it cannot be made: the rest of the demo works without it."""
    from app.webbuild import BuildError, build

    typer.echo(t("ui.demo.phone_building"))
    try:
        return build().out
    except BuildError as exc:
        typer.echo(t("ui.demo.phone_unavailable", error=exc), err=True)
        return None


def _print_summary(info: DemoInfo, url: str, apps: list[tuple[str, int]], folder: Path,
                   phone: bool = False) -> None:
    console = Console(width=max(100, shutil.get_terminal_size().columns))
    console.print(f"\n[bold]{t('ui.demo.ready')}[/bold]")
    console.print(f"  {t('ui.demo.server')}: {url}/")
    for name, port in apps:
        console.print(f"  {_app_label(name)}: http://127.0.0.1:{port}/")
    if phone:
        console.print(f"  {t('ui.demo.phone_app')}: {url}/app/")
        phone_cmd = (f"{gridwall_command()} admin --data {shlex.quote(str(folder / 'server'))} enroll "
                     f"--user {shlex.quote(FIELD_USER)} --server {url}")
        console.print("  " + t("ui.demo.phone_enroll", cmd=phone_cmd), soft_wrap=True)
    if any(name == COUNTY_STAFF for name, _ in apps):  # where the county's journey (issue 14) goes
        village = next(v for v, grids in VILLAGES.items() if any(w == FIELD_USER for _, w in grids))
        console.print(f"  {t('ui.demo.county_hint', place=f'{TOWNSHIP} / {village}', worker=FIELD_USER)}", soft_wrap=True)
    for village, vid in info.villages.items():
        console.print(f"  {t('ui.demo.echo_wall', village=village)}: {url}/wall/{vid}")
    if info.hotline and info.hotline_village in info.villages:
        from sync.public_code import public_code

        code = public_code(info.hotline)
        console.print(f"  {t('ui.demo.lookup', village=info.hotline_village, code=code)}: "
                      f"{url}/wall/{info.villages[info.hotline_village]}/lookup?code={code}", soft_wrap=True)
    table = Table(title=t("ui.demo.accounts"))
    for col in ("ui.demo.col_name", "ui.demo.col_role", "ui.demo.col_grid", "ui.demo.col_device"):
        table.add_column(t(col))
    for name, u in info.users.items():
        table.add_row(name, role_label(u["role"]), u["grid"] or u.get("place") or TOWNSHIP,
                      info.devices.get(name, ""))
    console.print(table)
    gw = gridwall_command()
    console.print(t("ui.demo.admin_hint", cmd=f"{gw} admin --data {shlex.quote(str(folder / 'server'))} list-users"),
                  soft_wrap=True)
    console.print(t("ui.demo.ledger_hint", name=STAFF,
                    cmd=f"{gw} report ledger --server {url} --token {info.report_token}"), soft_wrap=True)
    console.print(t("ui.demo.stop_hint"))


def gridwall_command() -> str:
    """How to run gridwall from any shell: plain `gridwall` only when that is on PATH and is
    this one, else the full path of the script that runs now (e.g. .venv/bin/gridwall)."""
    script = Path(sys.argv[0])
    if script.name != "gridwall":  # python -m app.cli (tests, development)
        return f"{shlex.quote(sys.executable)} -m app.cli"
    found = shutil.which("gridwall")
    if found and Path(found).resolve() == script.resolve():
        return "gridwall"
    return shlex.quote(str(script.resolve()))


def _env_check() -> None:
    # The child processes must find this package the same way this process did.
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[1]))


_env_check()
