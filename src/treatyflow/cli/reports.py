"""Reports and the demo: ``report ...``, ``conformance``, ``demo``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from treatyflow.cli.context import AppContext, default_actor
from treatyflow.cli.options import json_option
from treatyflow.cli.output import binary_stdout, emit_json, progress_bar, table

pass_app = click.make_pass_decorator(AppContext)


@click.command()
@click.argument("case_ids", nargs=-1, metavar="[CASE_ID]...")
@json_option
@pass_app
def conformance(app: AppContext, case_ids: tuple[str, ...], as_json: bool) -> None:
    """List, per case, every deviation from its procedure, with its sources."""
    result = app.service().conformance(case_ids)
    if as_json:
        emit_json(result)
        return
    for case in result:
        verdict = "conforms" if case["conforms"] else f"{len(case['deviations'])} deviation(s)"
        click.echo(
            f"{case['id']} ({case['country']}, {case['treaty']}, {case['action']}, "
            f"procedure {case['procedure']}): {verdict}"
        )
        for d in case["deviations"]:
            step = d["trigger"] or d["kind"]
            click.echo(f"  #{d['seq']} {d['occurred_on']} {step}: {', '.join(d['flags'])}")
            if d["reason"]:
                click.echo(f"      reason: {d['reason']}")
            for key, values in d["details"].items():
                for v in values:
                    click.echo(f"      {key.replace('_', ' ')}: {v}")
            for s in d["sources"][:3]:
                click.echo(f"      source: {s.get('citation')} [{s.get('level', 'reported')}]")


@click.group()
def report() -> None:
    """Reports: one or more cases, the portfolio, the country-by-step matrix.

    \b
    treatyflow report case LTU-ottawa-2025 --format html -o ltu.html
    treatyflow report portfolio --country LTU --format md
    treatyflow report matrix --format csv
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
@click.argument("case_ids", nargs=-1, required=True, metavar="CASE_ID...")
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
    "--treaty", "treaties", multiple=True, metavar="ID", help="Only this treaty (repeatable)."
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
    from treatyflow.cli.options import parse_on
    from treatyflow.errors import ReportExists
    from treatyflow.reports.output import check_output_path, parse_mode, write_private
    from treatyflow.values import parse_timestamp

    file_mode = parse_mode(mode)
    if output is not None:
        check_output_path(output)
        if output.exists() and not force:
            raise ReportExists(str(output))
    svc = app.service()
    day = parse_on(as_of, "--as-of") or svc.today()
    known = parse_timestamp(known_at) if known_at else None
    if kind == "portfolio" and fmt == "json":
        _stream_portfolio_json(app, filters, output, force, file_mode, day, known, stamp)
        return
    text = build_and_render(
        app, kind, case_ids, filters, fmt, day=day, known_at=known, stamp=stamp
    )
    if output is None:
        click.echo(text, nl=False)
        return
    write_private(output, text, force=force, mode=file_mode)
    click.echo(f"Wrote {output}", err=True)


def _stream_portfolio_json(
    app: AppContext,
    filters: dict[str, list[str]],
    output: Path | None,
    force: bool,
    file_mode: int,
    day: Any,
    known_at: str | None,
    stamp: bool,
) -> None:
    """The portfolio as JSON, written case by case (flat memory over any number of cases)."""
    import contextlib

    from treatyflow.reports.output import private_file
    from treatyflow.reports.stream import write_portfolio_json

    with contextlib.ExitStack() as stack:
        if output is None:
            out = binary_stdout()
        else:
            out = stack.enter_context(private_file(output, force=force, mode=file_mode))
        write_portfolio_json(
            out,
            portfolio_cases(app, filters, day=day, known_at=known_at),
            as_of=day,
            known_at=known_at,
            filters=_shown_filters(filters),
            generated_at=_generated_at(stamp),
        )
        out.flush()
    if output is not None:
        click.echo(f"Wrote {output}", err=True)


def _shown_filters(filters: dict[str, list[str]]) -> dict[str, str]:
    return {k: ", ".join(v) for k, v in filters.items() if v}


def _generated_at(stamp: bool) -> str | None:
    if not stamp:
        return None
    import datetime as dt

    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def portfolio_cases(
    app: AppContext, filters: dict[str, list[str]], *, day: Any, known_at: str | None
) -> Iterator[Any]:
    """(view, raw history, procedure) of every case the filters keep, one at a time, from
    one pass over the database; with a progress bar on a terminal."""
    svc = app.service()
    countries, treaties = filters.get("country"), filters.get("treaty")
    states = filters.get("state")

    def wanted(record: Any) -> bool:
        return (not countries or record.country in countries) and (
            not treaties or record.treaty in treaties
        )

    with progress_bar(svc.case_count(), "Reading cases") as advance:
        for triple in svc.iter_portfolio(
            as_of=day, known_at=known_at, raw=True, where=wanted, seen=advance
        ):
            if not states or triple[0]["state"] in states:
                yield triple


def collect(
    app: AppContext,
    case_ids: list[str],
    filters: dict[str, list[str]],
    *,
    day: Any,
    known_at: str | None,
    strict: bool,
) -> list[Any]:
    """(view, raw history, procedure) of the named cases (each must have events by then,
    with ``strict``), or of every case the filters keep."""
    from treatyflow.errors import InvalidInput

    if not case_ids:
        return list(portfolio_cases(app, filters, day=day, known_at=known_at))
    svc = app.service()
    triples: list[Any] = []
    for case_id in case_ids:
        got = svc.portfolio(as_of=day, known_at=known_at, case_ids=[case_id], raw=True)
        if not got and strict:
            raise InvalidInput(
                "CASE_ID",
                case_id,
                f"case {case_id!r} has no events recorded by --known-at {known_at} "
                f"with a legal date on or before {day.isoformat()}.",
            )
        triples += got
    if filters.get("state"):
        triples = [t for t in triples if t[0]["state"] in filters["state"]]
    return triples


def build_and_render(
    app: AppContext,
    kind: str,
    case_ids: list[str],
    filters: dict[str, list[str]],
    fmt: str,
    *,
    day: Any,
    known_at: str | None,
    stamp: bool = False,
) -> str:
    """Read the cases, build the report model and render it in ``fmt``."""
    from treatyflow.reports import model, render

    triples = collect(app, case_ids, filters, day=day, known_at=known_at, strict=kind == "case")
    built = model.build_report(
        kind,
        triples,
        as_of=day,
        known_at=known_at,
        filters=_shown_filters(filters),
        generated_at=_generated_at(stamp),
    )
    return render.render(built, fmt)


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
@pass_app
def calendar(
    app: AppContext, as_of: str | None, output: Path | None, force: bool, mode: str | None
) -> None:
    """Upcoming legal dates (expected effective dates, objection-period ends, any running
    clock) as an iCalendar file; stable UIDs, so re-importing updates instead of duplicating."""
    from treatyflow.cli.options import parse_on
    from treatyflow.errors import ReportExists
    from treatyflow.reports import ics
    from treatyflow.reports.output import check_output_path, parse_mode, write_private

    file_mode = parse_mode(mode)
    if output is not None:
        check_output_path(output)
        if output.exists() and not force:
            raise ReportExists(str(output))
    svc = app.service()
    day = parse_on(as_of, "--as-of") or svc.today()
    triples = collect(app, [], {}, day=day, known_at=None, strict=False)
    items = ics.calendar_items(triples, as_of=day)
    data = ics.render_ics(items, as_of=day)
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
        return
    write_private(output, data, force=force, mode=file_mode)
    click.echo(f"Wrote {output}: {len(items)} date(s)", err=True)


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
    """Countries x steps with their legal dates and footnotes."""
    click.echo(render_matrix(app, "json" if as_json else fmt, as_of, known_at), nl=False)


def render_matrix(
    app: AppContext, fmt: str, as_of: str | None = None, known_at: str | None = None
) -> str:
    from treatyflow.cli.options import parse_on
    from treatyflow.reports import matrix as mx
    from treatyflow.values import parse_timestamp

    rows = app.service().portfolio(
        as_of=parse_on(as_of, "--as-of"),
        known_at=parse_timestamp(known_at) if known_at else None,
    )
    built = mx.build(
        [v for v, _, _ in rows], {v["id"]: h for v, h, _ in rows}, {v["id"]: p for v, _, p in rows}
    )
    render = {
        "text": mx.render_text,
        "md": mx.render_markdown,
        "csv": mx.render_csv,
        "json": mx.render_json,
    }[fmt]
    return render(built)


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
@click.option(
    "--actor",
    envvar="TREATYFLOW_ACTOR",
    default=default_actor,
    show_default="login name",
    help="Who records the example data.",
)
@pass_app
def demo(app: AppContext, out: Path, as_of: str | None, actor: str) -> None:
    """Build the 2025 Ottawa withdrawals example into --db (new or empty), tick it to today,
    print what is pending and the matrix, and write the reports."""
    from treatyflow import casefile
    from treatyflow.cli.options import parse_on
    from treatyflow.errors import InvalidInput
    from treatyflow.redaction import redact_url
    from treatyflow.store import migrate

    store = app.store(create=True)
    migrate.upgrade(store)
    svc = app.service()
    if svc.list_cases():
        raise InvalidInput(
            "--db",
            redact_url(store.url),
            f"the database {redact_url(store.url)} already has cases; "
            "the demo needs a new or empty one (e.g. --db demo.db).",
        )
    folder = casefile.examples_dir() / "ottawa-2025"
    files = sorted(folder.glob("*.yaml"))
    loaded = [casefile.replay(svc, path, actor=actor) for path in files]
    day = parse_on(as_of, "--as-of") or svc.today()
    fired = svc.tick(day)
    click.echo(
        f"Loaded {len(loaded)} cases ({sum(x.events for x in loaded)} events) from "
        f"{folder}; tick to {day.isoformat()} fired {len(fired)} clock(s).\n"
    )
    _print_status(svc.list_cases(), svc.pending(as_of=day))
    click.echo("")
    click.echo("Country-by-step matrix:")
    click.echo(render_matrix(app, "text"))
    faults = svc.verify()
    click.echo(
        "Audit log: "
        + ("every chain verifies." if not faults else f"{len(faults)} chain(s) FAIL: {faults[0]}")
    )
    written = _write_reports(app, out, day)
    if written:
        click.echo(f"Reports written to {out.resolve()}/:")
        for path in written:
            click.echo(f"  {path.name}")
        click.echo(f"Open {(out / 'portfolio.html').resolve()} in a browser (works offline).")


def _print_status(cases: list[dict[str, Any]], pending: list[dict[str, Any]]) -> None:
    table(
        "Cases",
        ["case", "action", "state", "last legal date"],
        [[c["id"], c["action"], c["state"], c["last_on"]] for c in cases],
    )
    if pending:
        from treatyflow.cli.admin import _pending_row

        table(
            "Pending",
            ["case", "state", "next date", "next steps (who acts)", "flags"],
            [_pending_row(i) for i in pending],
        )
    else:
        click.echo("Nothing pending.")


def _write_reports(app: AppContext, out: Path, day: Any) -> list[Path]:
    """The demo's reports: the portfolio (HTML, Markdown, JSON), each case's HTML report
    and the matrix, as of ``day``."""
    import re

    from treatyflow.reports import model, render
    from treatyflow.reports.output import write_private

    out.mkdir(parents=True, exist_ok=True)
    written = []
    triples = collect(app, [], {}, day=day, known_at=None, strict=False)
    portfolio = model.build_report("portfolio", triples, as_of=day)
    for fmt in ("html", "md", "json"):
        path = out / f"portfolio.{fmt}"
        write_private(path, render.render(portfolio, fmt), force=True)
        written.append(path)
    for triple in triples:
        one = model.build_report("case", [triple], as_of=day)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", str(triple[0]["id"]))
        path = out / f"case-{name}.html"
        write_private(path, render.render(one, "html"), force=True)
        written.append(path)
    for fmt, name in (("md", "matrix.md"), ("csv", "matrix.csv"), ("json", "matrix.json")):
        path = out / name
        write_private(path, render_matrix(app, fmt, day.isoformat()), force=True)
        written.append(path)
    return written
