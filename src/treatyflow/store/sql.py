"""The SQL store: :func:`open_store`, and :class:`Store` with the case and event queries (its
other queries, its transactions and SQLite's set-up are in the modules named below).

SQLite: WAL, ``synchronous=FULL``, foreign keys on, a busy timeout, and every write
transaction opened with ``BEGIN IMMEDIATE`` (a deferred BEGIN that later needs the write
lock fails under concurrent writers instead of waiting), so writers are serialised.

PostgreSQL: write transactions run at READ COMMITTED and read the case row ``FOR UPDATE``
(writers to one case queue instead of failing); read transactions run at REPEATABLE READ,
READ ONLY, so ``verify``, ``export`` and ``checkpoint`` see one consistent snapshot.

On both, the case row's version check (``UPDATE cases ... WHERE id = ? AND version = ?``)
is what makes a lost update or a forked chain impossible: the chain head is only ever moved
from the version the writer read, and the unique (case_id, seq) backs it up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from treatyflow.errors import (
    ConcurrentUpdate,
    DatabaseNotInitialised,
    StoreBusy,
    StoreError,
    StoreUnavailable,
)
from treatyflow.events import Event
from treatyflow.redaction import redact
from treatyflow.store.definitions import DefinitionQueries
from treatyflow.store.integrity import IntegrityQueries, newest_recorded_at
from treatyflow.store.records import (
    _EVENT_COLUMNS,
    CaseRecord,
    ChainHead,
    _event_from_tuple,
    _loads,
    _unique_keys,
    event_from_row,
    event_row,
    facts_text,
    hashed_row,
)
from treatyflow.store.schema import case_projections, cases, definitions, events, registry
from treatyflow.store.sqlite import (
    _configure_sqlite,
    _create_private_file,
    _refuse_special_file,
    _sqlite_engine,
    sqlite_integrity,
)
from treatyflow.store.transactions import (
    RETRYABLE_SQLSTATES,
    Transactions,
    _operational,
    is_retryable,
)
from treatyflow.store.trust import TrustQueries
from treatyflow.store.urls import (
    UrlParts,
    _refuse_keyword_dsn,
    is_keyword_dsn,
    to_url,
    url_parts,
)

# The Store's queries are grouped by job, one module each: transactions.py (connections,
# transactions, driver errors), records.py (rows <-> CaseRecord, Event), trust.py,
# definitions.py, integrity.py; SQLite's set-up in sqlite.py, paths and URLs in urls.py.
# The names of theirs used elsewhere are importable from here too (__all__).
__all__ = [
    "BATCH_SIZE",
    "BUSY_TIMEOUT_MS",
    "RETRYABLE_SQLSTATES",
    "_EVENT_COLUMNS",
    "CaseRecord",
    "ChainHead",
    "Store",
    "StoreBusy",
    "UrlParts",
    "_event_from_tuple",
    "_loads",
    "_operational",
    "_unique_keys",
    "event_from_row",
    "event_row",
    "hashed_row",
    "is_keyword_dsn",
    "is_retryable",
    "newest_recorded_at",
    "open_store",
    "sqlite_integrity",
    "table_names",
    "to_url",
    "url_parts",
]

BUSY_TIMEOUT_MS = 10_000
#: Rows per ``executemany`` batch in bulk inserts (import).
BATCH_SIZE = 1000


class Store(IntegrityQueries, TrustQueries, DefinitionQueries, Transactions):
    """The database: the cases' and events' queries here, the others in their groups."""

    # -- cases ----------------------------------------------------------------------
    def get_case(self, conn: Connection, case_id: str) -> CaseRecord | None:
        """The case row; in a write transaction on PostgreSQL, locked until commit."""
        name = "case"
        if not self.is_sqlite and conn.get_execution_options().get("treatyflow_write"):
            name = "case_for_update"
        row = self._prepared.execute(conn, name, {"id": case_id}).fetchone()
        return None if row is None else CaseRecord.from_tuple(row)

    def free_case_id(self, conn: Connection, base: str) -> str:
        """The first of ``base``, ``base-2``, ``base-3``, ... that no case has, in ONE query.

        The database walks the sequence itself (a recursive query probing the primary key,
        one index lookup per taken id, no round trip each): the same id as probing one at a
        time, in a constant number of statements however many ids are taken. Equality only,
        so no collation can change the answer. Two writers may still pick the same id: the
        insert then conflicts and the opening is retried (:meth:`insert_case`).
        """
        sql = sa.text(
            "WITH RECURSIVE probe(n, id) AS ("
            " SELECT 1, CAST(:base AS TEXT)"
            " UNION ALL"
            " SELECT n + 1, CAST(:base AS TEXT) || '-' || CAST(n + 1 AS TEXT) FROM probe"
            " WHERE EXISTS (SELECT 1 FROM cases WHERE cases.id = probe.id)"
            ") SELECT id FROM probe ORDER BY n DESC LIMIT 1"
        )
        return str(conn.execute(sql, {"base": base}).scalar_one())

    def list_cases(self, conn: Connection) -> list[CaseRecord]:
        return list(self.iter_cases(conn))

    def count_cases(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one())

    def case_ids(self, conn: Connection, *, countries: Sequence[str] = ()) -> set[str]:
        """Every case id (with ``countries``: of those countries' cases only)."""
        query = sa.select(cases.c.id)
        if countries:
            query = query.where(cases.c.country.in_(countries))
        return {str(r[0]) for r in conn.execute(query)}

    def iter_cases(
        self, conn: Connection, *, countries: Sequence[str] = ()
    ) -> Iterator[CaseRecord]:
        """Every case row by id, streamed (a server-side cursor on PostgreSQL); with
        ``countries``, only those countries' cases are read."""
        query = sa.select(cases).order_by(cases.c.id)
        if countries:
            query = query.where(cases.c.country.in_(countries))
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        with contextlib.closing(result):  # a reader that stops early closes the cursor
            for row in result:
                yield CaseRecord.from_row(row)

    def insert_case(self, conn: Connection, case: CaseRecord, first: Event) -> None:
        """Insert a new case and its first event.

        A duplicate id here means another writer created the case since this transaction
        checked: that is a conflict, retried (the retry's own check then names it).
        """
        try:
            conn.execute(cases.insert().values(**case.to_row()))
        except IntegrityError as exc:
            raise ConcurrentUpdate(case.id) from exc
        self._insert_event(conn, first)

    def append(
        self,
        conn: Connection,
        case: CaseRecord,
        expected_version: int,
        ev: Event,
        *,
        repin: bool = False,
    ) -> None:
        """Append ``ev`` and update the case row unless it changed since ``expected_version``.

        ``repin`` also writes the row's definition hashes (a migration); other writes leave
        those columns alone, so column-level grants need not allow updating them.
        """
        values: dict[str, Any] = {
            "v_state": case.state,
            "v_version": case.version,
            "v_head_hash": case.head_hash,
            "v_last_on": case.last_on,
            "v_facts": facts_text(case.facts),
            "v_updated_at": case.updated_at,
            "w_id": case.id,
            "w_version": expected_version,
        }
        if repin:
            values["v_procedure_hash"] = case.procedure_hash
            values["v_treaty_hash"] = case.treaty_hash
        cursor = self._prepared.execute(conn, "update_repin" if repin else "update", values)
        if cursor.rowcount != 1:
            raise ConcurrentUpdate(case.id)
        self._insert_event(conn, ev)

    def _insert_event(self, conn: Connection, ev: Event) -> None:
        self._prepared.execute(conn, "insert_event", event_row(ev))

    # -- events ---------------------------------------------------------------------
    def events(self, conn: Connection, case_id: str) -> list[Event]:
        rows = self._prepared.execute(conn, "events", {"case_id": case_id}).fetchall()
        return [_event_from_tuple(r) for r in rows]

    def events_by_case(
        self, conn: Connection, *, countries: Sequence[str] = ()
    ) -> Generator[tuple[str, list[Event]], None, None]:
        """(case id, its events by seq) for every case, from one streaming query ordered by
        (case_id, seq): one case's events in memory at a time. With ``countries``, only the
        events of those countries' cases are read."""
        query = sa.select(*(events.c[name] for name in _EVENT_COLUMNS)).order_by(
            events.c.case_id, events.c.seq
        )
        if countries:
            chosen = sa.select(cases.c.id).where(cases.c.country.in_(countries))
            query = query.where(events.c.case_id.in_(chosen))
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        current: str | None = None
        batch: list[Event] = []
        with contextlib.closing(result):  # a reader that stops early closes the cursor
            for row in result:
                if row[0] != current:
                    if current is not None:
                        yield current, batch
                    current, batch = row[0], []
                batch.append(_event_from_tuple(row))
        if current is not None:
            yield current, batch

    def bulk_insert(
        self,
        conn: Connection,
        table: str,
        columns: Sequence[str],
        rows: Iterable[tuple[Any, ...]],
    ) -> int:
        """Insert ``rows`` (tuples of ``columns``' values) into ``table`` with
        ``executemany`` in batches of BATCH_SIZE; ``ON CONFLICT DO NOTHING`` for definitions.

        The driver's own ``executemany`` over tuples (every column is text or an integer, so
        Core's per-row parameter processing would change nothing).
        """
        target = {
            "definitions": definitions,
            "cases": cases,
            "events": events,
            "registry": registry,
            "case_projections": case_projections,
        }[table]
        unknown = [c for c in columns if c not in target.c]
        if unknown:
            raise StoreError(f"no such column in {target.name}: {', '.join(unknown)}")
        names = ", ".join(f'"{c}"' for c in columns)
        mark = "?" if self.is_sqlite else "%s"
        marks = ", ".join(mark for _ in columns)
        # names are the table's own columns (checked above); values are bound
        sql = f"INSERT INTO {target.name} ({names}) VALUES ({marks})"  # noqa: S608
        if table == "definitions":
            sql += " ON CONFLICT DO NOTHING"
        total = 0
        for batch in _batches(rows):
            conn.exec_driver_sql(sql, batch)
            total += len(batch)
        return total


def _batches(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """Lists of BATCH_SIZE rows (``itertools.batched`` is Python 3.12+)."""
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def open_store(db: str, *, create: bool = False) -> Store:
    """Open the database at ``db`` (a path or URL). Without ``create`` it must exist."""
    _refuse_keyword_dsn(db)
    url = to_url(db)
    try:
        sa_url = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreUnavailable(f"{redact(db, db)!r} is not a database path or URL.") from None
    except ValueError as exc:  # e.g. a port that is not a number
        raise StoreUnavailable(
            f"{redact(db, db)!r} is not a database URL ({redact(str(exc), db)})."
        ) from None
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database or ""
        if database and database != ":memory:":
            path = Path(database)
            _refuse_special_file(path)
            if not path.exists():
                if not create:
                    raise DatabaseNotInitialised(database, f"no database at {database}.")
                _create_private_file(path)
        engine = _sqlite_engine(url, database)
        _configure_sqlite(engine, BUSY_TIMEOUT_MS)
    else:
        try:
            engine = sa.create_engine(url, pool_pre_ping=False)
        except (ImportError, sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise StoreUnavailable(
                f"cannot use {redact(url, url)}: {redact(str(exc), url)}"
            ) from None
    return Store(engine, url)


def table_names(store: Store) -> Sequence[str]:
    try:
        return sa.inspect(store.engine).get_table_names()
    except DBAPIError as exc:  # e.g. --db names a file that is not a database
        raise _operational(exc, store.url) from exc
