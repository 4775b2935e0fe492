"""Database and whole-portfolio commands: init, db, pending, tick, verify."""

from __future__ import annotations

from typing import Any

import click

from treatyflow.cli.context import AppContext
from treatyflow.cli.options import json_option, parse_on
from treatyflow.cli.output import emit_json, table

pass_app = click.make_pass_decorator(AppContext)


@click.command()
@pass_app
def init(app: AppContext) -> None:
    """Create or upgrade the database (idempotent)."""
    from treatyflow.store import migrate
    from treatyflow.store.sql import redact_url

    store = app.store(create=True)
    before = migrate.current(store)
    migrate.upgrade(store)
    after = migrate.current(store)
    where = redact_url(store.url)
    if before == after:
        click.echo(f"{where}: up to date (revision {after})")
    else:
        click.echo(f"{where}: upgraded from {before or 'empty'} to revision {after}")


@click.group()
def db() -> None:
    """Schema migrations: upgrade, current, history."""


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
    from treatyflow.store import migrate

    store = app.store()
    rev, head = migrate.current(store), migrate.head()
    if as_json:
        emit_json({"current": rev, "head": head, "up_to_date": rev == head})
    else:
        click.echo(f"{rev or 'empty'}{' (head)' if rev == head else f' (head is {head})'}")


@db.command()
@json_option
def history(as_json: bool) -> None:
    """List the schema revisions, oldest first."""
    from treatyflow.store import migrate

    revs = migrate.history()
    if as_json:
        emit_json([{"revision": r, "down_revision": d, "message": m} for r, d, m in revs])
    else:
        for r, d, m in revs:
            click.echo(f"{d or '<base>'} -> {r}: {m}")


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
@json_option
@pass_app
def pending(
    app: AppContext, as_of: str | None, known_at: str | None, group_by: str | None, as_json: bool
) -> None:
    """What happens next, when, and who must act: every open case, nearest date first."""
    from treatyflow.values import parse_timestamp

    svc = app.service()
    day = parse_on(as_of, "--as-of") or svc.today()
    stamp = parse_timestamp(known_at) if known_at else None
    items = svc.pending(as_of=day, known_at=stamp)
    if as_json:
        doc: dict[str, Any] = {"as_of": day.isoformat(), "known_at": stamp, "cases": items}
        if group_by:
            doc["groups"] = _groups(items, group_by)
        emit_json(doc)
        return
    if not items:
        click.echo(f"Nothing pending as of {day.isoformat()}.")
        return
    groups = _groups(items, group_by) if group_by else {"": [i["id"] for i in items]}
    by_id = {i["id"]: i for i in items}
    for name, ids in groups.items():
        table(
            f"Pending as of {day.isoformat()}" + (f" - {group_by}: {name}" if name else ""),
            ["case", "state", "next date", "next steps (who acts)", "flags"],
            [_pending_row(by_id[i]) for i in ids],
        )


def _pending_row(item: dict[str, Any]) -> list[Any]:
    steps = []
    for s in item["steps"]:
        if s["clock"]:
            continue
        mark = "" if s["ready"] else " [blocked: " + "; ".join(s["guards_not_met"]) + "]"
        steps.append(f"{s['trigger']} ({s['institution'] or '?'}){mark}")
    for c in item["clocks"]:
        if c["status"] in ("running", "due", "suspended"):
            steps.append(f"clock {c['name']}: {c['status']} {c['due_on'] or ''}".rstrip())
    flags = [f for f, on in (("OVERDUE", item["overdue"]), ("BLOCKED", item["blocked"])) if on]
    return [
        item["id"],
        item["state"],
        item["next_date"] or "-",
        "; ".join(steps) or "-",
        ", ".join(flags + item["flags"]) or "-",
    ]


def _groups(items: list[dict[str, Any]], group_by: str) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for item in items:
        if group_by == "actor":
            keys = {s["institution"] or "unknown" for s in item["steps"] if not s["clock"]}
            if any(c["status"] in ("running", "due") for c in item["clocks"]):
                keys.add("system (clock)")
            keys = keys or {"nobody"}
        else:
            keys = {item[group_by]}
        for key in sorted(keys):
            groups.setdefault(key, []).append(item["id"])
    return dict(sorted(groups.items()))


@click.command()
@click.option(
    "--as-of",
    default=None,
    metavar="DATE",
    help="Fire clocks due on or before DATE (default today).",
)
@json_option
@pass_app
def tick(app: AppContext, as_of: str | None, as_json: bool) -> None:
    """Fire every clock that has come due, as events by actor 'system'."""
    svc = app.service()
    day = parse_on(as_of, "--as-of") or svc.today()
    fired = svc.tick(day)
    if as_json:
        emit_json({"as_of": day.isoformat(), "fired": fired})
        return
    for f in fired:
        click.echo(f"{f['case']}: {f['clock']} fired on {f['on']} -> {f['to_state']}")
    click.echo(f"{len(fired)} clock(s) fired as of {day.isoformat()}.")


@click.command()
@json_option
@pass_app
def verify(app: AppContext, as_json: bool) -> None:
    """Check every case's hash chain; exit 1 naming the case and first bad seq."""
    svc = app.service()
    faults = svc.verify()
    count = len(svc.list_cases())
    if as_json:
        emit_json(
            {
                "ok": not faults,
                "cases": count,
                "problems": [
                    {"case": f.case_id, "seq": f.seq, "reason": f.reason} for f in faults
                ],
            }
        )
    else:
        for f in faults:
            click.echo(f"FAIL {f}")
        if not faults:
            click.echo(f"ok: {count} case(s), every chain verifies")
    if faults:
        raise SystemExit(1)
