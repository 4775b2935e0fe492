"""A fast first pass of ``verify`` on SQLite: clear the cases whose chain is certainly intact.

``verify`` re-hashes every event. Done in Python (decode each row, rebuild the hashed
fields, normalise, encode canonical JSON, hash) that is about 20 us an event. Here SQLite
writes each event's canonical JSON itself, in C, as one string per row (keys in canonical
order, text through ``json_quote``, the stored ``sources`` and ``data`` minified by
``json()``), and Python only hashes it and follows the chain: a few microseconds an event.
Large databases are split into ranges of case ids scanned by parallel processes.

The pass is a filter, never the judge. A case is *cleared* only when every check that
:func:`treatyflow.chain.verify_events` and :func:`~treatyflow.chain.verify_states` make
holds on the SQL-built text: seqs 1..n, each ``prev_hash`` the previous hash, each hash the
SHA-256 of the row's JSON, the count and head those of the case row, the states following
on to the case row's state. Every other case, and any case whose text SQLite writes
differently from Python (a string not in Unicode NFC, say), is a *suspect* that ``verify``
checks again the exact, slow way. That keeps it sound: SQL text that hashes to the stored
hash is byte for byte the canonical JSON the hash was made from, so it decodes to the same
values the slow path would read (docs/canonical-json.md). Any SQLite error (a value JSON
cannot hold, text that is not UTF-8) makes the whole pass give up, and ``verify`` falls
back to checking every case the slow way.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sqlite3
from dataclasses import dataclass, field
from typing import Any

#: The hashed fields in canonical (sorted) key order, each as SQL that writes its JSON.
_FIELDS = (
    ("actor", "json_quote(actor)"),
    ("case_id", "json_quote(case_id)"),
    ("data", "json(data)"),
    ("from_state", "json_quote(from_state)"),
    ("kind", "json_quote(kind)"),
    ("note", "json_quote(note)"),
    ("occurred_on", "json_quote(occurred_on)"),
    ("prev_hash", "json_quote(prev_hash)"),
    ("recorded_at", "json_quote(recorded_at)"),
    ("seq", "json_quote(seq)"),
    ("sources", "json(sources)"),
    ("to_state", "json_quote(to_state)"),
    ("trigger", "json_quote(trigger)"),
)


def _canonical_sql() -> str:
    parts = []
    for n, (name, expr) in enumerate(_FIELDS):
        opening = "{" if n == 0 else ","
        parts.append(f"'{opening}\"{name}\":' || {expr}")
    body = " || ".join(parts) + " || '}'"
    return f"CASE WHEN json_valid(data) AND json_valid(sources) THEN {body} END"


#: One event's canonical JSON, written by SQLite; NULL when sources or data are not JSON.
CANONICAL_SQL = _canonical_sql()

# Fixed expressions; the id bounds (WHERE) are bound parameters.
_SCAN_SQL = (
    f"SELECT case_id, seq, prev_hash, hash, from_state, to_state, {CANONICAL_SQL} "  # noqa: S608
    "FROM events /*range*/ ORDER BY case_id, seq"
)
_CASES_SQL = "SELECT id, version, head_hash, state FROM cases /*range*/"

#: Below this many cases one process scans everything (forking costs more than it saves).
PARALLEL_FROM = 20_000
#: Worker processes for a large database: one per core, at most 8.
WORKERS = min(os.cpu_count() or 1, 8)


@dataclass
class Scan:
    """What the pass found: how many cases and events it read, and the suspects."""

    cases: int = 0
    events: int = 0
    suspects: list[str] = field(default_factory=list)

    def merge(self, other: Scan) -> None:
        self.cases += other.cases
        self.events += other.events
        self.suspects += other.suspects


def scan(con: sqlite3.Connection, lo: str | None = None, hi: str | None = None) -> Scan:
    """Scan the cases with ``lo <= id < hi`` (open-ended where None) on ``con``, in its
    current transaction. Raises ``sqlite3.Error`` when SQLite cannot write some row."""
    bounds, args = _range("id", lo, hi)
    cases = {row[0]: row[1:] for row in con.execute(_CASES_SQL.replace("/*range*/", bounds), args)}
    ev_bounds, ev_args = _range("case_id", lo, hi)
    rows = con.execute(_SCAN_SQL.replace("/*range*/", ev_bounds), ev_args)
    result = Scan(cases=len(cases))
    suspects = result.suspects
    seen: set[str] = set()
    sha256 = hashlib.sha256
    current: str | None = None
    ok = False
    expected_seq = 1
    prev: str | None = None
    state: str | None = None
    n = 0
    for case_id, seq, prev_hash, digest, from_state, to_state, text in rows:
        n += 1
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
    suspects.extend(case_id for case_id in cases if case_id not in seen)  # no events at all
    return result


def _ends(case: tuple[object, ...], next_seq: int, head: str | None, state: str | None) -> bool:
    """Whether a chain that ended before ``next_seq`` at ``head`` in ``state`` is the case
    row's (version, head hash, state)."""
    version, head_hash, case_state = case
    return version == next_seq - 1 and head == head_hash and state == case_state


def _range(column: str, lo: str | None, hi: str | None) -> tuple[str, list[str]]:
    parts, args = [], []
    if lo is not None:
        parts.append(f"{column} >= ?")
        args.append(lo)
    if hi is not None:
        parts.append(f"{column} < ?")
        args.append(hi)
    return ("WHERE " + " AND ".join(parts) if parts else ""), args


def scan_file(path: str, lo: str | None, hi: str | None) -> Scan:
    """:func:`scan` of a range on a connection of its own (read-only, one snapshot)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        con.execute("PRAGMA busy_timeout = 10000")
        con.execute("BEGIN")
        try:
            return scan(con, lo, hi)
        finally:
            con.execute("COMMIT")
    finally:
        con.close()


def _fork_context() -> Any:
    return multiprocessing.get_context("fork")


def scan_parallel(con: sqlite3.Connection, path: str, workers: int | None = None) -> Scan:
    """Scan the database at ``path``: on ``con`` alone when it is small, else split into
    ranges of case ids (cut at quantiles read on ``con``) scanned by worker processes.

    Each worker reads its own snapshot: a case is cleared only if it was intact in the
    snapshot that read it, and the log is append-only, so that is still true.
    """
    count = con.execute("SELECT count(*) FROM cases").fetchone()[0]
    workers = workers or WORKERS
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if count < PARALLEL_FROM or workers < 2 or not forkable or not os.path.isfile(path):
        return scan(con)
    cut_sql = "SELECT id FROM cases ORDER BY id LIMIT 1 OFFSET ?"
    cuts = [con.execute(cut_sql, (count * k // workers,)).fetchone()[0] for k in range(1, workers)]
    ranges = list(zip([None, *cuts], [*cuts, None], strict=True))
    with _fork_context().Pool(len(ranges)) as pool:
        parts = pool.starmap(scan_file, [(path, lo, hi) for lo, hi in ranges])
    total = Scan()
    for part in parts:
        total.merge(part)
    return total
