"""Reports and the demo: ``report ...``, ``conformance``, ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from treatyflow.cli.context import AppContext, default_actor
from treatyflow.cli.options import json_option
from treatyflow.cli.output import emit_json, table

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
    """Reports: the country-by-step matrix."""


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
    from treatyflow.store import migrate
    from treatyflow.store.sql import redact_url

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
    written = _write_reports(app, out)
    if written:
        click.echo(f"Reports written to {out}/: " + ", ".join(p.name for p in written))


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


def _write_reports(app: AppContext, out: Path) -> list[Path]:
    from treatyflow.reports.output import write_private

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, name in (("md", "matrix.md"), ("csv", "matrix.csv"), ("json", "matrix.json")):
        path = out / name
        write_private(path, render_matrix(app, fmt), force=True)
        written.append(path)
    return written
