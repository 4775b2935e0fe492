"""The click command line: a thin layer over the public API (:mod:`treatyflow.app`).

Imports here are kept to click and the standard library so that ``treatyflow --help``
stays fast (no SQLAlchemy, no pydantic); each command imports what it needs when it runs.
This is the one place that maps :class:`treatyflow.errors.TreatyflowError` to exit codes.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Any

import click

from treatyflow import __version__
from treatyflow.cli.context import AppContext

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: name -> (module, attribute, first paragraph of its help). Commands are imported only when
#: run or asked for by name, so ``treatyflow --help`` loads no command module at all; a test
#: checks that each help line here is the command's own.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("treatyflow.cli.admin", "init", "Create or upgrade the database (idempotent)."),
    "workflow": (
        "treatyflow.cli.workflows",
        "workflow",
        "List, show, lint and draw treaty and procedure definitions.",
    ),
    "case": (
        "treatyflow.cli.cases",
        "case",
        "Open, advance and read cases (one State's action on one treaty).",
    ),
    "pending": (
        "treatyflow.cli.admin",
        "pending",
        "What happens next, when, and who must act: every open case, nearest date first.",
    ),
    "tick": (
        "treatyflow.cli.admin",
        "tick",
        "Fire every clock that has come due, as events by actor 'system'.",
    ),
    "verify": (
        "treatyflow.cli.admin",
        "verify",
        "Check every case's hash chain; exit 1 naming the case and first bad seq.",
    ),
    "demo": (
        "treatyflow.cli.reports",
        "demo",
        "Build the 2025 Ottawa withdrawals example into --db (new or empty), tick it to "
        "today, print what is pending and the matrix, and write the reports.",
    ),
    "conformance": (
        "treatyflow.cli.reports",
        "conformance",
        "List, per case, every deviation from its procedure, with its sources.",
    ),
    "report": (
        "treatyflow.cli.reports",
        "report",
        "Reports: one or more cases, the portfolio, the country-by-step matrix.",
    ),
    "calendar": (
        "treatyflow.cli.reports",
        "calendar",
        "Upcoming legal dates (expected effective dates, objection-period ends, any running "
        "clock) as an iCalendar file; stable UIDs, so re-importing updates instead of "
        "duplicating.",
    ),
    "search": (
        "treatyflow.cli.search",
        "search",
        "Find events whose notes or sources hold every word of TEXT, best match first.",
    ),
    "serve": (
        "treatyflow.cli.web",
        "serve",
        "Serve the read-only web view of the database: pending, cases, search, what changed.",
    ),
    "db": (
        "treatyflow.cli.admin",
        "db",
        "Schema migrations, required signatures, PostgreSQL roles.",
    ),
    "keys": (
        "treatyflow.cli.keys",
        "keys",
        "Signing keys: generate one; add, list and retire the analysts' keys.",
    ),
    "export": (
        "treatyflow.cli.admin",
        "export",
        "Write the whole database as a self-describing, verifiable JSON Lines bundle.",
    ),
    "import": (
        "treatyflow.cli.admin",
        "import_",
        "Load a bundle into an empty database; refuses a bundle that does not verify.",
    ),
    "checkpoint": (
        "treatyflow.cli.admin",
        "checkpoint",
        "Write every case's chain head and a digest over them, to keep elsewhere.",
    ),
    "doctor": (
        "treatyflow.cli.doctor",
        "doctor",
        "Check the database, every hash chain, migrations, permissions, definitions and clocks.",
    ),
}


def _printable_streams() -> None:
    """Write what cannot be encoded (a file name of undecodable bytes, kept by Python as lone
    surrogates) as a backslash escape instead of failing in the middle of the output."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a closed stream: leave it
                reconfigure(errors="backslashreplace")


class Failure(click.ClickException):
    """A domain error for the user: ``Error: ...`` on stderr, exit 1; "Error:" in red when
    stderr is a terminal (not with NO_COLOR; docs/terminal.md)."""

    def show(self, file: Any = None) -> None:
        from treatyflow.cli.terminal import colour_on

        if not colour_on(stderr=True):
            super().show(file)
            return
        label = click.style("Error:", fg="red", bold=True)
        stream = file if file is not None else sys.stderr
        click.echo(f"{label} {self.format_message()}", file=stream, color=True)


class TreatyflowGroup(click.Group):
    """The root group: maps treatyflow's errors to ``Error: ...`` and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        _printable_streams()
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
                import traceback

                traceback.print_exc()
            from treatyflow.redaction import redact

            db = ctx.obj.db if isinstance(ctx.obj, AppContext) else None
            name = redact(str(exc.filename or ""), db)
            what = f"cannot use {name[:80]!r}" if name else "a file operation failed"
            raise Failure(f"{what}: {exc.strerror or exc}.") from None
        except Exception as exc:
            from treatyflow.errors import TreatyflowError
            from treatyflow.redaction import redact

            app = ctx.obj if isinstance(ctx.obj, AppContext) else None
            db = app.db if app is not None else None
            if app is not None and app.debug:
                import traceback

                sys.stderr.write(redact(traceback.format_exc(), db))
            if isinstance(exc, TreatyflowError):
                from treatyflow.cli.errors import message as error_message
                from treatyflow.values import printable

                raise Failure(printable(redact(error_message(exc), db))) from None
            if isinstance(exc, KeyboardInterrupt):
                raise

            message = redact(f"{type(exc).__name__}: {exc}", db)
            raise Failure(
                f"internal error ({_one_line(message)}); rerun with --debug and report it."
            ) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)  # the order of the table above

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        command = getattr(importlib.import_module(spec[0]), spec[1])
        assert isinstance(command, click.Command)
        from treatyflow.cli.examples import apply

        apply(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table, without importing any command module."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            # A bare Command carrying the help text shortens it exactly as click would.
            (name, click.Command(name, help=text).get_short_help_str(limit))
            for name, (_, _, text) in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


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


__all__ = ["main"]
