"""The five tables as SQLAlchemy Core ``Table`` objects: what the store queries at run time.

The schema is declared once, as SQLModel classes, in :mod:`treatyflow.store.tables` (what
the Alembic migrations were written from and are checked against). Importing SQLModel also
imports SQLAlchemy's ORM, about 70 ms on every command, so the commands use these plain
Core tables instead; ``tests/store/test_schema.py`` fails if the two ever differ (the
CREATE TABLE and CREATE INDEX statements of both, on SQLite and PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()


def _text(length: int | None = None) -> String:
    # SQLModel's AutoString: a VARCHAR, with the length when the field gives one
    return String(length) if length else String()


cases = Table(
    "cases",
    metadata,
    Column("id", _text(200), primary_key=True),
    Column("country", _text(3), nullable=False, index=True),
    Column("treaty", _text(100), nullable=False, index=True),
    Column("procedure", _text(100), nullable=False),
    Column("procedure_hash", _text(80), nullable=False),
    Column("treaty_hash", _text(80), nullable=False),
    Column("action", _text(50), nullable=False),
    Column("state", _text(100), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("head_hash", _text(80), nullable=False),
    Column("opened_on", _text(10), nullable=False),
    Column("last_on", _text(10), nullable=False),
    Column("facts", _text(), nullable=False),
    Column("created_at", _text(32), nullable=False),
    Column("updated_at", _text(32), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", _text(200), ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", _text(20), nullable=False),
    Column("trigger", _text(100), nullable=True),
    Column("from_state", _text(100), nullable=True),
    Column("to_state", _text(100), nullable=True),
    Column("occurred_on", _text(10), nullable=False),
    Column("recorded_at", _text(32), nullable=False),
    Column("actor", _text(200), nullable=False),
    Column("sources", _text(), nullable=False),
    Column("note", _text(), nullable=True),
    Column("data", _text(), nullable=False),
    Column("prev_hash", _text(80), nullable=True),
    Column("hash", _text(80), nullable=False),
    Column("signature", _text(120), nullable=True),
    Column("key", _text(80), nullable=True, index=True),
    Column("recorded_by", _text(200), nullable=True),
    UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
    Index("ix_events_recorded_at", "recorded_at"),
)

definitions = Table(
    "definitions",
    metadata,
    Column("hash", _text(80), primary_key=True),
    Column("kind", _text(20), nullable=False),
    Column("definition_id", _text(100), nullable=False),
    Column("content", _text(), nullable=False),
    Column("stored_at", _text(32), nullable=False),
)

registry = Table(
    "registry",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", _text(20), nullable=False),
    Column("name", _text(200), nullable=True),
    Column("data", _text(), nullable=False),
    Column("recorded_at", _text(32), nullable=False),
    Column("actor", _text(200), nullable=False),
    Column("prev_hash", _text(80), nullable=True),
    Column("hash", _text(80), nullable=False),
    Column("key", _text(80), nullable=True),
    Column("signature", _text(120), nullable=True),
    Column("recorded_by", _text(200), nullable=True),
)

documents = Table(
    "documents",
    metadata,
    Column("sha256", _text(80), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("media_type", _text(200), nullable=False),
    Column("name", _text(255), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("stored_at", _text(32), nullable=False),
)
