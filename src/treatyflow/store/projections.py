"""The case projection table (#19): one row per case, what its events add up to.

A row is current when its ``head_hash`` is the case row's: every write of treatyflow keeps it
so in the transaction that appends the event. A row that is missing (a database filled
outside treatyflow, an older version's) or stale is not used: the reader folds that case's
log instead, and ``db reproject`` or ``tick`` writes it again.

Every row is **sealed**: its stored tally text begins with ``{"seal":"<hex>",``, the SHA-256
of the row's other columns and of the tally's canonical text. A row whose seal does not
match (edited outside treatyflow) is read with an empty tally, which no reader uses: the
case is folded from its log, so an edited row can never decide a change's checks or the date
``tick`` writes; ``verify`` names every such row (:func:`unsealed`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Sequence
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
    tally = _opened(tally, case, head, horizon, final, next_fire)
    return ProjectionRow(case, head, horizon, bool(final), next_fire, tally)


def save(store: Store, conn: Connection, row: ProjectionRow) -> None:
    """Insert or replace the case's row (a statement compiled once per store)."""
    store.prepared.execute(conn, "save_projection", values(row))


def values(row: ProjectionRow) -> dict[str, Any]:
    """The row's column values as :func:`save` stores them (for ``executemany``)."""
    return {
        "case_id": row.case_id,
        "head_hash": row.head_hash,
        "horizon": row.horizon,
        "final": row.final,
        "next_fire": row.next_fire,
        "tally": sealed_text(row),
    }


#: How a sealed tally text begins: ``{"seal":"``, 64 hex digits, ``"``.
_SEAL_HEAD = '{"seal":"'
_SEAL_END = len(_SEAL_HEAD) + 64


def _seal(case_id: Any, head: Any, horizon: Any, final: Any, next_fire: Any, body: str) -> str:
    """The SHA-256 (hex) of a row's columns and its tally's canonical text ``body``."""
    h = hashlib.sha256(_meta(case_id, head, horizon, final, next_fire))
    h.update(body.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _meta(case_id: Any, head: Any, horizon: Any, final: Any, next_fire: Any) -> bytes:
    """The row's columns but the tally, one per line (a case id holds no line break; None
    is the empty line, which no date or hash is). (One f-string: ``format(v, "")`` is
    ``str(v)`` for every value a column holds; five times as fast as joining a generator.)"""
    text = (
        f"{'' if case_id is None else case_id}\n{'' if head is None else head}\n"
        f"{'' if horizon is None else horizon}\n{'1' if final else '0'}\n"
        f"{'' if next_fire is None else next_fire}\n"
    )
    return text.encode("utf-8", "surrogatepass")


def sealed_text(row: ProjectionRow) -> str:
    """The row's tally as stored: its canonical text with the row's seal as first key."""
    body = tally_text(row.tally)
    seal = _seal(row.case_id, row.head_hash, row.horizon, row.final, row.next_fire, body)
    rest = "}" if body == "{}" else "," + body[1:]
    return f'{_SEAL_HEAD}{seal}"{rest}'


def _body(
    text: Any, case_id: Any, head: Any, horizon: Any, final: Any, next_fire: Any
) -> str | None:
    """The canonical tally text of a stored one whose seal matches the row; else None."""
    if not isinstance(text, str) or not text.startswith(_SEAL_HEAD):
        return None
    if text[_SEAL_END : _SEAL_END + 1] != '"':
        return None
    rest = text[_SEAL_END + 1 :]
    if rest == "}":
        body = "{}"
    elif rest.startswith(","):
        body = "{" + rest[1:]
    else:
        return None
    seal = _seal(case_id, head, horizon, final, next_fire, body)
    return body if hmac.compare_digest(seal, text[len(_SEAL_HEAD) : _SEAL_END]) else None


def _opened(
    text: Any, case_id: Any, head: Any, horizon: Any, final: Any, next_fire: Any
) -> dict[str, Any]:
    """The stored tally when the row's seal matches; else empty (no reader uses it)."""
    return _loads(_body(text, case_id, head, horizon, final, next_fire))


def unsealed(conn: Connection) -> Iterator[tuple[str, int]]:
    """(case id, the case's version) of every case whose projection row's seal does not
    match it (the row, or its tally, was edited outside treatyflow), by case id, streamed.
    A case without a row, or a stale one that is sealed, is not listed: neither is read.
    (``verify``'s fast pass checks the same rows in its worker processes:
    :func:`unsealed_rows` of :data:`SEAL_SCAN_COLUMNS`.)"""
    query = (
        sa.select(P, cases.c.version)
        .select_from(P.join(cases, cases.c.id == P.c.case_id))
        .order_by(P.c.case_id)
    )
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
    with contextlib.closing(result):
        yield from unsealed_rows(result)


#: The columns :func:`unsealed_rows` reads: a projection row's, then its case's version.
SEAL_SCAN_COLUMNS = ("case_id", "head_hash", "horizon", "final", "next_fire", "tally", "version")


def unsealed_rows(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[str, int]]:
    """(case id, version) of each row (:data:`SEAL_SCAN_COLUMNS`, any driver's) whose seal
    does not match it, in the rows' order."""
    body = _body
    for case_id, head, horizon, final, next_fire, tally, version in rows:
        if body(tally, case_id, head, horizon, final, next_fire) is None:
            yield str(case_id), int(version)


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
            record = CaseRecord.from_data({n: m[n] for n in names})
            proj = None
            if m["p_case_id"] is not None:
                proj = _row(
                    {
                        "case_id": m["p_case_id"],
                        "head_hash": m["p_head_hash"],
                        "horizon": m["p_horizon"],
                        "final": m["p_final"],
                        "next_fire": m["p_next_fire"],
                        "tally": m["p_tally"],
                    }
                )
            yield record, proj


def _row(m: Any) -> ProjectionRow:
    return ProjectionRow(
        case_id=m["case_id"],
        head_hash=m["head_hash"],
        horizon=m["horizon"],
        final=bool(m["final"]),
        next_fire=m["next_fire"],
        tally=_opened(
            m["tally"], m["case_id"], m["head_hash"], m["horizon"], m["final"], m["next_fire"]
        ),
    )


def _loads(text: Any) -> dict[str, Any]:
    """The stored tally; an unreadable one (edited outside treatyflow) is empty, which no
    format accepts: the case is then read from its log."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}
