"""Folding a case's events into what is true at a moment: state, facts, clocks.

Pure: events in, a :class:`CaseState` out. Filters give the two time axes: ``as_of``
(valid time: events whose legal date is on or before it) and ``known_at`` (record time:
events recorded by then). Corrections re-date the events they point at; a retraction
(recorded by ``known_at``) takes its target out of the fold, whatever the legal dates.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from treatyflow.definitions.basics import FactType, FactValue
from treatyflow.events import Event, EventKind
from treatyflow.legal.clocks import Clock, ClockStatus, evaluate_clock, survival_clock
from treatyflow.legal.dates import LegalDate, occurred_of
from treatyflow.legal.facts import FactTimeline
from treatyflow.values import fact_from_json

if TYPE_CHECKING:
    from treatyflow.definitions.procedure import ClockSpec, Procedure
    from treatyflow.definitions.treaty import Clause, FactSpec, Treaty
    from treatyflow.results import Deviation

#: Clock flags that also flag the case (``case show``, pending and reports list them).
CASE_FLAGS_FROM_CLOCKS = ("defective-notice", "unassessed", "no-withdrawal-right")

#: Declared facts every case may set (contract vocabulary), unless the treaty declares them:
#: name -> the fields its spec is constructed with (the others keep their defaults).
SHARED_FACTS: dict[str, dict[str, Any]] = {
    "armed_conflict": {
        "type": FactType.BOOLEAN,
        "default": None,
        "description": "The State is engaged in an armed conflict.",
    },
    "specified_date": {
        "type": FactType.DATE,
        "description": "A later date named in the notification.",
    },
}

#: ``FactSpec``'s fields in order, with the defaults of those that have one.
_FACT_SPEC_DEFAULTS: dict[str, Any] = {"description": "", "default": None, "assumed": False}


@functools.cache
def shared_fact_specs(plain: bool = False) -> dict[str, FactSpec]:
    """:data:`SHARED_FACTS` as ``FactSpec`` models, or as their plain twins for a read
    (:mod:`treatyflow.definitions.plain`). The models are constructed, not validated (they
    are valid as written: tests check it); validating would build the model's validator, a
    cost of start-up."""
    if plain:
        from treatyflow.definitions import plain as twins

        specs: dict[str, Any] = {}
        for name, fields in SHARED_FACTS.items():
            spec = twins.FactSpec()
            spec.__dict__.update({"type": fields["type"], **_FACT_SPEC_DEFAULTS, **fields})
            specs[name] = spec
        return specs
    from treatyflow.definitions.treaty import FactSpec

    return {name: FactSpec.model_construct(**fields) for name, fields in SHARED_FACTS.items()}


def fact_specs(treaty: Treaty, procedure: Procedure) -> dict[str, FactSpec]:
    from treatyflow.definitions.plain import Plain

    specs = dict(shared_fact_specs(isinstance(procedure, Plain)))
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


#: The shape of :meth:`Tally.to_json`; a stored tally of another format is recomputed.
TALLY_FORMAT = 2


@dataclass
class Tally:
    """What a case's (selected) events add up to before any clock is evaluated: the fold's
    first half, independent of the as-of date and of the definitions.

    :func:`fold` evaluates one on an as-of date; the case projection (#19) stores the tally
    of all of a case's events, so a read on any as-of date on or after :attr:`horizon`
    evaluates it without reading the log.
    """

    state: str | None = None
    entered: dict[str, dt.date] = field(default_factory=dict)
    entered_by: dict[str, str | None] = field(default_factory=dict)
    entered_range: dict[str, tuple[dt.date, Any]] = field(default_factory=dict)
    """Per state: the legal date and the stored range (``data["occurred"]``) it was entered."""
    fired: dict[str, dt.date] = field(default_factory=dict)
    left: dict[str, dt.date] = field(default_factory=dict)
    last_on: dt.date | None = None
    flags: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    changes: list[tuple[str, dt.date, Any]] = field(default_factory=list)
    """Fact changes: (name, legal date, the value as the event stores it)."""
    version: int = 0
    horizon: dt.date | None = None
    """The latest legal date of an event an as-of date can leave out (all but migrations and
    retractions): at any as-of date on or after it, every event counts."""
    proposals: list[tuple[int, str, str, dt.date]] = field(default_factory=list)
    """Proposed steps (seq, trigger, proposer, legal date), approved or not."""
    closed: list[Any] = field(default_factory=list)
    """The ``proposal_seq`` of every event that approves or rejects a proposal."""
    migrated_at: str | None = None
    """The record time of the latest ``migrated`` event."""
    redated: set[int] = field(default_factory=set)
    gone: set[int] = field(default_factory=set)
    attached: list[tuple[int, dt.date, dict[str, Any]]] = field(default_factory=list)
    """The documents attached (``attach`` events not retracted): (seq, legal date, data)."""

    @classmethod
    def of(cls, events: Sequence[Event]) -> Tally:
        """The tally of (already selected) events."""
        tally = cls()
        tally.gone = retracted_seqs(events)
        for ev in events:
            tally.add(ev)
        return tally

    def can_add(self, ev: Event) -> bool:
        """Whether :meth:`add` of the case's next event gives the tally of the whole log (a
        correction or a retraction changes how earlier events count: tally afresh)."""
        return (
            ev.kind not in (EventKind.CORRECT, EventKind.RETRACT)
            and ev.seq not in self.redated
            and ev.seq not in self.gone
        )

    def add(self, ev: Event) -> None:
        """Count one more event (in seq order)."""
        self.version += 1
        if ev.kind is EventKind.CORRECT and ev.seq not in self.gone:
            self.redated.add(int(ev.data["target_seq"]))
        if ev.kind not in (EventKind.MIGRATED, EventKind.RETRACT):
            self.horizon = (
                ev.occurred_on if self.horizon is None else max(self.horizon, ev.occurred_on)
            )
        if ev.kind is EventKind.PROPOSE:
            self.proposals.append((ev.seq, ev.trigger or "correct", ev.actor, ev.occurred_on))
        if "proposal_seq" in ev.data:
            self.closed.append(ev.data.get("proposal_seq"))
        if ev.kind is EventKind.MIGRATED:
            self.migrated_at = ev.recorded_at
            # The case moved to another definition version: states without a counterpart
            # were mapped; what happened in them keeps its dates under the new names.
            mapping = ev.data.get("map")
            if isinstance(mapping, Mapping):
                self.state, self.entered, self.left = _renamed(
                    mapping, self.state, self.entered, self.left
                )
            return
        if ev.kind is EventKind.RETRACT or ev.seq in self.gone:
            return  # a retracted step stops counting; the retraction itself changes nothing
        self.last_on = (
            ev.occurred_on if self.last_on is None else max(self.last_on, ev.occurred_on)
        )
        self.kinds.update(str(s["kind"]) for s in ev.sources if s.get("kind"))
        if ev.kind is EventKind.ATTACH:
            self.attached.append((ev.seq, ev.occurred_on, dict(ev.data)))
        if ev.to_state is not None:
            if self.state is not None and self.state != ev.to_state:
                self.left[self.state] = ev.occurred_on
            self.state = ev.to_state
            self.entered[ev.to_state] = ev.occurred_on
            self.entered_by[ev.to_state] = ev.trigger
            self.entered_range[ev.to_state] = (ev.occurred_on, ev.data.get("occurred"))
        if ev.kind in (EventKind.OPEN, EventKind.SET_FACT):
            for name, value in ev.data.get("facts", {}).items():
                self.changes.append((name, ev.occurred_on, value))
        clock_name = ev.data.get("clock")
        if clock_name:
            self.fired[clock_name] = ev.occurred_on
        for flag in ev.data.get("flags", []):
            if flag not in self.flags:
                self.flags.append(flag)

    def awaiting_review(self) -> list[tuple[int, str, str, dt.date]]:
        """The proposals no event approves or rejects."""
        closed = set(self.closed)
        return [p for p in self.proposals if p[0] not in closed]

    def to_json(self) -> dict[str, Any]:
        def days(d: Mapping[str, dt.date]) -> dict[str, str]:
            return {k: v.isoformat() for k, v in d.items()}

        return {
            "format": TALLY_FORMAT,
            "state": self.state,
            "entered": days(self.entered),
            "entered_by": self.entered_by,
            "entered_range": {k: [v[0].isoformat(), v[1]] for k, v in self.entered_range.items()},
            "fired": days(self.fired),
            "left": days(self.left),
            "last_on": _iso(self.last_on),
            "flags": self.flags,
            "kinds": sorted(self.kinds),
            "changes": [[n, d.isoformat(), v] for n, d, v in self.changes],
            "version": self.version,
            "horizon": _iso(self.horizon),
            "proposals": [[s, t, a, d.isoformat()] for s, t, a, d in self.proposals],
            "closed": self.closed,
            "migrated_at": self.migrated_at,
            "redated": sorted(self.redated),
            "gone": sorted(self.gone),
            "attached": [[q, d.isoformat(), data] for q, d, data in self.attached],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Tally | None:
        """The tally :meth:`to_json` wrote; None if it has another format."""
        if doc.get("format") != TALLY_FORMAT:
            return None
        day = dt.date.fromisoformat

        def days(d: Mapping[str, str]) -> dict[str, dt.date]:
            return {k: day(v) for k, v in d.items()}

        return cls(
            state=doc["state"],
            entered=days(doc["entered"]),
            entered_by=dict(doc["entered_by"]),
            entered_range={k: (day(v[0]), v[1]) for k, v in doc["entered_range"].items()},
            fired=days(doc["fired"]),
            left=days(doc["left"]),
            last_on=None if doc["last_on"] is None else day(doc["last_on"]),
            flags=list(doc["flags"]),
            kinds=set(doc["kinds"]),
            changes=[(n, day(d), v) for n, d, v in doc["changes"]],
            version=int(doc["version"]),
            horizon=None if doc["horizon"] is None else day(doc["horizon"]),
            proposals=[(int(s), str(t), str(a), day(d)) for s, t, a, d in doc["proposals"]],
            closed=list(doc["closed"]),
            migrated_at=doc["migrated_at"],
            redated=set(doc["redated"]),
            gone=set(doc["gone"]),
            attached=[(int(q), day(d), dict(data)) for q, d, data in doc["attached"]],
        )


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


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
    return evaluate(
        Tally.of(events),
        procedure=procedure,
        treaty=treaty,
        action=action,
        country=country,
        as_of=as_of,
    )


#: What :func:`evaluate` derives from a (treaty, procedure) pair alone, by the pair's
#: identity: (treaty, procedure, (fact specs, defaults, assumed facts)). The definitions are
#: never changed once loaded (a reload makes new objects); the entry holds the pair itself,
#: so an id is never taken for another object's. Bounded: cleared when full.
_FACT_RULES: dict[tuple[int, int], tuple[Any, Any, tuple[Any, ...]]] = {}
MAX_DEFINITION_MEMO = 256


def _fact_rules(
    treaty: Treaty, procedure: Procedure
) -> tuple[dict[str, FactSpec], dict[str, FactValue], tuple[str, ...]]:
    """The pair's fact specs, the defaults of the facts that have one and the facts whose
    default is only assumed (remembered by the pair's identity, see :data:`_FACT_RULES`)."""
    key = (id(treaty), id(procedure))
    hit = _FACT_RULES.get(key)
    if hit is not None and hit[0] is treaty and hit[1] is procedure:
        return hit[2]
    specs = fact_specs(treaty, procedure)
    defaults = {k: v.default for k, v in specs.items() if v.default is not None}
    assumed = tuple(k for k, v in specs.items() if v.assumed)
    if len(_FACT_RULES) >= MAX_DEFINITION_MEMO:
        _FACT_RULES.clear()
    _FACT_RULES[key] = (treaty, procedure, (specs, defaults, assumed))
    return specs, defaults, assumed


def evaluate(
    tally: Tally,
    *,
    procedure: Procedure,
    treaty: Treaty,
    action: str,
    country: str,
    as_of: dt.date,
) -> CaseState:
    """The case's state, facts and clocks on ``as_of`` from the tally of its selected events."""
    specs, defaults, assumed = _fact_rules(treaty, procedure)
    changes = [
        (name, day, fact_from_json(value, specs.get(name))) for name, day, value in tally.changes
    ]
    entered, left, state = tally.entered, tally.left, tally.state
    flags = list(tally.flags)
    timeline = FactTimeline(changes, defaults, assumed)
    # The legal date (with its range) each clock started on: only the states clocks start
    # at are read (a case enters many more), and what is the same for every clock is
    # worked out once (#19).
    entered_range = tally.entered_range
    ranges = {}
    for spec in procedure.clocks:
        start = entered_range.get(spec.starts_at)
        if start is not None and spec.starts_at not in ranges:
            ranges[spec.starts_at] = occurred_of(start[0], {"occurred": start[1]})
    fired = {**_deadlines_met(procedure, entered, left), **tally.fired}
    void_causes = _void_causes(procedure, tally.entered_by)
    clocks: list[Clock] = []
    for spec in procedure.clocks:
        clock = evaluate_spec(
            spec,
            treaty,
            action,
            country,
            entered,
            fired,
            timeline,
            as_of,
            state,
            evidence_kinds=tally.kinds,
            void_causes=void_causes,
            ranges=ranges,
        )
        clocks.append(clock)
        clause = clause_for(spec, treaty, action)
        if clause is not None and spec.fires is not None:
            clocks += [survival_clock(s, clock, as_of=as_of) for s in clause.survival if s.period]
    for clock in clocks:
        for flag in clock.flags:
            if flag in CASE_FLAGS_FROM_CLOCKS and flag not in flags:
                flags.append(flag)
    return CaseState(state, tally.version, timeline, clocks, dict(entered), tally.last_on, flags)


#: :func:`_void_causes` by (procedure identity, the states entered and by which trigger):
#: (procedure, causes); as :data:`_FACT_RULES`, the entry holds the procedure itself.
_VOID_CAUSES: dict[tuple[Any, ...], tuple[Any, Mapping[str, str]]] = {}


def _void_causes(procedure: Procedure, entered_by: Mapping[str, str | None]) -> Mapping[str, str]:
    """What entering each state says about a clock it voids ("the case entered 'disputed' ...").

    A state whose milestone is ``revoked`` gets no entry: the clock keeps the revocation text
    (VCLT Art. 68). Remembered (bounded) by the procedure's identity and ``entered_by``: a
    log repeats few such pairs.
    """
    key = (id(procedure), *entered_by.items())
    hit = _VOID_CAUSES.get(key)
    if hit is not None and hit[0] is procedure:
        return hit[1]
    causes = _void_causes_of(procedure, entered_by)
    if len(_VOID_CAUSES) >= MAX_DEFINITION_MEMO * 16:
        _VOID_CAUSES.clear()
    _VOID_CAUSES[key] = (procedure, causes)
    return causes


def _void_causes_of(procedure: Procedure, entered_by: Mapping[str, str | None]) -> dict[str, str]:
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
    assert not isinstance(spec.rule, str)  # a clause of its own (a model or its twin)
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
