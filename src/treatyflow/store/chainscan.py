"""A fast first pass of ``verify``: clear the cases whose chain is certainly intact.

``verify`` re-hashes every event. Done the exact way (decode each row's JSON, rebuild the
hashed fields, normalise, encode canonical JSON, hash) that is about 20 us an event. Here
the plain columns are read in one stream ordered by (case, seq), and each event's canonical
JSON is rebuilt from them by :func:`treatyflow.store.canontext.event_text` without decoding
the stored ``sources`` and ``data`` text (the JSON is copied from the stored text wherever
that is provably the same bytes): a few microseconds an event. Large SQLite databases are
split into ranges of case ids scanned by parallel worker processes; PostgreSQL is read
through a server-side cursor (:mod:`treatyflow.store.pgscan`), in ranges over several
connections when large.

The pass is a filter, never the judge. A case is *cleared* only when every check that
:func:`treatyflow.chain.verify_events` and :func:`~treatyflow.chain.verify_states` make
holds: seqs 1..n, each ``prev_hash`` the previous hash, each hash the SHA-256 of the event's
canonical JSON, the count and head those of the case row, the states following on to the
case row's state. An event whose text ``event_text`` cannot vouch for (a column of another
type, JSON the store would not have written: a key twice, a float, keys out of order; text
not in Unicode NFC) makes its case a *suspect* that ``verify`` checks again the exact, slow
way. Any database error (text that is not UTF-8), or a worker that cannot be started or
dies, makes the whole pass give up, and ``verify`` checks every case the exact way.

In the same read the pass also checks each case row against what its log says it is
(:func:`treatyflow.identity.identity_fault`, from the same rows ``Store.identity_events``
selects) and, for ``verify --checkpoint``, collects each checkpointed case's current
version and head and the hash at its checkpointed seq.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
import sqlite3
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from treatyflow.identity import identity_fault
from treatyflow.store.canontext import event_text
from treatyflow.store.projections import unsealed_rows

#: The columns read of each event, in this order (``sources`` and ``data`` as stored).
EVENT_SCAN_COLUMNS = (
    "case_id",
    "seq",
    "prev_hash",
    "hash",
    "from_state",
    "to_state",
    "actor",
    "data",
    "kind",
    "note",
    "occurred_on",
    "recorded_at",
    "sources",
    "trigger",
)
#: The columns read of each case row: its chain head and state, then its identity.
CASE_SCAN_COLUMNS = (
    "id",
    "version",
    "head_hash",
    "state",
    "country",
    "treaty",
    "action",
    "procedure",
    "procedure_hash",
    "treaty_hash",
    "opened_on",
    "facts",
)
#: Events whose data says what the case row must hold (as ``Store.identity_events``).
_IDENTITY_KINDS = frozenset(("set-fact", "migrated", "retract"))

# Fixed expressions; the id bounds (/*range*/) are bound parameters.
_SCAN_SQL = (
    f"SELECT {', '.join(EVENT_SCAN_COLUMNS)} FROM events /*range*/ "  # noqa: S608
    "ORDER BY case_id, seq"
)
_CASES_SQL = f"SELECT {', '.join(CASE_SCAN_COLUMNS)} FROM cases /*range*/"  # noqa: S608
#: The projection rows of the range's cases with each case's version (their seals are
#: checked in the same pass: :data:`treatyflow.store.projections.SEAL_SCAN_COLUMNS`).
_SEALS_SQL = (
    "SELECT p.case_id, p.head_hash, p.horizon, p.final, p.next_fire, p.tally, c.version "
    "FROM case_projections p JOIN cases c ON c.id = p.case_id /*range*/"
)
#: Whether the database has the projection table (one written before it has not).
_HAS_SEALS_SQL = (
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'case_projections'"
)

#: Below this many cases one process scans everything (starting workers costs more: ~50 ms,
#: the time one process scans ~5,000 events in).
PARALLEL_FROM = 5_000
_json_loads = json.loads
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
    identity: dict[Any, str] = field(default_factory=dict)
    """Case id -> the first column of its row its log contradicts (a sentence), for every
    case with events whose row says something else than its log."""
    heads: dict[Any, tuple[Any, Any]] = field(default_factory=dict)
    """For the ``want`` cases (a checkpoint's): case id -> (version, head hash) of its row."""
    hashes: dict[Any, Any] = field(default_factory=dict)
    """For the ``want`` cases: case id -> the hash of its event at the wanted seq."""
    citing: list[tuple[Any, Any, Any, Any, Any]] = field(default_factory=list)
    """(case_id, seq, kind, sources, data) of every event that may cite a document (what
    ``Store.citing_events`` selects, and any whose sources hold an escape), in the order
    read: ``verify``'s document check reads them from here, not in a pass of its own."""
    unsealed: list[tuple[str, int]] | None = None
    """(case id, version) of every case whose projection row's seal does not match it
    (:func:`treatyflow.store.projections.unsealed_rows`, in the same workers as the events);
    None when the pass did not read them (a database without the table)."""

    def merge(self, other: Scan) -> None:
        self.cases += other.cases
        self.events += other.events
        self.suspects += other.suspects
        self.orphans += other.orphans
        self.identity.update(other.identity)
        self.heads.update(other.heads)
        self.hashes.update(other.hashes)
        self.citing += other.citing
        if other.unsealed is not None:
            self.unsealed = (self.unsealed or []) + other.unsealed


def scan(
    con: sqlite3.Connection,
    lo: str | None = None,
    hi: str | None = None,
    want: Mapping[Any, int] | None = None,
) -> Scan:
    """Scan the cases with ``lo <= id < hi`` (open-ended where None) on ``con``, in its
    current transaction (``want``: see :func:`scan_rows`). Raises ``sqlite3.Error`` when
    SQLite cannot read some row."""
    bounds, args = _range("id", lo, hi)
    cases = con.execute(_CASES_SQL.replace("/*range*/", bounds), args)
    ev_bounds, ev_args = _range("case_id", lo, hi)
    rows: Iterable[tuple[Any, ...]] = con.execute(
        _SCAN_SQL.replace("/*range*/", ev_bounds), ev_args
    )
    if lo is None and hi is not None:
        # The first of several ranges also holds the events whose case id is NULL (the
        # schema forbids them; only an edit outside treatyflow makes one), read by a query
        # of their own: ``case_id < ? OR case_id IS NULL`` would walk the whole index.
        orphans = con.execute(_SCAN_SQL.replace("/*range*/", "WHERE case_id IS NULL"))
        rows = itertools.chain(orphans, rows)
    result = scan_rows(cases, rows, want)
    if con.execute(_HAS_SEALS_SQL).fetchone()[0]:
        seal_bounds, seal_args = _range("p.case_id", lo, hi)
        seals = con.execute(_SEALS_SQL.replace("/*range*/", seal_bounds), seal_args)
        result.unsealed = list(unsealed_rows(seals))
    return result


def scan_rows(
    case_rows: Iterable[tuple[Any, ...]],
    rows: Iterable[tuple[Any, ...]],
    want: Mapping[Any, int] | None = None,
) -> Scan:
    """The pass over ``case_rows`` (:data:`CASE_SCAN_COLUMNS`) and ``rows``
    (:data:`EVENT_SCAN_COLUMNS`, ordered by case id and seq; any database's).

    ``want`` (case id -> seq, a checkpoint's cases): also collect those cases' heads and the
    hash of each one's event at that seq.
    """

    cases = {row[0]: row[1:] for row in case_rows}
    result = Scan(cases=len(cases))
    suspects = result.suspects
    if want:
        result.heads = {c: (cases[c][0], cases[c][1]) for c in want if c in cases}
    hashes = result.hashes
    seen: set[Any] = set()
    sha256 = hashlib.sha256
    text_of = event_text
    current: Any = None
    ok = False
    expected_seq = 1
    prev: str | None = None
    state: str | None = None
    wanted: int | None = None
    identity: list[tuple[Any, Any, Any, Any]] = []
    citing = result.citing
    n = 0
    orphans = 0
    for (
        case_id,
        seq,
        prev_hash,
        digest,
        from_state,
        to_state,
        actor,
        data,
        kind,
        note,
        occurred_on,
        recorded_at,
        sources,
        trigger,
    ) in rows:
        n += 1
        if (
            kind == "attach"
            or type(sources) is not str
            or '"document"' in sources
            or "\\" in sources  # an escaped key could spell "document"
        ):
            citing.append((case_id, seq, kind, sources, data))
        if case_id is None:  # no case: never part of (or the start of) any case's chain
            orphans += 1
            continue
        if case_id != current:
            if current is not None:
                _end_case(result, cases, current, ok, expected_seq, prev, state, identity)
            current = case_id
            seen.add(case_id)
            ok = case_id in cases
            expected_seq, prev, state = 1, None, None
            identity = []
            wanted = want.get(case_id) if want else None
        if wanted is not None and seq == wanted:
            hashes[case_id] = digest
        if seq == 1 or kind in _IDENTITY_KINDS:
            identity.append((seq, kind, occurred_on, _data(data)))
        if not ok:
            continue
        if seq != expected_seq or prev_hash != prev:
            ok = False
            continue
        text = text_of(
            actor,
            case_id,
            data,
            from_state,
            kind,
            note,
            occurred_on,
            prev_hash,
            recorded_at,
            seq,
            sources,
            to_state,
            trigger,
        )
        if (
            text is None
            or "sha256:" + sha256(text.encode("utf-8")).hexdigest() != digest
            or (from_state is not None and from_state != state)
        ):
            ok = False
            continue
        if to_state is not None:
            state = to_state
        prev = digest
        expected_seq += 1
    if current is not None:
        _end_case(result, cases, current, ok, expected_seq, prev, state, identity)
    result.events = n
    result.orphans = orphans
    suspects.extend(case_id for case_id in cases if case_id not in seen)  # no events at all
    return result


def _data(text: Any) -> Any:
    """An event's stored ``data`` for the identity check: read by the C decoder (several
    times faster than the store's strict reader). It differs from the strict reader only on
    a text with a key twice in one object, and such a text never hashes to its event's hash
    (the strict reader makes it unreadable): its case is a suspect whose exact check fails,
    and ``verify`` reports no identity of a case whose chain failed. Anything the C decoder
    refuses is read the strict way."""
    if type(text) is str:
        if text == "{}":
            return {}
        try:
            return _json_loads(text)
        except (ValueError, RecursionError):
            pass
    from treatyflow.store.sql import _loads

    return _loads(text, {})


def _end_case(
    result: Scan,
    cases: Mapping[Any, tuple[Any, ...]],
    case_id: Any,
    ok: bool,
    next_seq: int,
    head: str | None,
    state: str | None,
    identity: list[tuple[Any, Any, Any, Any]],
) -> None:
    """The verdicts on one case whose events have all been read."""
    case = cases.get(case_id)
    if not (ok and case is not None and _ends(case, next_seq, head, state)):
        result.suspects.append(case_id)
    if case is not None and identity and not _identity_holds(case, identity):
        events = [{"seq": q, "kind": k, "occurred_on": o, "data": d} for q, k, o, d in identity]
        fault = identity_fault(_identity_row(case_id, case), events)
        if fault is not None:
            result.identity[case_id] = fault


def _identity_holds(case: tuple[Any, ...], identity: list[tuple[Any, Any, Any, Any]]) -> bool:
    """Whether the case row certainly says what its log says: True only where
    :func:`treatyflow.identity.identity_fault` would find nothing (a quick test of the usual
    log, no retraction or migration; the row's facts compared as the text the store writes
    for the log's facts). False means "not certain": the exact check decides (and words
    the fault)."""
    country, treaty, action, procedure, procedure_hash, treaty_hash, opened_on, facts = case[3:]
    if identity[0][2] != opened_on:
        return False
    merged: dict[str, Any] = {}
    for n, (_, kind, _, data) in enumerate(identity):
        if kind == "retract" or kind == "migrated" or type(data) is not dict:
            return False
        if n == 0:
            pinned = data.get("case")
            if pinned is not None and (
                type(pinned) is not dict
                or pinned.get("country") != country
                or pinned.get("treaty") != treaty
                or pinned.get("action") != action
                or pinned.get("procedure") != procedure
                or pinned.get("procedure_hash") != procedure_hash
                or pinned.get("treaty_hash") != treaty_hash
            ):
                return False
        if kind == "open" or kind == "set-fact":
            found = data.get("facts")
            if found is not None:
                if type(found) is not dict:
                    return False
                merged.update(found)
    # the text the store writes for these facts (``CaseRecord.to_row``); a NaN never equals
    # itself, so text with one is left to the exact check
    return (
        type(facts) is str
        and "NaN" not in facts
        and "Infinity" not in facts
        and facts == _facts_text(merged, sort_keys=True)
    )


_facts_text = json.dumps


def _identity_row(case_id: Any, case: tuple[Any, ...]) -> dict[str, Any]:
    """A case row as ``Store.case_identities`` gives it (facts parsed)."""
    from treatyflow.store.sql import _loads

    country, treaty, action, procedure, procedure_hash, treaty_hash, opened_on, facts = case[3:]
    return {
        "id": case_id,
        "country": country,
        "treaty": treaty,
        "action": action,
        "procedure": procedure,
        "procedure_hash": procedure_hash,
        "treaty_hash": treaty_hash,
        "opened_on": opened_on,
        "facts": _loads(facts, {}),
    }


def _ends(case: tuple[object, ...], next_seq: int, head: str | None, state: str | None) -> bool:
    """Whether a chain that ended before ``next_seq`` at ``head`` in ``state`` is the case
    row's (version, head hash, state)."""
    version, head_hash, case_state = case[:3]
    return version == next_seq - 1 and head == head_hash and state == case_state


def _range(column: str, lo: str | None, hi: str | None) -> tuple[str, list[str]]:
    """The WHERE clause of ``lo <= column < hi`` (no bound where None)."""
    parts, args = [], []
    if lo is not None:
        parts.append(f"{column} >= ?")
        args.append(lo)
    if hi is not None:
        parts.append(f"{column} < ?")
        args.append(hi)
    return ("WHERE " + " AND ".join(parts) if parts else ""), args


def _open_read_only(path: str) -> sqlite3.Connection:
    # as_uri() percent-encodes the path: a '#', '?' or '%' in it cannot change the target
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    con = sqlite3.connect(uri, uri=True, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 10000")
    return con


def scan_file(
    path: str, lo: str | None, hi: str | None, want: Mapping[Any, int] | None = None
) -> Scan:
    """:func:`scan` of a range on a read-only connection of its own (one snapshot)."""
    con = _open_read_only(path)
    try:
        con.execute("BEGIN")
        try:
            return scan(con, lo, hi, want)
        finally:
            con.execute("COMMIT")
    finally:
        con.close()


def _fork_context() -> Any:
    return multiprocessing.get_context("fork")


def can_fork() -> bool:
    """Whether worker processes can be forked here (and are worth it: two cores or more)."""
    return WORKERS >= 2 and "fork" in multiprocessing.get_all_start_methods()


def wants_workers(path: str) -> bool:
    """Whether the database file at ``path`` is large enough for worker processes."""
    if not can_fork():
        return False
    if not os.path.isfile(path):
        return False
    con = _open_read_only(path)
    try:
        return bool(con.execute("SELECT count(*) FROM cases").fetchone()[0] >= PARALLEL_FROM)
    finally:
        con.close()


def scan_parallel(
    path: str, workers: int | None = None, want: Mapping[Any, int] | None = None
) -> Scan:
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
        parts = list(pool.map(scan_file, [path] * len(los), los, his, [want] * len(los)))
    total = Scan()
    for part in parts:
        total.merge(part)
    return total
