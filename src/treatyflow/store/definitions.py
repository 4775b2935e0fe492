"""The stored definition snapshots (the treaty and procedure versions cases are pinned to):
the :class:`~treatyflow.store.sql.Store`'s queries of the ``definitions`` table."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from treatyflow.errors import StoreError
from treatyflow.store.schema import definitions
from treatyflow.store.transactions import Transactions


class DefinitionQueries(Transactions):
    """Definition snapshots: saved once by hash, re-hashed when loaded."""

    def save_definition(
        self, conn: Connection, digest: str, kind: str, ident: str, content: str, now: str
    ) -> None:
        """Store a definition snapshot unless one with this hash is there already.

        ``ON CONFLICT DO NOTHING``: two analysts opening the first cases under a new
        definition version at the same moment must not fail on each other.
        """
        exists = conn.execute(
            sa.select(definitions.c.hash).where(definitions.c.hash == digest)
        ).first()
        if exists is None:
            row = {
                "hash": digest,
                "kind": kind,
                "definition_id": ident,
                "content": content,
                "stored_at": now,
            }
            conn.execute(self._insert_ignore(definitions).values(**row))

    def _insert_ignore(self, table: sa.Table) -> Any:
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing()
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()

    def load_definition(self, conn: Connection, digest: str) -> str | None:
        """The stored snapshot under ``digest`` (None when there is none), after re-hashing
        it: a snapshot whose content no longer hashes to ``digest`` (or is not a valid
        definition) raises a StoreError naming its kind, id and hash."""
        from treatyflow.catalog import snapshot_problem

        row = conn.execute(
            sa.select(
                definitions.c.kind, definitions.c.definition_id, definitions.c.content
            ).where(definitions.c.hash == digest)
        ).first()
        if row is None:
            return None
        kind, ident, content = row
        problem = snapshot_problem(digest, str(kind), content)
        if problem is not None:
            raise StoreError(
                f"the stored {kind} {ident!r} version {digest[:19]}... cannot be trusted: "
                f"{problem}; it was changed outside treatyflow - restore it from a backup or "
                "a verified bundle."
            )
        return str(content)

    def all_definitions(self, conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(sa.select(definitions).order_by(definitions.c.hash))
        return [dict(r._mapping) for r in rows]
