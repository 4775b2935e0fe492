"""The database's schema: create or upgrade it, and say which revision it is at."""

from __future__ import annotations

import os
from dataclasses import dataclass

from treatyflow.store import migrate, open_store
from treatyflow.store.sql import Store


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands: its revision (None: empty) and the newest one."""

    database: str
    """The database, with any password hidden."""
    before: str | None
    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def to_dict(self) -> dict[str, object]:
        return {"current": self.current, "head": self.head, "up_to_date": self.up_to_date}


def init(db: str | os.PathLike[str]) -> SchemaState:
    """Create the database if it does not exist and upgrade its schema to the newest
    revision (idempotent)."""
    store = open_store(os.fspath(db), create=True)
    try:
        before = migrate.current(store)
        migrate.upgrade(store)
        return _state(store, before)
    finally:
        store.engine.dispose()


def state(store: Store) -> SchemaState:
    """The schema revision of an open database."""
    current = migrate.current(store)
    return _state(store, current)


def history() -> list[tuple[str, str | None, str]]:
    """(revision, down revision, message) of every schema revision, oldest first."""
    return migrate.history()


def _state(store: Store, before: str | None) -> SchemaState:
    from treatyflow.redaction import redact_url

    return SchemaState(redact_url(store.url), before, migrate.current(store), migrate.head())
