"""Transactions: what every query of the :class:`~treatyflow.store.sql.Store` runs in, and
the driver's errors raised as treatyflow's (``StoreBusy``, ``DatabaseNotInitialised`` ...).

SQLite: every write transaction is opened with ``BEGIN IMMEDIATE``; a file database's store
holds one connection for its life (released when its engine is disposed), on which each
transaction is begun and ended on the driver, and a :meth:`session` runs many on one
connection the same way. PostgreSQL: writes at READ COMMITTED, reads at REPEATABLE READ,
READ ONLY (see :mod:`treatyflow.store.sql`).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from treatyflow.errors import (
    ConcurrentUpdate,
    DatabaseNotInitialised,
    RowUnreadable,
    StoreBusy,
    StoreError,
    StoreUnavailable,
)
from treatyflow.redaction import redact, redact_url
from treatyflow.store.prepared import Prepared
from treatyflow.store.records import _EVENT_COLUMNS

#: SQLSTATEs a PostgreSQL transaction may be retried after.
RETRYABLE_SQLSTATES = ("40001", "40P01")  # serialization_failure, deadlock_detected


class _ThreadConnection(threading.local):
    """A connection of this thread's own (None until one is set). A class attribute, not
    ``getattr(local, "conn", None)``: reading an attribute a ``threading.local`` was never
    given raises (and drops) an AttributeError, ~0.4 us, three times a change (#19)."""

    conn: Connection | None = None


class Transactions:
    """The engine, and the transactions on it; the base of :class:`~treatyflow.store.sql.Store`
    and of its groups of queries."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.projection_table: bool | None = None
        """Whether the case projection table exists (revision 0003_19); None: not checked."""
        self._batch = _ThreadConnection()
        self._held = _ThreadConnection()
        self._prepared = Prepared(engine.dialect, _EVENT_COLUMNS)
        # The store's own connection (SQLite file: see _transaction), one transaction
        # at a time on it, whichever thread runs it; None until the first one.
        self._kept: Connection | None = None
        self._kept_lock = threading.Lock()
        self._kept_release = False
        database = engine.url.database if self.is_sqlite else None
        self.keeps_connection = bool(database) and database != ":memory:"
        """Whether transactions run on one connection held for the store's life."""
        if self.keeps_connection:
            sa_event.listen(engine, "engine_disposed", self._on_dispose)

    @property
    def prepared(self) -> Prepared:
        """The hot statements, compiled once for this store's dialect."""
        return self._prepared

    # -- transactions -------------------------------------------------------------
    @property
    def in_batch(self) -> bool:
        """Whether this thread is inside :meth:`batch` (its writes and reads join it)."""
        return self._batch.conn is not None

    @contextlib.contextmanager
    def batch(self) -> Iterator[Connection]:
        """One write transaction that every :meth:`write` and :meth:`read` of this thread
        joins until it ends: many changes committed together, or none of them (a case file
        imported whole). Nested batches join the outer one."""
        joined = self._batch.conn
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
        if not self.is_sqlite or self.in_batch or self._held.conn:
            yield
            return
        try:  # the connection's set-up (its PRAGMAs) fails on a file that is no database
            conn = self.engine.connect()
        except DBAPIError as exc:
            raise _operational(exc, self.url) from exc
        with conn:
            self._held.conn = conn
            try:
                yield
            finally:
                self._held.conn = None

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """One transaction on this thread's :meth:`session` connection, else on the store's
        kept connection when no other transaction is using it, else on a connection from the
        pool; the driver's errors raised as treatyflow's (:meth:`write`, :meth:`read`).

        The kept connection (a SQLite file; taken from the pool the first time and held until
        the engine is disposed): checking a connection out of the pool and back in, and
        SQLAlchemy's own begin and commit, cost ~40 us a transaction (#19). It holds nothing
        between transactions (no transaction open, no snapshot, no lock), as an idle pooled
        one does; transactions nested in one on it (another thread's, or a read inside a
        write) use the pool as before. Execution options set on it during the transaction
        are undone after it, as if each transaction had its own connection; a driver error
        lets it go (the next transaction takes another). One generator for all of it, the
        error translation included: each ``contextmanager`` layer costs ~0.85 us a
        transaction (#19)."""
        try:
            held = self._held.conn
            if held is not None:
                with self._held_transaction(held, write=write) as conn:
                    yield conn
                return
            if self.keeps_connection and self._kept_lock.acquire(blocking=False):
                try:
                    kept = self._kept
                    if kept is None or kept.closed or kept.invalidated:
                        kept = self._kept = self.engine.connect()
                    options = kept._execution_options
                    try:
                        with self._held_transaction(
                            kept, write=write, drop=self._drop_kept
                        ) as conn:
                            yield conn
                    finally:
                        kept._execution_options = options
                finally:
                    if self._kept_release:  # the engine was disposed while it was in use
                        self._close_kept()
                    self._kept_lock.release()
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
        except IntegrityError as exc:
            if not write:
                raise _operational(exc, self.url) from exc
            raise _integrity(exc) from exc
        except DBAPIError as exc:
            raise _operational(exc, self.url) from exc
        except Exception as exc:  # the driver's own error, raised by a fetch from its cursor
            translated = _driver_error(exc, self)
            if translated is exc:
                raise
            raise translated from exc

    def _drop_kept(self) -> None:
        self._kept = None

    def _close_kept(self) -> None:
        """Close the kept connection for good (the caller holds ``_kept_lock``); the pool it
        came from may have been disposed, so it is closed, not returned."""
        self._kept_release = False
        kept, self._kept = self._kept, None
        if kept is not None and not kept.closed:
            kept.invalidate()
            kept.close()

    def release_kept(self) -> bool:
        """Return the kept connection to the pool unless a transaction is using it; whether
        none is kept now (``verify`` forks only when no connection is checked out)."""
        if not self._kept_lock.acquire(blocking=False):
            return self._kept is None
        try:
            kept, self._kept = self._kept, None
            if kept is not None:
                kept.close()
            return True
        finally:
            self._kept_lock.release()

    def _on_dispose(self, _engine: Engine) -> None:
        """``engine.dispose()`` (a workspace closed, the CLI's exit, before a fork): the kept
        connection is closed now, or by its transaction when that ends."""
        if self._kept_lock.acquire(blocking=False):
            try:
                self._close_kept()
            finally:
                self._kept_lock.release()
        else:
            self._kept_release = True

    @contextlib.contextmanager
    def _held_transaction(
        self, held: Connection, *, write: bool, drop: Callable[[], None] | None = None
    ) -> Iterator[Connection]:
        """A transaction of a session, or on the kept connection (SQLite), begun and ended
        on the driver: SQLAlchemy's own begin and commit cost ~50 µs a transaction (#19). A
        statement run through SQLAlchemy inside it joins it (the begin listener sees the
        driver's transaction and issues no BEGIN), and is committed or rolled back with it.
        A refused change (an error of treatyflow's own) rolls back and keeps the connection;
        a driver error lets it go (``drop``; the next transaction takes another)."""
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
            if drop is None:
                self._held.conn = None
            else:
                drop()
            held.close()
            raise

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); rolled back on any error.
        Inside :meth:`batch`, the batch's transaction."""
        joined = self._batch.conn
        if joined is not None:
            return contextlib.nullcontext(joined)
        return self._transaction(write=True)

    def read(self) -> contextlib.AbstractContextManager[Connection]:
        """One read transaction over a consistent snapshot of the whole database (inside
        :meth:`batch`, the batch's transaction, which sees its own uncommitted changes)."""
        joined = self._batch.conn
        if joined is not None:
            return contextlib.nullcontext(joined)
        return self._transaction(write=False)


def _integrity(exc: IntegrityError) -> StoreError:
    return StoreError("the database refused a duplicate write.")


_BUSY = ("database is locked", "database is busy", "could not serialize", "deadlock detected")


def is_retryable(exc: BaseException) -> bool:
    """A conflict with another writer that running the transaction again can resolve."""
    if isinstance(exc, ConcurrentUpdate | StoreBusy):
        return True
    text = str(exc).lower()
    return isinstance(exc, StoreError) and any(m in text for m in _BUSY)


def _driver_error(exc: Exception, store: Any) -> Exception:
    """A driver's own error (not wrapped by SQLAlchemy: a fetch from a prepared statement's
    cursor) as treatyflow's; any other exception unchanged."""
    dbapi = store.engine.dialect.dbapi
    if dbapi is None or not isinstance(exc, dbapi.Error):
        return exc
    return _operational(sa.exc.DBAPIError.instance("", (), exc, dbapi.Error), store.url)


def _operational(exc: DBAPIError, url: str) -> StoreError:
    message = str(exc.orig) if exc.orig is not None else str(exc)
    message = (redact(message, url).splitlines() or [""])[0]
    lowered = message.lower()
    if "could not decode to utf-8" in lowered:  # SQLite: bytes a client wrote as text
        column = re.search(r"column '([^']*)'", message)
        what = f"a value in column {column.group(1)!r}" if column else "a value"
        return RowUnreadable(f"{what} of the database", "it is not UTF-8 text")
    code = getattr(exc.orig, "sqlstate", None)
    if any(m in lowered for m in _BUSY) or code in RETRYABLE_SQLSTATES:
        return StoreBusy(f"the database is busy ({message}): another analyst is writing.")
    if "no such table" in lowered or ("does not exist" in lowered and "relation" in lowered):
        return DatabaseNotInitialised(
            redact_url(url), f"the database {redact_url(url)} has no treatyflow tables."
        )
    return StoreUnavailable(f"database error on {redact(url, url)}: {message}")


def _driver(raw: Any, sql: str, engine: Engine) -> None:
    """Run ``sql`` (BEGIN, COMMIT, ROLLBACK) on the SQLite driver's connection; its error
    raised as SQLAlchemy's wrapper, as if SQLAlchemy had run it."""
    dbapi = engine.dialect.dbapi
    error: type[Exception] = dbapi.Error if dbapi is not None else Exception
    try:
        raw.execute(sql)
    except error as exc:
        raise sa.exc.DBAPIError.instance(sql, (), exc, error, dialect=engine.dialect) from exc
