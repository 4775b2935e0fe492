"""The ``documents`` table (revision ``0003_17``): attached files' bytes by SHA-256 digest.

A document row is inserted once (the same bytes attached twice are stored once: ``ON
CONFLICT DO NOTHING`` on the digest) and never updated; what makes it evidence is the event
that cites its digest. Nothing here checks a digest against the bytes: the app layer does
(:mod:`treatyflow.app.documents`), on writing and in ``verify``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from treatyflow.store.schema import documents, events

#: The columns of a document row, in the order bundles carry them.
DOCUMENT_COLUMNS = ("sha256", "size", "media_type", "name", "stored_at", "content")


class DocumentRow(NamedTuple):
    sha256: str
    size: int
    media_type: str
    name: str
    stored_at: str
    content: bytes


def _row(values: Any) -> DocumentRow:
    sha256, size, media_type, name, stored_at, content = values
    return DocumentRow(sha256, size, media_type, name, stored_at, _bytes(content))


def _bytes(value: Any) -> bytes:
    """The driver's binary value as bytes (psycopg may give a memoryview; a value edited
    outside treatyflow may even be text)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return b"" if value is None else str(value).encode("utf-8")


def insert(conn: Connection, row: DocumentRow) -> bool:
    """Store the document unless its digest is stored already; whether it was new."""
    present = conn.execute(
        sa.select(documents.c.sha256).where(documents.c.sha256 == row.sha256)
    ).first()
    if present is not None:
        return False
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
    result = conn.execute(
        dialect_insert(documents).values(**row._asdict()).on_conflict_do_nothing()
    )
    return bool(result.rowcount)


def get(conn: Connection, sha256: str) -> DocumentRow | None:
    """The stored row under ``sha256`` (as stored: not re-hashed), or None."""
    found = conn.execute(
        sa.select(*(documents.c[c] for c in DOCUMENT_COLUMNS)).where(documents.c.sha256 == sha256)
    ).first()
    return None if found is None else _row(found)


def present(conn: Connection, digests: Iterable[str]) -> set[str]:
    """Which of ``digests`` are stored."""
    wanted = sorted(set(digests))
    if not wanted:
        return set()
    query = sa.select(documents.c.sha256).where(documents.c.sha256.in_(wanted))
    return {str(r[0]) for r in conn.execute(query)}


def iter_all(conn: Connection) -> Iterator[DocumentRow]:
    """Every stored document, by digest, one row at a time (a bundle, ``verify``)."""
    query = sa.select(*(documents.c[c] for c in DOCUMENT_COLUMNS)).order_by(documents.c.sha256)
    for found in conn.execution_options(stream_results=True, yield_per=16).execute(query):
        yield _row(found)


def count(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(documents)).scalar_one())


def citing_events(conn: Connection) -> Iterator[tuple[Any, Any, Any, Any, Any]]:
    """(case_id, seq, kind, sources, data) of every event that may cite a document: the
    ``attach`` events and those whose sources' JSON text mentions ``"document"`` or holds
    an escape (a key spelt with one, ``"docum\\u0065nt"``, is read as ``document``); the
    caller reads the JSON and keeps the real citations. ``verify``'s fast pass collects the
    same rows as it reads the events (``chainscan.Scan.citing``)."""
    query = (
        sa.select(events.c.case_id, events.c.seq, events.c.kind, events.c.sources, events.c.data)
        .where(
            sa.or_(
                events.c.kind == "attach",
                events.c.sources.like('%"document"%'),
                events.c.sources.contains("\\", autoescape=True),
            )
        )
        .order_by(events.c.case_id, events.c.seq)
    )
    for found in conn.execute(query):
        yield found[0], found[1], found[2], found[3], found[4]
