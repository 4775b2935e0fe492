"""The fast first pass of ``verify`` on PostgreSQL (:mod:`treatyflow.store.chainscan`).

The plain columns are streamed through a server-side cursor, ordered by (case id, seq), and
judged by the very code that judges SQLite's rows (:func:`~treatyflow.store.chainscan.scan_rows`).
A large database is cut into ranges of case ids (at quantiles, in the database's own order
of ids), each scanned by a forked worker process on a connection of its own, in a
REPEATABLE READ, read-only transaction of its own: a case is cleared only if it was intact in
the snapshot that read it, and the log is append-only. Any database error, a worker that
cannot be started or dies, makes the pass give up (None): ``verify`` then checks every case
the exact way.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import psycopg
import sqlalchemy as sa

from treatyflow.errors import StoreError
from treatyflow.store import chainscan
from treatyflow.store.chainscan import Scan, scan_rows

#: Rows fetched from the server-side cursor at a time.
ITERSIZE = 5000

_CASES_SQL = chainscan._CASES_SQL.replace("?", "%s")
_SCAN_SQL = chainscan._SCAN_SQL.replace("?", "%s")


def scan(raw: Any, lo: str | None, hi: str | None, want: Mapping[Any, int] | None) -> Scan:
    """The pass over ``lo <= id < hi`` on the psycopg connection ``raw``, in its current
    transaction."""
    bounds, args = chainscan._range("id", lo, hi)
    with raw.cursor() as cur:
        cur.execute(_CASES_SQL.replace("/*range*/", bounds.replace("?", "%s")), args)
        case_rows = cur.fetchall()
    ev_bounds, ev_args = chainscan._range("case_id", lo, hi, nulls=True)
    with raw.cursor(name="treatyflow_chain_scan") as cur:
        cur.itersize = ITERSIZE
        cur.execute(_SCAN_SQL.replace("/*range*/", ev_bounds.replace("?", "%s")), ev_args)
        return scan_rows(case_rows, cur, want)


def scan_url(url: str, lo: str | None, hi: str | None, want: Mapping[Any, int] | None) -> Scan:
    """:func:`scan` of a range on a connection of its own (a worker's), in one REPEATABLE
    READ, read-only snapshot."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        raw = engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            driver.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                return scan(driver, lo, hi, want)
            finally:
                driver.rollback()
        finally:
            raw.close()
    finally:
        engine.dispose()


def chain_scan(store: Any, want: Mapping[Any, int] | None) -> Scan | None:
    """The pass over the whole database of ``store``; None where it gave up."""
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
        with ProcessPoolExecutor(len(los), mp_context=chainscan._fork_context()) as pool:
            parts = list(pool.map(scan_url, [store.url] * len(los), los, his, [want] * len(los)))
    except (sa.exc.DBAPIError, psycopg.Error, StoreError, OSError, BrokenProcessPool):
        return None  # a row the driver cannot read; no process to fork; a worker died
    total = Scan()
    for part in parts:
        total.merge(part)
    return total
