"""The shipped examples (``examples/<name>/*.yaml`` case files) loaded into a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from treatyflow.app.casefiles import Loaded, replay
from treatyflow.casefile import examples_dir
from treatyflow.errors import InvalidInput

if TYPE_CHECKING:
    from treatyflow.app.workspace import Workspace


def folder(name: str) -> Path:
    """The directory of the example ``name`` (``ottawa-2025``)."""
    path = examples_dir() / name
    if not path.is_dir():
        raise InvalidInput("example", name, f"there is no example {name!r}.")
    return path


def load_example(ws: Workspace, name: str, *, actor: str | None = None) -> list[Loaded]:
    """Replay every case file of the example ``name`` into ``ws``, which must have no cases."""
    from treatyflow.redaction import redact_url

    if ws.cases():
        where = redact_url(ws.store.url)
        raise InvalidInput(
            "db",
            where,
            f"the database {where} already has cases; the example needs a new or empty one.",
        )
    before, ws.actor = ws.actor, actor or ws.actor
    try:
        return [replay(ws, path) for path in sorted(folder(name).glob("*.yaml"))]
    finally:
        ws.actor = before
