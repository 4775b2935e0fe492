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
from typing import TYPE_CHECKING, Any

from treatyflow.definitions.procedure import ClockSpec, Procedure
from treatyflow.definitions.treaty import Clause, FactSpec, FactType, FactValue, Treaty
from treatyflow.events import Event, EventKind
from treatyflow.legal.clocks import Clock, ClockStatus, evaluate_clock, survival_clock
from treatyflow.legal.dates import LegalDate, occurred_of
from treatyflow.legal.facts import FactTimeline
from treatyflow.values import fact_from_json

if TYPE_CHECKING:
    from treatyflow.results import Deviation

#: Clock flags that also flag the case (``case show``, pending and reports list them).
CASE_FLAGS_FROM_CLOCKS = ("defective-notice", "unassessed", "no-withdrawal-right")

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
    """The events visible at (``as_of``, ``known_at``), with corrected legal dates applied.

    A migration (``migrated``) is not a legal event: once recorded it is visible at every
    legal date, since the definitions it names are the ones every date is computed under.
    """
    visible = [e for e in events if known_at is None or e.recorded_at <= known_at]
    corrected = apply_corrections(visible)
    if as_of is None:
        return corrected
    # A retraction takes its target back whatever the legal dates, and a migration applies
    # at every legal date from its record time on: both are kept at any as_of.
    return [
        e
        for e in corrected
        if e.occurred_on <= as_of or e.kind in (EventKind.MIGRATED, EventKind.RETRACT)
    ]


def migration_in_force(events: Sequence[Event], known_at: str | None = None) -> Event | None:
    """The latest ``migrated`` event recorded by ``known_at``: the one whose definitions the
    case's dates are computed under (None: the definitions it was opened under)."""
    latest = None
    for ev in events:
        if ev.kind is EventKind.MIGRATED and (known_at is None or ev.recorded_at <= known_at):
            latest = ev
    return latest


def pinned_hashes(events: Sequence[Event], known_at: str | None = None) -> tuple[str, str] | None:
    """The (procedure, treaty) content hashes in force at ``known_at``, as the log records
    them: those of the latest migration by then, else the ones the first migration moved the
    case from (its opening pins); None when the case was never migrated."""
    first = next((e for e in events if e.kind is EventKind.MIGRATED), None)
    if first is None:
        return None
    latest = migration_in_force(events, known_at)
    side = latest.data.get("to") if latest is not None else first.data.get("from")
    if not isinstance(side, Mapping) or not all(
        isinstance(side.get(k), str) for k in ("procedure", "treaty")
    ):
        return None  # not written by treatyflow: the case row's pins stand
    return str(side["procedure"]), str(side["treaty"])


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
    entered_by: dict[str, str | None] = {}
    entered_range: dict[str, LegalDate] = {}
    fired: dict[str, dt.date] = {}
    left: dict[str, dt.date] = {}
    last_on: dt.date | None = None
    flags: list[str] = []
    kinds: set[str] = set()
    gone = retracted_seqs(events)
    for ev in events:
        if ev.kind is EventKind.MIGRATED:
            # The case moved to another definition version: states without a counterpart
            # were mapped; what happened in them keeps its dates under the new names.
            mapping = ev.data.get("map")
            if isinstance(mapping, Mapping):
                state, entered, left = _renamed(mapping, state, entered, left)
            continue
        if ev.kind is EventKind.RETRACT or ev.seq in gone:
            continue  # a retracted step stops counting; the retraction itself changes nothing
        last_on = ev.occurred_on if last_on is None else max(last_on, ev.occurred_on)
        kinds.update(str(s["kind"]) for s in ev.sources if s.get("kind"))
        if ev.to_state is not None:
            if state is not None and state != ev.to_state:
                left[state] = ev.occurred_on
            state = ev.to_state
            entered[ev.to_state] = ev.occurred_on
            entered_by[ev.to_state] = ev.trigger
            entered_range[ev.to_state] = occurred_of(ev.occurred_on, ev.data)
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
    assumed = [k for k, v in specs.items() if v.assumed]
    timeline = FactTimeline(changes, defaults, assumed)
    clocks: list[Clock] = []
    for spec in procedure.clocks:
        clock = evaluate_spec(
            spec,
            treaty,
            action,
            country,
            entered,
            {**_deadlines_met(procedure, entered, left), **fired},
            timeline,
            as_of,
            state,
            evidence_kinds=kinds,
            void_causes=_void_causes(procedure, entered_by),
            ranges=entered_range,
        )
        clocks.append(clock)
        clause = clause_for(spec, treaty, action)
        if clause is not None and spec.fires is not None:
            clocks += [survival_clock(s, clock, as_of=as_of) for s in clause.survival if s.period]
    for clock in clocks:
        for flag in clock.flags:
            if flag in CASE_FLAGS_FROM_CLOCKS and flag not in flags:
                flags.append(flag)
    return CaseState(state, len(events), timeline, clocks, entered, last_on, flags)


def _void_causes(procedure: Procedure, entered_by: Mapping[str, str | None]) -> dict[str, str]:
    """What entering each state says about a clock it voids ("the case entered 'disputed' ...").

    A state whose milestone is ``revoked`` gets no entry: the clock keeps the revocation text
    (VCLT Art. 68).
    """
    causes = {}
    for state_id, trigger in entered_by.items():
        spec = procedure.state(state_id)
        if spec is None or spec.milestone == "revoked":
            continue
        title = f" ({spec.title})" if spec.title and spec.title != state_id else ""
        by = f" by the trigger {trigger!r}" if trigger else ""
        causes[state_id] = f"the case entered {state_id!r}{title}{by}"
    return causes


def _renamed(
    mapping: Mapping[Any, Any],
    state: str | None,
    entered: dict[str, dt.date],
    left: dict[str, dt.date],
) -> tuple[str | None, dict[str, dt.date], dict[str, dt.date]]:
    """State, entry and exit dates with each old state renamed by ``mapping`` (OLD -> NEW);
    two states mapped onto one keep the later date."""
    if not mapping:
        return state, entered, left

    def rename(dates: dict[str, dt.date]) -> dict[str, dt.date]:
        out: dict[str, dt.date] = {}
        for name, day in dates.items():
            new = str(mapping.get(name, name))
            out[new] = max(out[new], day) if new in out else day
        return out

    new_state = None if state is None else str(mapping.get(state, state))
    return new_state, rename(entered), rename(left)


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
    *,
    evidence_kinds: set[str] | frozenset[str] = frozenset(),
    void_causes: Mapping[str, str] | None = None,
    ranges: Mapping[str, LegalDate] | None = None,
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
    cause = None
    if voided_on is not None:
        first = min(
            (v for v in spec.void_in if v in entered and entered[v] == voided_on),
            key=spec.void_in.index,
        )
        cause = (void_causes or {}).get(first)
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
        void_cause=cause,
        evidence_kinds=evidence_kinds,
        started_range=(ranges or {}).get(spec.starts_at),
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


def notice_deviations(
    events: Sequence[Event], state: CaseState, procedure: Procedure
) -> list[Deviation]:
    """Conformance entries for notices recorded without their required content (#14).

    One entry per clock flagged ``defective-notice``, on the event that started the clock (the
    notification); ``details.notice_defects`` lists each missing requirement with its article.
    """
    from treatyflow.results import Deviation

    starts = {spec.name: spec.starts_at for spec in procedure.clocks}
    out: list[Deviation] = []
    for clock in state.clocks:
        defects = [i for i in clock.issues if i.flag == "defective-notice"]
        if not defects or clock.name not in starts:
            continue
        event = next(
            (e for e in reversed(events) if e.to_state == starts[clock.name]),
            None,
        )
        if event is None:
            continue
        out.append(
            Deviation(
                seq=event.seq,
                occurred_on=event.occurred_on,
                kind=str(event.kind),
                trigger=event.trigger,
                from_state=event.from_state,
                to_state=event.to_state,
                flags=("defective-notice",),
                reason=" ".join(d.text for d in defects),
                details={"notice_defects": [d.to_json() for d in defects]},
                note=event.note,
                sources=tuple(event.sources),
            )
        )
    return out
