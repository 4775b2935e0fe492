"""The store contract: every behaviour the app layer relies on, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from treatyflow.chain import event_hash
from treatyflow.cli.errors import message as cli_message
from treatyflow.errors import (
    CaseExists,
    ConcurrentUpdate,
    StoreError,
    TransitionNotAllowed,
)
from treatyflow.events import Event, EventKind
from treatyflow.store.sql import CaseRecord, StoreBusy, is_retryable
from treatyflow.store.tables import events as events_table

DAY = dt.date(2025, 6, 27)


def _seal(ev: Event) -> Event:
    return replace(ev, hash=event_hash(ev.hashed_fields()))


def _new_case(store: Any, case_id: str = "C-1") -> tuple[CaseRecord, Event]:
    first = _seal(
        Event(
            case_id=case_id,
            seq=1,
            kind=EventKind.OPEN,
            occurred_on=DAY,
            recorded_at="2025-06-27T10:00:00.000000Z",
            actor="analyst",
            to_state="notified",
        )
    )
    record = CaseRecord(
        id=case_id,
        country="LTU",
        treaty="ottawa",
        procedure="generic",
        procedure_hash="sha256:p",
        treaty_hash="sha256:t",
        action="withdrawal",
        state="notified",
        version=1,
        head_hash=first.hash,
        opened_on=DAY.isoformat(),
        last_on=DAY.isoformat(),
        facts={"armed_conflict": False},
        created_at=first.recorded_at,
        updated_at=first.recorded_at,
    )
    with store.write() as conn:
        store.insert_case(conn, record, first)
    return record, first


def _next(record: CaseRecord, text: str) -> tuple[CaseRecord, Event]:
    ev = _seal(
        Event(
            case_id=record.id,
            seq=record.version + 1,
            kind=EventKind.NOTE,
            occurred_on=DAY,
            recorded_at=f"2025-06-27T11:00:00.{record.version:06d}Z",
            actor="analyst",
            note=text,
            prev_hash=record.head_hash,
        )
    )
    return replace(record, version=record.version + 1, head_hash=ev.hash), ev


def _notes(store: Any, case_id: str) -> list[str | None]:
    with store.read() as conn:
        return [e.note for e in store.events(conn, case_id)]


def test_case_round_trips(mstore: Any) -> None:
    """A case row written with its first event reads back field for field."""
    record, first = _new_case(mstore)
    with mstore.read() as conn:
        assert mstore.get_case(conn, "C-1") == record
        assert mstore.events(conn, "C-1") == [first]
        assert [r.id for r in mstore.list_cases(conn)] == ["C-1"]


def test_append_extends_the_chain(mstore: Any) -> None:
    """Appending at the current version moves the head and adds the event in seq order."""
    record, _ = _new_case(mstore)
    updated, ev = _next(record, "second")
    with mstore.write() as conn:
        mstore.append(conn, updated, record.version, ev)
    with mstore.read() as conn:
        assert mstore.get_case(conn, "C-1") == updated
        assert [e.seq for e in mstore.events(conn, "C-1")] == [1, 2]
        rows = list(mstore.event_rows(conn, "C-1"))
    assert rows[-1]["hash"] == updated.head_hash
    assert rows[-1]["prev_hash"] == rows[0]["hash"]


def test_stale_writer_cannot_extend_the_same_head(mstore: Any) -> None:
    """A second writer holding the old version is refused and writes nothing."""
    record, _ = _new_case(mstore)
    first_update, ev_a = _next(record, "writer A")
    second_update, ev_b = _next(record, "writer B")  # built on the same head as A
    with mstore.write() as conn:
        mstore.append(conn, first_update, record.version, ev_a)
    with pytest.raises(ConcurrentUpdate), mstore.write() as conn:
        mstore.append(conn, second_update, record.version, ev_b)
    assert _notes(mstore, "C-1") == [None, "writer A"]
    with mstore.read() as conn:
        assert mstore.get_case(conn, "C-1") == first_update


def test_overlapping_writers_cannot_both_extend_the_same_head(mstore: Any) -> None:
    """Two open transactions on one head: the one that waits is refused once the other commits."""
    record, _ = _new_case(mstore)
    update_a, ev_a = _next(record, "writer A")
    update_b, ev_b = _next(record, "writer B")
    outcome: dict[str, Any] = {}
    started = threading.Event()

    def writer_b() -> None:
        started.set()
        try:
            with mstore.write() as conn:
                mstore.append(conn, update_b, record.version, ev_b)
            outcome["b"] = "committed"
        except StoreError as exc:
            outcome["b"] = exc

    with mstore.write() as conn:
        mstore.append(conn, update_a, record.version, ev_a)
        thread = threading.Thread(target=writer_b)
        thread.start()
        started.wait()
        thread.join(0.3)  # let B block on the lock (SQLite BEGIN IMMEDIATE, PG row lock)
    thread.join()
    assert isinstance(outcome["b"], ConcurrentUpdate)
    assert _notes(mstore, "C-1") == [None, "writer A"]


def test_duplicate_case_insert_is_a_retryable_conflict(mstore: Any) -> None:
    """Inserting a case id that another writer just created is a conflict, not a crash."""
    record, first = _new_case(mstore)
    with pytest.raises(ConcurrentUpdate) as caught, mstore.write() as conn:
        mstore.insert_case(conn, record, first)
    assert is_retryable(caught.value)


def test_definitions_are_stored_once(mstore: Any, catalog: Any) -> None:
    """Saving a definition snapshot twice keeps one row and the first content."""
    from treatyflow.catalog import content_hash

    treaty = catalog.treaty("ottawa")
    digest, first = content_hash(treaty), treaty.model_dump_json()
    for content in (first, first.replace("ottawa", "changed")):
        with mstore.write() as conn:
            mstore.save_definition(conn, digest, "treaty", "ottawa", content, "now")
    with mstore.read() as conn:
        assert mstore.load_definition(conn, digest) == first
        assert len(mstore.all_definitions(conn)) == 1


def test_bulk_insert_batches_rows(mstore: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """bulk_insert writes every row, in executemany batches of BATCH_SIZE."""
    from treatyflow.store import sql

    monkeypatch.setattr(sql, "BATCH_SIZE", 2)
    columns = ("hash", "kind", "definition_id", "content", "stored_at")
    rows = [(f"sha256:{n}", "treaty", f"t{n}", "{}", "now") for n in range(5)]
    with mstore.write() as conn:
        assert mstore.bulk_insert(conn, "definitions", columns, rows) == 5
        # definitions already there are skipped, not an error
        assert mstore.bulk_insert(conn, "definitions", columns, rows[:2]) == 2
    with mstore.read() as conn:
        assert mstore.counts(conn) == {"definitions": 5, "cases": 0, "events": 0}


def test_workspace_scenario_and_tamper_detection(svc: Any, mstore: Any) -> None:
    """The contract scenario runs and an edited event row is named with its seq."""
    svc.open_case(
        country="LTU", treaty="ottawa", actor="analyst", id="LTU-1", at="notified", on=DAY
    )
    assert svc.tick(as_of=dt.date(2025, 12, 26)).fired == ()
    fired = [f.to_dict() for f in svc.tick(as_of=dt.date(2025, 12, 27)).fired]
    assert [f["case"] for f in fired] == ["LTU-1"]
    svc.note("LTU-1", "a note", on=dt.date(2025, 12, 28), actor="analyst")
    assert [e.to_dict()["kind"] for e in svc.history("LTU-1")] == ["open", "take-effect", "note"]
    assert svc.verify().problems == ()
    with mstore.engine.begin() as conn:
        conn.execute(
            events_table.update()
            .where(events_table.c.case_id == "LTU-1", events_table.c.seq == 2)
            .values(actor="mallory")
        )
    faults = svc.verify().problems
    assert [(f.case_id, f.seq) for f in faults] == [("LTU-1", 2)]


def test_refused_command_writes_nothing(svc: Any) -> None:
    """A transition that is not allowed leaves the log and the case as they were."""
    svc.open_case(
        country="LTU", treaty="ottawa", actor="analyst", id="LTU-1", at="notified", on=DAY
    )
    before = [e.to_dict() for e in svc.history("LTU-1")]
    with pytest.raises(TransitionNotAllowed):
        svc.advance("LTU-1", "no-such-trigger", on=DAY, actor="analyst")
    assert [e.to_dict() for e in svc.history("LTU-1")] == before


def test_opening_an_existing_case_names_it(svc: Any) -> None:
    """Opening a case id twice is CaseExists (after the conflict retry re-checks)."""
    svc.open_case(country="LTU", treaty="ottawa", actor="a", id="LTU-1", on=DAY)
    with pytest.raises(CaseExists):
        svc.open_case(country="LTU", treaty="ottawa", actor="a", id="LTU-1", on=DAY)


def test_simultaneous_opens_get_distinct_ids(mstore: Any, catalog: Any) -> None:
    """Analysts opening cases at once without --id all succeed, each with its own id."""
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace

    ids: list[str] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            svc = Workspace(Core(mstore, catalog))
            ids.append(svc.open_case(country="LTU", treaty="ottawa", actor="a", on=DAY).id)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 6
    with mstore.read() as conn:
        assert {r.id for r in mstore.list_cases(conn)} == set(ids)


def test_conflicts_are_retried_a_bounded_number_of_times(
    svc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that always collides is retried RETRIES times with jitter, then told to rerun."""
    from treatyflow.app import core as core_module

    svc.open_case(country="LTU", treaty="ottawa", actor="a", id="LTU-1", on=DAY)
    attempts: list[int] = []
    sleeps: list[float] = []

    def always_conflict(conn: Any, case: Any, expected: int, ev: Any) -> None:
        attempts.append(expected)
        raise ConcurrentUpdate(case.id)

    monkeypatch.setattr(svc.store, "append", always_conflict)
    monkeypatch.setattr(core_module.time, "sleep", sleeps.append)
    with pytest.raises(ConcurrentUpdate, match="case 'LTU-1' was changed by someone else") as info:
        svc.note("LTU-1", "collides", on=DAY, actor="a")
    assert "run the command again" in cli_message(info.value)  # the CLI's hint
    assert len(attempts) == core_module.RETRIES
    assert len(sleeps) == core_module.RETRIES - 1
    assert all(0 <= s <= core_module.RETRY_CAP for s in sleeps)


def test_sqlite_busy_is_reported_as_retryable(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite 'database is locked' becomes StoreBusy, which the app layer retries."""
    from treatyflow.store import migrate, open_store, sql

    monkeypatch.setattr(sql, "BUSY_TIMEOUT_MS", 20)
    path = tmp_path / "busy.db"
    store = open_store(str(path), create=True)
    migrate.upgrade(store)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy) as caught, store.write() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        store.engine.dispose()
    assert is_retryable(caught.value)
    assert "run the command again" in cli_message(caught.value)  # the CLI's hint


def test_postgres_serialization_failure_is_retryable(mstore: Any) -> None:
    """A PostgreSQL 40001 (serialization failure) becomes StoreBusy, which is retried.

    The failed transaction is rolled back whole: neither its append nor the definition it
    saved first is in the store afterwards.
    """
    if mstore.is_sqlite:
        pytest.skip("SQLite serialises writers; it has no serialization failures")
    record, first = _new_case(mstore)
    updated, ev = _next(record, "lost")
    other = sa.create_engine(mstore.url, poolclass=sa.pool.NullPool)
    try:
        with pytest.raises(StoreBusy) as caught, mstore.write() as conn:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            conn.execute(sa.text("SELECT version FROM cases")).all()
            mstore.save_definition(conn, "sha256:lost", "treaty", "x", "{}", DAY.isoformat())
            with other.begin() as c2:
                c2.execute(sa.text("UPDATE cases SET version = version"))
            mstore.append(conn, updated, record.version, ev)
    finally:
        other.dispose()
    assert is_retryable(caught.value)
    with mstore.read() as conn:
        assert mstore.get_case(conn, "C-1") == record
        assert mstore.events(conn, "C-1") == [first]
        assert mstore.load_definition(conn, "sha256:lost") is None


def test_postgres_deadlock_is_retryable(mstore: Any) -> None:
    """A PostgreSQL 40P01 (deadlock) becomes StoreBusy, which is retried."""
    if mstore.is_sqlite:
        pytest.skip("SQLite takes one database-wide write lock: no deadlocks")
    with mstore.read() as conn:
        superuser = conn.execute(
            sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ).scalar_one()
    if not superuser:
        pytest.skip("steering which side PostgreSQL aborts needs SET deadlock_timeout (superuser)")
    _new_case(mstore, "A")
    _new_case(mstore, "B")
    other = sa.create_engine(mstore.url, poolclass=sa.pool.NullPool)
    holds_b = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        # Takes B, then waits for A; its long deadlock_timeout makes the main side the
        # one PostgreSQL aborts.
        try:
            with other.begin() as conn:
                conn.execute(sa.text("SET LOCAL deadlock_timeout = '10s'"))
                conn.execute(sa.text("UPDATE cases SET version = version WHERE id = 'B'"))
                holds_b.set()
                conn.execute(sa.text("UPDATE cases SET version = version WHERE id = 'A'"))
        except sa.exc.DBAPIError as exc:
            errors.append(exc)

    thread = threading.Thread(target=second)
    try:
        with pytest.raises(StoreBusy) as caught, mstore.write() as conn:
            conn.execute(sa.text("SET LOCAL deadlock_timeout = '500ms'"))
            conn.execute(sa.text("UPDATE cases SET version = version WHERE id = 'A'"))
            thread.start()
            holds_b.wait()
            conn.execute(sa.text("UPDATE cases SET version = version WHERE id = 'B'"))
    finally:
        thread.join()
        other.dispose()
    assert errors == []
    assert is_retryable(caught.value)
    assert "deadlock" in str(caught.value)


def test_read_transactions_see_one_snapshot(mstore: Any) -> None:
    """A read transaction does not see a write committed while it runs."""
    record, _ = _new_case(mstore)
    updated, ev = _next(record, "late")
    with mstore.read() as conn:
        before = mstore.heads(conn)
        with mstore.write() as wconn:
            mstore.append(wconn, updated, record.version, ev)
        assert mstore.heads(conn) == before
        assert len(mstore.events(conn, "C-1")) == 1


def _statements(store: Any) -> list[str]:
    """A log of every SQL statement the store's engine runs from now on."""
    log: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        log.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    return log


def test_open_without_id_takes_a_constant_number_of_queries(svc: Any, mstore: Any) -> None:
    """`case open` without an id finds the next free id in one query: the statements per
    opening do not grow with the ids already taken, and the ids are those of probing one at
    a time (base, base-2, base-3, ...; a gap left by an explicit id is filled first)."""
    log = _statements(mstore)
    svc.open_case(country="LTU", treaty="ottawa", actor="a", id="LTU-ottawa-2025-5", on=DAY)
    per_open = []
    ids = []
    for _ in range(12):
        del log[:]
        ids.append(svc.open_case(country="LTU", treaty="ottawa", actor="a", on=DAY).id)
        per_open.append(len(log))
    base = "LTU-ottawa-2025"
    assert ids == [base] + [f"{base}-{n}" for n in (2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13)]
    assert len(set(per_open)) == 1, per_open  # the same statements at the 1st and the 12th
    # one statement looks for the free id, whichever the number of ids probed
    assert sum(1 for s in log if "WITH RECURSIVE probe" in s) == 1


def test_free_case_id_matches_probing_one_by_one(mstore: Any) -> None:
    """The one-query search agrees with looking ids up one at a time, ids with LIKE
    wildcards and look-alike suffixes included."""
    base = "X_%-ottawa-2025"
    taken = [base, f"{base}-2", f"{base}-02", f"{base}-3x", f"{base}-4", "X_%-ottawa-2025-3-1"]
    for case_id in taken:
        _new_case(mstore, case_id)
    with mstore.read() as conn:
        assert mstore.free_case_id(conn, base) == f"{base}-3"
        assert mstore.free_case_id(conn, "X_%-ottawa-2026") == "X_%-ottawa-2026"
        assert mstore.free_case_id(conn, f"{base}-4") == f"{base}-4-2"
