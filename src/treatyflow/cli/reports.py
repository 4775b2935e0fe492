"""Reports and the demo: ``report ...``, ``conformance``, ``demo``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from treatyflow.cli.completion import case_ids, treaty_ids
from treatyflow.cli.context import AppContext, default_actor
from treatyflow.cli.options import json_option
from treatyflow.cli.output import binary_stdout, emit_json, progress_bar, say, table
from treatyflow.cli.terminal import state_style

if TYPE_CHECKING:
    from treatyflow.results import CaseSummary, PendingItem

pass_app = click.make_pass_decorator(AppContext)


@click.command()
@click.argument("case_ids", nargs=-1, metavar="[CASE_ID]...", shell_complete=case_ids)
@json_option
@pass_app
def conformance(app: AppContext, case_ids: tuple[str, ...], as_json: bool) -> None:
    """List, per case, every deviation from its procedure, with its sources."""
    result = [c.to_dict() for c in app.workspace().conformance(case_ids)]
    if as_json:
        emit_json(result)
        return
    from treatyflow.cli.output import is_terminal
    from treatyflow.cli.terminal import console, wrap_lines

    lines: list[tuple[int, str]] = []
    for case in result:
        verdict = "conforms" if case["conforms"] else f"{len(case['deviations'])} deviation(s)"
        lines.append(
            (
                0,
                f"{case['id']} ({case['country']}, {case['treaty']}, {case['action']}, "
                f"procedure {case['procedure']}): {verdict}",
            )
        )
        for d in case["deviations"]:
            step = d["trigger"] or d["kind"]
            lines.append((2, f"#{d['seq']} {d['occurred_on']} {step}: {', '.join(d['flags'])}"))
            if d["reason"]:
                lines.append((6, f"reason: {d['reason']}"))
            for key, values in d["details"].items():
                for v in values:
                    lines.append((6, f"{key.replace('_', ' ')}: {v}"))
            for s in d["sources"][:3]:
                lines.append((6, f"source: {s.get('citation')} [{s.get('level', 'reported')}]"))
    if is_terminal():  # fitted to the width, wrapped at spaces; piped: a line per item
        for line in wrap_lines(lines, console().width):
            say(line)
        return
    for indent, text in lines:
        say(" " * indent + text)


@click.group()
def report() -> None:
    """Reports: one or more cases, the portfolio, the country-by-step matrix.

    \b
    treatyflow report case LTU-ottawa-2025 --format html -o ltu.html
    treatyflow report portfolio --country LTU --format md
    treatyflow report matrix --format csv
    treatyflow report diff --since 2025-07-01
    """


FORMATS = ("md", "html", "json", "csv")


def report_options(f: Any) -> Any:
    """The options ``report case`` and ``report portfolio`` share."""
    options = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="md",
            show_default=True,
            help="Markdown, self-contained HTML, JSON (schema treatyflow.report/1) or CSV.",
        ),
        click.option(
            "-o",
            "--output",
            "output",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            metavar="PATH",
            help="Write to PATH (atomically, owner-only) instead of stdout.",
        ),
        click.option("--force", is_flag=True, help="Overwrite an existing -o file."),
        click.option(
            "--as-of",
            default=None,
            metavar="DATE",
            help="As things stood on DATE (legal time; default today).",
        ),
        click.option(
            "--known-at",
            default=None,
            metavar="TIMESTAMP",
            help="From what was recorded by TIMESTAMP (UTC).",
        ),
        click.option(
            "--mode",
            default=None,
            metavar="OCTAL",
            help="File mode of the -o file (default 600: owner only).",
        ),
        click.option(
            "--stamp",
            is_flag=True,
            help="Add the time the report was generated (the output then differs per run).",
        ),
        click.option("--json", "as_json", is_flag=True, help="The same as --format json."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@report.command("case")
@click.argument("case_ids", nargs=-1, required=True, metavar="CASE_ID...", shell_complete=case_ids)
@report_options
@pass_app
def report_case(
    app: AppContext,
    case_ids: tuple[str, ...],
    fmt: str,
    output: Path | None,
    force: bool,
    as_of: str | None,
    known_at: str | None,
    mode: str | None,
    stamp: bool,
    as_json: bool,
) -> None:
    """One or more cases: header, clocks, timeline with sources, pending steps, integrity."""
    fmt = "json" if as_json else fmt
    _run_report(
        app,
        "case",
        list(dict.fromkeys(case_ids)),
        {},
        fmt,
        output,
        force,
        as_of,
        known_at,
        mode,
        stamp,
    )


@report.command("portfolio")
@click.option(
    "--country", "countries", multiple=True, metavar="ISO3", help="Only this country (repeatable)."
)
@click.option(
    "--treaty",
    "treaties",
    multiple=True,
    metavar="ID",
    shell_complete=treaty_ids,
    help="Only this treaty (repeatable).",
)
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="STATE",
    help="Only cases in this state as of --as-of (repeatable).",
)
@report_options
@pass_app
def report_portfolio(
    app: AppContext,
    countries: tuple[str, ...],
    treaties: tuple[str, ...],
    states: tuple[str, ...],
    fmt: str,
    output: Path | None,
    force: bool,
    as_of: str | None,
    known_at: str | None,
    mode: str | None,
    stamp: bool,
    as_json: bool,
) -> None:
    """Every case (or those filtered): a summary table, the matrix, then each case."""
    from treatyflow.values import check_country

    fmt = "json" if as_json else fmt
    filters = {
        "country": [check_country(c) for c in countries],
        "treaty": list(treaties),
        "state": list(states),
    }
    _run_report(app, "portfolio", [], filters, fmt, output, force, as_of, known_at, mode, stamp)


def _run_report(
    app: AppContext,
    kind: str,
    case_ids: list[str],
    filters: dict[str, list[str]],
    fmt: str,
    output: Path | None,
    force: bool,
    as_of: str | None,
    known_at: str | None,
    mode: str | None,
    stamp: bool,
) -> None:
    import contextlib

    from treatyflow.cli.options import parse_on
    from treatyflow.errors import ReportExists
    from treatyflow.reports.output import check_output_path, parse_mode, private_file
    from treatyflow.values import parse_timestamp

    file_mode = parse_mode(mode)
    if output is not None:
        check_output_path(output)
        if output.exists() and not force:
            raise ReportExists(str(output))
    ws = app.workspace()
    day = parse_on(as_of, "--as-of") or ws.today()
    known = parse_timestamp(known_at) if known_at else None
    options: dict[str, Any] = {
        "country": filters.get("country", ()),
        "treaty": filters.get("treaty", ()),
        "state": filters.get("state", ()),
        "as_of": day,
        "known_at": known,
        "generated_at": _generated_at(stamp),
    }
    if kind == "portfolio":
        # Written case by case, every format: bounded memory over any number of cases. To a
        # file through a temporary file renamed at the end: a failure leaves no partial file.
        with contextlib.ExitStack() as stack:
            if output is None:
                out = binary_stdout()
            else:
                out = stack.enter_context(private_file(output, force=force, mode=file_mode))
            with progress_bar(ws.count_cases(), "Reading cases") as seen:
                ws.write_portfolio(out, fmt, progress=seen, **options)
            out.flush()
    else:
        text = ws.report(kind, fmt, case_ids=case_ids, **options)
        if output is None:
            click.echo(text, nl=False)
            return
        from treatyflow.reports.output import write_private

        write_private(output, text, force=force, mode=file_mode)
    if output is not None:
        click.echo(f"Wrote {output}", err=True)


def _generated_at(stamp: bool) -> str | None:
    if not stamp:
        return None
    import datetime as dt

    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@click.command()
@click.option(
    "--as-of", default=None, metavar="DATE", help="Dates still open on DATE (default today)."
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE.ics",
    help="The .ics file to write (atomically, owner-only); stdout without it.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing -o file.")
@click.option("--mode", default=None, metavar="OCTAL", help="File mode (default 600).")
@click.option(
    "--alarm",
    "alarms",
    multiple=True,
    type=click.IntRange(min=0, max=3650),
    metavar="DAYS",
    help="A reminder DAYS before each date (VALARM; repeatable; 0: on the day).",
)
@json_option
@pass_app
def calendar(
    app: AppContext,
    as_of: str | None,
    output: Path | None,
    force: bool,
    mode: str | None,
    alarms: tuple[int, ...],
    as_json: bool,
) -> None:
    """Upcoming legal dates (expected effective dates, objection-period ends, any running
    clock) as an iCalendar file; stable UIDs, so re-importing updates instead of duplicating.

    \b
    treatyflow calendar -o dates.ics --alarm 7 --alarm 1
    treatyflow calendar --json
    """
    from treatyflow.cli.options import parse_on
    from treatyflow.errors import ReportExists
    from treatyflow.reports.output import check_output_path, parse_mode, write_private

    file_mode = parse_mode(mode)
    if output is not None:
        check_output_path(output)
        if output.exists() and not force:
            raise ReportExists(str(output))
    ws = app.workspace()
    day = parse_on(as_of, "--as-of") or ws.today()
    if as_json:
        doc = ws.calendar_items(as_of=day, alarms=alarms).to_dict()
        text = json.dumps(doc, indent=2, ensure_ascii=False)
        if output is None:
            click.echo(text)
            return
        write_private(output, text + "\n", force=force, mode=file_mode)
        click.echo(f"Wrote {output}", err=True)
        return
    data, dates = ws.calendar(as_of=day, alarms=alarms)
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
        return
    write_private(output, data, force=force, mode=file_mode)
    click.echo(f"Wrote {output}: {dates} date(s)", err=True)


@report.command("diff")
@click.option(
    "--since",
    required=True,
    metavar="DATE_OR_TIMESTAMP",
    help="From what had been recorded by then (UTC; a date: the start of that day).",
)
@click.option(
    "--until",
    default=None,
    metavar="DATE_OR_TIMESTAMP",
    help="To what had been recorded by then (UTC; a date: the end of that day; default now).",
)
@click.option(
    "--as-of",
    default=None,
    metavar="DATE",
    help="Both read as of DATE (legal time; default today).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "json", "html"]),
    default="md",
    show_default=True,
    help="Markdown, JSON or self-contained HTML.",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Write to PATH (atomically, owner-only) instead of stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing -o file.")
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@pass_app
def report_diff(
    app: AppContext,
    since: str,
    until: str | None,
    as_of: str | None,
    fmt: str,
    output: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """What changed between two record times: every case whose state, effective date,
    clock dates, facts or flags differ, old -> new (the weekly brief).

    \b
    treatyflow report diff --since 2025-07-01
    treatyflow report diff --since 2025-07-01T09:00:00Z --until 2025-07-08 --format html
    """
    from treatyflow.cli.options import parse_on
    from treatyflow.errors import ReportExists
    from treatyflow.reports import diff
    from treatyflow.reports.output import check_output_path, write_private

    if output is not None:
        check_output_path(output)
        if output.exists() and not force:
            raise ReportExists(str(output))
    found = app.workspace().changes(since=since, until=until, as_of=parse_on(as_of, "--as-of"))
    text = diff.render(found.to_dict(), "json" if as_json else fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    write_private(output, text, force=force)
    click.echo(f"Wrote {output}", err=True)


@report.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "csv", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--as-of", default=None, metavar="DATE", help="As things stood on DATE (legal time)."
)
@click.option(
    "--known-at", default=None, metavar="TIMESTAMP", help="From what was recorded by then."
)
@json_option
@pass_app
def matrix(
    app: AppContext, fmt: str, as_of: str | None, known_at: str | None, as_json: bool
) -> None:
    """Countries x steps with their legal dates and footnotes.

    On a terminal the text matrix fits its width (a row per case as a block of lines when
    the columns cannot fit); piped, it is the same aligned text as the demo prints.
    """
    from treatyflow.cli.output import is_terminal

    if fmt == "text" and not as_json and is_terminal():
        print_matrix(json.loads(render_matrix(app, "json", as_of, known_at)))
        return
    click.echo(render_matrix(app, "json" if as_json else fmt, as_of, known_at), nl=False)


def print_matrix(doc: dict[str, Any]) -> None:
    """The matrix (its JSON document) on a terminal: a fitted table, then the footnotes
    wrapped at spaces."""
    from treatyflow.cli.terminal import console, state_style, wrap_lines

    rows = []
    for r in doc["rows"]:
        cells = [r["case"], r["country"], r["action"], r["state"]]
        for c in doc["columns"]:
            cell = r["cells"].get(c["id"])
            if cell:
                cells.append(cell["date"] + "".join(f"[{n}]" for n in cell["notes"]))
            elif r["expected"].get(c["id"]):
                cells.append(f"({r['expected'][c['id']]} expected)")
            else:
                cells.append("")
        rows.append(cells)
    headers = ["Case", "Country", "Action", "State", *[c["title"] for c in doc["columns"]]]
    table(None, headers, rows, styles={3: state_style})
    if doc["footnotes"]:
        con = console()
        click.echo("")
        notes = [(0, f"[{f['n']}] {' '.join(f['text'].split())}") for f in doc["footnotes"]]
        for line in wrap_lines(notes, con.width):
            say(line)


def render_matrix(
    app: AppContext, fmt: str, as_of: str | None = None, known_at: str | None = None
) -> str:
    from treatyflow.cli.options import parse_on
    from treatyflow.values import parse_timestamp

    return app.workspace().matrix(
        fmt,
        as_of=parse_on(as_of, "--as-of"),
        known_at=parse_timestamp(known_at) if known_at else None,
    )


@click.command()
@click.option(
    "--out",
    "out",
    default="reports",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the reports are written.",
)
@click.option("--as-of", default=None, metavar="DATE", help="Tick to DATE instead of today.")
@click.option("--force", is_flag=True, help="Overwrite report files already in --out.")
@click.option(
    "--actor",
    envvar="TREATYFLOW_ACTOR",
    default=default_actor,
    show_default="login name",
    help="Who records the example data.",
)
@pass_app
def demo(app: AppContext, out: Path, as_of: str | None, force: bool, actor: str) -> None:
    """Build the 2025 Ottawa withdrawals example into --db (new or empty), tick it to today,
    print what is pending and the matrix, and write the reports."""
    from treatyflow.app import demo as example
    from treatyflow.app.reports import example_reports_present
    from treatyflow.cli.options import parse_on
    from treatyflow.errors import ReportExists

    present = None if force else example_reports_present(out)
    if present is not None:  # before anything is recorded: a failed demo changes nothing
        raise ReportExists(str(present))
    ws = app.workspace(create=True)
    loaded = example.load_example(ws, "ottawa-2025", actor=actor)
    day = parse_on(as_of, "--as-of") or ws.today()
    fired = ws.tick(as_of=day)
    click.echo(
        f"Loaded {len(loaded)} cases ({sum(x.events for x in loaded)} events) from "
        f"{example.folder('ottawa-2025')}; tick to {day.isoformat()} fired "
        f"{len(fired.fired)} clock(s).\n"
    )
    _print_status(ws.cases(), ws.pending(as_of=day).cases)
    click.echo("")
    click.echo("Country-by-step matrix:")
    from treatyflow.cli.output import is_terminal

    if is_terminal():  # fitted to the terminal, as `report matrix` is
        print_matrix(json.loads(ws.matrix("json")))
    else:
        click.echo(ws.matrix("text"))
    verdict = ws.verify()
    click.echo(
        "Audit log: "
        + (
            "every chain verifies."
            if verdict.ok
            else f"{len(verdict.problems)} chain(s) FAIL: {verdict.problems[0]}"
        )
    )
    written = ws.write_example_reports(out, as_of=day, force=force)
    if written:
        click.echo(f"Reports written to {out.resolve()}/:")
        for path in written:
            click.echo(f"  {path.name}")
        click.echo(f"Open {(out / 'portfolio.html').resolve()} in a browser (works offline).")
    click.echo(f"Browse it live: {_serve_command(app.db)}, then open http://127.0.0.1:8080/")


def _serve_command(db: str) -> str:
    """The command line that serves the web view of ``db`` (the password hidden)."""
    import shlex

    from treatyflow.redaction import redact_url

    shown = db if "://" not in db else redact_url(db)
    return f"treatyflow --db {shlex.quote(shown)} serve"


def _print_status(cases: Sequence[CaseSummary], pending: Sequence[PendingItem]) -> None:
    table(
        "Cases",
        ["case", "action", "state", "last legal date"],
        [[c.id, c.action, c.state, c.last_on.isoformat()] for c in cases],
        styles={2: state_style},
    )
    if pending:
        from treatyflow.cli.admin import PENDING_STYLES, pending_row

        table(
            "Pending",
            ["case", "state", "next date", "next steps (who acts)", "flags"],
            [pending_row(i) for i in pending],
            styles=PENDING_STYLES,
        )
    else:
        click.echo("Nothing pending.")
