"""Firing clocks: ``tick`` records what came due, as events by the actor ``system``.

One read finds the cases with a clock due; each of those is then changed in a transaction
of its own, so a case that cannot be fired (a definition gone, a database error) is reported
and the others still fire. A case with nothing due is never written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from treatyflow.app import projections
from treatyflow.app.core import ChangeContext, Core, Definitions
from treatyflow.errors import TreatyflowError
from treatyflow.events import SYSTEM_ACTOR, Event, EventKind
from treatyflow.results import Fired, TickFailure, TickResult
from treatyflow.store import projections as store_projections
from treatyflow.store.sql import CaseRecord

#: A firing can start another clock; a procedure has few, so a case settles quickly.
MAX_FIRINGS_PER_CASE = 64


def tick(
    core: Core,
    as_of: dt.date | None = None,
    *,
    seen: Callable[[], None] | None = None,
) -> TickResult:
    """Fire every clock due on or before ``as_of`` (default today)."""
    day = as_of or core.today()
    due, refresh = candidates(core, day, seen=seen)
    if refresh:
        projections.rebuild(core, refresh)
    fired: list[Fired] = []
    failed: list[TickFailure] = []
    for case_id in due:
        try:
            fired += tick_case(core, case_id, day)
        except TreatyflowError as exc:
            failed.append(TickFailure(case_id, str(exc)))
    return TickResult(as_of=day, fired=tuple(fired), failed=tuple(failed))


def candidates(
    core: Core, day: dt.date, *, seen: Callable[[], None] | None = None
) -> tuple[list[str], list[str]]:
    """(the cases with a clock to fire on ``day``, the cases whose projection row is missing
    or stale), in id order, from one read.

    A case with a current projection row is looked at only if the row says a clock fires on
    or before ``day`` or an event of the case lies after it; the others are not read at all.
    """
    due: list[str] = []
    refresh: list[str] = []
    with core.store.read() as conn:
        listed = (
            store_projections.tick_candidates(conn, day.isoformat())
            if store_projections.available(core.store, conn)
            else ((record, None) for record in core.store.iter_cases(conn))
        )
        for record, row in listed:
            if seen is not None:
                seen()
            if row is None or not row.current_for(record):
                refresh.append(record.id)
            tally = projections.usable(record, row, day)
            if tally is not None:
                defs = core.definitions_for(conn, record)
                view_defs, st = defs, projections.evaluate_at(record, defs, tally, day)
            else:
                events = core.store.events(conn, record.id)
                view_defs = core.definitions_in_force(conn, record, events, None)
                st = core.fold(record, view_defs, events, as_of=day)
            if any(True for _ in projections.fireable(view_defs, record.state, st)):
                due.append(record.id)
    return due, refresh


def tick_case(core: Core, case_id: str, day: dt.date) -> list[Fired]:
    """Fire every clock of one case due on or before ``day``, each in its own transaction."""
    fired: list[Fired] = []
    for _ in range(MAX_FIRINGS_PER_CASE):
        one = _fire_first_due(core, case_id, day)
        if one is None:
            break
        fired.append(one)
    return fired


def _fire_first_due(core: Core, case_id: str, day: dt.date) -> Fired | None:
    """Fire the first due clock of a case, if any; what fired, or None."""
    fired: list[Fired] = []

    def change(record: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event | None:
        fired.clear()  # a retried attempt starts afresh
        for clock, tr in projections.fireable(defs, record.state, ctx.state):
            assert clock.due_on is not None
            kind = EventKind.TAKE_EFFECT if tr.trigger == "take-effect" else EventKind.ADVANCE
            fired.append(Fired(record.id, clock.name, clock.due_on, tr.dest))
            return core.next_event(
                record,
                kind,
                on=clock.due_on,
                actor=SYSTEM_ACTOR,
                trigger=tr.trigger,
                from_state=record.state,
                to_state=tr.dest,
                note=clock.explanation,
                data={"clock": clock.name, "basis": clock.basis},
            )
        return None

    core.change(case_id, change, as_of=day)
    return fired[0] if fired else None
