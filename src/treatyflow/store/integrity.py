"""What ``verify``, checkpoints, ``export`` and ``doctor`` read of the whole database: the
raw event rows, the chain heads, the case rows' identities, counts, and the fast chain scan
(:mod:`treatyflow.store.chainscan`, :mod:`treatyflow.store.pgscan`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from treatyflow.chain import ChainFault
from treatyflow.store.records import ChainHead, _loads, hashed_row
from treatyflow.store.schema import cases, definitions, events, registry
from treatyflow.store.transactions import Transactions


class IntegrityQueries(Transactions):
    """Whole-database reads for checking the log."""

    def event_rows(
        self, conn: Connection, case_id: str | None = None, *, signed: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Raw event rows (hashed fields + hash), ordered by case and seq; ``signed``: with
        ``signature`` and ``key`` too where the event has them."""
        query = sa.select(events).order_by(events.c.case_id, events.c.seq)
        if case_id is not None:
            query = query.where(events.c.case_id == case_id)
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        with contextlib.closing(result):
            for row in result:
                out = hashed_row(row._mapping)
                if signed and (row.signature is not None or row.key is not None):
                    out["signature"], out["key"] = row.signature, row.key
                yield out

    def counts(self, conn: Connection) -> dict[str, int]:
        """Rows in each table: ``{"definitions": n, "cases": n, "events": n}``."""
        return {
            name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for name, table in (("definitions", definitions), ("cases", cases), ("events", events))
        }

    def registry_count(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(registry)).scalar_one())

    def heads(self, conn: Connection) -> list[tuple[str, int, str]]:
        """(case id, version, head hash) of every case, by id."""
        rows = conn.execute(
            sa.select(cases.c.id, cases.c.version, cases.c.head_hash).order_by(cases.c.id)
        )
        return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def case_identities(self, conn: Connection) -> Iterator[dict[str, Any]]:
        """Every case row's identity columns, opening day and facts (parsed; unreadable JSON
        as a marker that matches nothing), by id, streamed."""
        query = sa.select(
            cases.c.id,
            cases.c.country,
            cases.c.treaty,
            cases.c.action,
            cases.c.procedure,
            cases.c.procedure_hash,
            cases.c.treaty_hash,
            cases.c.opened_on,
            cases.c.facts,
        ).order_by(cases.c.id)
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for row in result:
            out = dict(row._mapping)
            out["facts"] = _loads(out["facts"], {})
            yield out

    def identity_events(self, conn: Connection) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
        """Per case id (in the database's order), the events that say what its row must hold:
        the opening event, fact changes, migrations (which re-pin the case) and
        retractions, each as a dict with seq, kind, occurred_on and data (parsed; unreadable
        JSON as a marker that matches nothing)."""
        query = (
            sa.select(events.c.case_id, events.c.seq, events.c.kind, events.c.occurred_on)
            .add_columns(events.c.data)
            .where(
                sa.or_(
                    events.c.seq == 1,
                    events.c.kind.in_(("set-fact", "migrated", "retract")),
                )
            )
            .order_by(events.c.case_id, events.c.seq)
        )
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        current: Any = None
        group: list[dict[str, Any]] = []
        for case_id, seq, kind, occurred_on, data in result:
            if group and case_id != current:
                yield current, group
                group = []
            current = case_id
            group.append(
                {"seq": seq, "kind": kind, "occurred_on": occurred_on, "data": _loads(data, {})}
            )
        if group:
            yield current, group

    def chain_heads(self, conn: Connection) -> dict[Any, ChainHead]:
        """Every case's :class:`ChainHead`, by id."""
        query = sa.select(cases.c.id, cases.c.version, cases.c.head_hash, cases.c.state)
        return {r[0]: ChainHead(r[1], r[2], r[3]) for r in conn.execute(query)}

    def chain_head(self, conn: Connection, case_id: Any) -> ChainHead | None:
        query = sa.select(cases.c.version, cases.c.head_hash, cases.c.state).where(
            cases.c.id == case_id
        )
        row = conn.execute(query).first()
        return None if row is None else ChainHead(row[0], row[1], row[2])

    def chain_scan(self, want: Mapping[Any, int] | None = None) -> Any:
        """The fast first pass of ``verify`` (:mod:`treatyflow.store.chainscan`): a ``Scan``
        of every case, or None where the pass gave up (``want``: a checkpoint's cases and
        versions, whose heads and hashes at those seqs it also collects).

        Call it holding no connection: a large database is scanned by forked worker
        processes, and this store's idle connections are closed first, so that no database
        connection is open in the process that forks.
        """
        if not self.is_sqlite:
            from treatyflow.store import pgscan

            return pgscan.chain_scan(self, want)
        import sqlite3
        from concurrent.futures.process import BrokenProcessPool

        from treatyflow.store import chainscan

        path = self.engine.url.database or ""
        try:
            if path and self._nothing_checked_out() and chainscan.wants_workers(path):
                self.engine.dispose()
                return chainscan.scan_parallel(path, want=want)
            with self.read() as conn:
                raw = conn.connection.driver_connection
                return None if raw is None else chainscan.scan(raw, want=want)
        except (sqlite3.Error, OSError, BrokenProcessPool):
            # a row SQLite cannot read; no process to fork; a worker died
            return None

    def undecodable(self) -> list[tuple[str, str, int, str]]:
        """SQLite: every value of a text column that is not UTF-8 (bytes a client wrote as
        text, which the driver cannot read), as (table, case id or row key, seq or 1,
        column), by table and key; read with bytes for text, so one such value does not
        stop the scan. Empty on PostgreSQL, whose text is always valid."""
        if not self.is_sqlite:
            return []
        found: list[tuple[str, str, int, str]] = []
        with self.read() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            saved = raw.text_factory
            raw.text_factory = bytes
            try:
                for table, keys in _KEYS.items():
                    info = raw.execute(f"PRAGMA table_info({table})").fetchall()
                    names = [_shown(r[1]) for r in info]
                    text = {_shown(r[1]) for r in info if b"BLOB" not in bytes(r[2]).upper()}
                    cols = ", ".join(f'"{n}"' for n in names)
                    for row in raw.execute(f"SELECT {cols} FROM {table}"):  # noqa: S608
                        values = dict(zip(names, row, strict=True))
                        for name, value in values.items():
                            if name in text and isinstance(value, bytes) and not _utf8(value):
                                seq = values[keys[1]] if len(keys) > 1 else 1
                                seq = seq if isinstance(seq, int) else 1
                                found.append((table, _shown(values[keys[0]]), seq, name))
            finally:
                raw.text_factory = saved
        return found

    def _nothing_checked_out(self) -> bool:
        """No connection of this store is in use (by another thread of an embedding program):
        only then may the process fork, after closing the idle one (the store's kept
        connection is given back to the pool first, unless a transaction is using it)."""
        if not self.release_kept():
            return False
        checkedout = getattr(self.engine.pool, "checkedout", None)
        return checkedout is None or checkedout() == 0

    def orphan_faults(self, conn: Connection) -> list[ChainFault]:
        """One fault for every event whose case id is NULL. Such an event is in no case's
        chain, so no chain check sees it (the schema forbids it: only an edit outside
        treatyflow makes one); the fault's case id is empty (no case has that id)."""
        query = sa.select(events.c.seq).where(events.c.case_id.is_(None)).order_by(events.c.id)
        return [
            ChainFault(
                "",
                seq if isinstance(seq, int) and not isinstance(seq, bool) else 1,
                "an event with no case id (NULL): it belongs to no case's chain; the log was "
                "changed outside treatyflow",
            )
            for (seq,) in conn.execute(query)
        ]

    def event_hash_at(self, conn: Connection, case_id: str, seq: int) -> str | None:
        row = conn.execute(
            sa.select(events.c.hash).where(events.c.case_id == case_id, events.c.seq == seq)
        ).first()
        return None if row is None else str(row[0])


def newest_recorded_at(conn: Connection) -> str | None:
    """The newest ``recorded_at`` in the log (None when it is empty)."""
    value = conn.execute(sa.select(sa.func.max(events.c.recorded_at))).scalar_one()
    return None if value is None else str(value)


#: The tables :meth:`undecodable` reads, each with the columns that name a row.
_KEYS = {
    "cases": ("id",),
    "events": ("case_id", "seq"),
    "case_projections": ("case_id",),
    "definitions": ("hash",),
    "registry": ("seq",),
    "documents": ("sha256",),
}


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _shown(value: object) -> str:
    """A row's key as text (undecodable bytes as U+FFFD)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
