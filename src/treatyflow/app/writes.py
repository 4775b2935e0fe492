"""Changing cases: open, advance, set a fact, note, record (correcting and retracting a
step, and review, are in :mod:`treatyflow.app.amendments`).

Each function checks the step against the case's pinned procedure and treaty and appends one
event in one write transaction (:meth:`Core.change`); when a check fails nothing is written.
An analyst may record a deviation deliberately (``out_of_procedure``, ``backdate``): the step
is then written with flags saying what it departs from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from treatyflow import engine
from treatyflow.app import projections
from treatyflow.app.amendments import check_roles
from treatyflow.app.core import (
    ChangeContext,
    Core,
    Definitions,
    cite_documents,
    seal,
)
from treatyflow.catalog import content_hash
from treatyflow.definitions.procedure import Procedure, TransitionSpec
from treatyflow.definitions.treaty import FactValue
from treatyflow.errors import (
    CaseExists,
    ClockDueFirst,
    EvidenceMissing,
    GuardsNotMet,
    InvalidInput,
    NoticeTooEarly,
    OutOfOrder,
    TransitionNotAllowed,
)
from treatyflow.events import RECORD_TYPES, Event, EventKind
from treatyflow.evidence import Source
from treatyflow.legal.clocks import ClockStatus, check_notice
from treatyflow.legal.dates import LegalDate
from treatyflow.legal.facts import FactTimeline
from treatyflow.projection import CaseState, clause_for, fact_specs
from treatyflow.store.sql import CaseRecord
from treatyflow.values import (
    check_actor,
    check_case_id,
    check_country,
    check_party_admitted,
    check_sources,
    check_text,
    fact_to_json,
    parse_fact,
    source_json,
)

#: Facts as the API takes them: name -> a typed value or its text.
Facts = Mapping[str, FactValue]


@dataclass(frozen=True)
class Opened:
    """The case row and first event of a new case (the workspace builds its view)."""

    record: CaseRecord
    first: Event


def open_case(
    core: Core,
    *,
    country: str,
    treaty: str,
    actor: str,
    on: dt.date | None = None,
    procedure: str | None = None,
    action: str = "withdrawal",
    case_id: str | None = None,
    at: str | None = None,
    facts: Facts | None = None,
    sources: Sequence[Source] = (),
    note: str | None = None,
    out_of_procedure: str | None = None,
    occurred: LegalDate | None = None,
) -> Opened:
    """Open a case (at the procedure's initial state, or already ``at`` a later one)."""
    country = check_country(country)
    actor = check_actor(actor)
    note = check_text(note, "note")
    if case_id is not None:
        case_id = check_case_id(case_id, "id")  # NFC; no invisible or control characters
    check_sources(sources, "sources")
    treaty_def = core.catalog.treaty(treaty)
    check_party_admitted(treaty_def, country)
    proc_id = procedure or core.catalog.default_procedure(country, action, treaty)
    proc = core.catalog.procedure(proc_id)
    needs_clause = any(c.rule == "treaty" for c in proc.clocks)
    if needs_clause and action not in treaty_def.actions:
        raise InvalidInput(
            "action",
            action,
            f"the treaty {treaty!r} has no clause for the action {action!r} "
            f"(it has: {', '.join(sorted(treaty_def.actions))}).",
        )
    if action not in proc.actions:
        raise InvalidInput(
            "action",
            action,
            f"the procedure {proc_id!r} covers {', '.join(proc.actions)}, not {action!r}.",
        )
    if proc.treaties and treaty not in proc.treaties:
        raise InvalidInput(
            "procedure",
            proc_id,
            f"the procedure {proc_id!r} is written for {', '.join(proc.treaties)}, "
            f"not {treaty!r}.",
        )
    state = at or proc.initial
    assert state is not None
    if proc.state(state) is None:
        raise InvalidInput(
            "at",
            at,
            f"{at!r} is not a state of procedure {proc_id!r} "
            f"(states: {', '.join(proc.state_ids)}).",
        )
    day = on or core.today()
    specs = fact_specs(treaty_def, proc)
    fact_values = dict(parse_fact(name, value, specs) for name, value in (facts or {}).items())
    data: dict[str, Any] = {}
    if fact_values:
        data["facts"] = {k: fact_to_json(v) for k, v in fact_values.items()}
    if at is not None and at != proc.initial:
        data["opened_at_state"] = at
    if occurred is not None and occurred.to_data() is not None:
        data["occurred"] = occurred.to_data()
    flags: list[str] = []
    if out_of_procedure:
        flags.append("out-of-procedure")
        data["reason"] = check_text(out_of_procedure, "reason")
    if _starts_clock(proc, state):
        # Opening at `notified` records a notification: the treaty's notice rules apply.
        timeline = FactTimeline(
            [(k, day, v) for k, v in fact_values.items()],
            {k: s.default for k, s in specs.items() if s.default is not None},
        )
        problems = [
            p
            for spec in proc.clocks
            if spec.starts_at == state
            and (clause := clause_for(spec, treaty_def, action)) is not None
            for p in check_notice(clause, notice_on=day, facts=timeline)
        ]
        if problems and not out_of_procedure:
            raise NoticeTooEarly(case_id or f"{country}-{treaty}", problems)
        if problems:
            flags.append("notice-too-early")
            data["notice_problems"] = problems
    if flags:
        data["flags"] = flags
    proc_hash = content_hash(proc)
    treaty_hash = content_hash(treaty_def)
    # The case row's identity goes under the opening event's hash (treatyflow.identity).
    data["case"] = {
        "country": country,
        "treaty": treaty,
        "action": action,
        "procedure": proc.id,
        "procedure_hash": proc_hash,
        "treaty_hash": treaty_hash,
    }

    def attempt() -> Opened:
        with core.store.write() as conn:
            new_id = case_id or _free_case_id(core, conn, country, treaty, day)
            if case_id is not None and core.store.get_case(conn, case_id) is not None:
                raise CaseExists(case_id)
            now = core.now()
            core.store.save_definition(
                conn, proc_hash, "procedure", proc.id, proc.model_dump_json(), now
            )
            core.store.save_definition(
                conn, treaty_hash, "treaty", treaty_def.id, treaty_def.model_dump_json(), now
            )
            first = core.authorise(
                core.registry(conn),
                seal(
                    cite_documents(
                        conn,
                        Event(
                            case_id=new_id,
                            seq=1,
                            kind=EventKind.OPEN,
                            occurred_on=day,
                            recorded_at=now,
                            actor=actor,
                            to_state=state,
                            sources=tuple(source_json(s) for s in sources),
                            note=note,
                            data=data,
                        ),
                    )
                ),
            )
            record = CaseRecord(
                id=new_id,
                country=country,
                treaty=treaty,
                procedure=proc.id,
                procedure_hash=proc_hash,
                treaty_hash=treaty_hash,
                action=action,
                state=state,
                version=1,
                head_hash=first.hash,
                opened_on=day.isoformat(),
                last_on=day.isoformat(),
                facts=data.get("facts", {}),
                created_at=now,
                updated_at=now,
            )
            core.store.insert_case(conn, record, first)
            projections.track_new(core, conn, record, first)
            return Opened(record, first)

    return core.retry(attempt)


def advance(
    core: Core,
    case_id: str,
    trigger: str,
    *,
    on: dt.date,
    actor: str,
    sources: Sequence[Source] = (),
    note: str | None = None,
    out_of_procedure: str | None = None,
    to: str | None = None,
    backdate: str | None = None,
    occurred: LegalDate | None = None,
    view: bool = True,
) -> tuple[CaseRecord, ChangeContext]:
    """Fire ``trigger`` on the case, as of the legal date ``on`` (``view``: read the case's
    events in the transaction for the caller's view of it, :meth:`Core.change`)."""
    actor = check_actor(actor)
    note = check_text(note, "note")
    reason = check_text(out_of_procedure, "reason")
    check_sources(sources, "sources")

    def change(record: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event:
        _check_order(record, ctx, on, backdate)
        st = ctx.state
        flags: list[str] = []
        data: dict[str, Any] = {}
        spec = defs.machine.transition(record.state, trigger)
        if spec is not None:
            check_roles(core, ctx, spec.roles, f"firing {trigger!r}")
        if spec is not None and spec.clock is not None:
            raise InvalidInput(
                "trigger",
                trigger,
                f"{trigger!r} is fired by the clock {spec.clock!r} when it comes due (tick).",
            )
        _check_clocks_before(record, st, on)
        if spec is None:
            if not reason:
                raise TransitionNotAllowed(
                    record.id,
                    trigger,
                    record.state,
                    defs.machine.analyst_triggers(record.state),
                )
            dest = to or _declared_dest(defs.procedure, trigger)
            if dest is None or defs.procedure.state(dest) is None:
                raise InvalidInput(
                    "to",
                    to,
                    f"{trigger!r} is not a trigger of procedure {defs.procedure.id!r}; "
                    "name the state it leads to.",
                )
            flags.append("out-of-procedure")
        else:
            dest = spec.dest
            failures = engine.guard_failures(spec.guards, st.facts_on(on))
            missing = evidence_missing(spec, sources)
            if failures and not reason:
                raise GuardsNotMet(record.id, trigger, failures)
            if missing and not reason:
                raise EvidenceMissing(record.id, trigger, missing)
            if failures:
                flags.append("guards-not-met")
                data["guards_not_met"] = failures
            if missing:
                flags.append("evidence-missing")
                data["evidence_missing"] = missing
            if flags or reason:
                # The analyst declared a deviation: record it even if the rules allow it.
                flags.insert(0, "out-of-procedure")
            if spec.contested is not None:
                flags.append("contested")
        if dest == "notified" or _starts_clock(defs.procedure, dest):
            problems = _notice_problems(record, defs, st, on)
            if problems and not reason:
                raise NoticeTooEarly(record.id, problems)
            if problems:
                flags += ["out-of-procedure", "notice-too-early"]
                data["notice_problems"] = problems
        if backdate:
            flags.append("backdated")
            data["backdate_reason"] = check_text(backdate, "backdate")
        if reason and flags:
            data["reason"] = reason
        if flags:
            data["flags"] = list(dict.fromkeys(flags))
        if ctx.registry.required and _needs_review(defs.procedure, spec, dest):
            # four eyes: recorded as a proposal, the state unchanged until it is approved
            proposal = {"kind": "advance", "from_state": record.state, "to_state": dest}
            return core.next_event(
                record,
                EventKind.PROPOSE,
                on=on,
                actor=actor,
                trigger=trigger,
                sources=sources,
                note=note,
                data={"proposal": {**proposal, "data": data}},
            )
        return core.next_event(
            record,
            EventKind.ADVANCE,
            on=on,
            actor=actor,
            trigger=trigger,
            from_state=record.state,
            to_state=dest,
            sources=sources,
            note=note,
            data=data,
            occurred=occurred,
        )

    return core.change(case_id, change, view=view)


def set_fact(
    core: Core,
    case_id: str,
    name: str,
    value: FactValue,
    *,
    on: dt.date,
    actor: str,
    sources: Sequence[Source] = (),
    note: str | None = None,
    backdate: str | None = None,
    occurred: LegalDate | None = None,
) -> tuple[CaseRecord, ChangeContext]:
    """Record that a fact has a value from the legal date ``on`` on."""
    actor = check_actor(actor)
    note = check_text(note, "note")
    check_sources(sources, "sources")

    def change(record: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event:
        _check_order(record, ctx, on, backdate)
        fact, typed = parse_fact(name, value, fact_specs(defs.treaty, defs.procedure))
        data: dict[str, Any] = {"facts": {fact: fact_to_json(typed)}}
        if backdate:
            data["flags"] = ["backdated"]
            data["backdate_reason"] = check_text(backdate, "backdate")
        return core.next_event(
            record,
            EventKind.SET_FACT,
            on=on,
            actor=actor,
            sources=sources,
            note=note,
            data=data,
            occurred=occurred,
        )

    return core.change(case_id, change)


def note(
    core: Core,
    case_id: str,
    text: str,
    *,
    on: dt.date | None,
    actor: str,
    sources: Sequence[Source] = (),
    occurred: LegalDate | None = None,
) -> tuple[CaseRecord, ChangeContext]:
    """Attach a note (and sources) to the case; changes nothing else."""
    actor = check_actor(actor)
    check_sources(sources, "sources")
    checked = check_text(text, "note")
    if not checked or not checked.strip():
        raise InvalidInput("note", text, "the note is empty.")

    def change(record: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event:
        return core.next_event(
            record,
            EventKind.NOTE,
            on=on or core.today(),
            actor=actor,
            sources=sources,
            note=checked,
            occurred=occurred,
        )

    return core.change(case_id, change)


def record(
    core: Core,
    case_id: str,
    record_type: str,
    *,
    on: dt.date,
    actor: str,
    by: str | None = None,
    sources: Sequence[Source] = (),
    note: str | None = None,
    occurred: LegalDate | None = None,
) -> tuple[CaseRecord, ChangeContext]:
    """Record a typed event that changes no state (objection, finding, judgment, ...)."""
    actor = check_actor(actor)
    check_sources(sources, "sources")
    note = check_text(note, "note")
    if record_type not in RECORD_TYPES:
        raise InvalidInput(
            "record_type",
            record_type,
            f"{record_type!r} is not a record type ({', '.join(RECORD_TYPES)}).",
        )
    by_value = check_text(by, "by", 200)

    def change(rec: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event:
        data: dict[str, Any] = {"type": record_type}
        if by_value:
            data["by"] = by_value
        return core.next_event(
            rec,
            EventKind.RECORD,
            on=on,
            actor=actor,
            sources=sources,
            note=note,
            data=data,
            occurred=occurred,
        )

    return core.change(case_id, change)


def _needs_review(procedure: Procedure, spec: TransitionSpec | None, dest: str) -> bool:
    """The step needs four eyes: its transition says so, or (a step outside the procedure)
    a transition to the same state does."""
    if spec is not None:
        return spec.review == "required"
    return any(t.review == "required" for t in procedure.transitions if t.dest == dest)


# ---------------------------------------------------------------------------- checks
def evidence_missing(spec: TransitionSpec, sources: Sequence[Source]) -> list[str]:
    """One sentence per evidence requirement no source meets."""
    missing = []
    for req in spec.evidence:
        ok = any(
            (req.kind is None or s.kind == req.kind)
            and s.level.rank >= req.min_level.rank
            and (not req.reference or bool(s.reference))
            for s in sources
        )
        if not ok:
            what = req.kind or "source"
            parts = [f"a {what} source at level {req.min_level.value} or better"]
            if req.reference:
                parts.append("with a reference number")
            desc = f" ({req.description})" if req.description else ""
            missing.append(" ".join(parts) + desc)
    return missing


def _check_order(
    record: CaseRecord, ctx: ChangeContext, on: dt.date, backdate: str | None
) -> None:
    """A step dated before the case's last legal date is refused unless deliberately
    backdated; the last date comes from the log (:attr:`ChangeContext.last_on`)."""
    last = ctx.last_on
    if last is not None and on < last and not backdate:
        raise OutOfOrder(record.id, on, last)


def _check_clocks_before(record: CaseRecord, st: CaseState, on: dt.date) -> None:
    """A clock that came due before ``on`` happened first in law: tick before advancing."""
    for clock in st.clocks:
        if (
            clock.status in (ClockStatus.RUNNING, ClockStatus.DUE)
            and clock.due_on
            and clock.due_on <= on
        ):
            raise ClockDueFirst(record.id, clock.name, clock.due_on, on)


def _notice_problems(
    record: CaseRecord, defs: Definitions, st: CaseState, on: dt.date
) -> list[str]:
    problems: list[str] = []
    for spec in defs.procedure.clocks:
        clause = clause_for(spec, defs.treaty, record.action)
        if clause is not None and clause.earliest_notice is not None:
            problems += check_notice(clause, notice_on=on, facts=st.facts)
    return problems


def _declared_dest(procedure: Procedure, trigger: str) -> str | None:
    dests = {t.dest for t in procedure.transitions if t.trigger == trigger}
    return dests.pop() if len(dests) == 1 else None


def _starts_clock(procedure: Procedure, state: str) -> bool:
    return any(c.starts_at == state for c in procedure.clocks)


def _free_case_id(core: Core, conn: Any, country: str, treaty: str, day: dt.date) -> str:
    """The first free id of ``COUNTRY-treaty-YEAR``, ``...-2``, ``...-3`` (one query)."""
    return core.store.free_case_id(conn, f"{country}-{treaty}-{day.year}")


# ---------------------------------------------------------------------------- retraction
