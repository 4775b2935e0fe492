"""Shared fixtures: a CLI runner bound to a fresh database, a Workspace, a PostgreSQL URL."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from treatyflow.cli import main

# The parsed-definitions cache of the test run lives in a directory of its own, never in the
# developer's ~/.cache (subprocesses inherit it).
os.environ.setdefault("TREATYFLOW_CACHE_DIR", tempfile.mkdtemp(prefix="treatyflow-test-cache-"))

#: The "today" every Service fixture sees (clocks are folded as of this day by default).
TODAY = dt.date(2025, 7, 1)

#: Where the shipped definitions live (the source checkout's workflows/ folder).
SHIPPED = Path(__file__).resolve().parents[1] / "workflows"

Cli = Callable[..., Result]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's TREATYFLOW_* settings; the actor is always 'analyst'."""
    for name in ("TREATYFLOW_DB", "TREATYFLOW_WORKFLOWS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TREATYFLOW_ACTOR", "analyst")


@pytest.fixture
def runner() -> CliRunner:
    """A click CliRunner (stdout and stderr kept apart, as click 8.2+ does)."""
    return CliRunner()


@pytest.fixture(scope="session")
def _initialised_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database made by ``treatyflow --db PATH init``, copied for each test (faster)."""
    path = tmp_path_factory.mktemp("template") / "treatyflow.db"
    result = CliRunner().invoke(main, ["--db", str(path), "init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # The CLI closed its last connection, so SQLite checkpointed and removed the WAL.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def prepared(
    tmp_path_factory: pytest.TempPathFactory, _initialised_db: Path
) -> Callable[..., Path]:
    """``prepared(*commands, workflows=None)``: a database made by running each command line
    (``"case open --country LTU ..."``) through the CLI once per session; tests copy it."""
    cache: dict[tuple[tuple[str, ...], str | None], Path] = {}

    def build(*commands: str, workflows: Path | None = None) -> Path:
        key = (commands, None if workflows is None else str(workflows))
        if key not in cache:
            path = tmp_path_factory.mktemp("prepared") / "treatyflow.db"
            shutil.copyfile(_initialised_db, path)
            prefix = ["--db", str(path)]
            if workflows is not None:
                prefix += ["--workflows", str(workflows)]
            runner = CliRunner(env={"TREATYFLOW_ACTOR": "analyst"})
            for command in commands:
                result = runner.invoke(main, [*prefix, *shlex.split(command)])
                assert result.exit_code == 0, f"{command}: {result.output}"
            assert not path.with_name(path.name + "-wal").exists()
            cache[key] = path
        return cache[key]

    return build


@pytest.fixture
def db(tmp_path: Path, _initialised_db: Path) -> Path:
    """A fresh SQLite database file, initialised with ``treatyflow --db PATH init``."""
    path = tmp_path / "treatyflow.db"
    shutil.copyfile(_initialised_db, path)
    return path


@pytest.fixture
def cli(runner: CliRunner, db: Path) -> Cli:
    """Run ``treatyflow --db DB [--workflows DIR] ARGS...`` in-process; returns the Result."""

    def invoke(*args: str, workflows: Path | str | None = None, **kwargs: Any) -> Result:
        prefix = ["--db", str(db)]
        if workflows is not None:
            prefix += ["--workflows", str(workflows)]
        return runner.invoke(main, [*prefix, *args], **kwargs)

    return invoke


@pytest.fixture(scope="session")
def catalog() -> Any:
    """The shipped catalogue, loaded once per session."""
    from treatyflow.catalog import load_catalog

    return load_catalog([SHIPPED])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    """A migrated SQLite store in a temporary file."""
    from treatyflow.store import migrate, open_store

    st = open_store(str(tmp_path / "service.db"), create=True)
    migrate.upgrade(st)
    yield st
    st.engine.dispose()


@pytest.fixture
def ws(store: Any, catalog: Any) -> Any:
    """A Workspace (the public API) on a temporary store, the shipped catalogue, the actor
    'analyst' and a fixed today (TODAY)."""
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace

    return Workspace(Core(store, catalog, today=lambda: TODAY), actor="analyst")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL with a schema of its own (dropped afterwards).

    Skips unless TREATYFLOW_TEST_POSTGRES_URL names a server (a SQLAlchemy URL such as
    ``postgresql+psycopg://user:pw@localhost/treatyflow_test``). Each test gets a fresh
    schema, made the connection's search_path through libpq ``options``.
    """
    base = os.environ.get("TREATYFLOW_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("TREATYFLOW_TEST_POSTGRES_URL is not set (no PostgreSQL server to test)")
    import sqlalchemy as sa

    schema = f"tf_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.engine.make_url(base)
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
