"""SQLite: the database file (a regular file, created private), the engine (one idle
connection kept), the pragmas every connection gets (WAL, ``synchronous=FULL``, foreign
keys, a busy timeout) and ``BEGIN IMMEDIATE`` for writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine

from treatyflow.errors import StoreUnavailable
from treatyflow.store.transactions import _driver

if TYPE_CHECKING:
    from treatyflow.store.sql import Store


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


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
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


def sqlite_integrity(store: Store) -> list[str]:
    """``PRAGMA integrity_check`` lines other than 'ok' (SQLite only)."""
    if not store.is_sqlite:
        return []
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("PRAGMA integrity_check").fetchall()
    return [str(r[0]) for r in rows if str(r[0]) != "ok"]
