"""The click command line: a thin layer over :mod:`treatyflow.service`.

Imports here are kept to click and the standard library so that ``treatyflow --help``
stays fast (no SQLAlchemy, no pydantic); each command imports what it needs when it runs.
This is the one place that maps :class:`treatyflow.errors.TreatyflowError` to exit codes.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from treatyflow import __version__
from treatyflow.cli.context import AppContext

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class TreatyflowGroup(click.Group):
    """The root group: maps treatyflow's errors to ``Error: ...`` and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            # The reader went away (`treatyflow ... | head`): stop quietly, as Unix tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None
        except OSError as exc:
            # A path the operating system refuses (a name too long, a directory not there).
            if isinstance(ctx.obj, AppContext) and ctx.obj.debug:
                traceback.print_exc()
            from treatyflow.redaction import redact

            db = ctx.obj.db if isinstance(ctx.obj, AppContext) else None
            name = redact(str(exc.filename or ""), db)
            what = f"cannot use {name[:80]!r}" if name else "a file operation failed"
            raise click.ClickException(f"{what}: {exc.strerror or exc}.") from None
        except Exception as exc:
            from treatyflow.errors import TreatyflowError
            from treatyflow.redaction import redact

            app = ctx.obj if isinstance(ctx.obj, AppContext) else None
            db = app.db if app is not None else None
            if app is not None and app.debug:
                sys.stderr.write(redact(traceback.format_exc(), db))
            if isinstance(exc, TreatyflowError):
                raise click.ClickException(_one_line(redact(str(exc), db))) from None
            if isinstance(exc, KeyboardInterrupt):
                raise

            message = redact(f"{type(exc).__name__}: {exc}", db)
            raise click.ClickException(
                f"internal error ({_one_line(message)}); rerun with --debug and report it."
            ) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # keep the order commands were added in


def _one_line(text: str) -> str:
    return " ".join(text.split())


@click.group(cls=TreatyflowGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--db",
    envvar="TREATYFLOW_DB",
    default="treatyflow.db",
    show_default=True,
    metavar="URL_OR_PATH",
    help="SQLite file or SQLAlchemy URL [env: TREATYFLOW_DB].",
)
@click.option(
    "--workflows",
    envvar="TREATYFLOW_WORKFLOWS",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR",
    help="Extra definitions (DIR/treaties, DIR/procedures) that add to or override the "
    "shipped ones [env: TREATYFLOW_WORKFLOWS].",
)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(__version__, prog_name="treatyflow")
@click.pass_context
def main(ctx: click.Context, db: str, workflows: str | None, debug: bool) -> None:
    """Track how States leave (or suspend) treaties, step by step, with a verifiable log.

    \b
    First steps:
      treatyflow init
      treatyflow case open --country LTU --treaty ottawa --at notified --on 2025-06-27
      treatyflow pending
    """
    ctx.obj = AppContext(db=db, workflows=workflows, debug=debug)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from treatyflow.cli import admin, cases, doctor, reports, workflows

    main.add_command(admin.init)
    main.add_command(workflows.workflow)
    main.add_command(cases.case)
    main.add_command(admin.pending)
    main.add_command(admin.tick)
    main.add_command(admin.verify)
    main.add_command(reports.demo)
    main.add_command(reports.conformance)
    main.add_command(reports.report)
    main.add_command(reports.calendar)
    main.add_command(admin.db)
    main.add_command(admin.export)
    main.add_command(admin.import_)
    main.add_command(admin.checkpoint)
    main.add_command(doctor.doctor)


_register()

__all__ = ["main"]
