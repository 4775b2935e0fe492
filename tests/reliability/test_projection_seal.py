"""A case projection row edited with SQL decides nothing, and ``verify`` names it.

The projection (#19) is derived data that ``pending``, ``tick`` and every change's checks read
instead of folding the log. Each row is sealed (``treatyflow.store.projections``): a row whose
seal does not match is never read (the case is folded from its log), so an edited tally can
neither make ``tick`` write a wrong legal date into the log nor ``pending`` show one; and
``verify`` names every edited row (a changed ``final``, ``horizon`` or ``next_fire`` can still
keep a case out of ``pending`` or ``tick`` until ``db reproject --all`` rewrites it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from reliability_cases import POPULATE

from treatyflow.cli import main
from treatyflow.store import chainscan, projections
from treatyflow.store.sql import Store

ROW = "case_id = 'LTU-1'"
#: LTU-1 was notified on 2025-06-27: its clock is due on 2025-12-27.
SHIFT = "tally = replace(tally, '2025-06-27', '2025-01-27')"
EDITS = [
    pytest.param(SHIFT, id="tally"),
    pytest.param("final = NOT final", id="final"),
    pytest.param("next_fire = '2099-01-01'", id="next_fire"),
    pytest.param("horizon = '2024-01-01'", id="horizon"),
    pytest.param("head_hash = 'sha256:00'", id="head_hash"),
]


def _sql(url: str, statement: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            assert conn.exec_driver_sql(statement).rowcount == 1
    finally:
        engine.dispose()


def _run(db: str, *argv: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, ["--db", db, *argv])
    assert result.exit_code == code, result.output
    return result.stdout


def _no_wrong_date(db: str, url: str) -> None:
    before = _run(db, "pending", "--as-of", "2025-07-01", "--json")
    _sql(url, f"UPDATE case_projections SET {SHIFT} WHERE {ROW}")
    # verify names the edited row
    problems = json.loads(_run(db, "verify", "--json", code=1))["problems"]
    assert [(p["case"], "projection" in p["reason"]) for p in problems] == [("LTU-1", True)]
    # pending and case show still give the log's date
    assert _run(db, "pending", "--as-of", "2025-07-01", "--json") == before
    assert json.loads(_run(db, "case", "show", "LTU-1", "--json"))["effective_on"] == "2025-12-27"
    # tick writes the clock's true date into the log, not the edited row's (2025-07-27)
    _run(db, "tick", "--as-of", "2025-12-28")
    last = json.loads(_run(db, "case", "history", "LTU-1", "--json"))[-1]
    assert (last["kind"], last["occurred_on"]) == ("take-effect", "2025-12-27")
    assert _run(db, "db", "reproject", "--all", "--json")
    _run(db, "verify")


def test_an_edited_tally_moves_no_date_on_sqlite(populated: Path) -> None:
    _no_wrong_date(str(populated), f"sqlite:///{populated}")


@pytest.fixture
def populated_postgres(postgres_url: str) -> str:
    for argv in [["init"], *POPULATE]:
        _run(postgres_url, *argv)
    return postgres_url


def test_an_edited_tally_moves_no_date_on_postgresql(populated_postgres: str) -> None:
    _no_wrong_date(populated_postgres, populated_postgres)


@pytest.mark.parametrize("assignment", EDITS)
def test_every_projection_column_edit_makes_verify_fail(populated: Path, assignment: str) -> None:
    db = str(populated)
    _sql(f"sqlite:///{db}", f"UPDATE case_projections SET {assignment} WHERE {ROW}")
    problems = json.loads(_run(db, "verify", "--json", code=1))["problems"]
    assert [p["case"] for p in problems] == ["LTU-1"]
    assert problems[0]["seq"] == 3  # the seq the row is bound to: the case's last
    assert "reprojecting every case" in problems[0]["reason"]
    _run(db, "db", "reproject", "--all")
    _run(db, "verify")


def test_a_fault_of_the_log_is_reported_before_its_projection_row(populated: Path) -> None:
    db = str(populated)
    url = f"sqlite:///{db}"
    _sql(url, f"UPDATE case_projections SET {SHIFT} WHERE {ROW}")
    _sql(url, "UPDATE events SET note = 'forged' WHERE case_id = 'LTU-1' AND seq = 2")
    problems = json.loads(_run(db, "verify", "--json", code=1))["problems"]
    assert [(p["case"], p["seq"]) for p in problems] == [("LTU-1", 2)]
    assert "projection" not in problems[0]["reason"]


# ------------------------------------------------ the seals are checked in verify's fast pass
def _refuse_serial_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the seals' read of their own fail the test: the fast pass must check them."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the seals were read again, outside the fast pass")

    monkeypatch.setattr(projections, "unsealed", refuse)


def _one_edited_row(db: str, url: str) -> None:
    _sql(url, f"UPDATE case_projections SET final = NOT final WHERE {ROW}")
    problems = json.loads(_run(db, "verify", "--json", code=1))["problems"]
    assert [(p["case"], "projection" in p["reason"]) for p in problems] == [("LTU-1", True)]


@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "worker processes"])
def test_the_fast_pass_checks_the_seals_on_sqlite(
    populated: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """The seals are read in the pass's own reads (by its workers on a large database, in
    parallel), not in a serial read after it: 1.25 s of 10 s at 100k cases."""
    monkeypatch.setattr(chainscan, "PARALLEL_FROM", 1)
    monkeypatch.setattr(chainscan, "WORKERS", workers)
    _refuse_serial_read(monkeypatch)
    _one_edited_row(str(populated), f"sqlite:///{populated}")


@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "worker processes"])
def test_the_fast_pass_checks_the_seals_on_postgresql(
    populated_postgres: str, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(chainscan, "PARALLEL_FROM", 1)
    monkeypatch.setattr(chainscan, "WORKERS", workers)
    _refuse_serial_read(monkeypatch)
    _one_edited_row(populated_postgres, populated_postgres)


def test_the_seals_are_read_on_their_own_when_the_fast_pass_gives_up(
    populated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Store, "chain_scan", lambda self, want=None: None)
    _one_edited_row(str(populated), f"sqlite:///{populated}")


_column = st.none() | st.booleans() | st.integers() | st.text().filter(lambda t: "\n" not in t)


@given(_column, _column, _column, st.booleans(), _column)
def test_the_seal_reads_the_columns_as_before(
    case_id: object, head: object, horizon: object, final: bool, next_fire: object
) -> None:
    """``_meta`` (one f-string) writes each row's columns as the join of ``str`` it replaced
    (every seal already stored must still match)."""
    parts = (case_id, head, horizon, "1" if final else "0", next_fire)
    joined = "\n".join("" if v is None else str(v) for v in parts) + "\n"
    got = projections._meta(case_id, head, horizon, final, next_fire)
    assert got == joined.encode("utf-8", "surrogatepass")
