"""A fast first pass of ``verify`` on SQLite: clear the cases whose chain is certainly intact.

``verify`` re-hashes every event. Done in Python (decode each row, rebuild the hashed
fields, normalise, encode canonical JSON, hash) that is about 20 us an event. Here SQLite
writes each event's JSON itself, in C, as one string per row (keys in canonical order, text
through ``json_quote``, the stored ``sources`` and ``data`` minified by ``json()``), and
Python only checks that the string is canonical, hashes it and follows the chain: a few
microseconds an event. Large databases are split into ranges of case ids scanned by
parallel worker processes.

The pass is a filter, never the judge. A case is *cleared* only when every check that
:func:`treatyflow.chain.verify_events` and :func:`~treatyflow.chain.verify_states` make
holds: seqs 1..n, each ``prev_hash`` the previous hash, each hash the SHA-256 of the event's
JSON, the count and head those of the case row, the states following on to the case row's
state. And the JSON hashed must be exactly the canonical JSON the exact check would hash:
every column of the right type (text, or integer ``seq``), no NUL in ``sources`` or
``data`` (SQLite's JSON functions stop reading at one), the text in Unicode NFC, and
``sources`` and ``data`` already canonical (their minified text re-encodes to itself: sorted
unique keys, no floats, Python's escapes). Then the string SQLite wrote *is* what
:func:`treatyflow.chain.canonical_json` gives for the row, so both ways reach the same
verdict. Every other case is a *suspect* that ``verify`` checks again the exact, slow way.
Any SQLite error (a value JSON cannot hold, text that is not UTF-8), or a worker that cannot
be started or dies, makes the whole pass give up, and ``verify`` checks every case the
exact way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import sqlite3
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from treatyflow.chain import canonical_json

#: The hashed fields in canonical (sorted) key order, each as SQL that writes its JSON.
_FIELDS = (
    ("actor", "json_quote(actor)"),
    ("case_id", "json_quote(case_id)"),
    ("data", "d"),
    ("from_state", "json_quote(from_state)"),
    ("kind", "json_quote(kind)"),
    ("note", "json_quote(note)"),
    ("occurred_on", "json_quote(occurred_on)"),
    ("prev_hash", "json_quote(prev_hash)"),
    ("recorded_at", "json_quote(recorded_at)"),
    ("seq", "json_quote(seq)"),
    ("sources", "s"),
    ("to_state", "json_quote(to_state)"),
    ("trigger", "json_quote(trigger)"),
)

#: Columns that must hold text (the nullable ones may also be NULL), as the store writes them.
_TEXT = ("actor", "case_id", "kind", "occurred_on", "recorded_at")
_TEXT_OR_NULL = ("from_state", "note", "prev_hash", "to_state", "trigger")


def _canonical_sql() -> str:
    parts = []
    for n, (name, expr) in enumerate(_FIELDS):
        opening = "{" if n == 0 else ","
        parts.append(f"'{opening}\"{name}\":' || {expr}")
    body = " || ".join(parts) + " || '}'"
    typed = " AND ".join(
        [f"typeof({c}) = 'text'" for c in _TEXT]
        + [f"typeof({c}) IN ('text', 'null')" for c in _TEXT_OR_NULL]
        + ["typeof(seq) = 'integer'", "d IS NOT NULL", "s IS NOT NULL"]
    )
    return f"CASE WHEN {typed} THEN {body} END"


#: One event's JSON, written by SQLite (from ``d`` and ``s``, the minified data and sources);
#: NULL when a column has a type the store never writes or data/sources are not JSON.
CANONICAL_SQL = _canonical_sql()

# Fixed expressions; the id bounds (/*range*/) are bound parameters.
_SCAN_SQL = (
    f"SELECT case_id, seq, prev_hash, hash, from_state, to_state, {CANONICAL_SQL}, d, s "  # noqa: S608
    "FROM (SELECT *, CASE WHEN typeof(data) = 'text' AND instr(data, char(0)) = 0 "
    "AND json_valid(data) THEN json(data) END AS d, "
    "CASE WHEN typeof(sources) = 'text' AND instr(sources, char(0)) = 0 "
    "AND json_valid(sources) THEN json(sources) END AS s FROM events /*range*/) "
    "ORDER BY case_id, seq"
)
_CASES_SQL = "SELECT id, version, head_hash, state FROM cases /*range*/"

#: Below this many cases one process scans everything (starting workers costs more).
PARALLEL_FROM = 20_000
#: Worker processes for a large database: one per core, at most 8.
WORKERS = min(os.cpu_count() or 1, 8)


@dataclass
class Scan:
    """What the pass found: how many cases and events it read, and the suspects."""

    cases: int = 0
    events: int = 0
    suspects: list[Any] = field(default_factory=list)
    orphans: int = 0
    """Events with a NULL case id: counted in ``events``, in no case's chain (the schema
    forbids them; only an edit outside treatyflow makes one). ``verify`` must report them:
    :meth:`treatyflow.store.sql.Store.orphan_faults` names each."""

    def merge(self, other: Scan) -> None:
        self.cases += other.cases
        self.events += other.events
        self.suspects += other.suspects
        self.orphans += other.orphans


@functools.lru_cache(maxsize=4096)
def _is_canonical(text: str) -> bool:
    """Whether minified JSON ``text`` is the canonical JSON of its own value (remembered for
    the last few thousand texts: most events' data and sources repeat a few shapes)."""
    try:
        return canonical_json(json.loads(text)) == text.encode("utf-8")
    except (ValueError, TypeError, RecursionError):  # floats, lone surrogates, too deep
        return False


def scan(con: sqlite3.Connection, lo: str | None = None, hi: str | None = None) -> Scan:
    """Scan the cases with ``lo <= id < hi`` (open-ended where None) on ``con``, in its
    current transaction. Raises ``sqlite3.Error`` when SQLite cannot write some row."""
    bounds, args = _range("id", lo, hi)
    cases = {row[0]: row[1:] for row in con.execute(_CASES_SQL.replace("/*range*/", bounds), args)}
    ev_bounds, ev_args = _range("case_id", lo, hi, nulls=True)
    rows = con.execute(_SCAN_SQL.replace("/*range*/", ev_bounds), ev_args)
    result = Scan(cases=len(cases))
    suspects = result.suspects
    seen: set[Any] = set()
    sha256 = hashlib.sha256
    nfc = unicodedata.is_normalized
    current: Any = None
    ok = False
    expected_seq = 1
    prev: str | None = None
    state: str | None = None
    n = 0
    orphans = 0
    for case_id, seq, prev_hash, digest, from_state, to_state, text, data, sources in rows:
        n += 1
        if case_id is None:  # no case: never part of (or the start of) any case's chain
            orphans += 1
            continue
        if case_id != current:
            if current is not None and not (
                ok and _ends(cases[current], expected_seq, prev, state)
            ):
                suspects.append(current)
            current = case_id
            seen.add(case_id)
            ok = case_id in cases
            expected_seq, prev, state = 1, None, None
        if not ok:
            continue
        if (
            seq != expected_seq
            or prev_hash != prev
            or text is None
            or "sha256:" + sha256(text.encode("utf-8")).hexdigest() != digest
            or (from_state is not None and from_state != state)
            or not (text.isascii() or nfc("NFC", text))
            or (data != "{}" and not _is_canonical(data))
            or (sources != "[]" and not _is_canonical(sources))
        ):
            ok = False
            continue
        if to_state is not None:
            state = to_state
        prev = digest
        expected_seq += 1
    if current is not None and not (ok and _ends(cases[current], expected_seq, prev, state)):
        suspects.append(current)
    result.events = n
    result.orphans = orphans
    suspects.extend(case_id for case_id in cases if case_id not in seen)  # no events at all
    return result


def _ends(case: tuple[object, ...], next_seq: int, head: str | None, state: str | None) -> bool:
    """Whether a chain that ended before ``next_seq`` at ``head`` in ``state`` is the case
    row's (version, head hash, state)."""
    version, head_hash, case_state = case
    return version == next_seq - 1 and head == head_hash and state == case_state


def _range(
    column: str, lo: str | None, hi: str | None, *, nulls: bool = False
) -> tuple[str, list[str]]:
    """The WHERE clause of ``lo <= column < hi``; with ``nulls`` the first range (no
    ``lo``) also holds the rows whose column is NULL (so every row is in one range)."""
    parts, args = [], []
    if lo is not None:
        parts.append(f"{column} >= ?")
        args.append(lo)
    if hi is not None:
        parts.append(
            f"({column} < ? OR {column} IS NULL)" if nulls and lo is None else f"{column} < ?"
        )
        args.append(hi)
    return ("WHERE " + " AND ".join(parts) if parts else ""), args


def _open_read_only(path: str) -> sqlite3.Connection:
    # as_uri() percent-encodes the path: a '#', '?' or '%' in it cannot change the target
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    con = sqlite3.connect(uri, uri=True, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 10000")
    return con


def scan_file(path: str, lo: str | None, hi: str | None) -> Scan:
    """:func:`scan` of a range on a read-only connection of its own (one snapshot)."""
    con = _open_read_only(path)
    try:
        con.execute("BEGIN")
        try:
            return scan(con, lo, hi)
        finally:
            con.execute("COMMIT")
    finally:
        con.close()


def _fork_context() -> Any:
    return multiprocessing.get_context("fork")


def wants_workers(path: str) -> bool:
    """Whether the database file at ``path`` is large enough for worker processes."""
    if WORKERS < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return False
    if not os.path.isfile(path):
        return False
    con = _open_read_only(path)
    try:
        return bool(con.execute("SELECT count(*) FROM cases").fetchone()[0] >= PARALLEL_FROM)
    finally:
        con.close()


def scan_parallel(path: str, workers: int | None = None) -> Scan:
    """Scan the database file at ``path`` in ranges of case ids, one worker process each.

    The ranges are cut at quantiles of the case ids, read on a connection closed before
    the workers are forked: the caller must hold no open SQLite connection either (a forked
    child must not inherit SQLite's in-process lock state). Each worker reads a snapshot of
    its own: a case is cleared only if it was intact in the snapshot that read it, and the
    log is append-only. Raises ``sqlite3.Error``, ``OSError`` (no process to fork) or
    ``concurrent.futures.process.BrokenProcessPool`` (a worker died).
    """
    workers = workers or WORKERS
    con = _open_read_only(path)
    try:
        count = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        cut_sql = "SELECT id FROM cases ORDER BY id LIMIT 1 OFFSET ?"
        found = [
            con.execute(cut_sql, (count * k // workers,)).fetchone() for k in range(1, workers)
        ]
    finally:
        con.close()
    # in the database's order of ids (found by ascending offsets): never sorted in Python,
    # where text and (tampered) BLOB ids do not compare
    cuts = list(dict.fromkeys(row[0] for row in found if row is not None))
    los, his = [None, *cuts], [*cuts, None]
    with ProcessPoolExecutor(len(los), mp_context=_fork_context()) as pool:
        parts = list(pool.map(scan_file, [path] * len(los), los, his))
    total = Scan()
    for part in parts:
        total.merge(part)
    return total
