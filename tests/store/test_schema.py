"""The run-time Core tables (store/schema.py) are the SQLModel tables (store/tables.py), and
the commands do not pay for importing SQLModel and SQLAlchemy's ORM."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from treatyflow.store import schema, tables


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "pg"])
@pytest.mark.parametrize("name", ["cases", "events", "definitions"])
def test_core_table_is_the_sqlmodel_table(dialect: object, name: str) -> None:
    core, declared = schema.metadata.tables[name], tables.metadata.tables[name]
    assert str(CreateTable(core).compile(dialect=dialect)) == str(
        CreateTable(declared).compile(dialect=dialect)
    )

    def indexes(table: object) -> list[str]:
        return sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes)  # type: ignore[attr-defined]

    assert indexes(core) == indexes(declared)


def test_both_declare_the_same_tables() -> None:
    assert set(schema.metadata.tables) == set(tables.metadata.tables)


def test_a_database_command_imports_neither_sqlmodel_nor_the_orm(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    env = dict(os.environ)
    subprocess.run(
        [sys.executable, "-m", "treatyflow", "--db", str(db), "init"],
        check=True,
        env=env,
        capture_output=True,
    )
    probe = (
        "import sys, runpy; sys.argv = ['treatyflow', '--db', sys.argv[1], 'case', 'list'];"
        "\ntry:\n    runpy.run_module('treatyflow', run_name='__main__')"
        "\nexcept SystemExit:\n    pass"
        "\nprint(sorted(m for m in sys.modules if m == 'sqlmodel' or m == 'sqlalchemy.orm'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(db)], env=env, check=True, capture_output=True, text=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_every_list_of_event_columns_is_the_one_in_events() -> None:
    """The event columns are declared once (treatyflow.events): the hashed fields, the
    columns bundles and the store carry, the fast pass's canonical JSON, the store's decoder
    and the tables all agree with it."""
    from treatyflow import bundle, events
    from treatyflow.store import chainscan, schema, sql

    hashed = set(events.HASHED_FIELDS)
    assert list(events.HASHED_FIELDS) == sorted(events.HASHED_FIELDS)  # canonical key order
    assert set(events.EVENT_COLUMNS) == hashed | {"hash"}
    assert bundle.EVENT_FIELDS == events.EVENT_COLUMNS
    # the fast pass builds the hashed text in Python (store.canontext): its template's keys,
    # its function's parameters and the columns it reads are the hashed fields
    import inspect
    import re

    from treatyflow.store import canontext

    assert re.findall(r'"(\w+)":', canontext._EVENT) == list(events.HASHED_FIELDS)
    assert list(inspect.signature(canontext.event_text).parameters) == list(events.HASHED_FIELDS)
    assert set(chainscan.EVENT_SCAN_COLUMNS) == set(events.EVENT_COLUMNS)
    assert set(events.EVENT_COLUMNS) <= set(schema.events.c.keys())
    ev = events.Event(
        "c", 1, events.EventKind.OPEN, __import__("datetime").date(2025, 1, 1), "t", "a"
    )
    assert set(ev.hashed_fields()) == hashed
    from treatyflow.chain import UNHASHED

    # ... plus who wrote it, which no hash covers: the client writes the signature and key,
    # the server fills recorded_by (so the store reads it but never writes it)
    assert set(sql.event_row(ev)) == set(events.EVENT_COLUMNS) | {"signature", "key"}
    assert set(sql._EVENT_COLUMNS) == set(events.EVENT_COLUMNS) | UNHASHED
