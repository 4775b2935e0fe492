"""``treatyflow case ...``: open, advance, annotate and read cases."""

from __future__ import annotations

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
from treatyflow.cli.output import emit_json, keyvalues, say, table
from treatyflow.cli.terminal import clock_style, flags_style, state_style

if TYPE_CHECKING:
    from treatyflow.results import CaseView

pass_app = click.make_pass_decorator(AppContext)


@click.group()
def case() -> None:
    """Open, advance and read cases (one State's action on one treaty)."""


@case.command("open")
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


@case.command()
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


@case.command("set-fact")
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


@case.command()
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


@case.command()
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


@case.command()
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


@case.command()
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


@case.command("import")
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


@case.command()
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


@case.command()
@click.argument("case_id", shell_complete=case_ids)
@click.argument("seq", type=click.IntRange(min=1))
@click.option("--reason", required=True, metavar="TEXT", help="Why the step is rejected.")
@key_option
@json_option
@pass_app
def reject(app: AppContext, case_id: str, seq: int, reason: str, as_json: bool) -> None:
    """Reject the proposed step SEQ; nothing else changes (a reviewer, or its proposer)."""
    _changed(app.workspace().reject(case_id, seq, reason=reason), as_json)


@case.command()
@click.argument("case_id", shell_complete=case_ids)
@click.option("--as-of", default=None, metavar="DATE", help="What was true on DATE (legal time).")
@click.option(
    "--known-at", default=None, metavar="TIMESTAMP", help="What was recorded by TIMESTAMP."
)
@json_option
@pass_app
def show(
    app: AppContext, case_id: str, as_of: str | None, known_at: str | None, as_json: bool
) -> None:
    """Show a case: state, facts, clocks, next steps."""
    from treatyflow.values import parse_timestamp

    view = app.workspace().case(
        case_id,
        as_of=parse_on(as_of, "--as-of"),
        known_at=parse_timestamp(known_at) if known_at else None,
    )
    if as_json:
        emit_json(view.to_dict())
        return
    print_case(view)


def print_case(view: CaseView) -> None:
    doc = view.to_dict()
    keyvalues(
        [
            ("case", view.id),
            ("country", view.country),
            ("treaty", f"{view.treaty} ({view.treaty_name})"),
            ("action", view.action),
            ("procedure", f"{view.procedure} {view.procedure_hash[:19]}"),
            ("treaty version", view.treaty_hash[:19]),
            ("definitions since", view.definitions_since or "opened"),
            ("state", f"{view.state} ({view.state_title})"),
            ("version", view.version),
            ("effective on", doc["effective_on"] or "-"),
            ("facts", ", ".join(f"{k}={_fmt(v)}" for k, v in doc["facts"].items()) or "-"),
            ("flags", ", ".join(view.flags) or "-"),
            (
                "documents",
                ", ".join(f"{d.name} ({d.short}, event {d.seq})" for d in view.documents) or "-",
            ),
            (
                "awaiting review",
                "; ".join(
                    f"step {r.seq} ({r.trigger} on {r.on.isoformat()}, by {r.proposed_by})"
                    for r in view.awaiting_review
                )
                or "-",
            ),
        ],
        styles={"state": state_style, "flags": flags_style},
    )
    if view.clocks:
        table(
            "Clocks",
            ["clock", "status", "due on", "basis"],
            [[c.name, c.status.value, _day(c.due_on), c.basis] for c in view.clocks],
            styles={1: clock_style},
        )
    if view.steps:
        table(
            "Next steps",
            ["trigger", "to", "who acts", "ready"],
            [
                [
                    s.trigger,
                    s.to_state,
                    s.institution or "-",
                    "clock" if s.clock else ("yes" if s.ready else "; ".join(s.guards_not_met)),
                ]
                for s in view.steps
            ],
        )


def _day(day: Any) -> str:
    return "-" if day is None else str(day.isoformat())


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@case.command()
@click.argument("case_id", shell_complete=case_ids)
@click.option(
    "--as-of",
    default=None,
    metavar="DATE",
    help="Only events with a legal date on or before DATE.",
)
@click.option(
    "--known-at", default=None, metavar="TIMESTAMP", help="Only events recorded by TIMESTAMP."
)
@click.option(
    "--no-pager",
    is_flag=True,
    help="Print straight to the terminal, without a pager (off anyway when piped) "
    "[env: TREATYFLOW_PAGER, PAGER].",
)
@json_option
@pass_app
def history(
    app: AppContext,
    case_id: str,
    as_of: str | None,
    known_at: str | None,
    no_pager: bool,
    as_json: bool,
) -> None:
    """List a case's events, oldest first, with their sources' citations.

    On a terminal a history longer than the screen goes through the pager
    (TREATYFLOW_PAGER, else PAGER, else less; an empty value or 'cat' turns it off).
    """
    from treatyflow.cli.history_view import print_history
    from treatyflow.values import parse_timestamp

    events = [
        e.to_dict()
        for e in app.workspace().history(
            case_id,
            as_of=parse_on(as_of, "--as-of"),
            known_at=parse_timestamp(known_at) if known_at else None,
        )
    ]
    if as_json:
        emit_json(events)
        return
    print_history(case_id, events, _step, pager=not no_pager)


def _step(event: dict[str, Any]) -> str:
    if event["kind"] in ("propose", "reject"):
        from treatyflow.reports.model import describe

        return describe(event)
    if event["kind"] == "open":
        return f"opened at {event['to_state']}"
    if event["trigger"]:
        return f"{event['trigger']}: {event['from_state']} -> {event['to_state']}"
    if event["kind"] == "set-fact":
        return ", ".join(f"{k}={_fmt(v)}" for k, v in event["data"].get("facts", {}).items())
    if event["kind"] == "record":
        by = event["data"].get("by")
        return str(event["data"].get("type", "")) + (f" by {by}" if by else "")
    if event["kind"] == "correct":
        return f"corrects seq {event['data']['target_seq']} to {event['data']['occurred_on']}"
    if event["kind"] == "migrated":
        old, new = event["data"].get("from") or {}, event["data"].get("to") or {}
        moved = [
            f"{kind} {str(old.get(kind))[:19]} -> {str(new.get(kind))[:19]}"
            for kind in ("procedure", "treaty")
            if old.get(kind) != new.get(kind)
        ]
        if event["from_state"] != event["to_state"]:
            moved.append(f"state {event['from_state']} -> {event['to_state']}")
        return "migrated: " + "; ".join(moved)
    if event["kind"] == "attach":
        data = event["data"]
        return f"attached {data.get('name')} ({str(data.get('sha256'))[:19]})"
    if event["kind"] == "retract":
        back = f" ({event['from_state']} -> {event['to_state']})" if event["to_state"] else ""
        return f"retracts seq {event['data']['target_seq']}{back}"
    return ""


@case.command()
@click.argument("case_ids", nargs=-1, metavar="[CASE_ID]...", shell_complete=case_ids)
@click.option(
    "--all", "all_cases", is_flag=True, help="Every case not on the current definitions."
)
@click.option(
    "--to",
    "to",
    type=click.Choice(["current"]),
    default="current",
    show_default=True,
    help="The definition versions to move to.",
)
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="OLD_STATE=NEW_STATE",
    help="A state the new version lacks, and its counterpart (repeatable).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@actor_option
@json_option
@pass_app
def migrate(
    app: AppContext,
    case_ids: tuple[str, ...],
    all_cases: bool,
    to: str,
    maps: tuple[str, ...],
    dry_run: bool,
    actor: str,
    as_json: bool,
) -> None:
    """Move cases to the current version of their procedure and treaty.

    Shows per case what changes (state, effective date, the clocks whose dates move, guards
    that no longer hold, evidence now missing) and, unless --dry-run, records one 'migrated'
    event per case. A state the case has been in that the new version lacks needs --map.
    Reads with --known-at before the migration still give the old dates.
    """
    from treatyflow.errors import InvalidInput

    if bool(case_ids) == all_cases:
        raise click.UsageError("name CASE_ID ... or give --all (one of the two).")
    mapping: dict[str, str] = {}
    for text in maps:
        old, sep, new = text.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InvalidInput("map", text, f"{text!r} is not OLD_STATE=NEW_STATE.")
        mapping[old.strip()] = new.strip()
    result = app.workspace().migrate(
        case_ids, all=all_cases, to=to, map=mapping, dry_run=dry_run, actor=actor
    )
    if as_json:
        emit_json(result.to_dict())
        return
    if not result.cases:
        click.echo("no case to migrate: every case runs on the current definitions")
        return
    table(
        "Migration plan (dry run: nothing written)" if dry_run else "Migration",
        ["case", "state", "effective on", "clocks", "guards / evidence", "applied"],
        [
            [
                c.id,
                c.state_before
                if c.state_after == c.state_before
                else f"{c.state_before} -> {c.state_after}",
                _moved(c.effective_on_before, c.effective_on_after),
                "; ".join(f"{k.name} {_moved(k.before, k.after)}" for k in c.clocks) or "-",
                "; ".join(
                    [f"{g.trigger}: {', '.join(g.failures)}" for g in c.guards_no_longer_holding]
                    + [
                        f"seq {g.seq} {g.trigger}: {', '.join(g.missing)}"
                        for g in c.evidence_missing
                    ]
                )
                or "-",
                "yes" if c.applied else ("no (already current)" if not c.changed else "no"),
            ]
            for c in result.cases
        ],
    )


def _blocked(c: Any) -> str:
    guards = [f"{g.trigger}: {', '.join(g.failures)}" for g in c.guards_no_longer_holding]
    gaps = [f"seq {g.seq} {g.trigger}: {', '.join(g.missing)}" for g in c.evidence_missing]
    return "; ".join(guards + gaps)


def _moved(before: Any, after: Any) -> str:
    if before == after:
        return _day(before)
    return f"{_day(before)} -> {_day(after)}"


@case.command("list")
@json_option
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """List every case."""
    cases = [c.to_dict() for c in app.workspace().cases()]
    if as_json:
        emit_json(cases)
        return
    table(
        None,
        ["case", "country", "treaty", "action", "state", "events", "last date"],
        [
            [
                c["id"],
                c["country"],
                c["treaty"],
                c["action"],
                c["state"],
                c["version"],
                c["last_on"],
            ]
            for c in cases
        ],
        styles={4: state_style},
    )


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


def _register_documents() -> None:
    # case attach / case document live in their own module (this one is long enough)
    from treatyflow.cli.documents import attach, document

    case.add_command(attach)
    case.add_command(document)


_register_documents()
