"""The key registry's rows, the events' signatures, and PostgreSQL grants (docs/trust.md):
the :class:`~treatyflow.store.sql.Store`'s queries for team mode."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from treatyflow.errors import NotAuthorised, StoreBusy
from treatyflow.store.prepared import REGISTRY_COLUMNS
from treatyflow.store.records import _loads
from treatyflow.store.schema import events, registry
from treatyflow.store.transactions import Transactions, _operational

if TYPE_CHECKING:
    from treatyflow.registry import Entry

INSUFFICIENT_PRIVILEGE = "42501"


def _cannot_grant(exc: DBAPIError, engine: sa.Engine) -> NotAuthorised:
    """The grant needs CREATEROLE (to create the group role and grant it) and the tables'
    ownership (to grant on them); a raw "permission denied" said neither."""
    who = engine.url.username
    detail = (str(exc.orig).splitlines() or [""])[0]
    return NotAuthorised(
        who,
        f"{f'the database role {who!r}' if who else 'this database role'} may not create "
        f"or grant treatyflow's roles ({detail}); "
        "run the grant as a role with CREATEROLE that owns the tables, or as a superuser.",
    )


class TrustQueries(Transactions):
    """Signatures, the key registry, grants."""

    def signature_rows(
        self, conn: Connection, *, signed_only: bool = False
    ) -> Iterator[dict[str, Any]]:
        """What the signature check reads of each event (case_id, seq, kind, actor,
        recorded_at, hash, signature, key, data), by case and seq; ``signed_only``: only the
        events that carry a signature or a key."""
        cols = ("case_id", "seq", "kind", "actor", "recorded_at", "hash", "signature", "key")
        query = sa.select(*(events.c[c] for c in cols), events.c.data).order_by(
            events.c.case_id, events.c.seq
        )
        if signed_only:
            query = query.where(sa.or_(events.c.signature.is_not(None), events.c.key.is_not(None)))
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for row in result:
            out = dict(zip(cols, row, strict=False))
            out["data"] = _loads(row[-1], {})
            yield out

    def has_signed_events(self, conn: Connection) -> bool:
        """Whether any event carries a key (an index lookup)."""
        query = sa.select(events.c.key).where(events.c.key.is_not(None)).limit(1)
        return conn.execute(query).first() is not None

    def grant_role(self, login: str, group: str, *, admin: bool) -> dict[str, Any]:
        """PostgreSQL: create the group role ``group`` if missing, give it treatyflow's
        privileges on the current schema and grant it to the login role ``login``."""
        from treatyflow.errors import InvalidInput

        quote = self.engine.dialect.identifier_preparer.quote
        g = quote(group)
        try:
            with self.engine.connect() as conn, conn.begin():
                found = conn.execute(
                    sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": login}
                ).first()
                if found is None:
                    raise InvalidInput(
                        "role", login, f"there is no PostgreSQL role {login!r}; create it first."
                    )
                schema = str(conn.execute(sa.text("SELECT current_schema()")).scalar_one())
                s = quote(schema)
                statements = [
                    # concurrent creators: the loser's error is swallowed
                    f"DO $$ BEGIN CREATE ROLE {g} NOLOGIN; EXCEPTION WHEN duplicate_object "
                    "OR unique_violation THEN NULL; END $$",
                    f"GRANT USAGE ON SCHEMA {s} TO {g}",
                    f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {g}",
                    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {g}",
                    f"GRANT INSERT ON {s}.cases, {s}.events, {s}.definitions, {s}.documents "
                    f"TO {g}",
                    f"GRANT UPDATE ON {s}.cases TO {g}",
                    # the case projection (#19) is rewritten with every event
                    f"GRANT INSERT, UPDATE ON {s}.case_projections TO {g}",
                    f"REVOKE UPDATE, DELETE, TRUNCATE ON {s}.events, {s}.registry, {s}.documents "
                    f"FROM {g}",
                    f"REVOKE DELETE, TRUNCATE ON {s}.cases, {s}.definitions FROM {g}",
                ]
                if admin:
                    statements.append(f"GRANT INSERT ON {s}.registry TO {g}")
                else:
                    statements.append(f"REVOKE INSERT ON {s}.registry FROM {g}")
                statements.append(f"GRANT {g} TO {quote(login)}")
                for sql in statements:
                    conn.exec_driver_sql(sql)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
                raise _cannot_grant(exc, self.engine) from exc
            raise _operational(exc, self.url) from exc
        return {"role": login, "group": group, "schema": schema, "registry": admin}

    # -- the key registry ---------------------------------------------------------------
    def registry_entries(self, conn: Connection) -> list[Any]:
        """Every entry of the key registry, by seq."""
        entry = _entry_type()
        rows = self._prepared.execute(conn, "registry").fetchall()
        out = []
        for r in rows:
            m = dict(zip(REGISTRY_COLUMNS, r, strict=True))
            m["data"] = _loads(m["data"], {})
            out.append(entry(**m))
        return out

    def append_registry(self, conn: Connection, entry: Any) -> None:
        """Append a registry entry; another writer's entry at the same seq is a conflict."""
        names = [c.name for c in registry.c if c.name != "recorded_by"]
        row = {k: getattr(entry, k) for k in names}
        row["data"] = json.dumps(entry.data, sort_keys=True, ensure_ascii=False)
        try:
            conn.execute(registry.insert().values(**row))
        except IntegrityError as exc:
            raise StoreBusy(
                "the key registry was changed by someone else at the same time."
            ) from exc


@functools.cache
def _entry_type() -> type[Entry]:
    """:class:`treatyflow.registry.Entry`, imported on first use (the module loads
    ``cryptography``); kept, because an import statement run in every change costs ~0.8 us
    (#19)."""
    from treatyflow.registry import Entry

    return Entry
