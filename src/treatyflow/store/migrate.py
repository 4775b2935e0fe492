"""Schema migrations with Alembic, driven programmatically (no alembic.ini needed)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

from treatyflow.errors import StoreUnavailable
from treatyflow.redaction import redact
from treatyflow.store.sql import Store

MIGRATIONS = Path(__file__).parent / "migrations"

#: The full-text search objects of revision 0002_16 that are not SQLModel tables: the FTS5
#: table and its shadow tables (SQLite), the expression index (PostgreSQL). Schema
#: comparisons leave exactly these out (:func:`include_name`).
SEARCH_OBJECTS = frozenset(
    {
        "events_fts",
        "events_fts_config",
        "events_fts_content",
        "events_fts_data",
        "events_fts_docsize",
        "events_fts_idx",
        "ix_events_search",
    }
)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: every object but :data:`SEARCH_OBJECTS`."""
    return name not in SEARCH_OBJECTS


def _config(store: Store) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", "")
    return config


@contextlib.contextmanager
def _driver_errors(store: Store) -> Iterator[None]:
    """A driver error (unreachable server, a file that is not a database) as StoreUnavailable."""
    try:
        yield
    except DBAPIError as exc:
        message = str(exc.orig) if exc.orig is not None else str(exc)
        first = redact(message, store.url).splitlines()[0] if message else type(exc).__name__
        where = redact(store.url, store.url)
        raise StoreUnavailable(f"database error on {where}: {first}") from exc


#: The PostgreSQL advisory lock every schema change holds (one per database).
MIGRATION_LOCK = 0x74726561_7479  # "treaty"
#: SQLSTATEs of a schema change another process made first: unique_violation (the
#: catalogue's row of a type or table), duplicate_table, duplicate_object.
_DUPLICATE = ("23505", "42P07", "42710")


def upgrade(store: Store, revision: str = "head") -> None:
    """Upgrade the schema (idempotent: at head it does nothing).

    Safe to run from many processes at once (``treatyflow init`` on a fresh PostgreSQL
    database by several analysts): on PostgreSQL the upgrade holds a transaction-scoped
    advisory lock, so the others wait and then find the schema at head; should a process
    that takes no lock (an older treatyflow) still race it to a table, the duplicate-key
    error is retried once the other's change has committed.
    """
    config = _config(store)
    with _driver_errors(store):
        for attempt in range(3):
            try:
                with store.engine.begin() as conn:
                    if not store.is_sqlite:
                        conn.execute(
                            sa.text("SELECT pg_advisory_xact_lock(:key)"),
                            {"key": MIGRATION_LOCK},
                        )
                    config.attributes["connection"] = conn
                    command.upgrade(config, revision)
                store.projection_table = None  # the tables may have changed
                return
            except DBAPIError as exc:
                if attempt == 2 or getattr(exc.orig, "sqlstate", None) not in _DUPLICATE:
                    raise


def downgrade(store: Store, revision: str) -> None:
    config = _config(store)
    with _driver_errors(store), store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    store.projection_table = None


def current(store: Store) -> str | None:
    with _driver_errors(store), store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(_config_plain()).get_current_head()


def history() -> list[tuple[str, str | None, str]]:
    """(revision, down_revision, message), oldest first."""
    script = ScriptDirectory.from_config(_config_plain())
    revisions = list(script.walk_revisions())
    revisions.reverse()
    return [
        (
            str(r.revision),
            r.down_revision
            if isinstance(r.down_revision, str) or r.down_revision is None
            else ",".join(r.down_revision),
            (r.doc or "").splitlines()[0] if r.doc else "",
        )
        for r in revisions
    ]


def _config_plain() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def blank(db: str) -> bool:
    """Whether ``db`` (a path or URL) names no treatyflow database yet: a SQLite file that
    does not exist, or a PostgreSQL database (schema) without a table. ``:memory:`` and a
    name that is not a database URL are not blank (nothing to remove afterwards)."""
    from treatyflow.store.sql import open_store, to_url

    try:
        url = sa.engine.make_url(to_url(db))
    except (sa.exc.ArgumentError, ValueError):
        return False
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        return bool(database) and database != ":memory:" and not Path(database).exists()
    store = open_store(db)
    try:
        with _driver_errors(store):
            return not sa.inspect(store.engine).get_table_names()
    finally:
        store.engine.dispose()


def discard(db: str) -> None:
    """Remove the database at ``db`` that creating it made, when it was :func:`blank`
    before (a failed import): the SQLite file (and its WAL, shared-memory and journal
    files), or on PostgreSQL every object of the migrations and the version table. Call it
    with every connection to ``db`` closed."""
    from treatyflow.store.sql import open_store, to_url

    url = sa.engine.make_url(to_url(db))
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        for suffix in ("-wal", "-shm", "-journal", ""):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    store = open_store(db)
    try:
        downgrade(store, "base")
        with _driver_errors(store), store.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        store.engine.dispose()
