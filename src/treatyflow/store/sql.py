"""The SQL store: connection set-up, transactions, and the case/event/definition queries.

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
import datetime as dt
import json
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from treatyflow.chain import ChainFault
from treatyflow.errors import (
    ConcurrentUpdate,
    DatabaseNotInitialised,
    StoreBusy,
    StoreError,
    StoreUnavailable,
)
from treatyflow.events import Event, EventKind
from treatyflow.redaction import redact, redact_url
from treatyflow.store.prepared import CASE_COLUMNS, REGISTRY_COLUMNS, Prepared
from treatyflow.store.schema import case_projections, cases, definitions, events, registry

BUSY_TIMEOUT_MS = 10_000
#: Rows per ``executemany`` batch in bulk inserts (import).
BATCH_SIZE = 1000
#: SQLSTATEs a PostgreSQL transaction may be retried after.
RETRYABLE_SQLSTATES = ("40001", "40P01")  # serialization_failure, deadlock_detected


@dataclass
class CaseRecord:
    """A case row (the projection)."""

    id: str
    country: str
    treaty: str
    procedure: str
    procedure_hash: str
    treaty_hash: str
    action: str
    state: str
    version: int
    head_hash: str
    opened_on: str
    last_on: str
    facts: dict[str, Any]
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Any) -> CaseRecord:
        data = dict(row._mapping)
        data["facts"] = json.loads(data["facts"])
        return cls(**data)

    @classmethod
    def from_tuple(cls, row: Sequence[Any]) -> CaseRecord:
        """From the row's values in the table's column order (``prepared.CASE_COLUMNS``)."""
        data = dict(zip(CASE_COLUMNS, row, strict=True))
        data["facts"] = json.loads(data["facts"])
        return cls(**data)

    def to_row(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["facts"] = json.dumps(self.facts, sort_keys=True)
        return data


class ChainHead(NamedTuple):
    """What ``verify`` compares a case's log with: the case row's version, head and state
    (read without the case's facts, which are not hashed and may be unreadable)."""

    version: int
    head_hash: str
    state: str


def to_url(db: str) -> str:
    """A SQLAlchemy URL from a path or a URL (``postgresql://`` means psycopg 3).

    A password holding an unencoded ``@`` (``postgresql://u:abc@def@host/db``) is
    percent-encoded, so that the host is what follows the *last* ``@`` (as for
    :func:`urllib.parse.urlsplit`), never the password's tail.
    """
    if "://" not in db:
        return f"sqlite:///{db}"
    db = _encode_at_in_password(db)
    for plain in ("postgresql://", "postgres://"):
        if db.startswith(plain):
            return "postgresql+psycopg://" + db[len(plain) :]
    return db


def _encode_at_in_password(db: str) -> str:
    scheme, _, rest = db.partition("://")
    at = rest.rfind("@")
    if scheme.startswith("sqlite") or at == -1 or re.search(r"[/?#]", rest[:at]):
        return db
    user, colon, password = rest[:at].partition(":")
    if not colon or "@" not in password:
        return db
    return f"{scheme}://{user}:{quote(password, safe='')}@{rest[at + 1 :]}"


#: A libpq keyword/value connection string (``host=... dbname=... password=...``).
_KEYWORD_DSN = re.compile(
    r"^\s*(host|hostaddr|port|dbname|user|password|passfile|sslmode|service|options|"
    r"connect_timeout|application_name)\s*=",
    re.IGNORECASE,
)


def is_keyword_dsn(db: str) -> bool:
    """Whether ``db`` is a libpq keyword connection string rather than a path or URL."""
    return "://" not in db and _KEYWORD_DSN.match(db) is not None


def _refuse_keyword_dsn(db: str) -> None:
    if is_keyword_dsn(db):
        raise StoreUnavailable(
            f"{redact_url(db)!r} is a libpq keyword connection string (host=... "
            "password=...), which treatyflow does not read; give a URL instead: "
            "postgresql://USER:PASSWORD@HOST:PORT/DBNAME (percent-encode '@', ':' and '/' "
            "in the password)."
        )


class Store:
    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.projection_table: bool | None = None
        """Whether the case projection table exists (revision 0003_19); None: not checked."""
        self._batch = threading.local()
        self._held = threading.local()
        self._prepared = Prepared(engine.dialect, _EVENT_COLUMNS)

    @property
    def prepared(self) -> Prepared:
        """The hot statements, compiled once for this store's dialect."""
        return self._prepared

    # -- transactions -------------------------------------------------------------
    @property
    def in_batch(self) -> bool:
        """Whether this thread is inside :meth:`batch` (its writes and reads join it)."""
        return getattr(self._batch, "conn", None) is not None

    @contextlib.contextmanager
    def batch(self) -> Iterator[Connection]:
        """One write transaction that every :meth:`write` and :meth:`read` of this thread
        joins until it ends: many changes committed together, or none of them (a case file
        imported whole). Nested batches join the outer one."""
        joined = getattr(self._batch, "conn", None)
        if joined is not None:
            yield joined
            return
        with self.write() as conn:
            self._batch.conn = conn
            try:
                yield conn
            finally:
                self._batch.conn = None

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Many transactions in a row (``advance_many``): on SQLite, this thread's
        :meth:`write` and :meth:`read` use one connection until it ends instead of taking
        one from the pool for each transaction (~0.1 ms each, #19). Each transaction still
        commits on its own. Elsewhere (PostgreSQL sets a transaction's isolation level on
        its connection), and inside another session or a batch, it changes nothing."""
        if not self.is_sqlite or self.in_batch or getattr(self._held, "conn", None):
            yield
            return
        with self.engine.connect() as conn:
            self._held.conn = conn
            try:
                yield
            finally:
                self._held.conn = None

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """One transaction on a connection from the pool, or on this thread's
        :meth:`session` connection."""
        held: Connection | None = getattr(self._held, "conn", None)
        if held is not None:
            with self._held_transaction(held, write=write) as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            if write:
                conn = conn.execution_options(treatyflow_write=True)
            elif not self.is_sqlite:
                conn = conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def _held_transaction(self, held: Connection, *, write: bool) -> Iterator[Connection]:
        """A transaction of a session (SQLite) begun and ended on the driver: SQLAlchemy's
        own begin and commit cost ~50 µs a transaction (#19). A statement run through
        SQLAlchemy inside it joins it (the begin listener sees the driver's transaction and
        issues no BEGIN), and is committed or rolled back with it. A refused change (an
        error of treatyflow's own) rolls back and keeps the connection; a driver error
        lets it go (the next transaction takes one from the pool)."""
        raw = held.connection.driver_connection
        assert raw is not None
        try:
            _driver(raw, "BEGIN IMMEDIATE" if write else "BEGIN", self.engine)
            try:
                yield held
            except BaseException:
                if held.in_transaction():
                    held.rollback()
                elif raw.in_transaction:
                    _driver(raw, "ROLLBACK", self.engine)
                raise
            if held.in_transaction():
                held.commit()
            elif raw.in_transaction:
                _driver(raw, "COMMIT", self.engine)
        except DBAPIError:
            self._held.conn = None
            held.close()
            raise

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); rolled back on any error.
        Inside :meth:`batch`, the batch's transaction."""
        joined = getattr(self._batch, "conn", None)
        if joined is not None:
            yield joined
            return
        try:
            with self._transaction(write=True) as conn:
                yield conn
        except IntegrityError as exc:
            raise _integrity(exc) from exc
        except OperationalError as exc:
            raise _operational(exc, self.url) from exc
        except DBAPIError as exc:
            raise _operational(exc, self.url) from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction over a consistent snapshot of the whole database (inside
        :meth:`batch`, the batch's transaction, which sees its own uncommitted changes)."""
        joined = getattr(self._batch, "conn", None)
        if joined is not None:
            yield joined
            return
        try:
            with self._transaction(write=False) as conn:
                yield conn
        except DBAPIError as exc:
            raise _operational(exc, self.url) from exc

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
            "v_facts": json.dumps(case.facts, sort_keys=True),
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

    def event_rows(
        self, conn: Connection, case_id: str | None = None, *, signed: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Raw event rows (hashed fields + hash), ordered by case and seq; ``signed``: with
        ``signature`` and ``key`` too where the event has them."""
        query = sa.select(events).order_by(events.c.case_id, events.c.seq)
        if case_id is not None:
            query = query.where(events.c.case_id == case_id)
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        with contextlib.closing(result):
            for row in result:
                out = hashed_row(row._mapping)
                if signed and (row.signature is not None or row.key is not None):
                    out["signature"], out["key"] = row.signature, row.key
                yield out

    def events_by_case(
        self, conn: Connection, *, countries: Sequence[str] = ()
    ) -> Iterator[tuple[str, list[Event]]]:
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

    def signature_rows(
        self, conn: Connection, *, signed_only: bool = False
    ) -> Iterator[dict[str, Any]]:
        """What the signature check reads of each event (case_id, seq, kind, actor,
        recorded_at, hash, signature, key, data), by case and seq; ``signed_only``: only the
        events that carry a signature or a key."""
        cols = ("case_id", "seq", "kind", "actor", "recorded_at", "hash", "signature", "key")
        query = sa.select(*(events.c[c] for c in cols), events.c.data).order_by(
            events.c.case_id, events.c.seq
        )
        if signed_only:
            query = query.where(sa.or_(events.c.signature.is_not(None), events.c.key.is_not(None)))
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for row in result:
            out = dict(zip(cols, row, strict=False))
            out["data"] = _loads(row[-1], {})
            yield out

    def has_signed_events(self, conn: Connection) -> bool:
        """Whether any event carries a key (an index lookup)."""
        query = sa.select(events.c.key).where(events.c.key.is_not(None)).limit(1)
        return conn.execute(query).first() is not None

    def grant_role(self, login: str, group: str, *, admin: bool) -> dict[str, Any]:
        """PostgreSQL: create the group role ``group`` if missing, give it treatyflow's
        privileges on the current schema and grant it to the login role ``login``."""
        from treatyflow.errors import InvalidInput

        quote = self.engine.dialect.identifier_preparer.quote
        g = quote(group)
        try:
            with self.engine.connect() as conn, conn.begin():
                found = conn.execute(
                    sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": login}
                ).first()
                if found is None:
                    raise InvalidInput(
                        "role", login, f"there is no PostgreSQL role {login!r}; create it first."
                    )
                schema = str(conn.execute(sa.text("SELECT current_schema()")).scalar_one())
                s = quote(schema)
                statements = [
                    # concurrent creators: the loser's error is swallowed
                    f"DO $$ BEGIN CREATE ROLE {g} NOLOGIN; EXCEPTION WHEN duplicate_object "
                    "OR unique_violation THEN NULL; END $$",
                    f"GRANT USAGE ON SCHEMA {s} TO {g}",
                    f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {g}",
                    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {g}",
                    f"GRANT INSERT ON {s}.cases, {s}.events, {s}.definitions, {s}.documents "
                    f"TO {g}",
                    f"GRANT UPDATE ON {s}.cases TO {g}",
                    # the case projection (#19) is rewritten with every event
                    f"GRANT INSERT, UPDATE ON {s}.case_projections TO {g}",
                    f"REVOKE UPDATE, DELETE, TRUNCATE ON {s}.events, {s}.registry, {s}.documents "
                    f"FROM {g}",
                    f"REVOKE DELETE, TRUNCATE ON {s}.cases, {s}.definitions FROM {g}",
                ]
                if admin:
                    statements.append(f"GRANT INSERT ON {s}.registry TO {g}")
                else:
                    statements.append(f"REVOKE INSERT ON {s}.registry FROM {g}")
                statements.append(f"GRANT {g} TO {quote(login)}")
                for sql in statements:
                    conn.exec_driver_sql(sql)
        except DBAPIError as exc:
            raise _operational(exc, self.url) from exc
        return {"role": login, "group": group, "schema": schema, "registry": admin}

    # -- the key registry ---------------------------------------------------------------
    def registry_entries(self, conn: Connection) -> list[Any]:
        """Every entry of the key registry, by seq."""
        from treatyflow.registry import Entry

        rows = self._prepared.execute(conn, "registry").fetchall()
        out = []
        for r in rows:
            m = dict(zip(REGISTRY_COLUMNS, r, strict=True))
            m["data"] = _loads(m["data"], {})
            out.append(Entry(**m))
        return out

    def append_registry(self, conn: Connection, entry: Any) -> None:
        """Append a registry entry; another writer's entry at the same seq is a conflict."""
        names = [c.name for c in registry.c if c.name != "recorded_by"]
        row = {k: getattr(entry, k) for k in names}
        row["data"] = json.dumps(entry.data, sort_keys=True, ensure_ascii=False)
        try:
            conn.execute(registry.insert().values(**row))
        except IntegrityError as exc:
            raise StoreBusy(
                "the key registry was changed by someone else at the same time."
            ) from exc

    # -- definitions ------------------------------------------------------------------
    def save_definition(
        self, conn: Connection, digest: str, kind: str, ident: str, content: str, now: str
    ) -> None:
        """Store a definition snapshot unless one with this hash is there already.

        ``ON CONFLICT DO NOTHING``: two analysts opening the first cases under a new
        definition version at the same moment must not fail on each other.
        """
        exists = conn.execute(
            sa.select(definitions.c.hash).where(definitions.c.hash == digest)
        ).first()
        if exists is None:
            row = {
                "hash": digest,
                "kind": kind,
                "definition_id": ident,
                "content": content,
                "stored_at": now,
            }
            conn.execute(self._insert_ignore(definitions).values(**row))

    def _insert_ignore(self, table: sa.Table) -> Any:
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing()
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()

    def load_definition(self, conn: Connection, digest: str) -> str | None:
        """The stored snapshot under ``digest`` (None when there is none), after re-hashing
        it: a snapshot whose content no longer hashes to ``digest`` (or is not a valid
        definition) raises a StoreError naming its kind, id and hash."""
        from treatyflow.catalog import snapshot_problem

        row = conn.execute(
            sa.select(
                definitions.c.kind, definitions.c.definition_id, definitions.c.content
            ).where(definitions.c.hash == digest)
        ).first()
        if row is None:
            return None
        kind, ident, content = row
        problem = snapshot_problem(digest, str(kind), content)
        if problem is not None:
            raise StoreError(
                f"the stored {kind} {ident!r} version {digest[:19]}... cannot be trusted: "
                f"{problem}; it was changed outside treatyflow - restore it from a backup or "
                "a verified bundle."
            )
        return str(content)

    def all_definitions(self, conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(sa.select(definitions).order_by(definitions.c.hash))
        return [dict(r._mapping) for r in rows]

    # -- bulk (import) and whole-database queries ----------------------------------------
    def counts(self, conn: Connection) -> dict[str, int]:
        """Rows in each table: ``{"definitions": n, "cases": n, "events": n}``."""
        return {
            name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for name, table in (("definitions", definitions), ("cases", cases), ("events", events))
        }

    def registry_count(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(registry)).scalar_one())

    def heads(self, conn: Connection) -> list[tuple[str, int, str]]:
        """(case id, version, head hash) of every case, by id."""
        rows = conn.execute(
            sa.select(cases.c.id, cases.c.version, cases.c.head_hash).order_by(cases.c.id)
        )
        return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def case_identities(self, conn: Connection) -> Iterator[dict[str, Any]]:
        """Every case row's identity columns, opening day and facts (parsed; unreadable JSON
        as a marker that matches nothing), by id, streamed."""
        query = sa.select(
            cases.c.id,
            cases.c.country,
            cases.c.treaty,
            cases.c.action,
            cases.c.procedure,
            cases.c.procedure_hash,
            cases.c.treaty_hash,
            cases.c.opened_on,
            cases.c.facts,
        ).order_by(cases.c.id)
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for row in result:
            out = dict(row._mapping)
            out["facts"] = _loads(out["facts"], {})
            yield out

    def identity_events(self, conn: Connection) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
        """Per case id (in the database's order), the events that say what its row must hold:
        the opening event, fact changes, migrations (which re-pin the case) and
        retractions, each as a dict with seq, kind, occurred_on and data (parsed; unreadable
        JSON as a marker that matches nothing)."""
        query = (
            sa.select(events.c.case_id, events.c.seq, events.c.kind, events.c.occurred_on)
            .add_columns(events.c.data)
            .where(
                sa.or_(
                    events.c.seq == 1,
                    events.c.kind.in_(("set-fact", "migrated", "retract")),
                )
            )
            .order_by(events.c.case_id, events.c.seq)
        )
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        current: Any = None
        group: list[dict[str, Any]] = []
        for case_id, seq, kind, occurred_on, data in result:
            if group and case_id != current:
                yield current, group
                group = []
            current = case_id
            group.append(
                {"seq": seq, "kind": kind, "occurred_on": occurred_on, "data": _loads(data, {})}
            )
        if group:
            yield current, group

    def chain_heads(self, conn: Connection) -> dict[Any, ChainHead]:
        """Every case's :class:`ChainHead`, by id."""
        query = sa.select(cases.c.id, cases.c.version, cases.c.head_hash, cases.c.state)
        return {r[0]: ChainHead(r[1], r[2], r[3]) for r in conn.execute(query)}

    def chain_head(self, conn: Connection, case_id: Any) -> ChainHead | None:
        query = sa.select(cases.c.version, cases.c.head_hash, cases.c.state).where(
            cases.c.id == case_id
        )
        row = conn.execute(query).first()
        return None if row is None else ChainHead(row[0], row[1], row[2])

    def chain_scan(self, want: Mapping[Any, int] | None = None) -> Any:
        """The fast first pass of ``verify`` (:mod:`treatyflow.store.chainscan`): a ``Scan``
        of every case, or None where the pass gave up (``want``: a checkpoint's cases and
        versions, whose heads and hashes at those seqs it also collects).

        Call it holding no connection: a large database is scanned by forked worker
        processes, and this store's idle connections are closed first, so that no database
        connection is open in the process that forks.
        """
        if not self.is_sqlite:
            from treatyflow.store import pgscan

            return pgscan.chain_scan(self, want)
        import sqlite3
        from concurrent.futures.process import BrokenProcessPool

        from treatyflow.store import chainscan

        path = self.engine.url.database or ""
        try:
            if path and self._nothing_checked_out() and chainscan.wants_workers(path):
                self.engine.dispose()
                return chainscan.scan_parallel(path, want=want)
            with self.read() as conn:
                raw = conn.connection.driver_connection
                return None if raw is None else chainscan.scan(raw, want=want)
        except (sqlite3.Error, OSError, BrokenProcessPool):
            # a row SQLite cannot read; no process to fork; a worker died
            return None

    def _nothing_checked_out(self) -> bool:
        """No connection of this store is in use (by another thread of an embedding program):
        only then may the process fork, after closing the idle one."""
        checkedout = getattr(self.engine.pool, "checkedout", None)
        return checkedout is None or checkedout() == 0

    def orphan_faults(self, conn: Connection) -> list[ChainFault]:
        """One fault for every event whose case id is NULL. Such an event is in no case's
        chain, so no chain check sees it (the schema forbids it: only an edit outside
        treatyflow makes one); the fault's case id is empty (no case has that id)."""
        query = sa.select(events.c.seq).where(events.c.case_id.is_(None)).order_by(events.c.id)
        return [
            ChainFault(
                "",
                seq if isinstance(seq, int) and not isinstance(seq, bool) else 1,
                "an event with no case id (NULL): it belongs to no case's chain; the log was "
                "changed outside treatyflow",
            )
            for (seq,) in conn.execute(query)
        ]

    def event_hash_at(self, conn: Connection, case_id: str, seq: int) -> str | None:
        row = conn.execute(
            sa.select(events.c.hash).where(events.c.case_id == case_id, events.c.seq == seq)
        ).first()
        return None if row is None else str(row[0])

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


def event_row(ev: Event) -> dict[str, Any]:
    return {
        "case_id": ev.case_id,
        "seq": ev.seq,
        "kind": str(ev.kind),
        "trigger": ev.trigger,
        "from_state": ev.from_state,
        "to_state": ev.to_state,
        "occurred_on": ev.occurred_on.isoformat(),
        "recorded_at": ev.recorded_at,
        "actor": ev.actor,
        "sources": json.dumps(list(ev.sources), sort_keys=True, ensure_ascii=False),
        "note": ev.note,
        "data": json.dumps(ev.data, sort_keys=True, ensure_ascii=False),
        "prev_hash": ev.prev_hash,
        "hash": ev.hash,
        "signature": ev.signature,
        "key": ev.key,
    }


def hashed_row(row: Any) -> dict[str, Any]:
    """An event row as the dict of hashed fields plus ``hash`` (for verification)."""
    return {
        "case_id": row["case_id"],
        "seq": row["seq"],
        "kind": row["kind"],
        "trigger": row["trigger"],
        "from_state": row["from_state"],
        "to_state": row["to_state"],
        "occurred_on": row["occurred_on"],
        "recorded_at": row["recorded_at"],
        "actor": row["actor"],
        "sources": _loads(row["sources"], []),
        "note": row["note"],
        "data": _loads(row["data"], {}),
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }


def _loads(text: Any, default: Any) -> Any:
    """The stored JSON's value; an unreadable text (not JSON, too deep, a key twice in one
    object) as a value that can never hash to the event's hash.

    A duplicate key is refused because JSON readers disagree on it: Python keeps the last
    copy, SQLite's ``json_extract`` the first; the hash must cover the one text, not one
    reader's view of it.
    """
    if text is None:
        return default
    if text == "{}" or text == "[]":  # most events' data or sources
        return {} if text == "{}" else []
    try:
        if isinstance(text, bytes):  # a BLOB (only a tamperer writes one)
            return _STRICT_JSON.decode(text.decode("utf-8"))
        if not isinstance(text, str):
            raise TypeError("not JSON text")
        return _STRICT_JSON.decode(text)
    except (TypeError, ValueError, RecursionError):
        return {"__unreadable__": str(text)}


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


#: ``json.loads`` refusing a key twice in one object (one decoder for every row).
_STRICT_JSON = json.JSONDecoder(object_pairs_hook=_unique_keys)


_EVENT_COLUMNS = (
    "case_id",
    "seq",
    "kind",
    "occurred_on",
    "recorded_at",
    "actor",
    "trigger",
    "from_state",
    "to_state",
    "sources",
    "note",
    "data",
    "prev_hash",
    "hash",
    "signature",
    "key",
    "recorded_by",
)
_KINDS = {str(kind): kind for kind in EventKind}
_date = dt.date.fromisoformat


def _event_from_tuple(row: Any) -> Event:
    """``event_from_row`` for a row of ``_EVENT_COLUMNS``, by position (the bulk read path)."""
    kind = _KINDS.get(row[2])
    return Event(
        row[0],
        row[1],
        EventKind(row[2]) if kind is None else kind,
        _date(row[3]),
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        () if row[9] == "[]" else tuple(json.loads(row[9])),
        row[10],
        {} if row[11] == "{}" else json.loads(row[11]),
        row[12],
        row[13],
        row[14],
        row[15],
        row[16],
    )


def event_from_row(row: Any) -> Event:
    return Event(
        case_id=row["case_id"],
        seq=row["seq"],
        kind=EventKind(row["kind"]),
        occurred_on=dt.date.fromisoformat(row["occurred_on"]),
        recorded_at=row["recorded_at"],
        actor=row["actor"],
        trigger=row["trigger"],
        from_state=row["from_state"],
        to_state=row["to_state"],
        sources=tuple(json.loads(row["sources"])),
        note=row["note"],
        data=json.loads(row["data"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        signature=row["signature"],
        key=row["key"],
        recorded_by=row["recorded_by"],
    )


def _integrity(exc: IntegrityError) -> StoreError:
    return StoreError("the database refused a duplicate write.")


_BUSY = ("database is locked", "database is busy", "could not serialize", "deadlock detected")


def is_retryable(exc: BaseException) -> bool:
    """A conflict with another writer that running the transaction again can resolve."""
    if isinstance(exc, ConcurrentUpdate | StoreBusy):
        return True
    text = str(exc).lower()
    return isinstance(exc, StoreError) and any(m in text for m in _BUSY)


def _operational(exc: DBAPIError, url: str) -> StoreError:
    message = str(exc.orig) if exc.orig is not None else str(exc)
    message = (redact(message, url).splitlines() or [""])[0]
    lowered = message.lower()
    code = getattr(exc.orig, "sqlstate", None)
    if any(m in lowered for m in _BUSY) or code in RETRYABLE_SQLSTATES:
        return StoreBusy(f"the database is busy ({message}): another analyst is writing.")
    if "no such table" in lowered or ("does not exist" in lowered and "relation" in lowered):
        return DatabaseNotInitialised(
            redact_url(url), f"the database {redact_url(url)} has no treatyflow tables."
        )
    return StoreUnavailable(f"database error on {redact(url, url)}: {message}")


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
        _configure_sqlite(engine)
    else:
        try:
            engine = sa.create_engine(url, pool_pre_ping=False)
        except (ImportError, sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise StoreUnavailable(
                f"cannot use {redact(url, url)}: {redact(str(exc), url)}"
            ) from None
    return Store(engine, url)


def _sqlite_engine(url: str, database: str) -> Engine:
    """A file database keeps one idle connection for the life of the engine.

    Closing a connection that is the last one to a WAL database checkpoints and removes the
    WAL (two more fsyncs): with no pool, every transaction paid for that. ``dispose()``
    (which the CLI calls on exit) closes it, so the WAL is still checkpointed at the end.
    """
    if not database or database == ":memory:":
        # One in-memory database lives as long as its one connection: every transaction of
        # the engine (from any thread, one at a time) uses that connection.
        return sa.create_engine(
            url, poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False}
        )
    return sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=1, max_overflow=8)


def _refuse_special_file(path: Path) -> None:
    """A SQLite database is a regular file: ``/dev/null``, a FIFO or a directory is refused
    (SQLite would take ``/dev/null`` for an empty database and lose every write)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise StoreUnavailable(
            f"{path} is not a regular file (a directory, device, FIFO or socket); "
            "give the path of a SQLite database file."
        )


def _create_private_file(path: Path) -> None:
    try:
        if path.parent and not path.parent.exists():
            raise StoreUnavailable(f"the directory {path.parent} does not exist.")
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreUnavailable(f"cannot create {path}: {exc.strerror}.") from exc


def _configure_sqlite(engine: Engine) -> None:
    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # On the driver's connection: through exec_driver_sql this one statement cost
        # ~70 µs of every transaction (#19). Its errors (busy) wrapped as SQLAlchemy's.
        raw = conn.connection.driver_connection
        assert raw is not None
        if raw.in_transaction:
            return  # a session's transaction, begun on the driver: this statement joins it
        write = conn.get_execution_options().get("treatyflow_write", False)
        _driver(raw, "BEGIN IMMEDIATE" if write else "BEGIN", engine)


def _driver(raw: Any, sql: str, engine: Engine) -> None:
    """Run ``sql`` (BEGIN, COMMIT, ROLLBACK) on the SQLite driver's connection; its error
    raised as SQLAlchemy's wrapper, as if SQLAlchemy had run it."""
    dbapi = engine.dialect.dbapi
    error: type[Exception] = dbapi.Error if dbapi is not None else Exception
    try:
        raw.execute(sql)
    except error as exc:
        raise sa.exc.DBAPIError.instance(sql, (), exc, error, dialect=engine.dialect) from exc


def sqlite_integrity(store: Store) -> list[str]:
    """``PRAGMA integrity_check`` lines other than 'ok' (SQLite only)."""
    if not store.is_sqlite:
        return []
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("PRAGMA integrity_check").fetchall()
    return [str(r[0]) for r in rows if str(r[0]) != "ok"]


def table_names(store: Store) -> Sequence[str]:
    try:
        return sa.inspect(store.engine).get_table_names()
    except DBAPIError as exc:  # e.g. --db names a file that is not a database
        raise _operational(exc, store.url) from exc


def newest_recorded_at(conn: Connection) -> str | None:
    """The newest ``recorded_at`` in the log (None when it is empty)."""
    value = conn.execute(sa.select(sa.func.max(events.c.recorded_at))).scalar_one()
    return None if value is None else str(value)


@dataclass(frozen=True)
class UrlParts:
    """What treatyflow needs to know of a database path or URL, without connecting."""

    backend: str | None
    """``sqlite``, ``postgresql`` ... or None when it is not a URL SQLAlchemy can read."""
    sqlite_file: Path | None
    host: str | None = None
    port: int | None = None


def url_parts(db: str) -> UrlParts:
    if is_keyword_dsn(db):
        return UrlParts(None, None)
    if "://" not in db:
        return UrlParts("sqlite", Path(db))
    try:
        url = sa.engine.make_url(to_url(db))
        port = url.port
    except (sa.exc.ArgumentError, ValueError):
        return UrlParts(None, None)
    backend = url.get_backend_name()
    file = None
    if backend == "sqlite" and url.database and url.database != ":memory:":
        file = Path(url.database)
    return UrlParts(backend, file, url.host, port)
