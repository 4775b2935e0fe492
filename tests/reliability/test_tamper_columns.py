"""Tamper with every column of every table, on SQLite and PostgreSQL: each edit that can move
a legal date or rewrite history is found by ``verify`` or ``doctor`` (issue #18).

One row is edited with SQL, as someone with a database client would; then ``verify --json``
and ``doctor --json`` run. A column counts as covered when ``verify`` exits 1 or a ``doctor``
check that passed before the edit fails after it. The case row's identity columns (country,
action, opening day, facts; procedure and treaty too) are bound to the log: the opening
event records them and ``verify`` checks the row against it (``treatyflow.identity``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from treatyflow.cli import main

Cli = Callable[..., Result]

EVENT = "case_id = 'LTU-1' AND seq = 2"
CASE = "id = 'LTU-1'"
PROJ = "case_id = 'LTU-1'"
TREATY = "kind = 'treaty' AND hash = (SELECT treaty_hash FROM cases WHERE id = 'LTU-1')"

#: (table, column, SQL assignment, row) - every column a tamperer could edit.
EDITS = [
    # events: every column is under the event's hash (``id`` is a surrogate key)
    ("events", "case_id", "case_id = 'G1', seq = 2", EVENT),
    ("events", "seq", "seq = 7", EVENT),
    ("events", "kind", "kind = 'note'", EVENT),
    ("events", "trigger", "trigger = 'notify'", EVENT),
    ("events", "from_state", "from_state = 'notified'", EVENT),
    ("events", "to_state", "to_state = 'effective'", EVENT),
    ("events", "occurred_on", "occurred_on = '2025-06-27'", EVENT),
    ("events", "recorded_at", "recorded_at = '2025-01-01T00:00:00.000000Z'", EVENT),
    ("events", "actor", "actor = 'mallory'", EVENT),
    ("events", "sources", 'sources = \'[{"citation": "forged"}]\'', EVENT),
    ("events", "note", "note = 'forged'", EVENT),
    ("events", "data", 'data = \'{"facts": {"armed_conflict": true}}\'', EVENT),
    ("events", "prev_hash", "prev_hash = hash", EVENT),
    ("events", "hash", "hash = prev_hash", EVENT),
    # the case row: compared with its log
    ("cases", "version", "version = 2", CASE),
    ("cases", "head_hash", "head_hash = (SELECT hash FROM events WHERE " + EVENT + ")", CASE),
    ("cases", "state", "state = 'effective'", CASE),
    # the pinned definition hashes: the snapshot must be there and re-hash
    ("cases", "procedure_hash", "procedure_hash = treaty_hash", CASE),
    ("cases", "treaty_hash", "treaty_hash = procedure_hash", CASE),
    # the definition ids: the catalogue's version of the other id has another hash (doctor's
    # definitions check names the difference)
    ("cases", "procedure", "procedure = 'est'", CASE),
    ("cases", "treaty", "treaty = 'ccm'", CASE),
    # definition snapshots: re-hashed, and must hold a definition of their kind
    ("definitions", "content", "content = replace(content, '\"P6M\"', '\"P1M\"')", TREATY),
    ("definitions", "hash", "hash = 'sha256:' || substr(hash, 8, 63) || 'f'", TREATY),
    ("definitions", "kind", "kind = 'procedure'", TREATY),
    # the case projection (#19): what pending, tick and every change's checks read; a row
    # that disagrees with its log (or is stale) is doctor's `projection` finding
    ("case_projections", "tally", "tally = replace(tally, '2025-06-27', '2025-01-27')", PROJ),
    ("case_projections", "final", "final = NOT final", PROJ),
    ("case_projections", "next_fire", "next_fire = '2025-07-01'", PROJ),
    ("case_projections", "horizon", "horizon = '2024-01-01'", PROJ),
    ("case_projections", "head_hash", "head_hash = 'sha256:00'", PROJ),
]

#: The rest of the case row's identity (country, action, opening date, facts).
IDENTITY = [
    pytest.param("cases", "country", "country = 'EST'", CASE, id="cases.country"),
    pytest.param("cases", "action", "action = 'suspension'", CASE, id="cases.action"),
    pytest.param("cases", "opened_on", "opened_on = '2024-01-01'", CASE, id="cases.opened_on"),
    pytest.param("cases", "facts", "facts = '{\"armed_conflict\": true}'", CASE, id="cases.facts"),
]

PARAMS = [pytest.param(*edit, id=f"{edit[0]}.{edit[1]}") for edit in EDITS] + IDENTITY


def _checks(runner: CliRunner, db: str) -> tuple[int, set[str]]:
    """(verify's exit code, the doctor checks that fail)."""
    verify = runner.invoke(main, ["--db", db, "verify", "--json"])
    assert verify.exit_code in (0, 1), verify.output
    doctor = runner.invoke(main, ["--db", db, "doctor", "--json"])
    assert "Traceback" not in doctor.output and "internal error" not in doctor.output
    failing = {f["check"] for f in json.loads(doctor.stdout)["findings"] if not f["ok"]}
    return verify.exit_code, failing


def _tamper(url: str, table: str, assignment: str, where: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            changed = conn.exec_driver_sql(f"UPDATE {table} SET {assignment} WHERE {where}")
        assert changed.rowcount == 1
    finally:
        engine.dispose()


def _covered(db: str, url: str, table: str, assignment: str, where: str) -> None:
    runner = CliRunner()
    code, before = _checks(runner, db)
    assert code == 0
    _tamper(url, table, assignment, where)
    code, after = _checks(runner, db)
    assert code == 1 or after - before, (code, before, after)


@pytest.mark.slow
@pytest.mark.parametrize(("table", "column", "assignment", "where"), PARAMS)
def test_every_column_edit_is_found_on_sqlite(
    populated: Path, table: str, column: str, assignment: str, where: str
) -> None:
    populated.chmod(0o600)
    _covered(str(populated), f"sqlite:///{populated}", table, assignment, where)


@pytest.mark.slow
@pytest.mark.parametrize(("table", "column", "assignment", "where"), PARAMS)
def test_every_column_edit_is_found_on_postgresql(
    populated_postgres: str, table: str, column: str, assignment: str, where: str
) -> None:
    _covered(populated_postgres, populated_postgres, table, assignment, where)


#: The columns of an attached document's row that are evidence (#17): its bytes, the digest
#: events cite it by, and the size a bundle carries. (``name``, ``media_type`` and
#: ``stored_at`` are copies of what the ``attach`` event records under its hash.)
DOCUMENT = "sha256 = (SELECT min(sha256) FROM documents)"
DOCUMENT_EDITS = [
    pytest.param("content = content || content", id="documents.content"),
    pytest.param("sha256 = 'sha256:' || substr(sha256, 8, 63) || 'f'", id="documents.sha256"),
    pytest.param("size = size + 1", id="documents.size"),
]


def _attach(runner: CliRunner, db: str, tmp_path: Path) -> None:
    document = tmp_path / "decree.pdf"
    document.write_bytes(b"%PDF-1.4 decree 441/2025")
    result = runner.invoke(
        main, ["--db", db, "case", "attach", "LTU-1", str(document), "--on", "2025-06-30"]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.slow
@pytest.mark.parametrize("assignment", DOCUMENT_EDITS)
def test_every_document_column_edit_is_found_on_sqlite(
    populated: Path, tmp_path: Path, assignment: str
) -> None:
    _attach(CliRunner(), str(populated), tmp_path)
    _covered(str(populated), f"sqlite:///{populated}", "documents", assignment, DOCUMENT)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", DOCUMENT_EDITS)
def test_every_document_column_edit_is_found_on_postgresql(
    populated_postgres: str, tmp_path: Path, assignment: str
) -> None:
    _attach(CliRunner(), populated_postgres, tmp_path)
    _covered(populated_postgres, populated_postgres, "documents", assignment, DOCUMENT)


@pytest.mark.parametrize("last_on", ["2024-01-01", "2099-12-31"])
def test_an_edited_last_date_on_the_case_row_decides_no_step(
    populated: Path, last_on: str
) -> None:
    """The case row's ``last_on`` is not bound to the log (``verify`` does not fold it): the
    order check reads the log's last legal date instead, so an earlier copy lets no step in
    before it without ``--backdate``, a later one refuses none after it, and the next change
    writes the log's date back."""
    runner = CliRunner(env={"TREATYFLOW_ACTOR": "analyst"})
    db = str(populated)
    _tamper(f"sqlite:///{db}", "cases", f"last_on = '{last_on}'", CASE)
    early = runner.invoke(main, ["--db", db, "case", "advance", "LTU-1", "revoke",
                                 "--on", "2025-06-28"])  # fmt: skip
    assert early.exit_code == 1 and "before the last legal date" in early.output
    assert "(2025-06-29)" in early.output  # the note of seq 3
    late = runner.invoke(main, ["--db", db, "case", "set-fact", "LTU-1",
                                "armed_conflict=true", "--on", "2025-07-01"])  # fmt: skip
    assert late.exit_code == 0, late.output
    show = runner.invoke(main, ["--db", db, "case", "list", "--json"])
    assert {c["id"]: c["last_on"] for c in json.loads(show.stdout)}["LTU-1"] == "2025-07-01"
