"""Shared helpers for the reliability suite: deterministic SQL dumps and a populated database."""

from __future__ import annotations

import functools
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from reliability_cases import POPULATE

from treatyflow.cli import main

Cli = Callable[..., Result]
Dump = Callable[[Path], str]


def sqlite_dump(path: Path) -> str:
    """Every row of the database as SQL, after folding the WAL into the main file."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def dump() -> Dump:
    """The deterministic SQL dump of a SQLite file (compare before and after a command)."""
    return sqlite_dump


def populate(db: str) -> None:
    """``treatyflow init`` and the POPULATE commands on ``db`` (a path or a URL), as the
    analyst: the cases the ``populated`` fixture describes."""
    runner = CliRunner(env={"TREATYFLOW_ACTOR": "analyst"})
    for argv in [["init"], *POPULATE]:
        result = runner.invoke(main, ["--db", db, *argv])
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def populated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database built once per session with the POPULATE commands (copied per test)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    populate(str(path))
    sqlite_dump(path)  # folds the WAL into the file: the file alone is the database
    return path


@pytest.fixture
def populated(db: Path, populated_template: Path) -> Path:
    """The ``db`` fixture holding two cases: LTU-1 (notified, a fact, a note) and G1 (generic).

    LTU-1: open at notified on 2025-06-27 (seq 1), armed_conflict=false (2), a note (3).
    G1: a POL/ottawa case under the generic procedure opened on 2025-01-10 (seq 1).
    """
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(populated_template, db)
    db.chmod(0o600)  # as 'treatyflow init' creates it
    return db


@pytest.fixture
def populated_postgres(postgres_url: str) -> str:
    """The URL of a PostgreSQL schema of the test's own holding the ``populated`` cases
    (skips without TREATYFLOW_TEST_POSTGRES_URL)."""
    populate(postgres_url)
    return postgres_url


@pytest.fixture
def fast_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load each set of definition directories once per test (fuzzers invoke the CLI often)."""
    import treatyflow.catalog as catalog_module

    original = catalog_module.load_catalog

    @functools.lru_cache(maxsize=8)
    def cached(directories: tuple[Path, ...]) -> Any:
        return original(list(directories))

    def load(
        directories: Sequence[Path], *, files: Sequence[Path] = (), strict: bool = True
    ) -> Any:
        if files or not strict:
            return original(directories, files=files, strict=strict)
        return cached(tuple(directories))

    monkeypatch.setattr(catalog_module, "load_catalog", load)


@pytest.fixture
def invoke() -> Iterator[Callable[[Sequence[str]], Result]]:
    """Run the CLI in-process with any arguments (exceptions are caught and kept on Result)."""
    runner = CliRunner()

    def run(argv: Sequence[str]) -> Result:
        return runner.invoke(main, list(argv))

    yield run
