"""Database and whole-portfolio commands: init, db, pending, tick, verify, export, import,
checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from treatyflow.cli.context import AppContext
from treatyflow.cli.options import json_option, parse_on
from treatyflow.cli.output import binary_stdout, emit_json, table

pass_app = click.make_pass_decorator(AppContext)


@click.command()
@pass_app
def init(app: AppContext) -> None:
    """Create or upgrade the database (idempotent)."""
    from treatyflow.redaction import redact_url
    from treatyflow.store import migrate

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
    if as_json:
        _stream_pending_json(svc.iter_pending(as_of=day, known_at=stamp), day, stamp, group_by)
        return
    items = svc.pending(as_of=day, known_at=stamp)
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


def _stream_pending_json(
    items: Iterator[dict[str, Any]], day: Any, stamp: str | None, group_by: str | None
) -> None:
    """``pending --json``: each item encoded as it is computed, the listing sorted by its
    keys alone (flat memory over any number of cases; the same bytes as one json.dumps)."""
    from treatyflow.service import pending_order
    from treatyflow.streamjson import Spool, write_document

    keys: dict[str, list[str]] = {}
    with Spool(2) as spool:
        for item in items:
            spool.add(item, key=pending_order(item))
            if group_by:
                keys[item["id"]] = _group_keys(item, group_by)
        fields: list[tuple[str, Any]] = [
            ("as_of", day.isoformat()),
            ("known_at", stamp),
            ("cases", spool),
        ]
        if group_by:
            groups: dict[str, list[str]] = {}
            for _, _, case_id in spool.ordered_keys():
                for key in keys[case_id]:
                    groups.setdefault(key, []).append(case_id)
            fields.append(("groups", dict(sorted(groups.items()))))
        out = binary_stdout()
        write_document(out, fields)
        out.flush()


def _group_keys(item: dict[str, Any], group_by: str) -> list[str]:
    """The groups (``--by``) a pending item belongs to, sorted."""
    if group_by == "actor":
        keys = {s["institution"] or "unknown" for s in item["steps"] if not s["clock"]}
        if any(c["status"] in ("running", "due") for c in item["clocks"]):
            keys.add("system (clock)")
        keys = keys or {"nobody"}
    else:
        keys = {item[group_by]}
    return sorted(keys)


def _groups(items: list[dict[str, Any]], group_by: str) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for item in items:
        for key in _group_keys(item, group_by):
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
    from treatyflow.cli.output import progress_bar

    svc = app.service()
    day = parse_on(as_of, "--as-of") or svc.today()
    ids = [c["id"] for c in svc.list_cases()]
    fired: list[dict[str, Any]] = []
    with progress_bar(len(ids), "Ticking cases") as step:
        for case_id in ids:
            fired += svc.tick_case(case_id, day)
            step()
    if as_json:
        emit_json({"as_of": day.isoformat(), "fired": fired})
        return
    for f in fired:
        click.echo(f"{f['case']}: {f['clock']} fired on {f['on']} -> {f['to_state']}")
    click.echo(f"{len(fired)} clock(s) fired as of {day.isoformat()}.")


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
    heads = None
    if checkpoint_path is not None:
        from treatyflow.checkpoint import load_checkpoint

        heads = load_checkpoint(checkpoint_path)
    if bundle_path is not None:
        _verify_bundle(bundle_path, heads, as_json)
        return
    svc = app.service()
    count, faults = svc.check_chains()
    if heads is not None:
        from treatyflow.checkpoint import check_store

        faults = sorted(faults + check_store(app.store(), heads), key=lambda f: (f.case_id, f.seq))
    if as_json:
        doc: dict[str, Any] = {
            "ok": not faults,
            "cases": count,
            "problems": [{"case": f.case_id, "seq": f.seq, "reason": f.reason} for f in faults],
        }
        if heads is not None:
            doc["checkpoint"] = {"path": str(checkpoint_path), "cases": len(heads)}
        emit_json(doc)
    else:
        for f in faults:
            click.echo(f"FAIL {f}")
        if not faults:
            extra = f"; checkpoint of {len(heads)} case(s) holds" if heads is not None else ""
            click.echo(f"ok: {count} case(s), every chain verifies{extra}")
    if faults:
        raise SystemExit(1)


def _verify_bundle(path: Path, heads: list[tuple[str, int, str]] | None, as_json: bool) -> None:
    """verify --bundle: the file only, never the database."""
    from treatyflow.bundle import read_bundle

    bundle = read_bundle(path)
    problems = list(bundle.problems)
    if heads is not None and bundle.ok:
        from treatyflow.checkpoint import compare

        current = {c: (v, h) for c, v, h in bundle.heads()}
        problems += [str(f) for f in compare(heads, current, bundle.event_hash_at)]
    if as_json:
        doc = bundle.summary()
        doc["ok"], doc["problems"] = not problems, problems
        emit_json(doc)
    else:
        for problem in problems:
            click.echo(f"FAIL {problem}")
        if not problems:
            c = bundle.counts()
            extra = f"; checkpoint of {len(heads)} case(s) holds" if heads is not None else ""
            click.echo(
                f"ok: {path} verifies: {c['cases']} case(s), {c['events']} event(s), "
                f"{c['definitions']} definition(s){extra}"
            )
    if problems:
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
    from treatyflow.bundle import export_bundle

    trailer = export_bundle(app.store(), output, force=force)
    if as_json:
        emit_json({"bundle": str(output), **{k: v for k, v in trailer.items() if k != "type"}})
    else:
        c = trailer["counts"]
        click.echo(
            f"exported {c['cases']} case(s), {c['events']} event(s), {c['definitions']} "
            f"definition(s) to {output} (heads {trailer['heads_digest']})"
        )


@click.command("import")
@click.argument("bundle_path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_app
def import_(app: AppContext, bundle_path: Path, as_json: bool) -> None:
    """Load a bundle into an empty database; refuses a bundle that does not verify."""
    from treatyflow.bundle import import_bundle, read_bundle
    from treatyflow.errors import BundleInvalid

    bundle = read_bundle(bundle_path)
    if not bundle.ok:  # before the database is even opened: nothing is written
        raise BundleInvalid(bundle.problems)
    result = import_bundle(app.store(create=True), bundle)
    if as_json:
        emit_json({"bundle": str(bundle_path), **result})
    else:
        c = result["imported"]
        click.echo(
            f"imported {c['cases']} case(s), {c['events']} event(s), {c['definitions']} "
            f"definition(s) (heads {result['heads_digest']})"
        )


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
    from treatyflow.checkpoint import write_checkpoint

    doc = write_checkpoint(app.store(), output, force=force)
    if as_json:
        emit_json({"checkpoint": str(output), "cases": doc["count"], "digest": doc["digest"]})
    else:
        click.echo(f"checkpoint of {doc['count']} case(s) written to {output}: {doc['digest']}")
