"""A row holding a value treatyflow never writes is one clear error, never an internal one.

SQLite stores whatever a database client writes: a date that is no date, JSON that does not
parse (or is nested too deep to read), bytes that are not UTF-8 in a text column. Every read
command then fails with one ``Error:`` sentence naming the row (``RowUnreadable``, exit 1)
or answers without the row; ``verify`` names the case; no traceback, nothing written.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from treatyflow.cli import main

EVENT = "case_id = 'LTU-1' AND seq = 2"
CASE = "id = 'LTU-1'"
EDITS = [
    pytest.param(
        f"UPDATE events SET occurred_on = '-001-01-01' WHERE {EVENT}", id="negative-date"
    ),
    pytest.param(f"UPDATE events SET occurred_on = '99999-12-31' WHERE {EVENT}", id="huge-date"),
    pytest.param(f"UPDATE events SET sources = '[1,' WHERE {EVENT}", id="sources-not-json"),
    pytest.param(
        f"UPDATE events SET data = replace(hex(zeroblob(5000)), '00', '[') WHERE {EVENT}",
        id="data-too-deep",
    ),
    pytest.param(f"UPDATE events SET kind = 'bogus' WHERE {EVENT}", id="unknown-kind"),
    pytest.param(
        f"UPDATE events SET note = CAST(x'41ff42' AS TEXT) WHERE {EVENT}", id="note-not-utf8"
    ),
    pytest.param(f"UPDATE cases SET opened_on = '2025-13-45' WHERE {CASE}", id="case-date"),
    pytest.param(f"UPDATE cases SET facts = 'not json' WHERE {CASE}", id="case-facts"),
    pytest.param(
        f"UPDATE cases SET country = CAST(x'ff4c54' AS TEXT) WHERE {CASE}",
        id="country-not-utf8",
    ),
]
READS = [
    ["case", "show", "LTU-1", "--json"],
    ["case", "history", "LTU-1", "--json"],
    ["case", "list", "--json"],
    ["report", "matrix"],
    ["report", "portfolio", "--format", "json"],
    ["calendar", "--json"],
    ["conformance", "--json"],
    ["report", "diff", "--since", "2025-01-01", "--format", "json"],
]


def _edit(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute(sql).rowcount == 1
        conn.commit()
    finally:
        conn.close()


def _rows(db: Path) -> list[tuple[object, ...]]:
    """Every row of every table, text as bytes (``iterdump`` cannot read text that is not
    UTF-8)."""
    conn = sqlite3.connect(db)
    conn.text_factory = bytes
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return [
            (t, *row)
            for t in sorted(tables)
            for row in conn.execute(f'SELECT * FROM "{t.decode()}"')
        ]
    finally:
        conn.close()


@pytest.mark.parametrize("sql", EDITS)
def test_an_unreadable_row_is_one_clear_error(populated: Path, sql: str) -> None:
    _edit(populated, sql)
    before = _rows(populated)
    runner = CliRunner()
    for argv in READS:
        result = runner.invoke(main, ["--db", str(populated), *argv])
        assert result.exit_code in (0, 1), (argv, result.output)
        assert "internal error" not in result.output, (argv, result.output)
        assert not isinstance(result.exception, Exception) or result.exit_code == 1
        if result.exit_code == 1:
            assert result.stderr.startswith("Error: "), (argv, result.stderr)
            assert "cannot be read" in result.stderr, (argv, result.stderr)
            assert len(result.stderr.strip().splitlines()) == 1, (argv, result.stderr)
    out = populated.parent / "bundle.jsonl"
    result = runner.invoke(main, ["--db", str(populated), "export", "-o", str(out)])
    assert result.exit_code in (0, 1) and "internal error" not in result.output
    assert result.exit_code == 0 or not out.exists()
    verify = runner.invoke(main, ["--db", str(populated), "verify"])
    assert verify.exit_code == 1 and "internal error" not in verify.output
    assert _rows(populated) == before


def test_a_stopped_read_prints_no_driver_traceback(populated: Path) -> None:
    """A read stopped by an unreadable case row closes its streaming query itself: left to
    the garbage collector, the cursor was closed after its connection and SQLAlchemy printed
    an "Error closing cursor" traceback under the error."""
    _edit(populated, f"UPDATE cases SET facts = 'not json' WHERE {CASE}")
    result = subprocess.run(
        [sys.executable, "-m", "treatyflow", "--db", str(populated), "report", "matrix"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: case 'LTU-1' cannot be read (its facts")
    assert "Traceback" not in result.stderr and "Error closing cursor" not in result.stderr


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        (f"UPDATE events SET note = CAST(x'41ff42' AS TEXT) WHERE {EVENT}", ("LTU-1", 2, "note")),
        (
            f"UPDATE cases SET country = CAST(x'ff4c54' AS TEXT) WHERE {CASE}",
            ("LTU-1", 1, "country"),
        ),
    ],
    ids=["event-note", "case-country"],
)
def test_verify_names_the_row_of_text_that_is_not_utf8(
    populated: Path, sql: str, problem: tuple[str, int, str]
) -> None:
    """SQLite's driver cannot read such text at all: verify finds every such value and names
    its case and seq (it used to stop with a database error naming neither)."""
    import json

    _edit(populated, sql)
    result = CliRunner().invoke(main, ["--db", str(populated), "verify", "--json"])
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    case, seq, column = problem
    assert [(p["case"], p["seq"]) for p in problems] == [(case, seq)]
    assert problems[0]["reason"].startswith(f"its {column} is not UTF-8 text")
