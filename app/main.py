"""``gridwall app``: run the field app. On a PC it serves the browser view on 127.0.0.1.

Web mode must work with no internet: ``no_cdn=True`` (CanvasKit and the Material icons font
come from the flet-web package) and the bundled CJK font from ``assets/fonts`` (browsers
have no Chinese font we can count on). Phones run the same ``make_main`` built with
``flet build`` (see docs/app.md) and keep their data under ``FLET_APP_STORAGE_DATA``.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path
from typing import Annotated

import typer

from app.runtime import default_data_dir
from sync.i18n import add_catalog_dir, t

ROOT = Path(__file__).resolve().parents[1]
add_catalog_dir(ROOT / "app" / "locale")
# GRIDWALL_ASSETS_DIR: another assets folder (tests use it when the font is not built yet).
ASSETS_DIR = Path(os.getenv("GRIDWALL_ASSETS_DIR") or ROOT / "assets")
FONT_GLOB = "NotoSansSC-gridwall.*"
FONT_SUFFIXES = (".ttf", ".otf")  # what Flutter web loads through page.fonts
DEFAULT_PORT = 8550

cli = typer.Typer(help=t("ui.cli.help"),
                  add_completion=False, invoke_without_command=True, no_args_is_help=False)


def bundled_font(assets_dir: Path = ASSETS_DIR) -> Path | None:
    """The CJK font file shipped in assets/fonts (None when it has not been made yet)."""
    for path in sorted((assets_dir / "fonts").glob(FONT_GLOB)):
        if path.suffix.lower() in FONT_SUFFIXES:
            return path
    return None


def port_free(host: str, port: int) -> bool:
    """True when a server could listen on ``port`` now. SO_REUSEADDR as the servers themselves
    use it: a port whose last connections linger in TIME_WAIT (a restart right after Ctrl+C)
    is free, a port something listens on is not."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def serve(data: Path, port: int = DEFAULT_PORT, demo: bool = False, host: str = "127.0.0.1",
          assets_dir: Path = ASSETS_DIR, server: str | None = None) -> None:
    """Open the device store in ``data`` and serve the browser view until interrupted.

    Paths are made absolute here, before anything uses them: Flet resolves a relative upload
    folder against its own script folder, not the working directory."""
    import flet as ft

    from app.device import open_device
    from app.ui.app import make_main

    if not port_free(host, port):
        raise typer.BadParameter(t("ui.cli.port_busy", port=port), param_hint="--port")
    data, assets_dir = Path(data).resolve(), Path(assets_dir).resolve()
    upload_dir = data / "uploads"
    # --server prefills the enrol form; an enrolled device syncs on start and on a timer.
    device = open_device(data, upload_dir=upload_dir, server_hint=server)
    services = device.services
    try:
        if demo and not services.store.all("household"):
            from app.demo_seed import DEMO_PROFILE, seed_demo

            typer.echo(t("ui.cli.seeding"))
            p = services.profile
            services.set_profile(user_id=p["user_id"], grid_id=p["grid_id"],
                                 village_id=p["village_id"], **DEMO_PROFILE)
            seed_demo(services.store, p["grid_id"], p["user_id"], p["village_id"])
        upload_dir.mkdir(parents=True, exist_ok=True)
        # Browser uploads (photos) are signed with this key; one per run is enough.
        os.environ.setdefault("FLET_SECRET_KEY", secrets.token_hex(16))
        os.environ["FLET_FORCE_WEB_SERVER"] = "true"
        font = bundled_font(assets_dir)
        font_url = f"/fonts/{font.name}" if font else None
        if font is None:
            typer.echo(t("ui.cli.no_font"), err=True)
        url = f"http://{host}:{port}/"
        typer.echo(t("ui.cli.serving", url=url, data=services.store.data_dir.resolve()))
        ft.run(make_main(device, font_url=font_url), host=host, port=port,
               view=ft.AppView.WEB_BROWSER, assets_dir=str(assets_dir),
               upload_dir=str(upload_dir), no_cdn=True)
    finally:
        device.close()


@cli.callback()
def run(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option("--data", help=t("ui.cli.help_data"))] = None,
    port: Annotated[int, typer.Option("--port", help=t("ui.cli.help_port"))] = DEFAULT_PORT,
    demo: Annotated[bool, typer.Option("--demo", help=t("ui.cli.help_demo"))] = False,
    server: Annotated[str | None, typer.Option("--server", help=t("ui.syncx.help_server"))] = None,
) -> None:
    """Serve the field app on http://127.0.0.1:PORT/ (open it in a phone-sized window)."""
    if ctx.invoked_subcommand is not None:  # e.g. `gridwall app build`
        return
    if not 1 <= port <= 65535:
        raise typer.BadParameter(t("ui.cli.bad_port", port=port), param_hint="--port")
    serve(data or default_data_dir(), port=port, demo=demo, server=server)
