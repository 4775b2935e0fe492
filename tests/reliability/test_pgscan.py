"""The fast pass on PostgreSQL (#19): it clears intact cases from one streamed read (in
ranges over worker processes when large), finds what the exact check finds, and
``verify --checkpoint`` compares the heads it collected instead of a query per case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from treatyflow.app import integrity
from treatyflow.app.core import Core
from treatyflow.catalog import load_catalog, shipped_workflows
from treatyflow.cli import main
from treatyflow.store import chainscan, open_store, pgscan
from treatyflow.store.sql import Store, to_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(populated_postgres: str) -> str:
    """The conftest's ``populated_postgres`` (its URL), by the short name these tests use."""
    return populated_postgres


def _sql(url: str, *statements: str) -> None:
    engine = sa.create_engine(to_url(url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def _tamper(url: str, *statements: str) -> None:
    """Run ``statements`` with the events table's append-only triggers off, as someone with
    a database client who owns the tables could."""
    _sql(url, "ALTER TABLE events DISABLE TRIGGER USER", *statements)


#: The fast pass's scan, its verdict and the exact check's (as :func:`_verdicts` gives them).
Verdicts = tuple[Any, tuple[int, list[Any]], tuple[int, list[Any]]]


def _verdicts(url: str) -> Verdicts:
    core = Core(open_store(url), load_catalog([shipped_workflows()]))
    try:
        scan = core.store.chain_scan()
        fast = integrity.check_chains(core, scan)
        with core.store.read() as conn:
            exact = integrity._verify_all(core, conn)
    finally:
        core.store.engine.dispose()
    return scan, fast, exact


def _serial_and_parallel(
    url: str, monkeypatch: pytest.MonkeyPatch, *, parallel_from: int, workers: int
) -> tuple[Verdicts, Verdicts]:
    """:func:`_verdicts` from one connection, then with the pass spread over ``workers``
    processes from ``parallel_from`` cases on (checked: it forked them, once, and both
    passes scanned)."""
    serial = _verdicts(url)
    monkeypatch.setattr(chainscan, "PARALLEL_FROM", parallel_from)
    monkeypatch.setattr(chainscan, "WORKERS", workers)
    forks: list[int] = []
    real = chainscan._fork_context
    monkeypatch.setattr(chainscan, "_fork_context", lambda: forks.append(1) or real())
    parallel = _verdicts(url)
    assert forks == [1]
    assert serial[0] is not None and parallel[0] is not None
    return serial, parallel


def _refuse(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, what: str) -> None:
    """Make ``owner.name`` fail the test with ``what`` if it is called."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError(what)

    monkeypatch.setattr(owner, name, refuse)


def _verify(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--db", url, "verify", *args])
    return result.exit_code, result.output


TAMPERS = [
    # a changed sources text (a citation added)
    (
        "UPDATE events SET sources = '[{\"citation\": \"forged\"}]' "
        "WHERE case_id = 'LTU-1' AND seq = 1",
        "LTU-1",
    ),
    ("UPDATE events SET note = 'forged' WHERE case_id = 'LTU-1' AND seq = 3", "LTU-1"),
    ("DELETE FROM events WHERE case_id = 'LTU-1' AND seq = 2", "LTU-1"),
    ("UPDATE events SET data = '{\"facts\": {\"armed_conflict\": true}}' "
     "WHERE case_id = 'LTU-1' AND seq = 2", "LTU-1"),
    ("UPDATE cases SET state = 'effective' WHERE id = 'LTU-1'", "LTU-1"),
]  # fmt: skip


@pytest.mark.parametrize(("statement", "case_id"), TAMPERS)
def test_the_fast_pass_finds_what_the_exact_check_finds(
    pg: str, statement: str, case_id: str
) -> None:
    scan, fast, exact = _verdicts(pg)
    assert scan is not None and scan.suspects == [] and fast == exact == (2, [])
    _tamper(pg, statement)
    scan, fast, exact = _verdicts(pg)
    assert scan is not None and scan.suspects == [case_id]
    assert fast == exact
    assert [f.case_id for f in fast[1]] == [case_id]


def test_a_swapped_country_is_found_in_the_same_pass(
    pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case row's country against its opening event: found by the pass, not by a
    second query over every case."""
    _sql(pg, "UPDATE cases SET country = 'EST' WHERE id = 'G1'")
    _refuse(monkeypatch, integrity, "check_identities", "the identities were read a second time")
    code, output = _verify(pg)
    assert code == 1
    assert "case 'G1'" in output and "country" in output


def test_worker_processes_on_postgresql_find_what_one_connection_finds(
    pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner(env={"TREATYFLOW_ACTOR": "analyst"})
    for k in range(8):
        argv = ["case", "open", "--country", "LVA", "--treaty", "ottawa", "--procedure",
                "generic", "--id", f"C{k}", "--on", "2025-01-10"]  # fmt: skip
        assert runner.invoke(main, ["--db", pg, *argv]).exit_code == 0
    _tamper(
        pg,
        "UPDATE events SET note = 'x' WHERE case_id = 'C5'",
        "UPDATE cases SET country = 'EST' WHERE id = 'C2'",
    )
    serial, parallel = _serial_and_parallel(pg, monkeypatch, parallel_from=2, workers=3)
    assert sorted(parallel[0].suspects) == sorted(serial[0].suspects) == ["C5"]
    assert parallel[0].identity == serial[0].identity and list(parallel[0].identity) == ["C2"]
    assert parallel[1] == serial[1] == parallel[2]


def test_checkpoint_takes_one_pass_and_finds_a_rolled_back_head(
    pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A head rolled back (the last event deleted, the case row put back one step): the
    chain verifies, the checkpoint does not; and no query per case is made."""
    checkpoint = tmp_path / "heads.json"
    result = CliRunner().invoke(main, ["--db", pg, "checkpoint", "-o", str(checkpoint)])
    assert result.exit_code == 0, result.output
    _tamper(
        pg,
        "DELETE FROM events WHERE case_id = 'LTU-1' AND seq = 3",
        "UPDATE cases SET version = 2, head_hash = (SELECT hash FROM events "
        "WHERE case_id = 'LTU-1' AND seq = 2) WHERE id = 'LTU-1'",
    )
    assert _verify(pg)[0] == 0  # the chain and the row agree: only the checkpoint can tell
    _refuse(monkeypatch, Store, "event_hash_at", "a query per case")
    code, output = _verify(pg, "--checkpoint", str(checkpoint))
    assert code == 1, output
    assert "case 'LTU-1': first bad event is seq 3" in output and "truncated" in output


def test_an_event_of_no_case_is_counted_once_by_worker_processes_too(
    pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event whose case id is NULL (possible only once the column's NOT NULL is dropped
    outside treatyflow) is read by the first range's query of its own, after that range's
    events: counted once, as one connection counts it, and reported."""
    _tamper(
        pg,
        "ALTER TABLE events ALTER COLUMN case_id DROP NOT NULL",
        "UPDATE events SET case_id = NULL WHERE case_id = 'LTU-1' AND seq = 3",
    )
    serial, parallel = _serial_and_parallel(pg, monkeypatch, parallel_from=1, workers=2)
    assert (parallel[0].orphans, parallel[0].events) == (serial[0].orphans, serial[0].events)
    assert parallel[0].orphans == 1
    assert parallel[1] == serial[1]
    code, output = _verify(pg)
    assert code == 1 and "no case id (NULL)" in output


@pytest.mark.parametrize(("lo", "hi"), [(None, "LTU-1"), ("G1", "LTU-1"), ("G1", None)])
def test_every_range_is_read_as_an_index_range(pg: str, lo: Any, hi: Any) -> None:
    """Each query of a worker's range is an index range scan of (case id, seq), even the
    first range, which also reads the events of no case: an ``OR case_id IS NULL`` in its
    range made PostgreSQL walk the whole index (and every row of the table) to find them."""
    engine = sa.create_engine(to_url(pg), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: no sequential
            conn.exec_driver_sql("SET enable_bitmapscan = off")  # read, however cheap
            raw = conn.connection.driver_connection
            assert raw is not None
            for sql, args in pgscan.event_queries(lo, hi):
                plan = [row[0] for row in raw.execute(f"EXPLAIN DECLARE c CURSOR FOR {sql}", args)]
                assert plan[0].lstrip().startswith("Index Scan using uq_events_case_seq"), plan
                assert not any("Filter:" in line for line in plan), plan
    finally:
        engine.dispose()
