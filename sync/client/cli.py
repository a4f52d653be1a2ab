"""``gridwall sync ...``: sync a device store from the shell, bundles, the operator's upload.

The device store is opened through the ``open_store`` function the app passes in
(``make_sync_app(Store.open)``), so this package does not import the app.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sync.bundles.format import BundleError
from sync.client.bundles import apply_return, export_bundle
from sync.client.engine import ENROLLMENT_KEY, SyncEngine, enroll  # noqa: F401 - re-exported
from sync.client.engine import Progress as SyncProgress
from sync.client.history import read_history
from sync.client.transport import API, SyncError, Transport
from sync.client.upload import BlobUploader, expect_ok
from sync.fileio import atomic_write_bytes
from sync.i18n import t

DataOpt = Annotated[Path, typer.Option("--data", help="device data folder 设备数据目录")]


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _local_time(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def make_sync_app(open_store: Callable[[Path], Any]) -> typer.Typer:
    app = typer.Typer(help="同步 Sync a device store, bundles (.gwb), operator upload.", no_args_is_help=True)
    console = Console()

    def _store(data: Path, create: bool = False) -> Any:
        # Only enrolling makes a new device folder: elsewhere a mistyped --data must not
        # quietly create an empty store and report "not enrolled".
        if not create and not Path(data).is_dir():
            _fail(t("client.error.no_data", path=data))
        try:
            return open_store(data)
        except Exception as exc:  # noqa: BLE001 - the store explains itself in plain words
            _fail(str(exc))

    def _enrollment(store: Any) -> dict:
        en = store.meta_get(ENROLLMENT_KEY)
        if not en:
            store.close()
            _fail(t("client.error.not_enrolled"))
        return en

    @app.command("enroll")
    def enroll_cmd(
        data: DataOpt,
        server: Annotated[str, typer.Option("--server", help="server URL, e.g. http://10.0.0.5:8000")],
        code: Annotated[str, typer.Option("--code", help="one-time code from `gridwall admin enroll`")],
        name: Annotated[str, typer.Option("--name", help="device name")] = "gridwall device",
    ) -> None:
        """注册设备 Enrol this device store with a one-time code."""
        try:
            en = enroll(server, code, name)
        except SyncError as exc:
            _fail(exc.message)
        store = _store(data, create=True)
        try:
            store.meta_set(ENROLLMENT_KEY, en.document())
        finally:
            store.close()
        typer.echo(t("client.cli.enrolled", user=en.user.get("name", ""), device=en.device_id))

    @app.command("now")
    def now_cmd(data: DataOpt) -> None:
        """立即同步 Sync now: push, pull until caught up, photos."""
        store = _store(data)
        try:
            en = _enrollment(store)
            with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                          console=console, transient=True) as bar:
                task = bar.add_task(t("client.cli.syncing"), total=None)

                def on_progress(p: SyncProgress) -> None:
                    bar.update(task, completed=p.bytes_sent + p.bytes_received,
                               description=t("client.cli.progress", up=p.records_sent, down=p.records_received,
                                             photos=p.photos_sent + p.photos_received))

                eng = SyncEngine(store, en["server_url"], en["token"], on_progress=on_progress)
                rep = eng.sync_once()
            if rep.error:
                _fail(rep.error.message)
            typer.echo(t("client.cli.done", applied=rep.applied + rep.duplicate, pulled=rep.pulled,
                         up=rep.photos_uploaded, down=rep.photos_downloaded, requests=rep.requests,
                         kb=round((rep.bytes_sent + rep.bytes_received) / 1024, 1)))
            for r in rep.refused:
                typer.echo(t("client.cli.refused_line", reason=r["reason"]))
            for r in rep.waiting:
                typer.echo(t("client.cli.waiting_line", reason=r["reason"]))
            st = eng.status()
            typer.echo(st.message)
            for line in st.notices:
                typer.echo(f"! {line}")
        finally:
            store.close()

    @app.command("status")
    def status_cmd(data: DataOpt) -> None:
        """同步状态 What is waiting, what was refused and why."""
        store = _store(data)
        try:
            from sync.client.engine import sync_status

            st = sync_status(store)
            typer.echo(st.message)
            for line in st.notices:  # a restored server, damaged device files: said first, loudly
                typer.echo(f"! {line}")
            typer.echo(t("client.cli.status_counts", outbox=st.outbox, photos=st.photos_to_upload,
                         missing=st.photos_missing, refused=st.refused))
            h = read_history(store)  # the same record the app's 首页 and 同步 read
            if h.ok_ms:
                typer.echo(t("client.cli.status_last_ok", when=_local_time(h.ok_ms)))
            if h.failing and h.failure:
                typer.echo(t("client.cli.status_last_failure", when=_local_time(h.failure.at_ms),
                             reason=h.failure.message))
            for r in store.refused_changes():
                typer.echo(t("client.cli.refused_line", reason=r.get("reason", "")))
        finally:
            store.close()

    @app.command("export")
    def export_cmd(data: DataOpt, out: Annotated[Path, typer.Option("--out", help="bundle file to write (.gwb)")]) -> None:
        """导出同步包 Write unsynced changes and photos to a .gwb bundle (deletes nothing)."""
        store = _store(data)
        try:
            en = _enrollment(store)
            s = export_bundle(store, out, device_id=en["device_id"], user=(en.get("user") or {}).get("id"),
                              secret=bytes.fromhex(en["secret"]))
        except OSError as exc:
            _fail(t("client.cli.cannot_write", path=out, error=exc.strerror or exc))
        finally:
            store.close()
        typer.echo(t("client.cli.exported", path=", ".join(str(p) for p in s.paths), changes=s.changes,
                     photos=s.photos, kb=round(s.bytes / 1024, 1)))

    @app.command("import-return")
    def import_return_cmd(file: Annotated[Path, typer.Argument(help="return bundle (.return.gwb)")], data: DataOpt) -> None:
        """导入回执包 Apply a return bundle from the operator to this device."""
        store = _store(data)
        try:
            en = _enrollment(store)
            s = apply_return(store, file, device_id=en["device_id"], secret=bytes.fromhex(en["secret"]))
        except BundleError as exc:
            _fail(exc.message)
        finally:
            store.close()
        if s.kind == "snapshot":
            typer.echo(t("client.cli.starter_imported", records=s.records))
            return
        typer.echo(t("client.cli.returned", acked=s.acked, refused=len(s.refused), records=s.records))
        for r in s.refused:
            typer.echo(t("client.cli.refused_line", reason=r.get("reason", "")))

    @app.command("upload")
    def upload_cmd(
        paths: Annotated[list[Path], typer.Argument(help="bundle files or folders of them, any order")],
        server: Annotated[str, typer.Option("--server", help="server URL")],
        token: Annotated[str, typer.Option("--token", help="operator token")],
    ) -> None:
        """批量上传同步包 Operator: upload device bundles; receipt and return bundle next to each."""
        files: list[Path] = []
        for p in paths:
            if p.is_dir():
                files += sorted(f for f in p.rglob("*.gwb") if not f.name.endswith(".return.gwb"))
            elif p.is_file():
                files.append(p)
            else:
                _fail(t("client.cli.no_such_path", path=p))
        files = list(dict.fromkeys(f.resolve() for f in files))
        if not files:
            _fail(t("client.cli.no_bundles"))
        results = upload_bundles(files, server, token, console)
        table = Table(title=t("client.cli.upload_title"))
        for col in ("bundle", "device", "accepted", "duplicate", "refused", "photos", "result"):
            table.add_column(t(f"client.cli.col.{col}"))
        bad = 0
        for f, rc in results:
            status = rc.get("status")
            bad += status != "ok"
            table.add_row(
                f.name, str(rc.get("user") or rc.get("device_id") or "-"), str(rc.get("accepted", 0)),
                str(rc.get("duplicate", 0)), str(len(rc.get("refused") or [])),
                str(rc.get("photos_stored", 0) + rc.get("photos_already", 0)),
                t(f"client.cli.result.{status}") if status in ("ok", "refused", "invalid", "failed") else str(status),
            )
        console.print(table)
        for f, rc in results:
            if rc.get("message"):
                typer.echo(f"{f.name}: {rc['message']}", err=True)
            for r in rc.get("refused") or []:
                typer.echo(f"{f.name}: {t('client.cli.refused_line', reason=r.get('reason', ''))}", err=True)
        if bad:
            raise typer.Exit(1)

    return app


def upload_bundles(files: list[Path], server: str, token: str, console: Console | None = None) -> list[tuple[Path, dict]]:
    """Upload and import each bundle; write ``X.receipt.json`` and ``X.return.gwb`` beside it."""
    transport = Transport(server, token)
    uploader = BlobUploader(transport)
    out: list[tuple[Path, dict]] = []
    total = sum(f.stat().st_size for f in files)
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=console or Console(), transient=False) as bar:
        task = bar.add_task(t("client.cli.uploading"), total=total)
        for f in files:
            bar.update(task, description=f.name)
            try:
                data = f.read_bytes()
                sha = hashlib.sha256(data).hexdigest()
                uploader.upload(sha, data)
                resp = transport.request("POST", f"{API}/bundles", payload={"sha256": sha, "name": f.name})
                if resp.status in (404, 405):
                    raise SyncError("no_endpoint", t("client.cli.no_bundle_endpoint"))
                body = expect_ok(resp)
                try:
                    receipt = body["receipt"]
                    back = base64.b64decode(body["return_bundle"]) if body.get("return_bundle") else None
                except (KeyError, TypeError, ValueError):
                    raise SyncError("bad_response", t("client.error.bad_response")) from None
                if back is not None:
                    atomic_write_bytes(_beside(f, ".return.gwb"), back)
            except SyncError as exc:
                # The device wording ("手机没有网络") would mislead an operator at a PC.
                msg = t("client.cli.server_unreachable", url=server) if exc.code in ("offline", "timeout") else exc.message
                receipt = {"status": "failed", "message": msg}
            except OSError as exc:
                receipt = {"status": "failed", "message": t("client.cli.cannot_read", path=f, error=exc.strerror or exc)}
            try:
                atomic_write_bytes(_beside(f, ".receipt.json"),
                             json.dumps(receipt, ensure_ascii=False, indent=1).encode("utf-8"))
            except OSError:
                pass
            out.append((f, receipt))
            bar.advance(task, f.stat().st_size if f.exists() else 0)
    return out


def _beside(f: Path, suffix: str) -> Path:
    name = f.name[:-4] if f.name.endswith(".gwb") else f.name
    return f.with_name(name + suffix)
