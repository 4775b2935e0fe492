"""``treatyflow case show``, ``history`` and ``list``: the commands that read cases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from treatyflow.cli.completion import case_ids
from treatyflow.cli.context import AppContext
from treatyflow.cli.options import json_option, parse_on
from treatyflow.cli.output import emit_json, keyvalues, table
from treatyflow.cli.terminal import clock_style, flags_style, state_style

if TYPE_CHECKING:
    from treatyflow.results import CaseView

pass_app = click.make_pass_decorator(AppContext)


@click.command()
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
            [[c.name, c.status.value, day_or_dash(c.due_on), c.basis] for c in view.clocks],
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


def day_or_dash(day: Any) -> str:
    return "-" if day is None else str(day.isoformat())


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@click.command()
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


@click.command("list")
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
