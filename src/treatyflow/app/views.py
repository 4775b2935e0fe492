"""Building the typed views of a case: ``case show`` (:class:`CaseView`) and a ``pending``
item (:class:`PendingItem`), from the case row, its pinned definitions and its events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from treatyflow.app.core import Core, Definitions
from treatyflow.app.documents import attached
from treatyflow.events import Event, EventKind
from treatyflow.legal.clocks import ClockStatus
from treatyflow.parties import party_name
from treatyflow.projection import CaseState, effective_on, migration_in_force, select
from treatyflow.results import CaseView, DocumentInfo, PendingItem, Review, Step
from treatyflow.store.sql import CaseRecord

if TYPE_CHECKING:
    from treatyflow.definitions.procedure import Procedure

#: Clock flags that are also shown as flags of the case.
CASE_LEVEL_CLOCK_FLAGS = ("month-end-review",)

#: Clock statuses whose due date is still ahead of the case (pending's next date).
OPEN_CLOCK = (ClockStatus.RUNNING, ClockStatus.DUE, ClockStatus.SUSPENDED)


def case_view(
    core: Core,
    record: CaseRecord,
    defs: Definitions,
    events: Sequence[Event],
    *,
    as_of: dt.date | None,
    known_at: str | None,
) -> CaseView:
    """The case as of ``as_of`` (default today), from the events recorded by ``known_at``."""
    st = core.fold(record, defs, events, as_of=as_of, known_at=known_at)
    migration = migration_in_force(events, known_at)
    return view_of(
        core,
        record,
        defs,
        st,
        as_of=as_of,
        known_at=known_at,
        definitions_since=None if migration is None else migration.recorded_at,
        head_hash=events[st.version - 1].hash if st.version else None,
        awaiting=awaiting_review(select(events, known_at=known_at)),
        documents=attached(select(events, as_of=as_of, known_at=known_at)),
    )


def view_of(
    core: Core,
    record: CaseRecord,
    defs: Definitions,
    st: CaseState,
    *,
    as_of: dt.date | None,
    known_at: str | None,
    definitions_since: str | None,
    head_hash: str | None,
    awaiting: tuple[Review, ...],
    documents: tuple[DocumentInfo, ...],
) -> CaseView:
    """The case view from what its events fold to (:func:`case_view` without the log: the
    case projection gives ``st`` and the rest)."""
    state = st.state or record.state
    day = as_of or core.today()
    facts_now = st.facts_on(day)
    steps = tuple(
        Step(
            trigger=step.spec.trigger,
            title=step.spec.title,
            to_state=step.spec.dest,
            institution="system (clock)"
            if step.spec.clock
            else step.spec.institution or _institution(defs.procedure, state),
            ready=step.ready,
            guards_not_met=tuple(step.failures),
            evidence=tuple(r.as_json() for r in step.spec.evidence),
            clock=step.spec.clock,
            optional=step.spec.optional,
            contested=step.spec.contested is not None,
        )
        for step in defs.machine.steps(state, facts_now)
    )
    state_spec = defs.procedure.state(state)
    current_hash = core.current_procedure_hash(record.procedure)
    current_treaty = core.current_treaty_hash(record.treaty)
    # The versions the dates below were computed under (those in force at known_at).
    proc_hash = defs.procedure_hash or record.procedure_hash
    treaty_hash = defs.treaty_hash or record.treaty_hash
    flags = list(st.flags)
    for clock in st.clocks:
        for flag in clock.flags:
            if flag in CASE_LEVEL_CLOCK_FLAGS and flag not in flags:
                flags.append(flag)
    if current_hash != proc_hash:
        flags.append("procedure-changed")
    if current_treaty != treaty_hash:
        flags.append("treaty-changed")
    return CaseView(
        id=record.id,
        country=record.country,
        country_name=party_name(record.country),
        treaty=record.treaty,
        treaty_name=defs.treaty.short_name,
        procedure=record.procedure,
        procedure_title=defs.procedure.title,
        procedure_hash=proc_hash,
        procedure_current=current_hash == proc_hash,
        treaty_hash=treaty_hash,
        treaty_current=current_treaty == treaty_hash,
        definitions_since=definitions_since,
        action=record.action,
        state=state,
        state_title=state_spec.title if state_spec else state,
        final=bool(state_spec and state_spec.final),
        version=st.version,
        allowed=tuple(s.trigger for s in steps if not s.clock),
        facts=st.facts.current(),
        effective_on=effective_on(st.clocks),
        clocks=tuple(st.clocks),
        steps=steps,
        opened_on=dt.date.fromisoformat(record.opened_on),
        last_on=st.last_on,
        head_hash=head_hash,
        flags=tuple(flags),
        as_of=day,
        known_at=known_at,
        awaiting_review=awaiting,
        documents=documents,
    )


def awaiting_review(events: Sequence[Event]) -> tuple[Review, ...]:
    """The proposed steps (four eyes) that no later event approves or rejects."""
    closed = {e.data.get("proposal_seq") for e in events if "proposal_seq" in e.data}
    return tuple(
        Review(e.seq, e.trigger or "correct", e.actor, e.occurred_on)
        for e in events
        if e.kind is EventKind.PROPOSE and e.seq not in closed
    )


def pending_item(view: CaseView) -> PendingItem:
    """An open case as ``pending`` lists it.

    The next date is the earliest date still open (a running, due or suspended clock's due
    date); a deadline already met or a clock already satisfied is not next.
    """
    dates = [c.due_on for c in view.clocks if c.due_on and c.status in OPEN_CLOCK]
    overdue = any(c.status is ClockStatus.DUE for c in view.clocks)
    ready = [s for s in view.steps if s.ready and not s.clock]
    running = any(c.status is ClockStatus.RUNNING for c in view.clocks)
    return PendingItem(
        id=view.id,
        country=view.country,
        country_name=view.country_name,
        treaty=view.treaty,
        action=view.action,
        state=view.state,
        state_title=view.state_title,
        next_date=min(dates) if dates else None,
        overdue=overdue,
        blocked=not ready and not running and not overdue,
        steps=view.steps,
        clocks=view.clocks,
        effective_on=view.effective_on,
        flags=view.flags,
        awaiting_review=view.awaiting_review,
    )


def group_keys(item: PendingItem, group_by: str) -> list[str]:
    """The groups a pending item belongs to (``actor``, ``country`` or ``treaty``), sorted."""
    if group_by == "actor":
        keys = {s.institution or "unknown" for s in item.steps if not s.clock}
        if any(c.status in (ClockStatus.RUNNING, ClockStatus.DUE) for c in item.clocks):
            keys.add("system (clock)")
        return sorted(keys or {"nobody"})
    if group_by == "country":
        return [item.country]
    if group_by == "treaty":
        return [item.treaty]
    raise ValueError(f"cannot group pending cases by {group_by!r}")


def _institution(procedure: Procedure, state: str) -> str | None:
    spec = procedure.state(state)
    return spec.institution if spec else None
