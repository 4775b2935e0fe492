"""Database and whole-portfolio commands: init, db, pending, tick, verify, export, import,
checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from treatyflow.cli.context import AppContext
from treatyflow.cli.options import json_option, key_option, parse_on
from treatyflow.cli.output import binary_stdout, emit_json, say, table
from treatyflow.cli.terminal import flags_style, state_style

if TYPE_CHECKING:
    from treatyflow.results import PendingItem

pass_app = click.make_pass_decorator(AppContext)

#: ``pending --exit-code``: something is listed (0: nothing; 1 and 2 stay errors).
EXIT_LISTED = 3


@click.command()
@pass_app
def init(app: AppContext) -> None:
    """Create or upgrade the database (idempotent)."""
    from treatyflow.app import schema

    st = schema.init(app.db)
    if st.before == st.current:
        click.echo(f"{st.database}: up to date (revision {st.current})")
    else:
        click.echo(f"{st.database}: upgraded from {st.before or 'empty'} to revision {st.current}")


@click.group()
def db() -> None:
    """Schema migrations, required signatures, PostgreSQL roles."""


@db.command()
@pass_app
def upgrade(app: AppContext) -> None:
    """Upgrade the schema to the newest revision."""
    init.callback()  # type: ignore[misc]


@db.command()
@json_option
@pass_app
def current(app: AppContext, as_json: bool) -> None:
    """Print the schema revision of the database."""
    from treatyflow.app import schema

    st = schema.state(app.workspace().store)
    if as_json:
        emit_json(st.to_dict())
    else:
        rev, head = st.current, st.head
        click.echo(f"{rev or 'empty'}{' (head)' if rev == head else f' (head is {head})'}")


@db.command()
@json_option
def history(as_json: bool) -> None:
    """List the schema revisions, oldest first."""
    from treatyflow.app import schema

    revs = schema.history()
    if as_json:
        emit_json([{"revision": r, "down_revision": d, "message": m} for r, d, m in revs])
    else:
        for r, d, m in revs:
            click.echo(f"{d or '<base>'} -> {r}: {m}")


@db.command()
@click.option("--all", "all_", is_flag=True, help="Rewrite every row, not only stale ones.")
@json_option
@pass_app
def reproject(app: AppContext, all_: bool, as_json: bool) -> None:
    """Rewrite the case projection (what pending and tick read) from the logs: the rows of
    cases that have none or a stale one (written outside treatyflow), or with --all every
    row."""
    written = app.workspace().reproject(all=all_)
    if as_json:
        emit_json({"written": written})
    else:
        click.echo(f"{written} case projection row(s) written")


@db.command()
@json_option
@pass_app
def reindex(app: AppContext, as_json: bool) -> None:
    """Rebuild the search index from the events (SQLite; PostgreSQL keeps its own), after
    doctor found it edited outside treatyflow."""
    indexed = app.workspace().reindex()
    if as_json:
        emit_json({"indexed": indexed})
    elif indexed is None:
        click.echo("PostgreSQL keeps its search index itself: nothing to rebuild")
    else:
        click.echo(f"{indexed} event(s) indexed for search")


@db.command("require-signatures")
@click.argument("setting", type=click.Choice(["on", "off"]))
@key_option
@json_option
@pass_app
def require_signatures(app: AppContext, setting: str, as_json: bool) -> None:
    """Turn team mode on or off (an admin's --key): when on, every write must be signed by
    a registered key, and steps that need review become proposals."""
    on = app.workspace().require_signatures(setting == "on")
    if as_json:
        emit_json({"require_signatures": on})
    else:
        click.echo(f"signatures are {'required' if on else 'not required'}")


@db.command()
@click.argument("role")
@click.option(
    "--as",
    "as_",
    required=True,
    type=click.Choice(["analyst", "reviewer", "admin"]),
    help="The treatyflow role the login ROLE gets.",
)
@json_option
@pass_app
def grant(app: AppContext, role: str, as_: str, as_json: bool) -> None:
    """PostgreSQL: give the login ROLE a treatyflow role through a group role.

    Every role reads, appends events and updates case rows; none may UPDATE, DELETE or
    TRUNCATE the events or the key registry (a trigger refuses it too); admins may also
    append to the registry. Run it as the database owner.
    """
    result = app.workspace().grant(role, as_=as_)
    if as_json:
        emit_json(result)
    else:
        click.echo(f"{role} is now in {result['group']} on schema {result['schema']}")


@click.command()
@click.option(
    "--as-of", default=None, metavar="DATE", help="What was pending on DATE (default today)."
)
@click.option(
    "--known-at",
    default=None,
    metavar="TIMESTAMP",
    help="From what had been recorded by TIMESTAMP.",
)
@click.option(
    "--by",
    "group_by",
    type=click.Choice(["actor", "country", "treaty"]),
    default=None,
    help="Group by who must act, country or treaty.",
)
@click.option(
    "--due-within",
    type=click.IntRange(min=0, max=36_500),
    default=None,
    metavar="DAYS",
    help="Only cases whose next date falls within DAYS of --as-of (overdue ones included).",
)
@click.option(
    "--exit-code",
    is_flag=True,
    help=f"Exit {EXIT_LISTED} when any case is listed (for cron jobs that mail a digest).",
)
@json_option
@pass_app
def pending(
    app: AppContext,
    as_of: str | None,
    known_at: str | None,
    group_by: str | None,
    due_within: int | None,
    exit_code: bool,
    as_json: bool,
) -> None:
    """What happens next, when, and who must act: every open case, nearest date first.

    \b
    treatyflow pending --by actor
    treatyflow pending --due-within 7 --exit-code   # exit 3 when something is due
    """
    from treatyflow.values import parse_timestamp

    ws = app.workspace()
    day = parse_on(as_of, "--as-of") or ws.today()
    stamp = parse_timestamp(known_at) if known_at else None
    if as_json:
        out = binary_stdout()
        listed = ws.write_pending_json(
            out, as_of=day, known_at=stamp, group_by=group_by, due_within=due_within
        )
        out.flush()
        _exit_if_listed(exit_code, listed)
        return
    listing = ws.pending(as_of=day, known_at=stamp, group_by=group_by, due_within=due_within)
    horizon = f" (due by {listing.due_by.isoformat()})" if listing.due_by else ""
    if not listing.cases:
        if listing.due_by:
            click.echo(f"Nothing due by {listing.due_by.isoformat()} (as of {day.isoformat()}).")
        else:
            click.echo(f"Nothing pending as of {day.isoformat()}.")
        return
    groups = listing.groups or {"": tuple(i.id for i in listing.cases)}
    by_id = {i.id: i for i in listing.cases}
    for name, ids in groups.items():
        table(
            f"Pending as of {day.isoformat()}{horizon}"
            + (f" - {group_by}: {name}" if name else ""),
            ["case", "state", "next date", "next steps (who acts)", "flags"],
            [pending_row(by_id[i]) for i in ids],
            styles=PENDING_STYLES,
        )
    _exit_if_listed(exit_code, len(listing.cases))


def _exit_if_listed(exit_code: bool, listed: int) -> None:
    """With ``--exit-code``, exit EXIT_LISTED when the listing is not empty."""
    if exit_code and listed:
        raise click.exceptions.Exit(EXIT_LISTED)


#: On a terminal: the state coloured, OVERDUE/BLOCKED/REVIEW and deviations in red.
PENDING_STYLES = {1: state_style, 4: flags_style}


def pending_row(item: PendingItem) -> list[Any]:
    """One row of the pending table."""
    steps = []
    for s in item.steps:
        if s.clock:
            continue
        mark = "" if s.ready else " [blocked: " + "; ".join(s.guards_not_met) + "]"
        steps.append(f"{s.trigger} ({s.institution or '?'}){mark}")
    for c in item.clocks:
        if c.status.value in ("running", "due", "suspended"):
            due = c.due_on.isoformat() if c.due_on else ""
            steps.append(f"clock {c.name}: {c.status.value} {due}".rstrip())
    flags = [f for f, on in (("OVERDUE", item.overdue), ("BLOCKED", item.blocked)) if on]
    flags += [f"REVIEW step {r.seq} ({r.trigger})" for r in item.awaiting_review]
    return [
        item.id,
        item.state,
        item.next_date.isoformat() if item.next_date else "-",
        "; ".join(steps) or "-",
        ", ".join(flags + list(item.flags)) or "-",
    ]


@click.command()
@click.option(
    "--as-of",
    default=None,
    metavar="DATE",
    help="Fire clocks due on or before DATE (default today).",
)
@key_option
@json_option
@pass_app
def tick(app: AppContext, as_of: str | None, as_json: bool) -> None:
    """Fire every clock that has come due, as events by actor 'system'."""
    from treatyflow.cli.output import progress_bar

    ws = app.workspace()
    day = parse_on(as_of, "--as-of") or ws.today()
    with progress_bar(ws.count_cases(), "Ticking cases") as step:
        result = ws.tick(as_of=day, progress=step)
    if as_json:
        emit_json(result.to_dict())
    else:
        for f in result.fired:
            say(f"{f.case}: {f.clock} fired on {f.on.isoformat()} -> {f.to_state}")
        for failure in result.failed:
            say(f"{failure.case}: could not fire: {failure.error}", err=True)
        click.echo(f"{len(result.fired)} clock(s) fired as of {day.isoformat()}.")
    if result.failed:
        raise click.ClickException(
            f"{len(result.failed)} case(s) could not be ticked: "
            + ", ".join(f.case for f in result.failed)
            + "; the other clocks fired."
        )


@click.command()
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE.jsonl",
    help="Check an exported bundle offline instead of the database (no database needed).",
)
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Also check that nothing a checkpoint recorded has been truncated or rewritten.",
)
@json_option
@pass_app
def verify(
    app: AppContext, bundle_path: Path | None, checkpoint_path: Path | None, as_json: bool
) -> None:
    """Check every case's hash chain; exit 1 naming the case and first bad seq.

    With --bundle, check an export file instead, offline. With --checkpoint, also check
    the database (or the bundle) against a checkpoint written earlier.
    """
    if bundle_path is not None:
        _verify_bundle(bundle_path, checkpoint_path, as_json)
        return
    result = app.workspace().verify(checkpoint=checkpoint_path)
    if as_json:
        emit_json(result.to_dict())
    else:
        for f in result.problems:
            say(f"FAIL {f}")
        if result.ok:
            cp = result.checkpoint
            extra = f"; checkpoint of {cp['cases']} case(s) holds" if cp is not None else ""
            click.echo(f"ok: {result.cases} case(s), every chain verifies{extra}")
    if not result.ok:
        raise SystemExit(1)


def _verify_bundle(path: Path, checkpoint_path: Path | None, as_json: bool) -> None:
    """verify --bundle: the file only, never the database."""
    from treatyflow.app.workspace import verify_bundle

    result = verify_bundle(path, checkpoint=checkpoint_path)
    if as_json:
        emit_json({k: v for k, v in result.to_dict().items() if k != "checkpoint"})
    else:
        for problem in result.problems:
            say(f"FAIL {problem}")
        if result.ok:
            c = result.counts
            cp = result.details.get("checkpoint")
            extra = f"; checkpoint of {cp['cases']} case(s) holds" if cp is not None else ""
            click.echo(
                f"ok: {path} verifies: {c['cases']} case(s), {c['events']} event(s), "
                f"{c['definitions']} definition(s){_documents(c)}{extra}"
            )
    if not result.ok:
        raise SystemExit(1)


@click.command()
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.jsonl",
    help="Where to write the bundle.",
)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@json_option
@pass_app
def export(app: AppContext, output: Path, force: bool, as_json: bool) -> None:
    """Write the whole database as a self-describing, verifiable JSON Lines bundle."""
    result = app.workspace().export(output, force=force)
    if as_json:
        emit_json(result.to_dict())
    else:
        c = result.counts
        click.echo(
            f"exported {c['cases']} case(s), {c['events']} event(s), {c['definitions']} "
            f"definition(s){_documents(c)} to {output} (heads {result.heads_digest})"
        )


@click.command("import")
@click.argument("bundle_path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_app
def import_(app: AppContext, bundle_path: Path, as_json: bool) -> None:
    """Load a bundle into an empty database; refuses a bundle that does not verify."""
    from treatyflow.app.bundles import undone_on_failure

    # One pass: the bundle is checked as it is loaded, in one transaction; a database this
    # import created is removed again when the bundle is refused (nothing is written).
    with undone_on_failure(app.db, app.close):
        result = app.workspace(create=True).import_bundle(bundle_path)
    if as_json:
        emit_json(result.to_dict())
    else:
        c = result.counts
        click.echo(
            f"imported {c['cases']} case(s), {c['events']} event(s), {c['definitions']} "
            f"definition(s){_documents(c)} (heads {result.heads_digest})"
        )


def _documents(counts: Any) -> str:
    """ ", 2 document(s)" when a bundle carries attached documents."""
    n = counts.get("documents", 0)
    return f", {n} document(s)" if n else ""


@click.command()
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Where to write the checkpoint (keep it outside the database).",
)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@json_option
@pass_app
def checkpoint(app: AppContext, output: Path, force: bool, as_json: bool) -> None:
    """Write every case's chain head and a digest over them, to keep elsewhere."""
    result = app.workspace().checkpoint(output, force=force)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(f"checkpoint of {result.cases} case(s) written to {output}: {result.digest}")
