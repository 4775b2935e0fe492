"""The case projection table (#19): one row per case, what its events add up to.

A row is current when its ``head_hash`` is the case row's: every write of treatyflow keeps it
so in the transaction that appends the event. A row that is missing (a database filled
outside treatyflow, an older version's) or stale is not used: the reader folds that case's
log instead, and ``db reproject`` or ``tick`` writes it again.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from treatyflow.events import Event
from treatyflow.store.prepared import PROJECTION_COLUMNS
from treatyflow.store.records import tally_text
from treatyflow.store.schema import case_projections, cases, events
from treatyflow.store.sql import _EVENT_COLUMNS, CaseRecord, Store, _event_from_tuple

P = case_projections
assert PROJECTION_COLUMNS == ("case_id", "head_hash", "horizon", "final", "next_fire", "tally")


@dataclass(frozen=True)
class ProjectionRow:
    """A case's projection row."""

    case_id: str
    head_hash: str
    horizon: str | None
    final: bool
    next_fire: str | None
    tally: dict[str, Any]

    def current_for(self, record: CaseRecord) -> bool:
        """Whether the row was computed from the case's log as it stands."""
        return self.head_hash == record.head_hash


def available(store: Store, conn: Connection) -> bool:
    """Whether the database has the table (a database not yet upgraded has not: writes then
    skip it and reads fold every case); checked once per store and schema upgrade."""
    if store.projection_table is None:
        store.projection_table = bool(sa.inspect(conn).has_table(P.name))
    return store.projection_table


def load(store: Store, conn: Connection, case_id: str) -> ProjectionRow | None:
    """The case's row, if it has one (a statement compiled once per store: it runs in
    every change)."""
    row = store.prepared.execute(conn, "projection", {"case_id": case_id}).fetchone()
    if row is None:
        return None
    case, head, horizon, final, next_fire, tally = row  # PROJECTION_COLUMNS' order
    return ProjectionRow(case, head, horizon, bool(final), next_fire, _loads(tally))


def save(store: Store, conn: Connection, row: ProjectionRow) -> None:
    """Insert or replace the case's row (a statement compiled once per store)."""
    values = {
        "case_id": row.case_id,
        "head_hash": row.head_hash,
        "horizon": row.horizon,
        "final": row.final,
        "next_fire": row.next_fire,
        "tally": tally_text(row.tally),
    }
    store.prepared.execute(conn, "save_projection", values)


def values(row: ProjectionRow) -> dict[str, Any]:
    """The row's column values as :func:`save` stores them (for ``executemany``)."""
    return {
        "case_id": row.case_id,
        "head_hash": row.head_hash,
        "horizon": row.horizon,
        "final": row.final,
        "next_fire": row.next_fire,
        "tally": tally_text(row.tally),
    }


def open_cases(
    conn: Connection, day: str | None, *, open_only: bool = True
) -> Iterator[tuple[CaseRecord, ProjectionRow | None]]:
    """Every case row by id with its projection row, streamed; with ``open_only``, leaving
    out the cases whose current row says they are final with no event after ``day`` (None:
    final at all). A case with a stale or missing row is listed, with that row or None."""
    query = sa.select(cases, *_projection_columns()).select_from(
        cases.outerjoin(P, P.c.case_id == cases.c.id)
    )
    if open_only:
        keep = [P.c.case_id.is_(None), P.c.head_hash != cases.c.head_hash, sa.not_(P.c.final)]
        if day is not None:
            keep.append(P.c.horizon > day)
        query = query.where(sa.or_(*keep))
    yield from _joined(conn, query.order_by(cases.c.id))


def tick_candidates(
    conn: Connection, day: str
) -> Iterator[tuple[CaseRecord, ProjectionRow | None]]:
    """The cases ``tick`` must look at on ``day``: those whose current row has a clock that
    fires on or before it, or whose events reach past it, and every case without a current
    row; by id."""
    query = (
        sa.select(cases, *_projection_columns())
        .select_from(cases.outerjoin(P, P.c.case_id == cases.c.id))
        .where(
            sa.or_(
                P.c.case_id.is_(None),
                P.c.head_hash != cases.c.head_hash,
                P.c.next_fire <= day,
                P.c.horizon > day,
            )
        )
        .order_by(cases.c.id)
    )
    yield from _joined(conn, query)


def current_ids(conn: Connection, ids: Sequence[str] | None = None) -> set[str]:
    """The ids of the cases whose row is current."""
    query = sa.select(P.c.case_id).join(cases, cases.c.id == P.c.case_id)
    query = query.where(P.c.head_hash == cases.c.head_hash)
    if ids is not None:
        query = query.where(P.c.case_id.in_(list(ids)))
    return {str(r[0]) for r in conn.execute(query)}


def events_of(conn: Connection, ids: Sequence[str]) -> dict[str, list[Event]]:
    """The events of each of ``ids`` (one query), by seq."""
    query = (
        sa.select(*(events.c[name] for name in _EVENT_COLUMNS))
        .where(events.c.case_id.in_(list(ids)))
        .order_by(events.c.case_id, events.c.seq)
    )
    out: dict[str, list[Event]] = {}
    for row in conn.execute(query):
        out.setdefault(row[0], []).append(_event_from_tuple(row))
    return out


def all_rows(conn: Connection) -> Iterator[ProjectionRow]:
    """Every projection row by case id, streamed."""
    query = sa.select(P).order_by(P.c.case_id)
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
    with contextlib.closing(result):
        for row in result:
            yield _row(row._mapping)


def _projection_columns() -> list[Any]:
    return [
        P.c.case_id.label("p_case_id"),
        P.c.head_hash.label("p_head_hash"),
        P.c.horizon.label("p_horizon"),
        P.c.final.label("p_final"),
        P.c.next_fire.label("p_next_fire"),
        P.c.tally.label("p_tally"),
    ]


def _joined(conn: Connection, query: Any) -> Iterator[tuple[CaseRecord, ProjectionRow | None]]:
    names = [c.name for c in cases.columns]
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
    with contextlib.closing(result):  # a reader that stops early closes the cursor
        for row in result:
            m = row._mapping
            data = {n: m[n] for n in names}
            data["facts"] = json.loads(data["facts"])
            record = CaseRecord(**data)
            proj = None
            if m["p_case_id"] is not None:
                proj = ProjectionRow(
                    case_id=m["p_case_id"],
                    head_hash=m["p_head_hash"],
                    horizon=m["p_horizon"],
                    final=bool(m["p_final"]),
                    next_fire=m["p_next_fire"],
                    tally=_loads(m["p_tally"]),
                )
            yield record, proj


def _row(m: Any) -> ProjectionRow:
    return ProjectionRow(
        case_id=m["case_id"],
        head_hash=m["head_hash"],
        horizon=m["horizon"],
        final=bool(m["final"]),
        next_fire=m["next_fire"],
        tally=_loads(m["tally"]),
    )


def _loads(text: Any) -> dict[str, Any]:
    """The stored tally; an unreadable one (edited outside treatyflow) is empty, which no
    format accepts: the case is then read from its log."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}
