"""What every capability of the app layer shares: the store, the definitions, the clock.

:class:`Core` is the unit of work's home. :meth:`Core.change` runs one change in one write
transaction (read the case row and its pinned definitions, build the event, append it with a
version check, commit), retried a bounded number of times on a conflict with a concurrent
writer; :meth:`Core.definitions_for` gives the definition versions a case is pinned to, and
:meth:`Core.definitions_in_force` those in force at a record time (before a migration: the
old ones).
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from treatyflow import engine
from treatyflow.app import projections
from treatyflow.catalog import Catalog, content_hash
from treatyflow.chain import event_hash
from treatyflow.errors import (
    ActorMismatch,
    CaseNotFound,
    NotAuthorised,
    NotFound,
    SignatureRequired,
    StoreError,
)
from treatyflow.events import SYSTEM_ACTOR, Event, EventKind, utc_now
from treatyflow.legal.dates import LegalDate
from treatyflow.projection import (
    CaseState,
    Tally,
    apply_corrections,
    fold,
    pinned_hashes,
    retracted_seqs,
    select,
)
from treatyflow.store.sql import CaseRecord, Store, is_retryable
from treatyflow.values import check_text, source_json

if TYPE_CHECKING:
    from treatyflow.catalogcache import PlainCatalog
    from treatyflow.definitions.procedure import Procedure
    from treatyflow.definitions.treaty import Treaty
    from treatyflow.evidence import Source
    from treatyflow.keys import Signer
    from treatyflow.registry import KeyRecord, Registry

T = TypeVar("T")

#: A :class:`ChangeContext`'s tally before its projection row was read.
_UNREAD = object()

RETRIES = 8
RETRY_BASE = 0.01
RETRY_CAP = 0.5


@dataclass(frozen=True)
class Definitions:
    """The procedure and treaty versions a case runs under."""

    procedure: Procedure
    treaty: Treaty
    machine: engine.ProcedureMachine
    procedure_hash: str = ""
    treaty_hash: str = ""


class Core:
    """The store, the catalogue of definitions and the clock one workspace works with.

    ``catalog`` may be a callable that loads it: work that needs no definitions (listing
    cases, verifying chains) then never reads the YAML files.
    """

    def __init__(
        self,
        store: Store,
        catalog: Catalog | Callable[[], Catalog],
        *,
        now: Callable[[], str] = utc_now,
        today: Callable[[], dt.date] = dt.date.today,
        plain: Callable[[], PlainCatalog | None] | None = None,
    ) -> None:
        self.store = store
        self._catalog = catalog
        self._plain_loader = plain
        self._plain: PlainCatalog | None = None
        self._reading: dict[tuple[str, str], Definitions] = {}
        self.now = now
        self.today = today
        self.signer: Signer | None = None
        """The key that signs every event this core writes (None: unsigned)."""
        self._definitions: dict[tuple[str, str], Definitions] = {}

    @property
    def catalog(self) -> Catalog:
        if not isinstance(self._catalog, Catalog):
            self._catalog = self._catalog()
        return self._catalog

    def plain_catalog(self) -> PlainCatalog | None:
        """The current definitions as plain twins, for reads (:mod:`treatyflow.definitions.plain`):
        only while the catalogue itself has not been loaded (then it is the one to use), and
        only when the validated catalogue cache has them (``plain`` of the constructor)."""
        if isinstance(self._catalog, Catalog) or self._plain_loader is None:
            return self._plain
        self._plain = self._plain_loader()
        self._plain_loader = None
        return self._plain

    # ------------------------------------------------------------------ reading a case
    def record(self, conn: Any, case_id: str) -> CaseRecord:
        """The case row of ``case_id``; :class:`CaseNotFound` if there is none."""
        check_text(case_id, "case id", 200)  # undecodable argv bytes never reach the driver
        case_id = unicodedata.normalize("NFC", case_id)  # ids are stored in NFC
        record = self.store.get_case(conn, case_id)
        if record is None:
            raise CaseNotFound(case_id)
        return record

    def definitions_for(self, conn: Any, record: CaseRecord) -> Definitions:
        """The procedure and treaty versions the case row is pinned to (cached by hash): the
        ones it was opened under, or the ones its latest migration moved it to."""
        return self.definitions_by_hash(conn, record, (record.procedure_hash, record.treaty_hash))

    def definitions_in_force(
        self, conn: Any, record: CaseRecord, events: Sequence[Event], known_at: str | None
    ) -> Definitions:
        """The definition versions the case's dates are computed under at the record time
        ``known_at``: those named by its latest ``migrated`` event recorded by then, else the
        ones it was opened under (so a read known at a time before a migration gives the
        dates as they were computed then)."""
        if known_at is None:
            return self.definitions_for(conn, record)
        hashes = pinned_hashes(events, known_at)
        if hashes is None:
            return self.definitions_for(conn, record)
        return self.definitions_by_hash(conn, record, hashes)

    def definitions_for_reading(
        self, conn: Any, record: CaseRecord, events: Sequence[Event], known_at: str | None
    ) -> Definitions:
        """:meth:`definitions_in_force`, for a read that only looks at them: when both
        versions are the current ones and the catalogue cache holds them as plain twins,
        those (no model, no pydantic, no catalogue loaded); else the models. A twin is
        never handed to a change (its cache is apart from :meth:`definitions_by_hash`'s)."""
        hashes = (record.procedure_hash, record.treaty_hash)
        if known_at is not None:
            hashes = pinned_hashes(events, known_at) or hashes
        cached = self._reading.get(hashes) or self._definitions.get(hashes)
        if cached is not None:
            return cached
        plain = self.plain_catalog()
        if plain is not None:
            proc = plain.definition("procedure", record.procedure, hashes[0])
            treaty = plain.definition("treaty", record.treaty, hashes[1])
            if proc is not None and treaty is not None:
                machine = engine.ProcedureMachine(proc, hashes[0])
                defs = Definitions(proc, treaty, machine, *hashes)
                self._reading[hashes] = defs
                return defs
        return self.definitions_in_force(conn, record, events, known_at)

    def definitions_by_hash(
        self, conn: Any, record: CaseRecord, hashes: tuple[str, str]
    ) -> Definitions:
        """The case's procedure and treaty at the given (procedure, treaty) content hashes."""
        cached = self._definitions.get(hashes)
        if cached is not None:
            return cached
        proc_hash, treaty_hash = hashes
        from treatyflow.definitions.procedure import Procedure
        from treatyflow.definitions.treaty import Treaty

        proc = self._pinned(conn, proc_hash, "procedure", record.procedure)
        treaty = self._pinned(conn, treaty_hash, "treaty", record.treaty)
        assert isinstance(proc, Procedure) and isinstance(treaty, Treaty)
        defs = Definitions(
            proc, treaty, engine.machine_for(proc, proc_hash), proc_hash, treaty_hash
        )
        self._definitions[hashes] = defs
        return defs

    def _pinned(self, conn: Any, digest: str, kind: str, ident: str) -> Procedure | Treaty:
        """The definition version a case was opened under: the current one if its content
        hash is the pinned one, else the snapshot stored when the case was opened.

        Only "this definition is not defined any more" falls back to the snapshot; a set of
        definitions that fails to load is an error of its own and is raised as it is.
        """
        from treatyflow.definitions.procedure import Procedure
        from treatyflow.definitions.treaty import Treaty

        model: type[Procedure] | type[Treaty] = Procedure if kind == "procedure" else Treaty
        try:
            current = (
                self.catalog.procedure(ident)
                if kind == "procedure"
                else self.catalog.treaty(ident)
            )
        except NotFound:
            current = None
        if current is not None and content_hash(current) == digest:
            return current
        content = self.store.load_definition(conn, digest)
        if content is None:
            raise StoreError(
                f"the {kind} {ident!r} version {digest[:19]} is missing from the database."
            )
        return model.model_validate_json(content)

    def current_procedure_hash(self, procedure_id: str) -> str | None:
        """The content hash of the procedure as the definitions have it now; None if they no
        longer define it."""
        plain = self.plain_catalog()
        if plain is not None:
            return plain.current_hash("procedure", procedure_id)
        try:
            return self.catalog.procedure_hash(procedure_id)  # cached
        except NotFound:
            return None

    def current_treaty_hash(self, treaty_id: str) -> str | None:
        """The content hash of the treaty as the definitions have it now; None if they no
        longer define it."""
        plain = self.plain_catalog()
        if plain is not None:
            return plain.current_hash("treaty", treaty_id)
        try:
            return self.catalog.treaty_hash(treaty_id)  # cached
        except NotFound:
            return None

    def fold(
        self,
        record: CaseRecord,
        defs: Definitions,
        events: Sequence[Event],
        *,
        as_of: dt.date | None,
        known_at: str | None = None,
    ) -> CaseState:
        """The case's state, facts and clocks from its events visible at (as_of, known_at)."""
        visible = select(events, as_of=as_of, known_at=known_at)
        return fold(
            visible,
            procedure=defs.procedure,
            treaty=defs.treaty,
            action=record.action,
            country=record.country,
            as_of=as_of or self.today(),
        )

    # ------------------------------------------------------------------ who writes
    def registry(self, conn: Any) -> Registry:
        """The key registry as it stands in this transaction."""
        return _registry_type().fold(self.store.registry_entries(conn))

    def signer_record(self, reg: Registry) -> KeyRecord | None:
        """The registry's record of this core's key: None when it signs nothing; refused
        when the key is not registered or retired."""
        signer = self.signer
        if signer is None:
            return None
        record = reg.active(signer.fingerprint)
        if record is None:
            known = reg.keys.get(signer.fingerprint)
            state = f"was retired at {known.retired_at}" if known else "is not registered"
            raise NotAuthorised(
                known.name if known else None,
                f"the key {signer.fingerprint} {state} in this database's key registry.",
            )
        return record

    def authorise(self, reg: Registry, ev: Event) -> Event:
        """The sealed event signed with this core's key, after checking that the registry
        lets it be written: required signatures, a registered key, the actor its name."""
        record = self.signer_record(reg)
        if record is None:
            if reg.required:
                raise SignatureRequired()
            return ev
        if ev.actor != record.name and ev.actor != SYSTEM_ACTOR:
            raise ActorMismatch(ev.actor, record.name)
        assert self.signer is not None
        return replace(ev, signature=self.signer.sign(ev.hash), key=self.signer.fingerprint)

    # ------------------------------------------------------------------ writing
    def change(
        self,
        case_id: str,
        make: Callable[[CaseRecord, Definitions, ChangeContext], Event | None],
        *,
        as_of: dt.date | None = None,
        view: bool = True,
    ) -> tuple[CaseRecord, ChangeContext]:
        """Run ``make`` on the case in one write transaction and append the event it returns.

        ``make`` checks the step and returns the next event (unsealed: this chains it to the
        case's head and hashes it), or None to write nothing. Returns the case row after the
        change and what the change saw (with ``view``, its events, read in the same
        transaction, with the new one appended, for the caller's view of the case; without,
        only what the change itself read: ``ctx.written`` is the new event).
        """

        def attempt() -> tuple[CaseRecord, ChangeContext]:
            with self.store.write() as conn:
                record = self.record(conn, case_id)
                defs = self.definitions_for(conn, record)
                ctx = ChangeContext(self, conn, record, defs, as_of)
                ev = make(record, defs, ctx)
                if view:
                    ctx.events  # noqa: B018 - read in this transaction: the caller's view needs them
                if ev is None:
                    return record, ctx
                ev = cite_documents(conn, ev)
                ev = seal(ev, prev_hash=record.head_hash)
                ev = self.authorise(ctx.registry, ev)
                updated = _copy(
                    record,
                    state=ev.to_state or record.state,
                    version=record.version + 1,
                    head_hash=ev.hash,
                    last_on=max(ctx.last_on or ev.occurred_on, ev.occurred_on).isoformat(),
                    updated_at=ev.recorded_at,
                )
                if ev.kind is EventKind.SET_FACT:
                    updated.facts = {**record.facts, **ev.data["facts"]}
                if ev.kind is EventKind.MIGRATED:
                    # Re-pinned: later commands read the definitions the case moved to.
                    updated.procedure_hash = str(ev.data["to"]["procedure"])
                    updated.treaty_hash = str(ev.data["to"]["treaty"])
                if ev.kind is EventKind.RETRACT:
                    _recount(updated, [*ctx.events, ev])
                if ev.kind is EventKind.MIGRATED:
                    self.store.append(conn, updated, record.version, ev, repin=True)
                else:
                    self.store.append(conn, updated, record.version, ev)
                ctx.appended(ev)
                # The case projection, in the same transaction as the event (#19).
                projections.track(self, conn, record, updated, ctx, ev)
                return updated, ctx

        return self.retry(attempt)

    def retry(self, attempt: Callable[[], T]) -> T:
        """:func:`retry` ``attempt``; inside a batch (:meth:`Store.batch`) run it once: a
        conflict there aborts the whole batch, which its caller retries."""
        if self.store.in_batch:
            return attempt()
        return retry(attempt)

    def next_event(
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
        occurred: LegalDate | None = None,
    ) -> Event:
        """The case's next event (unsealed: :meth:`change` chains it and hashes it).

        ``occurred``: the legal date as known, when only a range is (``on`` is its latest
        day, which orders the event); kept in ``data["occurred"]``.
        """
        data = dict(data or {})
        if occurred is not None and occurred.to_data() is not None:
            data["occurred"] = occurred.to_data()
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
            data=data,
        )


class ChangeContext:
    """What a change sees: the case row, its definitions, and, read only if asked for, its
    events and what they fold to (a note or a fact needs neither: no O(n) read per write).
    """

    def __init__(
        self,
        core: Core,
        conn: Any,
        record: CaseRecord,
        defs: Definitions,
        as_of: dt.date | None,
    ) -> None:
        self._core, self.conn, self._record, self.defs = core, conn, record, defs
        self._as_of = as_of
        self._events: list[Event] | None = None
        self._state: CaseState | None = None
        self._registry: Registry | None = None
        self._tally: Tally | object | None = _UNREAD
        self.written: Event | None = None
        """The event the change appended (None until it did, or if it wrote nothing)."""

    @property
    def registry(self) -> Registry:
        """The key registry, read in this transaction on first use."""
        if self._registry is None:
            self._registry = self._core.registry(self.conn)
        return self._registry

    @property
    def core(self) -> Core:
        return self._core

    @property
    def events(self) -> list[Event]:
        if self._events is None:
            self._events = self._core.store.events(self.conn, self._record.id)
        return self._events

    @property
    def tally(self) -> Tally | None:
        """The tally of the case's whole log from its projection row, read in this
        transaction on first use; None when the row is missing, stale or unreadable."""
        if self._tally is _UNREAD:
            self._tally = projections.current_tally(self._core, self.conn, self._record)
        return self._tally  # type: ignore[return-value]

    @property
    def last_on(self) -> dt.date | None:
        """The latest legal date of the case's events that count, from its tally (the
        projection row, else the log read in this transaction): never the case row's copy,
        which nothing binds to the log (an edited one must not let a step skip the order
        check)."""
        tally = self.tally
        if tally is None:
            tally = Tally.of(select(self.events))
        return tally.last_on

    @property
    def state(self) -> CaseState:
        """What the case's events fold to (as of the change's date; None: every event,
        clocks on today), from the projection row's tally when it answers (no event after
        that date), else from the log read in this transaction."""
        if self._state is None:
            tally = self.tally
            if tally is not None and (
                self._as_of is None or tally.horizon is None or tally.horizon <= self._as_of
            ):
                day = self._as_of or self._core.today()
                self._state = projections.evaluate_at(self._record, self.defs, tally, day)
            else:
                self._state = self._core.fold(
                    self._record, self.defs, self.events, as_of=self._as_of
                )
        return self._state

    def appended(self, ev: Event) -> None:
        self.written = ev
        if self._events is not None:
            self._events.append(ev)


@functools.cache
def _registry_type() -> type[Registry]:
    """:class:`treatyflow.registry.Registry`, imported on first use (the module loads
    ``cryptography``, which a command that reads no registry should not pay for at start-up);
    kept, because an import statement run in every change costs ~0.8 us (#19)."""
    from treatyflow.registry import Registry

    return Registry


def _recount(record: CaseRecord, events: Sequence[Event]) -> None:
    """The case row's last legal date and facts from the events that still count (after a
    retraction took one back)."""
    gone = retracted_seqs(events)
    counted = [
        e
        for e in apply_corrections(events)
        if e.kind is not EventKind.RETRACT and e.seq not in gone
    ]
    record.last_on = max(e.occurred_on for e in counted).isoformat()
    facts: dict[str, Any] = {}
    for e in counted:
        if e.kind in (EventKind.OPEN, EventKind.SET_FACT):
            facts.update(e.data.get("facts", {}))
    record.facts = facts


def cite_documents(conn: Any, ev: Event) -> Event:
    """The event, after checking that every document its sources cite is attached in the
    database (:func:`treatyflow.app.documents.check_citations`)."""
    if not any("document" in s for s in ev.sources):
        return ev
    from treatyflow.app.documents import check_citations

    return check_citations(conn, ev)


def seal(ev: Event, *, prev_hash: str | None = None) -> Event:
    """The event with its hash (over every other field, ``prev_hash`` included), chained to
    ``prev_hash`` when one is given (one copy of the event, not two)."""
    fields = ev.hashed_fields()
    if prev_hash is None:
        return _copy(ev, hash=event_hash(fields))
    fields["prev_hash"] = prev_hash
    return _copy(ev, prev_hash=prev_hash, hash=event_hash(fields))


def _copy(obj: T, **changes: Any) -> T:
    """``dataclasses.replace`` for a change's own records (an event, a case row): the same
    copy with ``changes`` (field names: checked) set, without running ``__init__`` again
    over every field (~10 µs a copy instead of ~2, twice a change, #19). Only for
    dataclasses without ``__post_init__`` or slots (those of :class:`Event` and
    :class:`CaseRecord`)."""
    names = obj.__dataclass_fields__  # type: ignore[attr-defined]
    for name in changes:
        if name not in names:
            raise TypeError(f"{type(obj).__name__} has no field {name!r}")
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    return new


def retry(attempt: Callable[[], T]) -> T:
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


def id_order(case_id: Any) -> tuple[bool, str]:
    """A sort key for case ids as the database returns them: text, or (tampered) bytes."""
    return (not isinstance(case_id, str), str(case_id))


def iso_map(values: dict[str, dt.date | None]) -> dict[str, str | None]:
    return {k: v.isoformat() if v else None for k, v in values.items()}
