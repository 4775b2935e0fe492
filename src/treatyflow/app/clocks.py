"""Firing clocks: ``tick`` records what came due, as events by the actor ``system``.

One read finds the cases with a clock due; each of those is then changed in a transaction
of its own, so a case that cannot be fired (a definition gone, a database error) is reported
and the others still fire. A case with nothing due is never written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from treatyflow import engine
from treatyflow.app import queries
from treatyflow.app.core import ChangeContext, Core, Definitions
from treatyflow.errors import TreatyflowError
from treatyflow.events import SYSTEM_ACTOR, Event, EventKind
from treatyflow.legal.clocks import ClockStatus
from treatyflow.results import Fired, TickFailure, TickResult
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
    due: list[str] = []
    for view in queries.views(core, as_of=day):
        if seen is not None:
            seen()
        if any(c.status is ClockStatus.DUE for c in view.clocks):
            due.append(view.id)
    fired: list[Fired] = []
    failed: list[TickFailure] = []
    for case_id in due:
        try:
            fired += tick_case(core, case_id, day)
        except TreatyflowError as exc:
            failed.append(TickFailure(case_id, str(exc)))
    return TickResult(as_of=day, fired=tuple(fired), failed=tuple(failed))


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
        st = ctx.state
        for clock in st.clocks:
            if clock.status is not ClockStatus.DUE or clock.due_on is None:
                continue
            spec = next(c for c in defs.procedure.clocks if c.name == clock.name)
            tr = defs.machine.transition(record.state, spec.fires) if spec.fires else None
            if tr is None or engine.guard_failures(tr.guards, st.facts_on(clock.due_on)):
                continue
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
