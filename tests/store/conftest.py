"""Fixtures of the store contract suite: every test runs on SQLite and on PostgreSQL.

The PostgreSQL half uses the root conftest's ``postgres_url`` (a schema of its own per
test, dropped afterwards) and skips, with the reason, when TREATYFLOW_TEST_POSTGRES_URL
is unset.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with nothing in it yet: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'contract.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def mstore(db_url: str) -> Iterator[Any]:
    """A migrated store on ``db_url``."""
    from treatyflow.store import migrate, open_store

    st = open_store(db_url, create=True)
    migrate.upgrade(st)
    yield st
    st.engine.dispose()


@pytest.fixture
def svc(mstore: Any, catalog: Any) -> Any:
    """A Workspace on ``mstore`` with the shipped catalogue."""
    import datetime as dt

    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace

    return Workspace(Core(mstore, catalog, today=lambda: dt.date(2025, 7, 1)), actor="analyst")
