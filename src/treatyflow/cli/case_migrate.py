"""``treatyflow case migrate``: move cases to the current versions of their definitions."""

from __future__ import annotations

from typing import Any

import click

from treatyflow.cli.case_reads import day_or_dash
from treatyflow.cli.completion import case_ids
from treatyflow.cli.context import AppContext
from treatyflow.cli.options import actor_option, json_option
from treatyflow.cli.output import emit_json, table

pass_app = click.make_pass_decorator(AppContext)


@click.command()
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


def _moved(before: Any, after: Any) -> str:
    if before == after:
        return day_or_dash(before)
    return f"{day_or_dash(before)} -> {day_or_dash(after)}"
