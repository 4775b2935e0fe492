"""``treatyflow serve``: the read-only web view."""

from __future__ import annotations

import click

from treatyflow.cli.context import AppContext

pass_app = click.make_pass_decorator(AppContext)


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on. Anything but a loopback address lets other machines "
    "read every case (docs/web.md).",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="The port."
)
@pass_app
def serve(app: AppContext, host: str, port: int) -> None:
    """Serve the read-only web view of the database: pending, cases, search, what changed.

    \b
    Example:
      treatyflow --db demo.db serve          # then open http://127.0.0.1:8080/
    """
    from treatyflow.web.server import run

    ws = app.workspace()
    ws.revision()  # an unreachable or uninitialised database fails here, not on each page
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"Warning: listening on {host}: anyone who can reach it can read every case.",
            err=True,
        )
    click.echo(f"treatyflow web view on http://{_shown(host)}:{port}/ (Ctrl+C stops it)")
    run(ws, host=host, port=port)


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host
