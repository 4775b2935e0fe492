"""The statements of a case change, compiled once per dialect and run on the driver's cursor.

Every advance, fact or note runs the same few statements: read the case row, read its events,
read the key registry, move the case row's head, append the event. Built as SQLAlchemy Core
expressions and executed through a :class:`~sqlalchemy.engine.Connection`, each one cost
~75-270 µs of Python per call (building the expression, its cache key, parameter
processing, the execution context) against ~12 µs for the driver itself: the larger part
of a transition's CPU time (#19). Here each is still written as a Core expression (so
SQLAlchemy quotes and formats it for the dialect) but compiled once per store, the first
time it runs; the SQL text then runs on the DBAPI cursor of the connection the transaction
already holds. A driver error is re-raised as SQLAlchemy's own wrapper
(:meth:`DBAPIError.instance`), so :meth:`Store.write` maps it as it maps any other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from treatyflow.store.schema import case_projections, cases, events, registry

#: Case-row columns, in the order :meth:`CaseRecord.from_tuple` reads them.
CASE_COLUMNS = tuple(c.name for c in cases.c)
#: The columns a case change writes to the case row (a migration also the two hashes).
CASE_UPDATE = ("state", "version", "head_hash", "last_on", "facts", "updated_at")
CASE_REPIN = ("procedure_hash", "treaty_hash")
#: Event columns an append writes (``id`` is the database's; ``recorded_by`` its trigger's).
EVENT_INSERT = tuple(c.name for c in events.c if c.name not in ("id", "recorded_by"))
#: Registry columns, in the order :class:`treatyflow.registry.Entry` takes them.
REGISTRY_COLUMNS = tuple(c.name for c in registry.c)
#: Case projection columns, in the order :func:`treatyflow.store.projections.load` reads them.
PROJECTION_COLUMNS = tuple(c.name for c in case_projections.c)


def _statements(event_columns: Sequence[str], dialect: str) -> dict[str, sa.ClauseElement]:
    """The hot statements, as Core expressions with named bind parameters (the event
    INSERT's are its column names, the projection upsert's too)."""
    by_id = sa.select(cases).where(cases.c.id == sa.bindparam("id"))
    P = case_projections
    return {
        "case": by_id,
        "case_for_update": by_id.with_for_update(),
        "events": sa.select(*(events.c[name] for name in event_columns))
        .where(events.c.case_id == sa.bindparam("case_id"))
        .order_by(events.c.seq),
        "registry": sa.select(registry).order_by(registry.c.seq),
        "update": _update(CASE_UPDATE),
        "update_repin": _update(CASE_UPDATE + CASE_REPIN),
        "insert_event": events.insert().inline(),
        "projection": sa.select(P).where(P.c.case_id == sa.bindparam("case_id")),
        "save_projection": _upsert(dialect),
    }


def _upsert(dialect: str) -> sa.ClauseElement:
    """``INSERT ... ON CONFLICT (case_id) DO UPDATE``: the case's projection row, inserted or
    replaced (SQLite and PostgreSQL spell it alike)."""
    P = case_projections
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    stmt = insert(P).values({name: sa.bindparam(name) for name in PROJECTION_COLUMNS})
    return stmt.on_conflict_do_update(
        index_elements=[P.c.case_id],
        set_={name: stmt.excluded[name] for name in PROJECTION_COLUMNS if name != "case_id"},
    )


def _update(columns: Sequence[str]) -> sa.ClauseElement:
    """``UPDATE cases SET ... WHERE id = :w_id AND version = :w_version`` (the version check)."""
    return (
        cases.update()
        .where(cases.c.id == sa.bindparam("w_id"), cases.c.version == sa.bindparam("w_version"))
        .values({name: sa.bindparam(f"v_{name}") for name in columns})
    )


class Prepared:
    """The hot statements for one dialect, each compiled the first time it runs (a command
    that reads no case compiles none: start-up pays nothing)."""

    def __init__(self, dialect: Dialect, event_columns: Sequence[str]) -> None:
        self._dialect = dialect
        self._event_columns = tuple(event_columns)
        self._sql: dict[str, tuple[str, tuple[str, ...] | None]] = {}
        self._built: dict[str, sa.ClauseElement] | None = None
        dbapi = dialect.dbapi  # None only for a dialect made without a driver (tests)
        self._error: type[Exception] = dbapi.Error if dbapi is not None else Exception

    def _compiled(self, name: str) -> tuple[str, tuple[str, ...] | None]:
        """Statement ``name``'s SQL text and the order of its bind names (positional
        paramstyles; None for named ones), compiled on first use and kept."""
        found = self._sql.get(name)
        if found is None:
            if self._built is None:  # the expressions, built once (compiled one by one)
                self._built = _statements(self._event_columns, self._dialect.name)
            stmt = self._built[name]
            keys = list(EVENT_INSERT) if name == "insert_event" else None
            compiled = stmt.compile(dialect=self._dialect, column_keys=keys)
            assert isinstance(compiled, SQLCompiler)
            order = compiled.positiontup  # the bind names in order (a positional paramstyle)
            found = (str(compiled), tuple(order) if order is not None else None)
            self._sql[name] = found
        return found

    def execute(self, conn: Connection, name: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run statement ``name`` with ``params`` in ``conn``'s transaction; the DBAPI
        cursor (fetch from it, or read its ``rowcount``)."""
        sql, order = self._compiled(name)
        values: Any = params or {}
        if order is not None:
            values = tuple(values[key] for key in order)
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(sql, values)
        except self._error as exc:
            raise sa.exc.DBAPIError.instance(
                sql, values, exc, self._error, dialect=self._dialect
            ) from exc
        return cursor

    def sql(self, name: str) -> str:
        """The compiled SQL text of statement ``name`` (for tests and docs)."""
        return self._compiled(name)[0]
