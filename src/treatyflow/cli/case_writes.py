"""``treatyflow case open``, ``advance``, ``advance-many``, ``set-fact``, ``note``, ``record``,
``correct``, ``retract``, ``import``, ``approve`` and ``reject``: the commands that record
steps in a case's log."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from treatyflow.cli.completion import case_ids, procedure_ids, treaty_ids, triggers
from treatyflow.cli.context import AppContext
from treatyflow.cli.options import (
    actor_option,
    json_option,
    key_option,
    note_option,
    parse_facts,
    parse_on,
    parse_sources,
    parse_step_date,
    sources_options,
    split_assignment,
)
from treatyflow.cli.output import emit_json, say

if TYPE_CHECKING:
    from treatyflow.results import CaseView

pass_app = click.make_pass_decorator(AppContext)


@click.command("open")
@click.option("--country", required=True, metavar="ISO3", help="ISO 3166-1 alpha-3, e.g. LTU.")
@click.option(
    "--treaty",
    required=True,
    metavar="TREATY",
    shell_complete=treaty_ids,
    help="Treaty id, e.g. ottawa.",
)
@click.option(
    "--procedure",
    default=None,
    metavar="ID",
    shell_complete=procedure_ids,
    help="Default: the country's own, else generic.",
)
@click.option(
    "--action", default="withdrawal", show_default=True, help="withdrawal, suspension, ..."
)
@click.option(
    "--id", "case_id", default=None, metavar="CASE_ID", help="Default: ISO3-treaty-year."
)
@click.option(
    "--at",
    "at",
    default=None,
    metavar="STATE",
    help="Open already in STATE (tracking starts mid-procedure).",
)
@click.option(
    "--on",
    "on",
    default=None,
    metavar="DATE",
    help="Legal date of the opening (default today); a day, or <=DAY, DAY..DAY, YYYY-MM.",
)
@click.option(
    "--fact", "facts", multiple=True, metavar="NAME=VALUE", help="A fact from --on (repeatable)."
)
@click.option(
    "--out-of-procedure", default=None, metavar="REASON", help="Record a deviation deliberately."
)
@sources_options
@note_option
@actor_option
@json_option
@pass_app
def open_(
    app: AppContext,
    country: str,
    treaty: str,
    procedure: str | None,
    action: str,
    case_id: str | None,
    at: str | None,
    on: str | None,
    facts: tuple[str, ...],
    out_of_procedure: str | None,
    sources: tuple[str, ...],
    source_level: str | None,
    source_kind: str | None,
    note: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Open a case and print its id."""
    view = app.workspace().open_case(
        country=country,
        treaty=treaty,
        procedure=procedure,
        action=action,
        id=case_id,
        at=at,
        on=parse_step_date(on),
        facts=parse_facts(facts),
        sources=parse_sources(sources, source_level, source_kind),
        note=note,
        actor=actor,
        out_of_procedure=out_of_procedure,
    )
    if as_json:
        emit_json(view.to_dict())
    else:
        say(view.id)


@click.command()
@click.argument("case_id", shell_complete=case_ids)
@click.argument("trigger", shell_complete=triggers)
@click.option(
    "--on",
    "on",
    required=True,
    metavar="DATE",
    help="Legal date of the step: a day, or <=DAY, DAY..DAY, YYYY-MM when only a range is known.",
)
@click.option(
    "--out-of-procedure",
    default=None,
    metavar="REASON",
    help="Record a step the procedure does not expect here, with the reason.",
)
@click.option(
    "--to",
    "to",
    default=None,
    metavar="STATE",
    help="With --out-of-procedure: the state it leads to.",
)
@click.option(
    "--backdate",
    default=None,
    metavar="REASON",
    help="Record a legal date before the case's last one, with the reason.",
)
@sources_options
@note_option
@actor_option
@json_option
@pass_app
def advance(
    app: AppContext,
    case_id: str,
    trigger: str,
    on: str,
    out_of_procedure: str | None,
    to: str | None,
    backdate: str | None,
    sources: tuple[str, ...],
    source_level: str | None,
    source_kind: str | None,
    note: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Fire TRIGGER on CASE_ID as of the legal date --on."""
    view = app.workspace().advance(
        case_id,
        trigger,
        on=parse_step_date(on),
        actor=actor,
        sources=parse_sources(sources, source_level, source_kind),
        note=note,
        out_of_procedure=out_of_procedure,
        to=to,
        backdate=backdate,
    )
    _changed(view, as_json)


@click.command("advance-many")
@click.argument("file", type=click.File("rb", lazy=True), default="-", metavar="[FILE|-]")
@actor_option
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print one JSON document at the end instead: {"ok", "lines", "failed", "results"}.',
)
@pass_app
def advance_many(app: AppContext, file: Any, actor: str | None, as_json: bool) -> None:
    """Fire many triggers from JSON lines (FILE, or - for standard input, the default).

    Each line is one object with the options of 'case advance': "case", "trigger" and "on"
    (required; "on" as --on takes it), and "sources" (a list of --source texts or objects
    of source fields), "source_level", "source_kind", "note", "out_of_procedure", "to",
    "backdate", "actor" (default --actor). Each line is a transaction of its own, with every
    check of 'case advance'; a refused step or a malformed line writes nothing and the next
    line runs. One JSON line is printed per input line, in order:
    {"line": 1, "case": ..., "ok": true, "state": ..., "version": ..., "seq": ..., "kind": ...}
    or {"line": 2, "case": ..., "ok": false, "error": ..., "error_type": ..., "code": N}, where
    N is the exit status 'case advance' would end with (1 refused, 2 malformed). Blank lines
    are skipped. With --json, one document at the end instead. Exit status 0 when every
    line succeeded, else 1.

    \b
    Example:
      treatyflow case advance-many < steps.jsonl
      echo '{"case": "LTU-1", "trigger": "revoke", "on": "2025-09-01"}' \\
        | treatyflow case advance-many
    """
    import json

    failed = total = 0
    results = []
    for outcome in app.workspace().advance_many(iter(file), actor=actor):
        total += 1
        failed += not outcome.ok
        if as_json:
            results.append(outcome.to_dict())
            continue
        click.echo(json.dumps(outcome.to_dict(), ensure_ascii=False))
        sys.stdout.flush()  # a reader of the pipe sees each result as its step commits
    if as_json:
        document = {"ok": not failed, "lines": total, "failed": failed, "results": results}
        emit_json(document)
    if failed:
        raise click.ClickException(f"{failed} of {total} lines failed (ok: false above).")


@click.command("set-fact")
@click.argument("case_id", shell_complete=case_ids)
@click.argument("assignment", metavar="NAME=VALUE")
@click.option(
    "--on", "on", required=True, metavar="DATE", help="The fact has this value from DATE on."
)
@click.option(
    "--backdate", default=None, metavar="REASON", help="Allow a date before the case's last one."
)
@sources_options
@note_option
@actor_option
@json_option
@pass_app
def set_fact(
    app: AppContext,
    case_id: str,
    assignment: str,
    on: str,
    backdate: str | None,
    sources: tuple[str, ...],
    source_level: str | None,
    source_kind: str | None,
    note: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Record that a fact has a value from a legal date on.

    VALUE is true, false, an ISO date, a number or text.
    """
    name, value = split_assignment(assignment)
    view = app.workspace().set_fact(
        case_id,
        name,
        value,
        on=parse_step_date(on),
        actor=actor,
        sources=parse_sources(sources, source_level, source_kind),
        note=note,
        backdate=backdate,
    )
    _changed(view, as_json)


@click.command()
@click.argument("case_id", shell_complete=case_ids)
@click.argument("text")
@click.option("--on", "on", default=None, metavar="DATE", help="Legal date (default today).")
@sources_options
@actor_option
@json_option
@pass_app
def note(
    app: AppContext,
    case_id: str,
    text: str,
    on: str | None,
    sources: tuple[str, ...],
    source_level: str | None,
    source_kind: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Add a note (and sources) to a case's log."""
    view = app.workspace().note(
        case_id,
        text,
        on=parse_step_date(on),
        actor=actor,
        sources=parse_sources(sources, source_level, source_kind),
    )
    _changed(view, as_json)


@click.command()
@click.argument("case_id", shell_complete=case_ids)
@click.argument("record_type", metavar="TYPE")
@click.option("--on", "on", required=True, metavar="DATE", help="Legal date of the event.")
@click.option("--by", default=None, metavar="WHO", help="The State or body, e.g. NOR.")
@sources_options
@note_option
@actor_option
@json_option
@pass_app
def record(
    app: AppContext,
    case_id: str,
    record_type: str,
    on: str,
    by: str | None,
    sources: tuple[str, ...],
    source_level: str | None,
    source_kind: str | None,
    note: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Record an event that changes no state.

    TYPE is objection, finding, judgment, press-report, statement or other.
    """
    view = app.workspace().record(
        case_id,
        record_type,
        on=parse_step_date(on),
        by=by,
        actor=actor,
        sources=parse_sources(sources, source_level, source_kind),
        note=note,
    )
    _changed(view, as_json)


@click.command()
@click.argument("case_id", shell_complete=case_ids)
@click.argument("seq", type=click.IntRange(min=1))
@click.option("--on", "on", required=True, metavar="DATE", help="The corrected legal date.")
@click.option("--reason", required=True, metavar="TEXT", help="Why the date is corrected.")
@sources_options
@actor_option
@json_option
@pass_app
def correct(
    app: AppContext,
    case_id: str,
    seq: int,
    on: str,
    reason: str,
    sources: tuple[str, ...],
    source_level: str | None,
    source_kind: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Correct the legal date of event SEQ; the old event stays, clocks are recomputed."""
    view = app.workspace().correct(
        case_id,
        seq,
        on=parse_on(on),
        reason=reason,
        actor=actor,
        sources=parse_sources(sources, source_level, source_kind),
    )
    _changed(view, as_json)


@click.command()
@click.argument("case_id", shell_complete=case_ids)
@click.argument("seq", type=click.IntRange(min=1))
@click.option("--reason", required=True, metavar="TEXT", help="Why the step was a mistake.")
@actor_option
@json_option
@pass_app
def retract(
    app: AppContext, case_id: str, seq: int, reason: str, actor: str, as_json: bool
) -> None:
    """Take back event SEQ, recorded by mistake: it stays in the log (struck through in
    reports) but stops counting; state and clocks are recomputed. Refused, naming them, when
    later steps depend on it.

    \b
    treatyflow case retract LTU-1 4 --reason "entered on the wrong case"
    """
    view = app.workspace().retract(case_id, seq, reason=reason, actor=actor)
    _changed(view, as_json)


@click.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE.yaml...")
@actor_option
@json_option
@pass_app
def import_(app: AppContext, files: tuple[str, ...], actor: str, as_json: bool) -> None:
    """Import case files (the format of examples/ottawa-2025, docs/case-files.md): all of
    them in one transaction, or none. Importing a file again adds nothing; a file with new
    steps at its end adds only those; any other difference is refused, naming the first
    step that differs.

    \b
    treatyflow case import examples/ottawa-2025/*.yaml
    """
    results = app.workspace().import_case_files(files, actor=actor)
    if as_json:
        emit_json({"files": [r.to_dict() for r in results]})
        return
    for r in results:
        if r.unchanged:
            click.echo(f"{r.case_id}: unchanged ({r.path})")
        else:
            what = "new case" if r.created else "new steps"
            click.echo(f"{r.case_id}: {r.events_added} event(s) added ({what}, {r.path})")


@click.command()
@click.argument("case_id", shell_complete=case_ids)
@click.argument("seq", type=click.IntRange(min=1))
@note_option
@key_option
@json_option
@pass_app
def approve(app: AppContext, case_id: str, seq: int, note: str | None, as_json: bool) -> None:
    """Approve the proposed step SEQ (four eyes): it is applied with its proposed legal date.

    Needs a reviewer's --key; the proposer cannot approve their own proposal.
    """
    _changed(app.workspace().approve(case_id, seq, note=note), as_json)


@click.command()
@click.argument("case_id", shell_complete=case_ids)
@click.argument("seq", type=click.IntRange(min=1))
@click.option("--reason", required=True, metavar="TEXT", help="Why the step is rejected.")
@key_option
@json_option
@pass_app
def reject(app: AppContext, case_id: str, seq: int, reason: str, as_json: bool) -> None:
    """Reject the proposed step SEQ; nothing else changes (a reviewer, or its proposer)."""
    _changed(app.workspace().reject(case_id, seq, reason=reason), as_json)


def _changed(view: CaseView, as_json: bool) -> None:
    if as_json:
        emit_json(view.to_dict())
    else:
        say(f"{view.id}: {view.state} (version {view.version})")
        for r in view.awaiting_review:
            say(
                f"  awaiting review: step {r.seq} ({r.trigger} on {r.on.isoformat()}, "
                f"proposed by {r.proposed_by}): 'treatyflow case approve {view.id} {r.seq}'"
            )
