"""The case projection (#19): what each case's events add up to, kept with every event.

Per case, one row (:mod:`treatyflow.store.projections`): the :class:`~treatyflow.projection.Tally`
of its whole log, whether it is final, the latest legal date an as-of date can leave out
(``horizon``) and the first day one of its clocks fires (``next_fire``). What keeps it true:

- every event is appended by :meth:`Core.change <treatyflow.app.core.Core.change>` or by
  opening a case, and both write the case's row in the same transaction (:func:`track`):
  the new event is added to the stored tally, or, after a correction or a retraction (which
  change how earlier events count), the log is tallied afresh;
- a row records the case's head hash: one computed from another log (rows written outside
  treatyflow, an import, an older version) is stale and never read;
- ``tick`` and ``import`` write the rows that are missing or stale, and ``db reproject``
  rewrites any or all of them; ``doctor`` says when rows are missing, stale or disagree
  with the log.

Readers (:func:`views`) evaluate a current row's tally on the as-of date when no event
of the case lies after it, which gives exactly what folding the log gives (the fold is
:func:`~treatyflow.projection.evaluate` of the same tally); any other case, and any read
``known_at`` a record time, folds the log as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from treatyflow import engine
from treatyflow.events import Event
from treatyflow.legal.clocks import Clock, ClockStatus
from treatyflow.projection import CaseState, Tally, evaluate, select
from treatyflow.results import CaseView, Review
from treatyflow.store import projections as rows
from treatyflow.store.projections import ProjectionRow
from treatyflow.store.sql import CaseRecord

if TYPE_CHECKING:
    from treatyflow.app.core import ChangeContext, Core, Definitions
    from treatyflow.definitions.procedure import TransitionSpec

T = TypeVar("T")

#: Cases rewritten per transaction by :func:`rebuild` (and logs read per query by readers).
REBUILD_BATCH = 500
#: At most this many events are held at once by :func:`rebuild` (the logs of a batch are
#: read a few cases at a time), so its memory is bounded whatever the cases' sizes.
REBUILD_EVENTS = 200


def fireable(
    defs: Definitions, state: str, st: CaseState
) -> Iterator[tuple[Clock, TransitionSpec]]:
    """The due clocks ``tick`` can fire from ``state``, in the procedure's order, with the
    transition each fires: a clock that fires a transition declared there whose guards hold
    on the facts of its due date."""
    for clock in st.clocks:
        if clock.status is not ClockStatus.DUE or clock.due_on is None:
            continue
        spec = defs.procedure.clock(clock.name)
        if spec is None or not spec.fires:
            continue
        tr = defs.machine.transition(state, spec.fires)
        if tr is None or engine.guard_failures(tr.guards, st.facts_on(clock.due_on)):
            continue
        yield clock, tr


def row_for(core: Core, record: CaseRecord, defs: Definitions, tally: Tally) -> ProjectionRow:
    """The projection row of a case whose log tallies to ``tally``."""
    st = evaluate_at(record, defs, tally, dt.date.max)
    state = st.state or record.state
    spec = defs.procedure.state(state)
    # On a date on or after the horizon a clock is due exactly when it is due on the last
    # day there is with its due date on or before that date (its date depends on the facts,
    # all known by then, not on the as-of date): the first of those dates is when tick
    # fires something.
    fires = [clock.due_on for clock, _ in fireable(defs, record.state, st) if clock.due_on]
    return ProjectionRow(
        case_id=record.id,
        head_hash=record.head_hash,
        horizon=None if tally.horizon is None else tally.horizon.isoformat(),
        final=bool(spec and spec.final),
        next_fire=min(fires).isoformat() if fires else None,
        tally=tally.to_json(),
    )


def current_tally(core: Core, conn: Any, record: CaseRecord) -> Tally | None:
    """The tally of the case's whole log from its projection row, when the row is current
    for ``record`` (read in ``conn``'s transaction); else None."""
    if not rows.available(core.store, conn):
        return None
    row = rows.load(core.store, conn, record.id)
    return usable(record, row, None)


def track(
    core: Core, conn: Any, before: CaseRecord, after: CaseRecord, ctx: ChangeContext, ev: Event
) -> None:
    """Write the case's row for its log with ``ev`` appended (in the change's transaction):
    the row's tally as the change read it (current for ``before``) with ``ev`` added, or the
    log tallied afresh."""
    if not rows.available(core.store, conn):
        return
    tally = ctx.tally
    if tally is not None and tally.can_add(ev):
        tally.add(ev)
    else:
        tally = Tally.of(select(ctx.events))
    defs = (
        ctx.defs
        if after.procedure_hash == before.procedure_hash
        and after.treaty_hash == before.treaty_hash
        else core.definitions_for(conn, after)
    )
    rows.save(core.store, conn, row_for(core, after, defs, tally))


def track_new(core: Core, conn: Any, record: CaseRecord, first: Event) -> None:
    """Write the row of a case just opened with the event ``first``."""
    if not rows.available(core.store, conn):
        return
    defs = core.definitions_for(conn, record)
    rows.save(core.store, conn, row_for(core, record, defs, Tally.of([first])))


def usable(record: CaseRecord, row: ProjectionRow | None, day: dt.date | None) -> Tally | None:
    """The row's tally when it answers a read as of ``day`` (None: every event, whatever
    its date): current, of this format, and no event of the case after ``day``; else None
    (fold the log)."""
    if row is None or not row.current_for(record):
        return None
    if day is not None and row.horizon is not None and row.horizon > day.isoformat():
        return None
    return Tally.from_json(row.tally)


def views(core: Core, as_of: dt.date | None, *, open_only: bool = True) -> Iterator[CaseView]:
    """The view as of ``as_of`` (None: every event, clocks on today) of every case (with
    ``open_only``, of every case not final), in id order, from the projection where it
    answers, else from the case's log."""
    from treatyflow.app.views import case_view

    day = as_of or core.today()
    with core.store.read() as conn:
        listed: Iterator[tuple[CaseRecord, ProjectionRow | None]] = (
            rows.open_cases(
                conn, None if as_of is None else as_of.isoformat(), open_only=open_only
            )
            if rows.available(core.store, conn)
            else ((record, None) for record in core.store.iter_cases(conn))
        )
        # The cases the rows cannot answer are folded from their logs, read one query per
        # chunk of cases (a database without rows costs one streaming pass, not a query
        # per case).
        for chunk in _chunks(listed, REBUILD_BATCH):
            tallies = [usable(record, row, as_of) for record, row in chunk]
            need = [r.id for (r, _), t in zip(chunk, tallies, strict=True) if t is None]
            logs = rows.events_of(conn, need) if need else {}
            for (record, _), tally in zip(chunk, tallies, strict=True):
                if tally is None:
                    events = logs.get(record.id, [])
                    defs = core.definitions_in_force(conn, record, events, None)
                    yield case_view(core, record, defs, events, as_of=as_of, known_at=None)
                else:
                    defs = core.definitions_for(conn, record)
                    yield view_from(core, record, defs, tally, day)


def _chunks(items: Iterator[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def view_from(
    core: Core, record: CaseRecord, defs: Definitions, tally: Tally, day: dt.date
) -> CaseView:
    """The case view as of ``day`` from the tally of its whole log."""
    from treatyflow.app.documents import info_of
    from treatyflow.app.views import view_of

    st = evaluate_at(record, defs, tally, day)
    return view_of(
        core,
        record,
        defs,
        st,
        as_of=day,
        known_at=None,
        definitions_since=tally.migrated_at,
        head_hash=record.head_hash if tally.version else None,
        awaiting=tuple(Review(*p) for p in tally.awaiting_review()),
        documents=tuple(info_of(*a) for a in tally.attached),
    )


def evaluate_at(record: CaseRecord, defs: Definitions, tally: Tally, day: dt.date) -> CaseState:
    return evaluate(
        tally,
        procedure=defs.procedure,
        treaty=defs.treaty,
        action=record.action,
        country=record.country,
        as_of=day,
    )


def rebuild(core: Core, case_ids: Sequence[str] | None = None, *, stale_only: bool = True) -> int:
    """Write the rows of every case (or of ``case_ids``) that has none or a stale one (with
    ``stale_only`` false: every row), :data:`REBUILD_BATCH` cases per transaction. Returns
    the number of rows written."""
    wanted = None if case_ids is None else set(case_ids)
    written = 0
    with core.store.read() as conn:
        if not rows.available(core.store, conn):
            return 0
        current = rows.current_ids(conn) if stale_only else set()
        todo = [
            (r.id, r.version)
            for r in core.store.iter_cases(conn)
            if r.id not in current and (wanted is None or r.id in wanted)
        ]
    for start in range(0, len(todo), REBUILD_BATCH):
        with core.store.write() as conn:
            for chunk in _batches(todo[start : start + REBUILD_BATCH]):
                logs = rows.events_of(conn, chunk)
                for case_id in chunk:
                    record = core.store.get_case(conn, case_id)
                    events = logs.pop(case_id, None)
                    if record is None or not events:
                        continue
                    defs = core.definitions_for(conn, record)
                    tally = Tally.of(select(events))
                    row = row_for(core, record, defs, tally)
                    rows.save(core.store, conn, row)
                    written += 1
    return written


def _batches(todo: Sequence[tuple[str, int]]) -> Iterator[list[str]]:
    """The case ids in batches of at most :data:`REBUILD_EVENTS` events (but for a single
    larger case; a case row's version counts its events), whose logs are read together."""
    chunk: list[str] = []
    held = 0
    for case_id, version in todo:
        if chunk and held + version > REBUILD_EVENTS:
            yield chunk
            chunk, held = [], 0
        chunk.append(case_id)
        held += version
    if chunk:
        yield chunk


def check(core: Core) -> tuple[list[str], list[str], list[str]]:
    """(cases without a row, cases whose row is stale, cases whose current row disagrees
    with their log), each in id order: what ``doctor`` reports."""
    from treatyflow.app.queries import with_events

    missing: list[str] = []
    stale: list[str] = []
    wrong: list[str] = []
    with core.store.read() as conn:
        stored = {r.case_id: r for r in rows.all_rows(conn)}
        for record, events in with_events(core, conn, None):
            row = stored.get(record.id)
            if row is None:
                missing.append(record.id)
            elif not row.current_for(record):
                stale.append(record.id)
            else:
                defs = core.definitions_for(conn, record)
                fresh = row_for(core, record, defs, Tally.of(select(events)))
                if fresh != row:
                    wrong.append(record.id)
    return missing, stale, wrong
