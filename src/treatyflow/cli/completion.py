"""Shell completion of case ids, treaty ids, procedure ids and triggers (docs/terminal.md).

click calls these while the user presses Tab, before any command runs, so each reads the
root options (``--db``, ``--workflows``) from the parsed context itself. A completion never
fails and never writes: no database (or an unreadable one) completes nothing, and a SQLite
file that does not exist is not created.

Imports here are click and the standard library only (``treatyflow --help`` stays fast).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # click.shell_completion is imported only when completing
    from click.shell_completion import CompletionItem

Complete = Callable[[click.Context, click.Parameter, str], "list[CompletionItem]"]


def _root(ctx: click.Context) -> tuple[str, str | None]:
    params = ctx.find_root().params
    db = params.get("db") or os.environ.get("TREATYFLOW_DB") or "treatyflow.db"
    workflows = params.get("workflows") or os.environ.get("TREATYFLOW_WORKFLOWS") or None
    return str(db), workflows


def _database_exists(db: str) -> bool:
    """Whether there is something to read: a SQLite file that exists, or a server URL."""
    if db == ":memory:":
        return False
    if "://" not in db:
        return Path(db).is_file()
    if db.startswith("sqlite"):
        path = db.split(":///", 1)[-1].split("?", 1)[0]
        return bool(path) and Path(path).is_file()
    return True


def _items(
    values: Iterable[str], incomplete: str, help: str | None = None
) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    return [
        CompletionItem(v, help=help)
        for v in sorted(set(values))
        if v.lower().startswith(incomplete.lower())
    ]


def _quietly(read: Callable[[], Iterable[str]]) -> list[str]:
    """``read()``, or nothing on any error: a completion must never print a traceback."""
    try:
        return list(read())
    except Exception:
        return []


def _catalog(ctx: click.Context) -> Any:
    from treatyflow.app.workspace import workflow_dirs
    from treatyflow.catalog import load_catalog

    return load_catalog(workflow_dirs(_root(ctx)[1]))


def case_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The ids of the cases in ``--db``."""
    db, workflows = _root(ctx)
    if not _database_exists(db):
        return []

    def read() -> list[str]:
        from treatyflow.app.workspace import open as open_workspace

        with open_workspace(db, workflows=workflows, key="") as ws:
            return [c.id for c in ws.cases()]

    return _items(_quietly(read), incomplete)


def treaty_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The treaties known (shipped and ``--workflows``)."""
    return _items(_quietly(lambda: _catalog(ctx).treaties), incomplete)


def procedure_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The procedures a case can run on (parts, which cannot be opened alone, left out)."""

    def read() -> list[str]:
        return [p.id for p in _catalog(ctx).procedures.values() if not p.part]

    return _items(_quietly(read), incomplete)


def definition_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Treaties and procedures (``workflow show ID``, ``workflow diff ID``)."""

    def read() -> list[str]:
        catalog = _catalog(ctx)
        return [*catalog.treaties, *catalog.procedures]

    return _items(_quietly(read), incomplete)


def triggers(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The triggers an analyst may fire on the case named before (``case advance CASE_ID``);
    none on a closed case; without a readable case, every analyst trigger of every
    procedure."""
    case_id = ctx.params.get("case_id")
    db, workflows = _root(ctx)
    if case_id and _database_exists(db):
        read: list[bool] = []  # whether the case was read (a closed case allows nothing)

        def allowed() -> list[str]:
            from treatyflow.app.workspace import open as open_workspace

            with open_workspace(db, workflows=workflows, key="") as ws:
                found = list(ws.case(case_id).allowed)
            read.append(True)
            return found

        found = _quietly(allowed)
        if read:
            return _items(found, incomplete)

    def every() -> list[str]:
        return [
            t.trigger
            for p in _catalog(ctx).procedures.values()
            for t in p.transitions
            if t.clock is None
        ]

    return _items(_quietly(every), incomplete)
