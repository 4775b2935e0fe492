"""SQLModel table definitions (the schema the Alembic migrations create)."""

from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class CaseRow(SQLModel, table=True):
    """A case's current projection; the truth is its events."""

    __tablename__ = "cases"

    id: str = Field(primary_key=True, max_length=200)
    country: str = Field(max_length=3, index=True)
    treaty: str = Field(max_length=100, index=True)
    procedure: str = Field(max_length=100)
    procedure_hash: str = Field(max_length=80)
    treaty_hash: str = Field(max_length=80)
    action: str = Field(max_length=50)
    state: str = Field(max_length=100, index=True)
    version: int
    head_hash: str = Field(max_length=80)
    opened_on: str = Field(max_length=10)
    last_on: str = Field(max_length=10)
    facts: str = Field(default="{}", description="JSON: latest value of each fact")
    created_at: str = Field(max_length=32)
    updated_at: str = Field(max_length=32)


class EventRow(SQLModel, table=True):
    """One event; rows are inserted, never updated or deleted."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
        Index("ix_events_recorded_at", "recorded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", max_length=200)
    seq: int
    kind: str = Field(max_length=20)
    trigger: str | None = Field(default=None, max_length=100)
    from_state: str | None = Field(default=None, max_length=100)
    to_state: str | None = Field(default=None, max_length=100)
    occurred_on: str = Field(max_length=10)
    recorded_at: str = Field(max_length=32)
    actor: str = Field(max_length=200)
    sources: str = Field(default="[]", description="JSON list of sources")
    note: str | None = None
    data: str = Field(default="{}", description="JSON payload")
    prev_hash: str | None = Field(default=None, max_length=80)
    hash: str = Field(max_length=80)
    signature: str | None = Field(
        default=None, max_length=120, description="Ed25519 signature of hash (not hashed)"
    )
    key: str | None = Field(
        default=None, max_length=80, index=True, description="signing key fingerprint"
    )
    recorded_by: str | None = Field(
        default=None, max_length=200, description="PostgreSQL login role (set by a trigger)"
    )


class DefinitionRow(SQLModel, table=True):
    """A snapshot of a procedure (or treaty) version a case was opened under."""

    __tablename__ = "definitions"

    hash: str = Field(primary_key=True, max_length=80)
    kind: str = Field(max_length=20)
    definition_id: str = Field(max_length=100)
    content: str
    stored_at: str = Field(max_length=32)


class RegistryRow(SQLModel, table=True):
    """One change of the key registry (a signed, hash-chained, append-only log)."""

    __tablename__ = "registry"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=20)
    name: str | None = Field(default=None, max_length=200)
    data: str = Field(default="{}", description="JSON payload")
    recorded_at: str = Field(max_length=32)
    actor: str = Field(max_length=200)
    prev_hash: str | None = Field(default=None, max_length=80)
    hash: str = Field(max_length=80)
    key: str | None = Field(default=None, max_length=80)
    signature: str | None = Field(default=None, max_length=120)
    recorded_by: str | None = Field(default=None, max_length=200)


class DocumentRow(SQLModel, table=True):
    """An attached document's bytes, stored once by their SHA-256 digest (``case attach``);
    rows are inserted, never updated or deleted. Events cite them by digest."""

    __tablename__ = "documents"

    sha256: str = Field(primary_key=True, max_length=80, description="sha256:<64 hex digits>")
    size: int
    media_type: str = Field(max_length=200)
    name: str = Field(max_length=255, description="the file name it was first attached under")
    content: bytes
    stored_at: str = Field(max_length=32)


metadata = SQLModel.metadata
cases = CaseRow.__table__  # type: ignore[attr-defined]
events = EventRow.__table__  # type: ignore[attr-defined]
definitions = DefinitionRow.__table__  # type: ignore[attr-defined]
registry = RegistryRow.__table__  # type: ignore[attr-defined]
documents = DocumentRow.__table__  # type: ignore[attr-defined]
