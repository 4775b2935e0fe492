"""``treatyflow workflow ...``: the treaties and procedures treatyflow knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from treatyflow.cli.completion import case_ids, definition_ids, procedure_ids
from treatyflow.cli.context import AppContext
from treatyflow.cli.options import json_option
from treatyflow.cli.output import emit_json, keyvalues, table

pass_app = click.make_pass_decorator(AppContext)


@click.group()
def workflow() -> None:
    """List, show, lint and draw treaty and procedure definitions."""


@workflow.command("list")
@json_option
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """List the treaties and procedures known."""
    from treatyflow.catalog import content_hash

    cat = app.catalog()
    treaties = [
        {
            "id": t.id,
            "short_name": t.short_name,
            "depositary": t.depositary.name,
            "actions": sorted(t.actions),
            "hash": content_hash(t),
        }
        for t in sorted(cat.treaties.values(), key=lambda t: t.id)
    ]
    procedures: list[dict[str, Any]] = [
        {
            "id": p.id,
            "title": p.title,
            "country": p.country,
            "actions": p.actions,
            "part": p.part,
            "hash": content_hash(cat.procedure(p.id)) if not p.part else content_hash(p),
        }
        for p in sorted(cat.procedures.values(), key=lambda p: p.id)
    ]
    if as_json:
        emit_json({"treaties": treaties, "procedures": procedures})
        return
    table(
        "Treaties",
        ["id", "name", "depositary", "actions"],
        [[t["id"], t["short_name"], t["depositary"], ", ".join(t["actions"])] for t in treaties],
    )
    table(
        "Procedures",
        ["id", "country", "actions", "title"],
        [
            [p["id"], "part" if p["part"] else p["country"], ", ".join(p["actions"]), p["title"]]
            for p in procedures
        ],
    )


@workflow.command()
@click.argument("ident", metavar="ID", shell_complete=definition_ids)
@json_option
@pass_app
def show(app: AppContext, ident: str, as_json: bool) -> None:
    """Show a treaty or a procedure (composed with its parts)."""
    from treatyflow.catalog import content_hash
    from treatyflow.errors import NotFound

    cat = app.catalog()
    if ident in cat.treaties:
        treaty = cat.treaties[ident]
        doc = {"kind": "treaty", "hash": content_hash(treaty), **treaty.model_dump(mode="json")}
        if as_json:
            emit_json(doc)
            return
        keyvalues(
            [("treaty", treaty.id), ("name", treaty.name), ("depositary", treaty.depositary.name)]
        )
        for action, clause in treaty.actions.items():
            click.echo(f"\n{action}: {clause.basis}")
            click.echo(clause.text.rstrip())
        return
    if ident in cat.procedures:
        raw = cat.procedures[ident]
        proc = raw if raw.part else cat.procedure(ident)
        doc = {
            "kind": "part" if raw.part else "procedure",
            "hash": content_hash(proc),
            **proc.model_dump(mode="json"),
        }
        if as_json:
            emit_json(doc)
            return
        keyvalues(
            [
                ("procedure", proc.id),
                ("title", proc.title),
                ("country", proc.country),
                ("actions", ", ".join(proc.actions)),
                ("initial", proc.initial),
            ]
        )
        table(
            "States",
            ["state", "title", "who acts", "legal basis"],
            [
                [
                    s.id + (" (final)" if s.final else ""),
                    s.title,
                    s.institution or "-",
                    s.legal_basis or "-",
                ]
                for s in proc.states
            ],
        )
        table(
            "Transitions",
            ["trigger", "from", "to", "notes"],
            [
                [
                    t.trigger,
                    ", ".join(t.sources),
                    t.dest,
                    "; ".join(
                        x
                        for x in [
                            f"clock {t.clock}" if t.clock else "",
                            "optional" if t.optional else "",
                            "contested" if t.contested else "",
                        ]
                        if x
                    ),
                ]
                for t in proc.transitions
            ],
        )
        return
    known = sorted([*cat.treaties, *cat.procedures])
    raise NotFound(f"no treaty or procedure {ident!r}; known: {', '.join(known)}.")


@workflow.command()
@click.argument("ident", metavar="ID", shell_complete=definition_ids)
@json_option
@pass_app
def diff(app: AppContext, ident: str, as_json: bool) -> None:
    """What changed in a treaty or procedure since the versions cases run on.

    Lists every version stored in the database (each case's pinned version, and every
    version a case ever ran on) and the current one, how many cases run on each, and what
    changed from each to the current one: states, transitions, guards, evidence rules,
    clocks, clause fields. 'case migrate' moves cases to the current version.
    """
    import json

    result = app.workspace().workflow_diff(ident)
    if as_json:
        emit_json(result.to_dict())
        return
    keyvalues(
        [(result.kind, result.id), ("current", result.current_hash or "- (no longer defined)")]
    )
    for version in result.versions:
        label = "current" if version.current else "older"
        ids = ", ".join(version.case_ids[:5]) + (" ..." if len(version.case_ids) > 5 else "")
        click.echo(
            f"\n{label} version {version.hash[:19]}: {len(version.case_ids)} case(s)"
            + (f" ({ids})" if ids else "")
            + ("" if version.stored else " [no snapshot stored]")
        )
        if not version.current and not version.changes and result.current_hash:
            click.echo("  (its differences cannot be shown: no snapshot)")
        for c in version.changes:
            if c.change == "changed":
                what = f"{json.dumps(c.before)} -> {json.dumps(c.after)}"
            else:
                what = c.change
            click.echo(f"  [{c.section}] {c.path}: {what}")


@workflow.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@json_option
@pass_app
def lint(app: AppContext, paths: tuple[Path, ...], as_json: bool) -> None:
    """Check definitions as a whole; list every problem with file:line (exit 1 on any).

    Without PATH, checks the shipped definitions and --workflows. A PATH is a YAML file or a
    workflows directory (with treaties/ and procedures/), checked with the shipped ones.
    """
    from treatyflow.catalog import lint_paths, shipped_workflows

    base = [shipped_workflows()] if paths else app.workflow_dirs()
    if paths and app.workflows:
        base = app.workflow_dirs()
    problems = lint_paths(paths, base)
    if as_json:
        emit_json(
            {
                "ok": not problems,
                "problems": [
                    {"path": p.path, "line": p.line, "message": p.message} for p in problems
                ],
            }
        )
    else:
        for p in problems:
            click.echo(str(p))
        if not problems:
            click.echo("ok: no problems found")
    if problems:
        if not as_json:
            click.echo(f"{len(problems)} problem(s)", err=True)
        raise SystemExit(1)


@workflow.command()
@click.argument("procedure", shell_complete=procedure_ids)
@click.option(
    "--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True
)
@click.option(
    "--case",
    "case_id",
    default=None,
    metavar="CASE_ID",
    shell_complete=case_ids,
    help="Highlight the path a case has taken.",
)
@json_option
@pass_app
def diagram(app: AppContext, procedure: str, fmt: str, case_id: str | None, as_json: bool) -> None:
    """Draw a procedure's state diagram (Mermaid or Graphviz DOT text)."""
    from treatyflow import engine

    proc = app.catalog().procedure(procedure)
    path: list[str] = []
    if case_id:
        path = [e.to_state for e in app.workspace().history(case_id) if e.to_state]
    text = engine.mermaid(proc, path) if fmt == "mermaid" else engine.dot(proc, path)
    if as_json:
        emit_json({"procedure": proc.id, "format": fmt, "highlight": path, "diagram": text})
        return
    click.echo(text.rstrip("\n"))
