"""The search index edited outside treatyflow is found by ``doctor`` and rebuilt by
``db reindex`` (SQLite's FTS5 table; PostgreSQL keeps its expression index itself).

The index is no evidence (the hash chain covers the events, and ``verify`` checks them), but
an index edited with SQL makes ``search`` miss an event, or find it by words it does not
hold: a reader who trusts a search must be able to learn that it was changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_tamper import _sql

from treatyflow.cli import main
from treatyflow.store.search import FTS_TABLE


def _run(db: str, *argv: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, ["--db", db, *argv])
    assert result.exit_code == code, result.output
    return result.stdout


def _finding(db: Path) -> dict[str, object]:
    doc = json.loads(_run(str(db), "doctor", "--json", code=1))
    return next(f for f in doc["findings"] if f["check"] == "search-index")


def _hits(db: Path, text: str) -> list[tuple[str, int]]:
    doc = json.loads(_run(str(db), "search", text, "--json"))
    return [(h["case_id"], h["seq"]) for h in doc["hits"]]


#: LTU-1's note (seq 3) reads "instrument received".
NOTE = "(SELECT id FROM events WHERE case_id = 'LTU-1' AND seq = 3)"
TAMPERS = [
    pytest.param(f"DELETE FROM events_fts WHERE rowid = {NOTE}", "LTU-1 seq 3", id="deleted"),
    pytest.param(
        f"UPDATE events_fts SET note = 'nothing to see' WHERE rowid = {NOTE}",
        "LTU-1 seq 3",
        id="other words",
    ),
    pytest.param(
        "INSERT INTO events_fts (rowid, note, sources) VALUES (99999, 'forged', '')",
        "1 indexed row(s) of no event",
        id="row of no event",
    ),
    pytest.param(
        "UPDATE events_fts_data SET block = zeroblob(length(block)) "
        "WHERE id = (SELECT max(id) FROM events_fts_data)",
        "inner structure",
        id="damaged structure",
    ),
]


@pytest.mark.parametrize(("statement", "named"), TAMPERS)
def test_doctor_finds_an_edited_index_and_reindex_rebuilds_it(
    populated: Path, statement: str, named: str
) -> None:
    db = str(populated)
    assert _hits(populated, "instrument received") == [("LTU-1", 3)]
    assert next(
        f
        for f in json.loads(_run(db, "doctor", "--json", code=1))["findings"]
        if f["check"] == "search-index"
    )["ok"]  # (doctor fails on the fixture's overdue clock, not on the index)
    _sql(populated, statement)
    finding = _finding(populated)
    assert finding["ok"] is False
    assert named in str(finding["problem"])
    assert finding["fix_command"] == f"treatyflow --db {db} db reindex"
    assert json.loads(_run(db, "db", "reindex", "--json")) == {"indexed": 4}
    assert _finding(populated)["ok"] is True
    assert _hits(populated, "instrument received") == [("LTU-1", 3)]
    assert _hits(populated, "forged") == []
    _run(db, "verify")  # the log was never touched


def test_a_rebuilt_index_keeps_indexing_new_events(populated: Path) -> None:
    db = str(populated)
    _run(db, "db", "reindex")
    _run(db, "case", "note", "LTU-1", "depositary acknowledged", "--on", "2025-07-01")
    assert _hits(populated, "depositary acknowledged") == [("LTU-1", 4)]
    assert _finding(populated)["ok"] is True


def test_reindex_says_what_it_did(populated: Path) -> None:
    assert _run(str(populated), "db", "reindex") == "4 event(s) indexed for search\n"


def test_the_rebuilt_table_is_the_migration_s() -> None:
    """:data:`FTS_TABLE` (what ``db reindex`` creates) is the table migration ``0002_16``
    created, so a rebuilt index searches as the original did."""
    from importlib import import_module

    migration = import_module("treatyflow.store.migrations.versions.0002_16_search")
    assert FTS_TABLE in migration.SQLITE_UP


def test_postgresql_keeps_its_own_index(populated_postgres: str) -> None:
    doc = json.loads(_run(populated_postgres, "doctor", "--json", code=1))
    check = next(f for f in doc["findings"] if f["check"] == "search-index")
    assert check["ok"] is True and "PostgreSQL" in check["detail"]
    assert json.loads(_run(populated_postgres, "db", "reindex", "--json")) == {"indexed": None}
    assert "nothing to rebuild" in _run(populated_postgres, "db", "reindex")


def test_a_deleted_index_is_counted_whole_and_named_in_part(
    populated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every indexed row deleted: all the events are counted, only the first few named
    (the check holds a bounded list however large the log)."""
    from treatyflow.store import search

    monkeypatch.setattr(search, "NAMED", 2)
    _sql(populated, "DELETE FROM events_fts")
    problem = str(_finding(populated)["problem"])
    assert (
        "4 event(s) missing from it or indexed by other words: G1 seq 1, LTU-1 seq 1 and 2 more"
        in problem
    )
