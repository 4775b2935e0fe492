"""A SQLite file store keeps one connection for its life (#19): its transactions skip the
pool, it holds nothing between them, it is let go on close, on a driver error and before a
fork, and writers (two workspaces, many threads) are still serialised."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

import treatyflow
from treatyflow.errors import StoreError
from treatyflow.store import open_store

CASE = {"country": "LTU", "treaty": "ottawa", "at": "notified", "on": "2025-06-27"}


def _open(path: Path, **kw: Any) -> treatyflow.Workspace:
    return treatyflow.open(path, actor="analyst", **kw)


def test_one_connection_for_every_transaction_released_when_the_workspace_closes(
    tmp_path: Path,
) -> None:
    db = tmp_path / "k.db"
    ws = _open(db, create=True)
    store = ws.store
    assert store.keeps_connection
    ws.open_case(id="L1", **CASE)
    seen: list[Any] = []
    for _ in range(2):
        with store.write() as conn:
            seen.append(conn.connection.driver_connection)
    with store.read() as conn:
        seen.append(conn.connection.driver_connection)
    assert seen[0] is seen[1] is seen[2]
    assert Path(f"{db}-wal").exists()
    ws.close()
    assert store._kept is None
    with pytest.raises(sqlite3.ProgrammingError):  # closed, not parked in a pool
        seen[0].execute("SELECT 1")
    assert not Path(f"{db}-wal").exists()  # the last connection closed: WAL checkpointed
    with _open(db) as again:  # and the file reads back whole
        assert again.case("L1").version == 1 and again.verify().ok


def test_an_in_memory_database_keeps_no_connection_of_its_own() -> None:
    with _open(":memory:", create=True) as ws:
        assert not ws.store.keeps_connection
        ws.open_case(id="L1", **CASE)
        assert ws.store._kept is None


def test_a_transaction_inside_another_takes_a_connection_from_the_pool(tmp_path: Path) -> None:
    with _open(tmp_path / "n.db", create=True) as ws:
        store = ws.store
        with store.write() as outer:
            outer.exec_driver_sql(
                "INSERT INTO definitions VALUES ('h', 'treaty', 'x', '{}', 'now')"
            )
            with store.read() as inner:
                assert inner.connection.driver_connection is not (
                    outer.connection.driver_connection
                )
                # its own snapshot: the outer write is not committed yet
                assert inner.exec_driver_sql("SELECT count(*) FROM definitions").scalar() == 0
        with store.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM definitions").scalar() == 1


def test_the_kept_connection_holds_no_lock_or_snapshot_between_transactions(
    tmp_path: Path,
) -> None:
    """Another writer (a raw connection that will not wait) is refused while a write
    transaction is open on the kept connection, and gets the lock, and a full checkpoint
    (which no reader's snapshot may hold back), as soon as it ends."""
    db = tmp_path / "l.db"
    with _open(db, create=True) as ws:
        ws.open_case(id="L1", **CASE)
        other = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            with ws.store.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            with ws.store.read() as conn:
                conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
            assert ws.store._kept is not None  # kept, idle
            other.execute("BEGIN IMMEDIATE")
            other.execute("COMMIT")
            busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0
        finally:
            other.close()


def test_two_workspaces_on_one_file_and_threads_sharing_one_are_serialised(
    tmp_path: Path,
) -> None:
    """Two workspaces on one file, each written by two threads at once (one thread on the
    kept connection, the other on the pool's): every note lands once, in one chain."""
    db = tmp_path / "w.db"
    with _open(db, create=True) as first:
        first.open_case(id="L1", **CASE)
    spaces = [_open(db), _open(db)]
    per_thread = 12
    errors: list[BaseException] = []

    def write(ws: treatyflow.Workspace, n: int) -> None:
        try:
            for i in range(per_thread):
                ws.note("L1", f"thread {n} note {i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(spaces[n % 2], n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        case = spaces[0].case("L1")
        assert case.version == 1 + 4 * per_thread
        notes = [e.note for e in spaces[1].history("L1")]
        assert sorted(n for n in notes if n) == sorted(
            f"thread {n} note {i}" for n in range(4) for i in range(per_thread)
        )
        assert spaces[0].verify().ok
    finally:
        for ws in spaces:
            ws.close()


def test_options_set_in_a_transaction_do_not_reach_the_next(tmp_path: Path) -> None:
    with _open(tmp_path / "o.db", create=True) as ws:
        with ws.store.read() as conn:
            conn.execution_options(yield_per=7)
            assert conn.get_execution_options()["yield_per"] == 7
        with ws.store.read() as conn:
            assert "yield_per" not in conn.get_execution_options()


def test_disposed_while_in_use_it_is_closed_when_its_transaction_ends(tmp_path: Path) -> None:
    with _open(tmp_path / "d.db", create=True) as ws:
        ws.open_case(id="L1", **CASE)
        store = ws.store
        with store.read() as conn:
            raw = conn.connection.driver_connection
            store.engine.dispose()
            assert conn.exec_driver_sql("SELECT count(*) FROM cases").scalar() == 1
        assert store._kept is None
        with pytest.raises(sqlite3.ProgrammingError):
            raw.execute("SELECT 1")
        assert ws.case("L1").version == 1  # the next transaction keeps a new one


def test_a_driver_error_lets_it_go_and_a_refused_change_keeps_it(tmp_path: Path) -> None:
    with _open(tmp_path / "e.db", create=True) as ws:
        store = ws.store
        with store.read() as conn:
            kept = conn.connection.driver_connection
        with pytest.raises(treatyflow.CaseNotFound):
            ws.note("NOPE", "x")  # refused: rolled back, connection kept
        assert store._kept is not None and store._kept.connection.driver_connection is kept
        with pytest.raises(StoreError), store.write() as conn:
            conn.exec_driver_sql("INSERT INTO nowhere VALUES (1)")
        assert store._kept is None
        ws.open_case(id="L1", **CASE)  # another connection, which works
        assert ws.case("L1").version == 1 and ws.verify().ok


def test_verify_may_still_fork_when_the_kept_connection_is_idle(tmp_path: Path) -> None:
    with _open(tmp_path / "f.db", create=True) as ws:
        ws.open_case(id="L1", **CASE)
        store = ws.store
        with store.read():
            assert not store._nothing_checked_out()  # in use: no fork
        assert store._kept is not None
        assert store._nothing_checked_out()  # idle: given back, nothing checked out
        assert store._kept is None


def test_a_session_on_a_file_that_is_no_database_is_the_store_s_error(tmp_path: Path) -> None:
    """``advance_many``'s session connects before any transaction: a file that is not a
    database is refused in one sentence, not an internal error."""
    path = tmp_path / "not-a-db.txt"
    path.write_text("hello\n")
    store = open_store(str(path))
    try:
        with pytest.raises(StoreError, match="file is not a database"), store.session():
            pass
    finally:
        store.engine.dispose()
