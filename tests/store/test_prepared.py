"""The hot statements compiled once and run on the driver's cursor, and the held connection
of a session (#19): driver errors still arrive as the store's errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite

import treatyflow
from treatyflow.errors import ConcurrentUpdate, StoreError
from treatyflow.events import EVENT_COLUMNS
from treatyflow.store.prepared import Prepared


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "prepared.db")
    return str(request.getfixturevalue("postgres_url"))


def test_statements_are_compiled_for_each_dialect_with_the_version_check() -> None:
    lite = Prepared(sqlite.dialect(), EVENT_COLUMNS)
    pg = Prepared(postgresql.psycopg.dialect(), EVENT_COLUMNS)
    assert lite.sql("update").endswith("WHERE cases.id = ? AND cases.version = ?")
    assert "cases.version = %(w_version)s" in pg.sql("update")
    assert pg.sql("case_for_update").endswith("FOR UPDATE")
    assert '"key"' in lite.sql("insert_event")  # quoted as the dialect needs
    assert "RETURNING" not in pg.sql("insert_event")
    # the case projection row, read and replaced in every change (#19)
    assert lite.sql("projection").endswith("WHERE case_projections.case_id = ?")
    for prepared in (lite, pg):
        upsert = prepared.sql("save_projection")
        assert "ON CONFLICT (case_id) DO UPDATE SET" in upsert
        assert "tally = excluded.tally" in upsert and "case_id = excluded" not in upsert


def test_a_duplicate_event_and_a_stale_version_are_the_store_s_errors(target: str) -> None:
    with treatyflow.open(target, actor="analyst", create=True) as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="notified", on="2025-06-27")
        store = ws.store
        with store.read() as conn:
            record = store.get_case(conn, "L1")
            [first] = store.events(conn, "L1")
        assert record is not None and record.version == 1
        moved = replace(record, version=2)
        with pytest.raises(StoreError, match="duplicate write"), store.write() as conn:
            store.append(conn, moved, 1, first)  # seq 1 again: the unique (case_id, seq)
        with pytest.raises(ConcurrentUpdate), store.write() as conn:
            store.append(conn, replace(record, version=3), 2, replace(first, seq=3))
        assert ws.case("L1").version == 1 and ws.verify().ok


def test_a_session_holds_one_connection_and_lets_it_go_after_a_driver_error(
    tmp_path: Path,
) -> None:
    with treatyflow.open(tmp_path / "s.db", actor="analyst", create=True) as ws:
        store = ws.store
        seen: list[Any] = []
        with store.session():
            for _ in range(2):
                with store.write() as conn:
                    seen.append(conn.connection.driver_connection)
            with store.read() as conn:
                seen.append(conn.connection.driver_connection)
                assert conn.exec_driver_sql("SELECT count(*) FROM cases").scalar() == 0
            assert seen[0] is seen[1] is seen[2]
            with pytest.raises(treatyflow.CaseNotFound), store.write() as conn:
                ws._core.record(conn, "NOPE")  # refused: rolled back, connection kept
            with store.write() as conn:
                assert conn.connection.driver_connection is seen[0]
                conn.exec_driver_sql(  # through SQLAlchemy: joins the session's transaction
                    "INSERT INTO definitions VALUES ('h', 'treaty', 'x', '{}', 'now')"
                )
            with store.read() as conn:  # ... and was committed with it
                assert conn.exec_driver_sql("SELECT count(*) FROM definitions").scalar() == 1
            with pytest.raises(StoreError), store.write() as conn:
                conn.exec_driver_sql("INSERT INTO nowhere VALUES (1)")
            assert getattr(store._held, "conn", None) is None  # let go
            with store.write() as conn:  # one from the pool, which works
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="notified", on="2025-06-27")
        assert ws.verify().ok


def test_the_statements_are_built_once_per_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling a second statement does not build every expression again (start-up)."""
    from treatyflow.store import prepared

    built: list[str] = []
    real = prepared._statements

    def counting(*args: Any) -> Any:
        built.append("all")
        return real(*args)

    monkeypatch.setattr(prepared, "_statements", counting)
    lite = Prepared(sqlite.dialect(), EVENT_COLUMNS)
    for name in ("case", "events", "update", "projection", "save_projection"):
        lite.sql(name)
    assert built == ["all"]
