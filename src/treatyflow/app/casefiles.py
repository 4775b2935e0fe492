"""Case files: a case and its dated steps in YAML (the format of ``examples/ottawa-2025``),
replayed through the workspace as an analyst would record them, step by step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from treatyflow.casefile import read

if TYPE_CHECKING:
    from treatyflow.app.workspace import Workspace


@dataclass(frozen=True)
class Loaded:
    """A case file replayed: the file, the case id, the number of events written."""

    path: Path
    case_id: str
    events: int


def replay(ws: Workspace, path: Path, *, progress: Callable[[str], None] | None = None) -> Loaded:
    """Open the case described in ``path`` and record each of its steps (clocks due before
    a step are fired first, as they were in law)."""
    data = read(path)
    head = data.case
    ws.open_case(
        country=head.country,
        treaty=head.treaty,
        procedure=head.procedure,
        action=head.action,
        id=head.id,
        at=head.at,
        on=head.opened_on,
        facts=head.facts,
        sources=head.sources,
        note=head.note,
    )
    for step in data.events:
        # Clocks due by the step's (latest possible) date happened first in law.
        ws.tick_case(head.id, as_of=_latest(step.on))
        if step.advance is not None:
            ws.advance(
                head.id,
                step.advance,
                on=step.on,
                sources=step.sources,
                note=step.note,
                out_of_procedure=step.out_of_procedure,
                to=step.to,
            )
        elif step.set_fact is not None:
            for name, value in step.set_fact.items():
                ws.set_fact(head.id, name, value, on=step.on, sources=step.sources, note=step.note)
        elif step.record is not None:
            ws.record(
                head.id, step.record, on=step.on, by=step.by, sources=step.sources, note=step.note
            )
        else:
            assert step.note is not None
            ws.note(head.id, step.note, on=step.on, sources=step.sources)
        if progress:
            progress(head.id)
    return Loaded(path, head.id, 1 + len(data.events))


def _latest(on: dt.date | str) -> dt.date:
    """The last possible day of a step's legal date (the day that orders it)."""
    if isinstance(on, dt.date):
        return on
    from treatyflow.values import parse_on

    return parse_on(on, "on").latest
