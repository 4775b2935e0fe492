"""What changed between two record times (``report diff``, the weekly brief).

For every case with events recorded in (``since``, ``until``], the case's view as known at
``since`` is compared with its view as known at ``until``, both as of the same legal date:
state, effective date, each clock's date and status, each fact, the flags. Bitemporal by
construction: a step entered late (its legal date long past) shows up in the week it was
recorded, and a step recorded in the window but dated after ``as_of`` changes nothing yet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from treatyflow.app.core import Core
from treatyflow.app.queries import with_events
from treatyflow.app.views import case_view
from treatyflow.errors import InvalidInput
from treatyflow.results import CaseChange, CaseView, Changes, FieldChange
from treatyflow.values import fact_to_json


def changes(core: Core, *, since: str, until: str | None, as_of: dt.date | None) -> Changes:
    """The cases whose view differs between ``since`` and ``until`` (default now)."""
    end = until or core.now()
    if end < since:
        raise InvalidInput("until", end, f"until ({end}) is before since ({since}).")
    day = as_of or core.today()
    found: list[CaseChange] = []
    with core.store.read() as conn:
        for record, events in with_events(core, conn, None):
            recent = [e for e in events if since < e.recorded_at <= end]
            if not recent:
                continue
            defs = core.definitions_for(conn, record)
            after = case_view(core, record, defs, events, as_of=day, known_at=end)
            known = any(e.recorded_at <= since for e in events)
            before = (
                case_view(core, record, defs, events, as_of=day, known_at=since) if known else None
            )
            diffs = compare(before, after)
            if diffs or before is None:
                found.append(
                    CaseChange(
                        id=record.id,
                        country=record.country,
                        treaty=record.treaty,
                        action=record.action,
                        state=after.state,
                        new=before is None,
                        changes=tuple(diffs),
                        events=len(recent),
                    )
                )
    return Changes(since=since, until=end, as_of=day, cases=tuple(found))


def compare(before: CaseView | None, after: CaseView) -> list[FieldChange]:
    """The fields of ``after`` that differ from ``before`` (all set fields when it is new)."""
    old, new = _fields(before), _fields(after)
    if before is None:  # a new case: what it has, not what it lacks
        new = {k: v for k, v in new.items() if v not in (None, [], {})}
    return [
        FieldChange(name, old.get(name), new.get(name))
        for name in [*new, *(k for k in old if k not in new)]
        if old.get(name) != new.get(name)
    ]


def _fields(view: CaseView | None) -> dict[str, Any]:
    """The compared fields of a view, JSON-ready, in a stable order."""
    if view is None:
        return {}
    out: dict[str, Any] = {
        "state": view.state,
        "effective_on": view.effective_on.isoformat() if view.effective_on else None,
    }
    for clock in view.clocks:
        out[f"clock:{clock.name}"] = {
            "due_on": clock.due_on.isoformat() if clock.due_on else None,
            "status": clock.status.value,
        }
    for name, value in sorted(view.facts.items()):
        out[f"fact:{name}"] = fact_to_json(value)
    out["flags"] = sorted(view.flags)
    return out
