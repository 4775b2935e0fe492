"""The application layer: every command that reads or changes cases.

Each change runs in one database transaction: read the case, check the procedure, build
the event (chained to the case's head), write the event and the updated case row with a
version check. Nothing is written when anything fails. Conflicts with a concurrent writer
are retried a bounded number of times (re-reading and re-checking each time).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from treatyflow import engine
from treatyflow.catalog import Catalog, content_hash
from treatyflow.chain import ChainFault, event_hash, verify_events, verify_states
from treatyflow.definitions.procedure import Procedure, TransitionSpec
from treatyflow.definitions.treaty import Treaty
from treatyflow.errors import (
    CaseExists,
    CaseNotFound,
    EvidenceMissing,
    GuardsNotMet,
    InvalidInput,
    NoticeTooEarly,
    OutOfOrder,
    StoreError,
    TransitionNotAllowed,
)
from treatyflow.events import RECORD_TYPES, SYSTEM_ACTOR, Event, EventKind, utc_now
from treatyflow.evidence import Source
from treatyflow.legal.clocks import ClockStatus, check_notice
from treatyflow.legal.facts import FactTimeline
from treatyflow.projection import (
    CaseState,
    clause_for,
    effective_on,
    fact_specs,
    facts_json,
    fold,
    select,
)
from treatyflow.store.sql import CaseRecord, ChainHead, Store, is_retryable
from treatyflow.values import check_actor, check_country, check_text, fact_to_json, source_json

T = TypeVar("T")

RETRIES = 8
RETRY_BASE = 0.01
RETRY_CAP = 0.5


@dataclass(frozen=True)
class Definitions:
    """The procedure and treaty versions a case runs under."""

    procedure: Procedure
    treaty: Treaty
    machine: engine.ProcedureMachine


class Service:
    """The commands of treatyflow over one store and one catalogue of definitions.

    ``catalog`` may be a callable that loads it: commands that need no definitions (``case
    list``, ``verify``) then never read the YAML files.
    """

    def __init__(
        self,
        store: Store,
        catalog: Catalog | Callable[[], Catalog],
        *,
        now: Callable[[], str] = utc_now,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.store = store
        self._catalog = catalog
        self.now = now
        self.today = today
        self._definitions: dict[tuple[str, str], Definitions] = {}

    @property
    def catalog(self) -> Catalog:
        if not isinstance(self._catalog, Catalog):
            self._catalog = self._catalog()
        return self._catalog

    # ================================================================== writing
    def open_case(
        self,
        *,
        country: str,
        treaty: str,
        actor: str,
        procedure: str | None = None,
        action: str = "withdrawal",
        case_id: str | None = None,
        at: str | None = None,
        on: dt.date | None = None,
        facts: Sequence[str] = (),
        sources: Sequence[Source] = (),
        note: str | None = None,
        out_of_procedure: str | None = None,
    ) -> dict[str, Any]:
        """Open a case (at the procedure's initial state, or already ``at`` a later one)."""
        country = check_country(country)
        actor = check_actor(actor)
        note = check_text(note, "--note")
        treaty_def = self.catalog.treaty(treaty)
        proc_id = procedure or self.catalog.default_procedure(country, action, treaty)
        proc = self.catalog.procedure(proc_id)
        needs_clause = any(c.rule == "treaty" for c in proc.clocks)
        if needs_clause and action not in treaty_def.actions:
            raise InvalidInput(
                "--action",
                action,
                f"the treaty {treaty!r} has no clause for the action {action!r} "
                f"(it has: {', '.join(sorted(treaty_def.actions))}).",
            )
        if action not in proc.actions:
            raise InvalidInput(
                "--action",
                action,
                f"the procedure {proc_id!r} covers {', '.join(proc.actions)}, not {action!r}.",
            )
        if proc.treaties and treaty not in proc.treaties:
            raise InvalidInput(
                "--procedure",
                proc_id,
                f"the procedure {proc_id!r} is written for {', '.join(proc.treaties)}, "
                f"not {treaty!r}.",
            )
        state = at or proc.initial
        assert state is not None
        if proc.state(state) is None:
            raise InvalidInput(
                "--at",
                at,
                f"--at {at!r} is not a state of procedure {proc_id!r} "
                f"(states: {', '.join(proc.state_ids)}).",
            )
        day = on or self.today()
        specs = fact_specs(treaty_def, proc)
        from treatyflow.values import parse_assignment

        fact_values = dict(parse_assignment(text, specs) for text in facts)
        data: dict[str, Any] = {}
        if fact_values:
            data["facts"] = {k: fact_to_json(v) for k, v in fact_values.items()}
        if at is not None and at != proc.initial:
            data["opened_at_state"] = at
        flags: list[str] = []
        if out_of_procedure:
            flags.append("out-of-procedure")
            data["reason"] = check_text(out_of_procedure, "--out-of-procedure")
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

        def attempt() -> dict[str, Any]:
            with self.store.write() as conn:
                new_id = case_id or self._free_case_id(conn, country, treaty, day)
                if case_id is not None:
                    check_text(case_id, "--id", 200)
                    if not case_id.strip() or case_id != case_id.strip():
                        raise InvalidInput(
                            "--id",
                            case_id,
                            "--id must be non-empty text without surrounding spaces.",
                        )
                    if self.store.get_case(conn, case_id) is not None:
                        raise CaseExists(case_id)
                now = self.now()
                self.store.save_definition(
                    conn, proc_hash, "procedure", proc.id, proc.model_dump_json(), now
                )
                self.store.save_definition(
                    conn, treaty_hash, "treaty", treaty_def.id, treaty_def.model_dump_json(), now
                )
                ev = _seal(
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
                    )
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
                    head_hash=ev.hash,
                    opened_on=day.isoformat(),
                    last_on=day.isoformat(),
                    facts=data.get("facts", {}),
                    created_at=now,
                    updated_at=now,
                )
                self.store.insert_case(conn, record, ev)
                return self._view(conn, record, [ev], as_of=None, known_at=None)

        return _retry(attempt)

    def advance(
        self,
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
        view: bool = True,
    ) -> dict[str, Any]:
        """Fire ``trigger`` on the case, as of the legal date ``on``."""
        actor = check_actor(actor)
        note = check_text(note, "--note")
        reason = check_text(out_of_procedure, "--out-of-procedure")

        def change(record: CaseRecord, defs: Definitions, ch: _Change) -> Event:
            self._check_order(record, on, backdate)
            st = ch.state
            flags: list[str] = []
            data: dict[str, Any] = {}
            spec = defs.machine.transition(record.state, trigger)
            if spec is not None and spec.clock is not None:
                raise InvalidInput(
                    "trigger",
                    trigger,
                    f"{trigger!r} is fired by the clock {spec.clock!r}; run 'treatyflow tick'.",
                )
            self._check_clocks_before(record, st, on)
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
                        "--to",
                        to,
                        f"{trigger!r} is not a trigger of procedure {defs.procedure.id!r}; "
                        "name the state it leads to with --to STATE.",
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
                problems = self._notice_problems(record, defs, st, on)
                if problems and not reason:
                    raise NoticeTooEarly(record.id, problems)
                if problems:
                    flags += ["out-of-procedure", "notice-too-early"]
                    data["notice_problems"] = problems
            if backdate:
                flags.append("backdated")
                data["backdate_reason"] = check_text(backdate, "--backdate")
            if reason and flags:
                data["reason"] = reason
            if flags:
                data["flags"] = list(dict.fromkeys(flags))
            return self._next_event(
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
            )

        return self._change(case_id, change, view=view)

    def set_fact(
        self,
        case_id: str,
        assignment: str,
        *,
        on: dt.date,
        actor: str,
        sources: Sequence[Source] = (),
        note: str | None = None,
        backdate: str | None = None,
        view: bool = True,
    ) -> dict[str, Any]:
        """Record that a fact has a value from the legal date ``on`` on."""
        from treatyflow.values import parse_assignment

        actor = check_actor(actor)
        note = check_text(note, "--note")

        def change(record: CaseRecord, defs: Definitions, ch: _Change) -> Event:
            self._check_order(record, on, backdate)
            name, value = parse_assignment(assignment, fact_specs(defs.treaty, defs.procedure))
            data: dict[str, Any] = {"facts": {name: fact_to_json(value)}}
            if backdate:
                data["flags"] = ["backdated"]
                data["backdate_reason"] = check_text(backdate, "--backdate")
            return self._next_event(
                record,
                EventKind.SET_FACT,
                on=on,
                actor=actor,
                sources=sources,
                note=note,
                data=data,
            )

        return self._change(case_id, change, view=view)

    def note(
        self,
        case_id: str,
        text: str,
        *,
        on: dt.date | None,
        actor: str,
        sources: Sequence[Source] = (),
        view: bool = True,
    ) -> dict[str, Any]:
        """Attach a note (and sources) to the case; changes nothing else."""
        actor = check_actor(actor)
        checked = check_text(text, "note")
        if not checked or not checked.strip():
            raise InvalidInput("note", text, "the note is empty.")

        def change(record: CaseRecord, defs: Definitions, ch: _Change) -> Event:
            return self._next_event(
                record,
                EventKind.NOTE,
                on=on or self.today(),
                actor=actor,
                sources=sources,
                note=checked,
            )

        return self._change(case_id, change, view=view)

    def record(
        self,
        case_id: str,
        record_type: str,
        *,
        on: dt.date,
        actor: str,
        by: str | None = None,
        sources: Sequence[Source] = (),
        note: str | None = None,
        view: bool = True,
    ) -> dict[str, Any]:
        """Record a typed event that changes no state (objection, finding, judgment, ...)."""
        actor = check_actor(actor)
        note = check_text(note, "--note")
        if record_type not in RECORD_TYPES:
            raise InvalidInput(
                "TYPE",
                record_type,
                f"{record_type!r} is not a record type ({', '.join(RECORD_TYPES)}).",
            )
        by_value = check_text(by, "--by", 200)

        def change(record: CaseRecord, defs: Definitions, ch: _Change) -> Event:
            data: dict[str, Any] = {"type": record_type}
            if by_value:
                data["by"] = by_value
            return self._next_event(
                record,
                EventKind.RECORD,
                on=on,
                actor=actor,
                sources=sources,
                note=note,
                data=data,
            )

        return self._change(case_id, change, view=view)

    def correct(
        self,
        case_id: str,
        seq: int,
        *,
        on: dt.date,
        reason: str,
        actor: str,
        sources: Sequence[Source] = (),
        view: bool = True,
    ) -> dict[str, Any]:
        """Correct the legal date of event ``seq``; the old event stays in the log."""
        actor = check_actor(actor)
        why = check_text(reason, "--reason")
        if not why:
            raise InvalidInput("--reason", reason, "a correction needs --reason.")

        def change(record: CaseRecord, defs: Definitions, ch: _Change) -> Event:
            events, st = ch.events, ch.state
            target = next((e for e in events if e.seq == seq), None)
            if target is None or target.kind is EventKind.CORRECT:
                raise InvalidInput(
                    "SEQ", seq, f"case {record.id!r} has no correctable event {seq}."
                )
            current = select(events)[seq - 1].occurred_on
            before = {c.name: c.due_on for c in st.clocks}
            ev = Event(
                case_id=record.id,
                seq=record.version + 1,
                kind=EventKind.CORRECT,
                occurred_on=on,
                recorded_at=self.now(),
                actor=actor,
                sources=tuple(source_json(s) for s in sources),
                note=why,
                data={
                    "target_seq": seq,
                    "occurred_on": on.isoformat(),
                    "previous_occurred_on": current.isoformat(),
                    "due_before": _iso_map(before),
                },
            )
            after = self._fold(record, defs, [*events, ev], as_of=None)
            ev.data["due_after"] = _iso_map({c.name: c.due_on for c in after.clocks})
            return ev

        return self._change(case_id, change, view=view)

    def tick(self, as_of: dt.date | None = None) -> list[dict[str, Any]]:
        """Fire every clock due on or before ``as_of``; returns what fired."""
        day = as_of or self.today()
        fired: list[dict[str, Any]] = []
        with self.store.read() as conn:
            ids = [c.id for c in self.store.list_cases(conn)]
        for case_id in ids:
            fired += self.tick_case(case_id, day)
        return fired

    def tick_case(self, case_id: str, day: dt.date) -> list[dict[str, Any]]:
        """Fire every clock of one case due on or before ``day``."""
        fired: list[dict[str, Any]] = []
        # A firing can start another clock; a procedure has few, so this ends quickly.
        for _ in range(64):
            one = self._tick_once(case_id, day)
            if one is None:
                break
            fired.append(one)
        return fired

    def _tick_once(self, case_id: str, day: dt.date) -> dict[str, Any] | None:
        """Fire the first due clock of a case, if any; what fired, or None."""
        fired: list[dict[str, Any]] = []

        def change(record: CaseRecord, defs: Definitions, ch: _Change) -> Event | None:
            fired.clear()  # a retried attempt starts afresh
            st = ch.state
            for clock in st.clocks:
                if clock.status is not ClockStatus.DUE or clock.due_on is None:
                    continue
                spec = next(c for c in defs.procedure.clocks if c.name == clock.name)
                tr = defs.machine.transition(record.state, spec.fires) if spec.fires else None
                if tr is None or engine.guard_failures(tr.guards, st.facts_on(clock.due_on)):
                    continue
                kind = EventKind.TAKE_EFFECT if tr.trigger == "take-effect" else EventKind.ADVANCE
                fired.append(
                    {
                        "case": record.id,
                        "clock": clock.name,
                        "on": clock.due_on.isoformat(),
                        "to_state": tr.dest,
                    }
                )
                return self._next_event(
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

        self._change(case_id, change, as_of=day)
        return fired[0] if fired else None

    # ================================================================== reading
    def show(
        self, case_id: str, *, as_of: dt.date | None = None, known_at: str | None = None
    ) -> dict[str, Any]:
        with self.store.read() as conn:
            record = self._record(conn, case_id)
            events = self.store.events(conn, case_id)
            return self._view(conn, record, events, as_of=as_of, known_at=known_at)

    def history(
        self, case_id: str, *, as_of: dt.date | None = None, known_at: str | None = None
    ) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            self._record(conn, case_id)
            events = self.store.events(conn, case_id)
        out = []
        for ev in events:
            if known_at is not None and ev.recorded_at > known_at:
                continue
            if as_of is not None and ev.occurred_on > as_of:
                continue
            out.append(ev.to_json())
        return out

    def case_count(self) -> int:
        with self.store.read() as conn:
            return self.store.count_cases(conn)

    def list_cases(self) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return [
                {
                    "id": r.id,
                    "country": r.country,
                    "treaty": r.treaty,
                    "action": r.action,
                    "procedure": r.procedure,
                    "state": r.state,
                    "version": r.version,
                    "opened_on": r.opened_on,
                    "last_on": r.last_on,
                }
                for r in self.store.list_cases(conn)
            ]

    def views(
        self,
        *,
        as_of: dt.date | None = None,
        known_at: str | None = None,
        case_ids: Sequence[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The show() document of every case (or of ``case_ids``), in id order."""
        with self.store.read() as conn:
            for record, events in self._with_events(conn, case_ids):
                if known_at is not None and not any(e.recorded_at <= known_at for e in events):
                    continue
                yield self._view(conn, record, events, as_of=as_of, known_at=known_at)

    def _with_events(
        self, conn: Any, case_ids: Sequence[str] | None
    ) -> Iterator[tuple[CaseRecord, list[Event]]]:
        """Each case (or each of ``case_ids``) with its events, in id order.

        Every case: two streaming queries, the case rows by id and the events by (case_id,
        seq), merged: no query per case, and one case (with its events) in memory at a
        time. Named cases: one query each.
        """
        if case_ids:
            named = [self._record(conn, c) for c in case_ids]  # an unknown id fails first
            for record in named:
                yield record, self.store.events(conn, record.id)
            return
        # Both streams come in the database's order of ids (a collation on PostgreSQL, not
        # Python's): events of no case are recognised by membership, not by comparison.
        known = self.store.case_ids(conn)
        groups = self.store.events_by_case(conn)
        group = next(groups, None)
        for record in self.store.iter_cases(conn):
            while group is not None and group[0] not in known:  # events of no case
                group = next(groups, None)
            if group is not None and group[0] == record.id:
                yield record, group[1]
                group = next(groups, None)
            else:
                yield record, []

    def portfolio(
        self,
        *,
        as_of: dt.date | None = None,
        known_at: str | None = None,
        case_ids: Sequence[str] | None = None,
        raw: bool = False,
    ) -> list[tuple[dict[str, Any], list[dict[str, Any]], Procedure]]:
        """(view, history, procedure) of every case (or of ``case_ids``), for reports.

        The history is the events visible at (``as_of``, ``known_at``) with corrected legal
        dates applied; with ``raw``, every event recorded by ``known_at`` exactly as stored
        (hash-verifiable, corrections not applied, not filtered by ``as_of``).
        """
        return list(
            self.iter_portfolio(as_of=as_of, known_at=known_at, case_ids=case_ids, raw=raw)
        )

    def iter_portfolio(
        self,
        *,
        as_of: dt.date | None = None,
        known_at: str | None = None,
        case_ids: Sequence[str] | None = None,
        raw: bool = False,
        where: Callable[[CaseRecord], bool] | None = None,
        seen: Callable[[], None] | None = None,
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], Procedure]]:
        """:meth:`portfolio`, one case at a time (in id order; ``case_ids`` in their order).

        ``where`` skips the cases it refuses before any work is done on them; ``seen`` is
        called once per case looked at (for a progress bar).
        """
        with self.store.read() as conn:
            for record, events in self._with_events(conn, case_ids):
                if seen is not None:
                    seen()
                if where is not None and not where(record):
                    continue
                visible = select(events, as_of=as_of, known_at=known_at)
                if not visible:
                    continue
                view = self._view(conn, record, events, as_of=as_of, known_at=known_at)
                defs = self._definitions_for(conn, record)
                if raw:
                    visible = [e for e in events if known_at is None or e.recorded_at <= known_at]
                yield view, [e.to_json() for e in visible], defs.procedure

    def pending(
        self, *, as_of: dt.date | None = None, known_at: str | None = None
    ) -> list[dict[str, Any]]:
        """Every open case: its next steps, who must act, its clocks; nearest date first."""
        return sorted(self.iter_pending(as_of=as_of, known_at=known_at), key=pending_order)

    def iter_pending(
        self, *, as_of: dt.date | None = None, known_at: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """:meth:`pending`'s items one at a time, in case id order (sort by
        :func:`pending_order` for the listing's order)."""
        day = as_of or self.today()
        for view in self.views(as_of=day, known_at=known_at):
            if view["final"]:
                continue
            dates = [c["due_on"] for c in view["clocks"] if c["due_on"]]
            overdue = any(c["status"] == "due" for c in view["clocks"])
            ready = [s for s in view["steps"] if s["ready"] and not s["clock"]]
            running = any(c["status"] == "running" for c in view["clocks"])
            yield {
                "id": view["id"],
                "country": view["country"],
                "treaty": view["treaty"],
                "action": view["action"],
                "state": view["state"],
                "state_title": view["state_title"],
                "next_date": min(dates) if dates else None,
                "overdue": overdue,
                "blocked": not ready and not running and not overdue,
                "steps": view["steps"],
                "clocks": view["clocks"],
                "effective_on": view["effective_on"],
                "flags": view["flags"],
            }

    def verify(self) -> list[ChainFault]:
        """Every case whose chain does not verify, with the first bad seq."""
        return self.check_chains()[1]

    def check_chains(self) -> tuple[int, list[ChainFault]]:
        """(number of cases, the faults by case id).

        On SQLite a fast pass clears the cases whose chain is certainly intact
        (:mod:`treatyflow.store.chainscan`); the rest are checked here the exact way
        (:func:`_verify_case`), in one snapshot. Where there is no such pass, every case is
        checked the exact way in one snapshot. (The pass's worker processes read snapshots
        of their own; a case they cleared was intact then, and logs are append-only.)
        """
        scan = self.store.chain_scan()  # before the read: it may fork worker processes
        with self.store.read() as conn:
            if scan is None:
                return self._verify_all(conn)
            faults = []
            for case_id in sorted(set(scan.suspects), key=_id_order):
                head = self.store.chain_head(conn, case_id)
                fault = _verify_case(case_id, list(self.store.event_rows(conn, case_id)), head)
                if fault:
                    faults.append(fault)
            return scan.cases, faults

    def _verify_all(self, conn: Any) -> tuple[int, list[ChainFault]]:
        faults: list[ChainFault] = []
        records = self.store.chain_heads(conn)
        seen: set[str] = set()
        current: str | None = None
        batch: list[dict[str, Any]] = []
        for row in self.store.event_rows(conn):
            if row["case_id"] != current:
                if current is not None:
                    fault = _verify_case(current, batch, records.get(current))
                    if fault:
                        faults.append(fault)
                current, batch = row["case_id"], []
                seen.add(current)
            batch.append(row)
        if current is not None:
            fault = _verify_case(current, batch, records.get(current))
            if fault:
                faults.append(fault)
        for case_id in sorted(set(records) - seen, key=_id_order):
            fault = _verify_case(case_id, [], records[case_id])
            if fault:
                faults.append(fault)
        return len(records), sorted(faults, key=lambda f: _id_order(f.case_id))

    def conformance(self, case_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Per case, every deviation from its procedure, with its sources."""
        out = []
        with self.store.read() as conn:
            for record, events in self._with_events(conn, case_ids):
                defs = self._definitions_for(conn, record)
                deviations: list[dict[str, Any]] = []
                for ev in events:
                    flags = ev.flags
                    if ev.kind is EventKind.ADVANCE and ev.trigger:
                        spec = defs.machine.transition(ev.from_state or "", ev.trigger)
                        if (
                            spec is not None
                            and spec.contested is not None
                            and "contested" not in flags
                        ):
                            flags = [*flags, "contested"]
                    if not flags:
                        continue
                    deviations.append(
                        {
                            "seq": ev.seq,
                            "occurred_on": ev.occurred_on.isoformat(),
                            "kind": str(ev.kind),
                            "trigger": ev.trigger,
                            "from_state": ev.from_state,
                            "to_state": ev.to_state,
                            "flags": flags,
                            "reason": ev.data.get("reason") or ev.data.get("backdate_reason"),
                            "details": {
                                k: ev.data[k]
                                for k in ("guards_not_met", "evidence_missing", "notice_problems")
                                if k in ev.data
                            },
                            "note": ev.note,
                            "sources": list(ev.sources),
                        }
                    )
                if events and events[0].data.get("opened_at_state"):
                    opened = {
                        "seq": 1,
                        "occurred_on": events[0].occurred_on.isoformat(),
                        "kind": "open",
                        "trigger": None,
                        "from_state": None,
                        "to_state": events[0].to_state,
                        "flags": ["opened-mid-procedure"],
                        "reason": "tracking started at a later state; "
                        "earlier steps are not in the log",
                        "details": {},
                        "note": events[0].note,
                        "sources": list(events[0].sources),
                    }
                    deviations.insert(0, opened)
                out.append(
                    {
                        "id": record.id,
                        "country": record.country,
                        "treaty": record.treaty,
                        "action": record.action,
                        "procedure": record.procedure,
                        "conforms": not any(
                            f != "opened-mid-procedure" for d in deviations for f in d["flags"]
                        ),
                        "deviations": deviations,
                    }
                )
        return out

    # ================================================================== internals
    def _change(
        self,
        case_id: str,
        make: Callable[[CaseRecord, Definitions, _Change], Event | None],
        *,
        as_of: dt.date | None = None,
        view: bool = True,
    ) -> dict[str, Any]:
        """Run ``make`` on the case in one write transaction and append the event it returns.

        With ``view`` the result is the case's full view after the change (as ``show``);
        without, a summary (id, state, version, head_hash) that needs no re-reading.
        """

        def attempt() -> dict[str, Any]:
            with self.store.write() as conn:
                record = self._record(conn, case_id)
                defs = self._definitions_for(conn, record)
                ch = _Change(self, conn, record, defs, as_of)
                ev = make(record, defs, ch)
                if ev is None:
                    return self._result(conn, record, ch, view)
                ev = _seal(replace(ev, prev_hash=record.head_hash))
                expected = record.version
                updated = replace(
                    record,
                    state=ev.to_state or record.state,
                    version=record.version + 1,
                    head_hash=ev.hash,
                    last_on=max(record.last_on, ev.occurred_on.isoformat()),
                    updated_at=ev.recorded_at,
                )
                if ev.kind is EventKind.SET_FACT:
                    updated.facts = {**record.facts, **ev.data["facts"]}
                self.store.append(conn, updated, expected, ev)
                ch.appended(ev)
                return self._result(conn, updated, ch, view)

        return _retry(attempt)

    def _result(self, conn: Any, record: CaseRecord, ch: _Change, view: bool) -> dict[str, Any]:
        if view:
            return self._view(conn, record, ch.events, as_of=None, known_at=None)
        return {
            "id": record.id,
            "state": record.state,
            "version": record.version,
            "head_hash": record.head_hash,
        }

    def _next_event(
        self,
        record: CaseRecord,
        kind: EventKind,
        *,
        on: dt.date,
        actor: str,
        sources: Sequence[Source] = (),
        note: str | None = None,
        data: dict[str, Any] | None = None,
        trigger: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
    ) -> Event:
        """The case's next event (unsealed: ``_change`` chains it to the head and hashes it)."""
        return Event(
            case_id=record.id,
            seq=record.version + 1,
            kind=kind,
            occurred_on=on,
            recorded_at=self.now(),
            actor=actor,
            trigger=trigger,
            from_state=from_state,
            to_state=to_state,
            sources=tuple(source_json(s) for s in sources),
            note=note,
            data=data or {},
        )

    def _record(self, conn: Any, case_id: str) -> CaseRecord:
        check_text(case_id, "CASE_ID", 200)  # undecodable argv bytes never reach the driver
        record = self.store.get_case(conn, case_id)
        if record is None:
            raise CaseNotFound(case_id)
        return record

    def _definitions_for(self, conn: Any, record: CaseRecord) -> Definitions:
        key = (record.procedure_hash, record.treaty_hash)
        cached = self._definitions.get(key)
        if cached is not None:
            return cached
        proc = self._pinned(conn, record.procedure_hash, "procedure", record.procedure)
        treaty = self._pinned(conn, record.treaty_hash, "treaty", record.treaty)
        assert isinstance(proc, Procedure) and isinstance(treaty, Treaty)
        defs = Definitions(proc, treaty, engine.machine_for(proc, record.procedure_hash))
        self._definitions[key] = defs
        return defs

    def _pinned(self, conn: Any, digest: str, kind: str, ident: str) -> Procedure | Treaty:
        """The definition version a case was opened under (never a silently edited one)."""
        model: type[Procedure] | type[Treaty] = Procedure if kind == "procedure" else Treaty
        try:
            current = (
                self.catalog.procedure(ident)
                if kind == "procedure"
                else self.catalog.treaty(ident)
            )
            if content_hash(current) == digest:
                return current
        except Exception:  # noqa: S110 - fall back to the stored snapshot
            pass
        content = self.store.load_definition(conn, digest)
        if content is None:
            raise StoreError(
                f"the {kind} {ident!r} version {digest[:19]} is missing from the database."
            )
        return model.model_validate_json(content)

    def _fold(
        self,
        record: CaseRecord,
        defs: Definitions,
        events: Sequence[Event],
        *,
        as_of: dt.date | None,
        known_at: str | None = None,
    ) -> CaseState:
        day = as_of or self.today()
        visible = select(events, as_of=as_of, known_at=known_at)
        return fold(
            visible,
            procedure=defs.procedure,
            treaty=defs.treaty,
            action=record.action,
            country=record.country,
            as_of=day,
        )

    def _view(
        self,
        conn: Any,
        record: CaseRecord,
        events: Sequence[Event],
        *,
        as_of: dt.date | None,
        known_at: str | None,
    ) -> dict[str, Any]:
        defs = self._definitions_for(conn, record)
        st = self._fold(record, defs, events, as_of=as_of, known_at=known_at)
        state = st.state or record.state
        day = as_of or self.today()
        steps = []
        facts_now = st.facts_on(day)
        for step in defs.machine.steps(state, facts_now):
            spec = step.spec
            steps.append(
                {
                    "trigger": spec.trigger,
                    "title": spec.title,
                    "to_state": spec.dest,
                    "institution": "system (clock)"
                    if spec.clock
                    else spec.institution or _institution(defs.procedure, state),
                    "ready": step.ready,
                    "guards_not_met": list(step.failures),
                    "evidence": [r.model_dump(mode="json") for r in spec.evidence],
                    "clock": spec.clock,
                    "optional": spec.optional,
                    "contested": spec.contested is not None,
                }
            )
        state_spec = defs.procedure.state(state)
        current_hash = None
        try:
            current_hash = self.catalog.procedure_hash(record.procedure)  # cached
        except Exception:
            current_hash = None
        flags = list(st.flags)
        for clock in st.clocks:
            for flag in clock.flags:
                if flag in ("month-end-review",) and flag not in flags:
                    flags.append(flag)
        if current_hash != record.procedure_hash:
            flags.append("procedure-changed")
        eff = effective_on(st.clocks)
        return {
            "id": record.id,
            "country": record.country,
            "treaty": record.treaty,
            "treaty_name": defs.treaty.short_name,
            "procedure": record.procedure,
            "procedure_title": defs.procedure.title,
            "procedure_hash": record.procedure_hash,
            "procedure_current": current_hash == record.procedure_hash,
            "action": record.action,
            "state": state,
            "state_title": state_spec.title if state_spec else state,
            "final": bool(state_spec and state_spec.final),
            "version": st.version,
            "allowed": [s["trigger"] for s in steps if not s["clock"]],
            "facts": facts_json(st.facts),
            "effective_on": eff.isoformat() if eff else None,
            "clocks": [c.to_json() for c in st.clocks],
            "steps": steps,
            "opened_on": record.opened_on,
            "last_on": st.last_on.isoformat() if st.last_on else None,
            "head_hash": events[st.version - 1].hash if st.version else None,
            "flags": flags,
            "as_of": day.isoformat(),
            "known_at": known_at,
        }

    def _check_order(self, record: CaseRecord, on: dt.date, backdate: str | None) -> None:
        last = dt.date.fromisoformat(record.last_on)
        if on < last and not backdate:
            raise OutOfOrder(record.id, on, last)

    def _check_clocks_before(self, record: CaseRecord, st: CaseState, on: dt.date) -> None:
        """A clock that came due before ``on`` happened first in law: tick before advancing."""
        for clock in st.clocks:
            if (
                clock.status in (ClockStatus.RUNNING, ClockStatus.DUE)
                and clock.due_on
                and clock.due_on <= on
            ):
                raise InvalidInput(
                    "--on",
                    on,
                    f"the clock {clock.name!r} of case {record.id!r} came due on "
                    f"{clock.due_on.isoformat()}, on or before {on.isoformat()}; run "
                    f"'treatyflow tick --as-of {on.isoformat()}' first.",
                )

    def _notice_problems(
        self, record: CaseRecord, defs: Definitions, st: CaseState, on: dt.date
    ) -> list[str]:
        problems: list[str] = []
        for spec in defs.procedure.clocks:
            clause = clause_for(spec, defs.treaty, record.action)
            if clause is not None and clause.earliest_notice is not None:
                problems += check_notice(clause, notice_on=on, facts=st.facts)
        return problems

    def _free_case_id(self, conn: Any, country: str, treaty: str, day: dt.date) -> str:
        base = f"{country}-{treaty}-{day.year}"
        candidate, n = base, 1
        while self.store.get_case(conn, candidate) is not None:
            n += 1
            candidate = f"{base}-{n}"
        return candidate


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


def _declared_dest(procedure: Procedure, trigger: str) -> str | None:
    dests = {t.dest for t in procedure.transitions if t.trigger == trigger}
    return dests.pop() if len(dests) == 1 else None


def _starts_clock(procedure: Procedure, state: str) -> bool:
    return any(c.starts_at == state for c in procedure.clocks)


def _institution(procedure: Procedure, state: str) -> str | None:
    spec = procedure.state(state)
    return spec.institution if spec else None


class _Change:
    """What a change sees: the case row, its definitions, and, read only if asked for, its
    events and what they fold to (a note or a fact needs neither: no O(n) read per write).
    """

    def __init__(
        self,
        service: Service,
        conn: Any,
        record: CaseRecord,
        defs: Definitions,
        as_of: dt.date | None,
    ) -> None:
        self._service, self._conn, self._record, self._defs = service, conn, record, defs
        self._as_of = as_of
        self._events: list[Event] | None = None
        self._state: CaseState | None = None

    @property
    def events(self) -> list[Event]:
        if self._events is None:
            self._events = self._service.store.events(self._conn, self._record.id)
        return self._events

    @property
    def state(self) -> CaseState:
        if self._state is None:
            self._state = self._service._fold(
                self._record, self._defs, self.events, as_of=self._as_of
            )
        return self._state

    def appended(self, ev: Event) -> None:
        if self._events is not None:
            self._events.append(ev)


def _id_order(case_id: Any) -> tuple[bool, str]:
    """A sort key for case ids as the database returns them: text, or (tampered) bytes."""
    return (not isinstance(case_id, str), str(case_id))


def pending_order(item: dict[str, Any]) -> tuple[bool, str, str]:
    """The order of the pending listing: nearest next date first, undated last, then id."""
    return (item["next_date"] is None, item["next_date"] or "", item["id"])


def _iso_map(values: dict[str, dt.date | None]) -> dict[str, str | None]:
    return {k: v.isoformat() if v else None for k, v in values.items()}


def _seal(ev: Event) -> Event:
    return replace(ev, hash=event_hash(ev.hashed_fields()))


def _verify_case(
    case_id: str, rows: list[dict[str, Any]], head: ChainHead | None
) -> ChainFault | None:
    """The first fault of one case's log (its rows by seq) against its case row, if any."""
    if head is None:
        if not rows:
            return None
        return ChainFault(case_id, rows[0]["seq"], "events of a case that does not exist")
    if not rows:
        return ChainFault(case_id, 1, "the case has no events")
    fault = verify_events(case_id, rows, expected_head=head.head_hash, expected_count=head.version)
    return fault or verify_states(case_id, rows, expected_state=head.state)


def _retry(attempt: Callable[[], T]) -> T:
    """Run ``attempt``; on a conflict (``is_retryable``) run it again, at most RETRIES times.

    Backoff is exponential with full jitter (a random sleep up to 10 ms, 20 ms, 40 ms ...,
    capped at RETRY_CAP seconds), so writers that collided do not collide again in step.
    After the last attempt the conflict's own error ("changed by someone else ... run the
    command again", or "the database is busy ...") is raised.
    """
    for n in range(RETRIES):
        try:
            return attempt()
        except StoreError as exc:
            if not is_retryable(exc) or n == RETRIES - 1:
                raise
            delay = min(RETRY_CAP, RETRY_BASE * 2**n)
            time.sleep(random.uniform(0, delay))  # noqa: S311 - jitter, not crypto
    raise AssertionError("unreachable")


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
