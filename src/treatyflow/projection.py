"""Folding a case's events into what is true at a moment: state, facts, clocks.

Pure: events in, a :class:`CaseState` out. Filters give the two time axes: ``as_of``
(valid time: events whose legal date is on or before it) and ``known_at`` (record time:
events recorded by then). Corrections re-date the events they point at; a retraction
(recorded by ``known_at``) takes its target out of the fold, whatever the legal dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from treatyflow.definitions.procedure import ClockSpec, Procedure
from treatyflow.definitions.treaty import Clause, FactSpec, FactType, FactValue, Treaty
from treatyflow.events import Event, EventKind
from treatyflow.legal.clocks import Clock, ClockStatus, evaluate_clock
from treatyflow.legal.facts import FactTimeline
from treatyflow.values import fact_from_json

#: Declared facts every case may set (contract vocabulary), unless the treaty declares them.
SHARED_FACT_SPECS = {
    "armed_conflict": FactSpec(
        type=FactType.BOOLEAN,
        default=None,
        description="The State is engaged in an armed conflict.",
    ),
    "specified_date": FactSpec(
        type=FactType.DATE, description="A later date named in the notification."
    ),
}


def fact_specs(treaty: Treaty, procedure: Procedure) -> dict[str, FactSpec]:
    specs = dict(SHARED_FACT_SPECS)
    specs.update(procedure.facts)
    specs.update(treaty.facts)
    return specs


def select(
    events: Sequence[Event], *, as_of: dt.date | None = None, known_at: str | None = None
) -> list[Event]:
    """The events visible at (``as_of``, ``known_at``), with corrected legal dates applied."""
    visible = [e for e in events if known_at is None or e.recorded_at <= known_at]
    corrected = apply_corrections(visible)
    if as_of is None:
        return corrected
    # A retraction takes its target back whatever the legal dates: it is kept at any as_of.
    return [e for e in corrected if e.occurred_on <= as_of or e.kind is EventKind.RETRACT]


def retracted_seqs(events: Sequence[Event]) -> set[int]:
    """The seqs of the events a retraction among ``events`` takes back."""
    return {int(e.data["target_seq"]) for e in events if e.kind is EventKind.RETRACT}


def apply_corrections(events: Sequence[Event]) -> list[Event]:
    """Events with each correction's new legal date applied to the event it targets (a
    retracted correction applies to nothing)."""
    new_dates: dict[int, dt.date] = {}
    gone = retracted_seqs(events)
    for ev in events:
        if ev.kind is EventKind.CORRECT and ev.seq not in gone:
            new_dates[int(ev.data["target_seq"])] = dt.date.fromisoformat(ev.data["occurred_on"])
    if not new_dates:
        return list(events)
    out = []
    for ev in events:
        if ev.seq in new_dates:
            ev = _redated(ev, new_dates[ev.seq])
        out.append(ev)
    return out


def _redated(ev: Event, day: dt.date) -> Event:
    from dataclasses import replace

    return replace(ev, occurred_on=day)


@dataclass
class CaseState:
    state: str | None
    version: int
    facts: FactTimeline
    clocks: list[Clock] = field(default_factory=list)
    entered: dict[str, dt.date] = field(default_factory=dict)
    """Legal date the case last entered each state."""
    last_on: dt.date | None = None
    flags: list[str] = field(default_factory=list)

    def facts_on(self, day: dt.date) -> dict[str, FactValue | None]:
        """Every known fact's value on the legal date ``day``."""
        return {name: self.facts.value_on(name, day) for name in self.facts.current()}


def fold(
    events: Sequence[Event],
    *,
    procedure: Procedure,
    treaty: Treaty,
    action: str,
    country: str,
    as_of: dt.date,
) -> CaseState:
    """What the (already selected) events say, with clocks evaluated on ``as_of``."""
    specs = fact_specs(treaty, procedure)
    changes: list[tuple[str, dt.date, FactValue]] = []
    state: str | None = None
    entered: dict[str, dt.date] = {}
    fired: dict[str, dt.date] = {}
    left: dict[str, dt.date] = {}
    last_on: dt.date | None = None
    flags: list[str] = []
    gone = retracted_seqs(events)
    for ev in events:
        if ev.kind is EventKind.RETRACT or ev.seq in gone:
            continue  # a retracted step stops counting; the retraction itself changes nothing
        last_on = ev.occurred_on if last_on is None else max(last_on, ev.occurred_on)
        if ev.to_state is not None:
            if state is not None and state != ev.to_state:
                left[state] = ev.occurred_on
            state = ev.to_state
            entered[ev.to_state] = ev.occurred_on
        if ev.kind in (EventKind.OPEN, EventKind.SET_FACT):
            for name, value in ev.data.get("facts", {}).items():
                changes.append((name, ev.occurred_on, fact_from_json(value, specs.get(name))))
        clock_name = ev.data.get("clock")
        if clock_name:
            fired[clock_name] = ev.occurred_on
        for flag in ev.data.get("flags", []):
            if flag not in flags:
                flags.append(flag)
    defaults = {k: v.default for k, v in specs.items() if v.default is not None}
    timeline = FactTimeline(changes, defaults)
    clocks = [
        evaluate_spec(
            spec,
            treaty,
            action,
            country,
            entered,
            {**_deadlines_met(procedure, entered, left), **fired},
            timeline,
            as_of,
            state,
        )
        for spec in procedure.clocks
    ]
    return CaseState(state, len(events), timeline, clocks, entered, last_on, flags)


def _deadlines_met(
    procedure: Procedure, entered: Mapping[str, dt.date], left: Mapping[str, dt.date]
) -> dict[str, dt.date]:
    """A deadline clock (one that fires nothing) is met when the case leaves its start state."""
    met = {}
    for spec in procedure.clocks:
        left_on = left.get(spec.starts_at)
        # Met only if it left after it last entered (a case may come back to the state).
        if spec.fires is None and left_on and left_on >= entered.get(spec.starts_at, left_on):
            met[spec.name] = left_on
    return met


def clause_for(spec: ClockSpec, treaty: Treaty, action: str) -> Clause | None:
    if spec.rule == "treaty":
        return treaty.actions.get(action)
    assert isinstance(spec.rule, Clause)
    return spec.rule


def evaluate_spec(
    spec: ClockSpec,
    treaty: Treaty,
    action: str,
    country: str,
    entered: Mapping[str, dt.date],
    fired: Mapping[str, dt.date],
    timeline: FactTimeline,
    as_of: dt.date,
    state: str | None,
) -> Clock:
    clause = clause_for(spec, treaty, action)
    if clause is None:
        return Clock(
            name=spec.name,
            status=ClockStatus.UNKNOWN,
            due_on=None,
            basis=f"{treaty.short_name}: no clause for the action {action!r}",
            started_on=None,
            waiting_on=(),
            flags=("no-clause",),
            explanation=f"The treaty defines no clause for {action!r}.",
        )
    # Void once the case entered a voiding state after the clock started (it stays void).
    started = entered.get(spec.starts_at)
    voids = [
        entered[v]
        for v in spec.void_in
        if v in entered and started is not None and entered[v] >= started
    ]
    voided_on = min(voids) if voids else None
    return evaluate_clock(
        spec.name,
        clause,
        country=country,
        started_on=entered.get(spec.starts_at),
        facts=timeline,
        as_of=as_of,
        fired_on=fired.get(spec.name),
        voided_on=voided_on,
        deadline=spec.fires is None,
    )


def effective_on(clocks: Sequence[Clock], effect_clock: str = "effect") -> dt.date | None:
    """The contract's ``effective_on``: the effect clock's date while running/due/satisfied."""
    for clock in clocks:
        if clock.name == effect_clock and clock.status in (
            ClockStatus.RUNNING,
            ClockStatus.DUE,
            ClockStatus.SATISFIED,
        ):
            return clock.due_on
    return None
