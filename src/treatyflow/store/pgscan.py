"""The fast first pass of ``verify`` on PostgreSQL (:mod:`treatyflow.store.chainscan`).

The plain columns are streamed through a server-side cursor, ordered by (case id, seq),
fetched in large batches (``fetchmany``: the rows are built by psycopg's C code, and no
Python code runs per row before the pass's own), and judged by the very code that judges
SQLite's rows (:func:`~treatyflow.store.chainscan.scan_rows`). A large database is cut into
ranges of case ids (at quantiles, in the database's own order of ids), each scanned by a
forked worker process on a psycopg connection of its own (made with the store's own
connection arguments, without a SQLAlchemy engine of its own to set up), in a REPEATABLE
READ, read-only transaction of its own: a case is cleared only if it was intact in the
snapshot that read it, and the log is append-only. Any database error, a worker that cannot
be started or dies, makes the pass give up (None): ``verify`` then checks every case the
exact way.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import psycopg
import sqlalchemy as sa

from treatyflow.errors import StoreError
from treatyflow.store import chainscan
from treatyflow.store.chainscan import Scan, scan_rows
from treatyflow.store.projections import unsealed_rows

#: Rows fetched from the server-side cursor at a time.
ITERSIZE = 5000

_CASES_SQL = chainscan._CASES_SQL.replace("?", "%s")
_SCAN_SQL = chainscan._SCAN_SQL.replace("?", "%s")

#: What a forked worker connects with and looks for: (connect, args, keyword args, want),
#: set by :func:`chain_scan` just before it forks (inherited, never pickled).
_FORKED: tuple[Any, tuple[Any, ...], dict[str, Any], Mapping[Any, int] | None] | None = None


def _rows(cur: Any) -> Iterator[tuple[Any, ...]]:
    """Every row of the open cursor ``cur``, fetched :data:`ITERSIZE` at a time."""
    return itertools.chain.from_iterable(iter(functools.partial(cur.fetchmany, ITERSIZE), []))


def scan(raw: Any, lo: str | None, hi: str | None, want: Mapping[Any, int] | None) -> Scan:
    """The pass over ``lo <= id < hi`` on the psycopg connection ``raw``, in its current
    transaction."""
    bounds, args = chainscan._range("id", lo, hi)
    with raw.cursor() as cur:
        cur.execute(_CASES_SQL.replace("/*range*/", bounds.replace("?", "%s")), args)
        case_rows = cur.fetchall()
    rows = itertools.chain.from_iterable(
        _stream(raw, sql, args, n) for n, (sql, args) in enumerate(event_queries(lo, hi))
    )
    result = scan_rows(case_rows, rows, want)
    with raw.cursor() as cur:
        cur.execute("SELECT to_regclass('case_projections') IS NOT NULL")
        has_seals = cur.fetchone()[0]
    if has_seals:
        seal_bounds, seal_args = chainscan._range("p.case_id", lo, hi)
        sql = chainscan._SEALS_SQL.replace("/*range*/", seal_bounds.replace("?", "%s"))
        result.unsealed = list(unsealed_rows(_stream(raw, sql, seal_args, "seals")))
    return result


def event_queries(lo: str | None, hi: str | None) -> list[tuple[str, list[str]]]:
    """The queries that read the events of ``lo <= case_id < hi``, in (case id, seq) order,
    to be read one after the other. The first range (no ``lo``, a ``hi``) also holds the
    events whose case id is NULL (the schema forbids them; an edit outside treatyflow makes
    one): PostgreSQL sorts them last, so they are read last, by a query of their own, and
    the range itself stays an index range (``case_id < hi OR case_id IS NULL`` would walk
    the whole index)."""
    bounds, args = chainscan._range("case_id", lo, hi)
    queries = [(_SCAN_SQL.replace("/*range*/", bounds.replace("?", "%s")), args)]
    if lo is None and hi is not None:
        queries.append((_SCAN_SQL.replace("/*range*/", "WHERE case_id IS NULL"), []))
    return queries


def _stream(raw: Any, sql: str, args: list[str], n: int | str) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` through a server-side cursor (the ``n``-th of the scan)."""
    with raw.cursor(name=f"treatyflow_chain_scan_{n}") as cur:
        cur.execute(sql, args)
        yield from _rows(cur)


def _scan_part(lo: str | None, hi: str | None) -> Scan:
    """A worker's :func:`scan` of a range on a connection of its own, in one REPEATABLE
    READ, read-only snapshot."""
    assert _FORKED is not None
    connect, cargs, cparams, want = _FORKED
    con = connect(*cargs, **cparams)
    try:
        con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        con.read_only = True
        try:
            return scan(con, lo, hi, want)
        finally:
            con.rollback()
    finally:
        con.close()


def chain_scan(store: Any, want: Mapping[Any, int] | None) -> Scan | None:
    """The pass over the whole database of ``store``; None where it gave up."""
    global _FORKED
    may_fork = chainscan.can_fork() and store._nothing_checked_out()
    try:
        with store.read() as conn:
            count = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar_one()
            workers = chainscan.WORKERS
            parallel = may_fork and count >= chainscan.PARALLEL_FROM
            if not parallel:
                raw = conn.connection.driver_connection
                return None if raw is None else scan(raw, None, None, want)
            cut = "SELECT id FROM cases ORDER BY id LIMIT 1 OFFSET %(n)s"
            found = [
                conn.exec_driver_sql(cut, {"n": count * k // workers}).first()
                for k in range(1, workers)
            ]
        store.engine.dispose()  # no connection open in the process that forks
        cuts = list(dict.fromkeys(row[0] for row in found if row is not None))
        los, his = [None, *cuts], [*cuts, None]
        dialect = store.engine.dialect
        cargs, cparams = dialect.create_connect_args(store.engine.url)
        _FORKED = (dialect.loaded_dbapi.connect, tuple(cargs), dict(cparams), want)
        try:
            with ProcessPoolExecutor(len(los), mp_context=chainscan._fork_context()) as pool:
                parts = list(pool.map(_scan_part, los, his))
        finally:
            _FORKED = None
    except (sa.exc.DBAPIError, psycopg.Error, StoreError, OSError, BrokenProcessPool):
        return None  # a row the driver cannot read; no process to fork; a worker died
    total = Scan()
    for part in parts:
        total.merge(part)
    return total
