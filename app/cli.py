"""The ``gridwall`` command. It composes subcommands from the parts and holds no logic.

Each part registers its own typer sub-app here. A subcommand that is not built yet does not
exist (no stubs).
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="gridwall",
    help="gridwall 网格问题墙: offline-first field system for village grid workers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    """Attach the sub-apps of the parts that exist."""
    # Parts add themselves here, one line each.
    from sync.server.cli import admin_app, server_app

    app.add_typer(server_app, name="server")
    app.add_typer(admin_app, name="admin")
    from sync.reports.cli import app as report_app

    app.add_typer(report_app, name="report")
    from app.main import cli as field_app_cli  # the field app (gridwall app)

    app.add_typer(field_app_cli, name="app")
    from app import webbuild  # noqa: F401 - registers `gridwall app build` (the phone build)

    # The device store is passed in: sync/ never imports app.
    from app.store import Store
    from sync.client.cli import make_sync_app

    app.add_typer(make_sync_app(Store.open), name="sync")
    from app.demo import demo

    app.command("demo")(demo)


_register()


def main() -> None:
    """Entry point: clear one-line errors instead of tracebacks unless --debug is given."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a CLI
        if debug:
            raise
        typer.echo(f"错误 error: {exc} (run again with --debug for details)", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
