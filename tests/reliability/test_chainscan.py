"""verify's fast pass on SQLite (treatyflow.store.chainscan) never clears what the exact
check would fault, and writes the very canonical JSON the chain is hashed over.

The pass is a filter: cases it cannot clear are checked again the exact way. So the
verdicts of ``integrity.check_chains`` (fast pass + exact re-check) must equal those of
``integrity._verify_all`` (the exact check of every case) for every tamper, serially and with
worker processes, and the pass must clear honest cases (or it saves nothing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tamper import E2E, _sql

from treatyflow.app import integrity
from treatyflow.app.core import Core
from treatyflow.catalog import load_catalog, shipped_workflows
from treatyflow.chain import _ENCODER, canonical_json
from treatyflow.events import HASHED_FIELDS, Event, EventKind
from treatyflow.store import chainscan, open_store
from treatyflow.store.canontext import event_text
from treatyflow.store.sql import event_row

# The text the old fast pass had SQLite write for an event (minified JSON, json_quote): what a
# forger who knows SQLite's JSON functions would hash a forgery over.
_NAIVE_FIELDS = (
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
NAIVE_SQL = (
    " || ".join(
        f"'{'{' if n == 0 else ','}\"{name}\":' || {expr}"
        for n, (name, expr) in enumerate(_NAIVE_FIELDS)
    )
    + " || '}'"
)


def _core(db: Path) -> Core:
    return Core(open_store(str(db)), load_catalog([shipped_workflows()]))


def _verdicts(db: Path) -> tuple[tuple[int, list[Any]], tuple[int, list[Any]]]:
    svc = _core(db)
    try:
        fast = integrity.check_chains(svc)
        with svc.store.read() as conn:
            exact = integrity._verify_all(svc, conn)
    finally:
        svc.store.engine.dispose()
    return fast, exact


def _scan(db: Path, workers: int | None = None) -> chainscan.Scan:
    if workers is not None:
        return chainscan.scan_parallel(str(db), workers=workers)
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("BEGIN")
        return chainscan.scan(con)
    finally:
        con.close()


EXTRA = [
    # a value JSON cannot hold: SQLite refuses to write the row, the pass gives up
    "UPDATE events SET note = X'00ff' WHERE case_id = 'LTU-1' AND seq = 2",
    "UPDATE events SET seq = '2' WHERE case_id = 'LTU-1' AND seq = 2",
    "UPDATE events SET data = '' WHERE case_id = 'LTU-1' AND seq = 2",
    "UPDATE events SET prev_hash = NULL WHERE case_id = 'LTU-1' AND seq = 2",
    "UPDATE events SET hash = upper(hash) WHERE case_id = 'LTU-1' AND seq = 3",
    "UPDATE cases SET state = 'effective' WHERE id = 'LTU-1'",
    "UPDATE cases SET head_hash = 'sha256:00' WHERE id = 'G1'",
    "DELETE FROM events WHERE case_id = 'G1'",
    "DELETE FROM cases WHERE id = 'G1'",
    "UPDATE events SET from_state = 'drafted' WHERE case_id = 'LTU-1' AND seq = 2",
    "UPDATE events SET sources = '[ ]' WHERE case_id = 'LTU-1' AND seq = 1",  # not an edit
]


@pytest.mark.parametrize("statement", [s for s, _, _ in E2E] + EXTRA)
def test_fast_verdicts_equal_the_exact_check(populated: Path, statement: str) -> None:
    assert _verdicts(populated)[0] == (2, [])
    _sql(populated, statement)
    fast, exact = _verdicts(populated)
    assert fast == exact


def test_honest_cases_are_cleared_and_tampered_ones_suspected(populated: Path) -> None:
    scan = _scan(populated)
    assert (scan.cases, scan.events, scan.suspects) == (2, 4, [])
    _sql(populated, "UPDATE events SET note = 'forged' WHERE case_id = 'LTU-1' AND seq = 3")
    assert _scan(populated).suspects == ["LTU-1"]


def _many_cases(db: Path, n: int) -> None:
    """Copy LTU-1's log to n cases (every copy verifies: its hashes are re-made)."""
    from treatyflow.chain import event_hash

    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    case = dict(con.execute("SELECT * FROM cases WHERE id = 'LTU-1'").fetchone())
    rows = [dict(r) for r in con.execute("SELECT * FROM events WHERE case_id = 'LTU-1'")]
    import json

    for k in range(n):
        new_id = f"C{k:05d}"
        prev = None
        for row in sorted(rows, key=lambda r: r["seq"]):
            unhashed = ("hash", "id", "signature", "key", "recorded_by")
            fields = {key: row[key] for key in row if key not in unhashed}
            fields.update(case_id=new_id, prev_hash=prev)
            hashed = dict(fields, sources=json.loads(row["sources"]), data=json.loads(row["data"]))
            prev = event_hash(hashed)
            cols = [*fields, "hash"]
            con.execute(
                f"INSERT INTO events ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [*fields.values(), prev],
            )
        copy = dict(case, id=new_id, head_hash=prev)
        con.execute(
            f"INSERT INTO cases ({', '.join(copy)}) VALUES ({', '.join('?' * len(copy))})",
            list(copy.values()),
        )
    con.commit()
    con.close()


def test_worker_processes_find_what_one_process_finds(populated: Path) -> None:
    _many_cases(populated, 60)
    _sql(
        populated,
        "UPDATE events SET note = 'x' WHERE case_id = 'C00003' AND seq = 3",
        "DELETE FROM events WHERE case_id = 'C00031' AND seq = 1",
        "UPDATE cases SET version = 9 WHERE id = 'C00059'",
        "UPDATE events SET case_id = 'GHOST' WHERE case_id = 'C00040'",
    )
    serial = _scan(populated)
    for workers in (2, 3, 7):
        parallel = _scan(populated, workers=workers)
        assert (parallel.cases, parallel.events) == (serial.cases, serial.events)
        assert sorted(parallel.suspects) == sorted(serial.suspects)
    assert sorted(serial.suspects) == ["C00003", "C00031", "C00040", "C00059", "GHOST"]


def test_the_cli_uses_worker_processes_on_large_databases(
    populated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_cases(populated, 30)
    _sql(populated, "UPDATE events SET actor = 'mallory' WHERE case_id = 'C00017' AND seq = 2")
    monkeypatch.setattr(chainscan, "PARALLEL_FROM", 10)
    monkeypatch.setattr(chainscan, "WORKERS", 3)
    pools: list[int] = []
    real = chainscan._fork_context

    def spy() -> Any:
        pools.append(1)
        return real()

    monkeypatch.setattr(chainscan, "_fork_context", spy)
    fast, exact = _verdicts(populated)
    assert pools == [1]
    assert fast == exact
    assert [f.case_id for f in fast[1]] == ["C00017"]
    assert fast[0] == 32


# ----------------------------------------------------------- the SQL text is canonical JSON
texts = st.text(max_size=12).map(lambda s: unicodedata.normalize("NFC", s))
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    note=st.none() | texts,
    actor=texts,
    trigger=st.none() | texts,
    data=st.dictionaries(texts, values, max_size=4),
    sources=st.lists(st.dictionaries(texts, texts, max_size=3), max_size=2),
    seq=st.integers(1, 10**6),
)
def test_the_text_rebuilt_from_sqlite_columns_is_canonical_json(
    note: str | None,
    actor: str,
    trigger: str | None,
    data: dict[str, Any],
    sources: list[dict[str, str]],
    seq: int,
) -> None:
    """Control characters, quotes, backslashes, U+2028, emoji, big integers: the text the
    pass rebuilds from an event's columns as SQLite returns them is byte for byte
    chain.canonical_json of its hashed fields (or None: the whole JSON is not NFC)."""
    ev = Event(
        case_id='C-\u00e9\u2028"\\',
        seq=seq,
        kind=EventKind.NOTE,
        occurred_on=dt.date(2025, 1, 2),
        recorded_at="2025-01-02T00:00:00.000000Z",
        actor=actor,
        trigger=trigger,
        from_state=None,
        to_state="s\x00\x1f\x7f",
        sources=tuple(sources),
        note=note,
        data=data,
        prev_hash=None,
    )
    row = event_row(ev)
    con = sqlite3.connect(":memory:")
    con.execute(f"CREATE TABLE events ({', '.join(row)})")
    con.execute(f"INSERT INTO events VALUES ({', '.join('?' * len(row))})", list(row.values()))
    columns = dict(zip(row, con.execute("SELECT * FROM events").fetchone(), strict=True))
    con.close()
    text = event_text(**{k: columns[k] for k in HASHED_FIELDS})
    exact = canonical_json(ev.hashed_fields())
    if text is None:
        assert not unicodedata.is_normalized("NFC", _ENCODER.encode(ev.hashed_fields()))
    else:
        assert text.encode("utf-8") == exact


def test_no_process_to_fork_means_the_exact_check(
    populated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the workers cannot start (fork fails), verify checks every case the exact way."""
    _many_cases(populated, 12)
    _sql(populated, "UPDATE events SET note = 'x' WHERE case_id = 'C00005' AND seq = 3")
    monkeypatch.setattr(chainscan, "PARALLEL_FROM", 5)
    monkeypatch.setattr(chainscan, "WORKERS", 2)

    def no_fork() -> Any:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(chainscan, "_fork_context", no_fork)
    fast, exact = _verdicts(populated)
    assert fast == exact
    assert [f.case_id for f in fast[1]] == ["C00005"]


# ----------------------------------------------- forgeries hashed over non-canonical text
def _forge(db: Path, case_id: str, seq: int, assignment: str) -> None:
    """Edit one event with ``assignment`` (SQL), then re-hash the case's chain from there the
    way a forger who knows the fast pass would: over the text SQLite writes for each row."""
    con = sqlite3.connect(db)
    con.execute(f"UPDATE events SET {assignment} WHERE case_id = ? AND seq = ?", (case_id, seq))
    text_sql = (
        f"SELECT {NAIVE_SQL} FROM (SELECT *, json(data) AS d, "
        "json(sources) AS s FROM events WHERE case_id = ? AND seq = ?)"
    )
    prev = con.execute(
        "SELECT hash FROM events WHERE case_id = ? AND seq = ?", (case_id, seq - 1)
    ).fetchone()
    prev_hash = prev[0] if prev else None
    seqs = [r[0] for r in con.execute(
        "SELECT seq FROM events WHERE case_id = ? AND seq >= ? ORDER BY seq", (case_id, seq)
    )]  # fmt: skip
    for n in seqs:
        con.execute(
            "UPDATE events SET prev_hash = ? WHERE case_id = ? AND seq = ?",
            (prev_hash, case_id, n),
        )
        (text,) = con.execute(text_sql, (case_id, n)).fetchone()
        prev_hash = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        con.execute(
            "UPDATE events SET hash = ? WHERE case_id = ? AND seq = ?", (prev_hash, case_id, n)
        )
    con.execute("UPDATE cases SET head_hash = ? WHERE id = ?", (prev_hash, case_id))
    con.commit()
    con.close()


FORGERIES = [
    'data = \'{"facts": {"armed_conflict": false, "armed_conflict": true}}\'',  # duplicate
    'data = \'{"facts": {"armed_conflict": false}, "n": 1.5}\'',  # a float
    'data = \'{"facts": {"armed_conflict": false}, "n": 1E2}\'',  # an exponent
    'data = \'{"facts": {"armed_conflict": false}, "n": -0}\'',  # minus zero
    'data = \'{"facts": {"armed_conflict": false}, "x": "\\u0078"}\'',  # an escape
    'data = \'{"facts": {"armed_conflict": false}, "x": "\\ud800"}\'',  # lone surrogate
    'data = \'{"z": 1, "facts": {"armed_conflict": false}}\'',  # keys out of order
    "note = 'Cafe' || char(769)",  # not NFC
    'sources = \'[{"citation": "x", "citation": "y"}]\'',  # duplicate, in sources
    "note = 'Cafe' || char(769) || ' (' || char(12354) || ')'",  # not NFC, not ASCII
]


@pytest.mark.parametrize("assignment", FORGERIES)
def test_a_forgery_over_non_canonical_text_is_not_cleared(
    populated: Path, assignment: str
) -> None:
    """Text hashed as SQLite writes it but not canonical JSON: the exact check decides."""
    _forge(populated, "LTU-1", 2, assignment)
    assert "LTU-1" in _scan(populated).suspects
    fast, exact = _verdicts(populated)
    assert fast == exact


def test_a_forgery_over_canonical_text_verifies_both_ways(populated: Path) -> None:
    """The control: the same re-hashing over canonical text passes both checks (a forger
    who can rewrite the database can always do this; checkpoints catch it)."""
    _forge(populated, "LTU-1", 2, "note = 'rewritten'")
    assert _scan(populated).suspects == []
    assert _verdicts(populated) == ((2, []), (2, []))


# ----------------------------------------------------------------- workers, paths, deaths
def _die(*_: Any) -> chainscan.Scan:
    os._exit(9)  # a worker killed (the OOM killer, say)


def test_a_dead_worker_means_the_exact_check(
    populated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_cases(populated, 12)
    _sql(populated, "UPDATE events SET note = 'x' WHERE case_id = 'C00007' AND seq = 3")
    monkeypatch.setattr(chainscan, "PARALLEL_FROM", 5)
    monkeypatch.setattr(chainscan, "WORKERS", 2)
    monkeypatch.setattr(chainscan, "scan_file", _die)
    fast, exact = _verdicts(populated)
    assert fast == exact
    assert [f.case_id for f in fast[1]] == ["C00007"]


@pytest.mark.parametrize("name", ["prod#2.db", "a?x.db", "p%41.db", "spaced name.db"])
def test_workers_open_the_very_file_whatever_its_name(
    populated: Path, tmp_path: Path, name: str
) -> None:
    where = tmp_path / "odd"
    where.mkdir()
    db = where / name
    shutil.copyfile(populated, db)
    _many_cases(db, 10)
    _sql(db, "UPDATE events SET note = 'x' WHERE case_id = 'C00004' AND seq = 3")
    assert sorted(_scan(db, workers=2).suspects) == ["C00004"]
    assert sorted(p.name for p in where.iterdir() if not p.name.startswith(name)) == []


def test_no_fork_while_a_connection_of_the_store_is_in_use(
    populated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An embedding program with a connection checked out (another thread's): the pass
    scans in this process instead of forking with an open SQLite connection."""
    _many_cases(populated, 12)
    monkeypatch.setattr(chainscan, "PARALLEL_FROM", 5)
    monkeypatch.setattr(chainscan, "WORKERS", 2)
    forks: list[int] = []
    monkeypatch.setattr(chainscan, "_fork_context", lambda: forks.append(1))
    svc = _core(populated)
    try:
        with svc.store.engine.connect():
            scan = svc.store.chain_scan()
        assert forks == [] and scan is not None and scan.suspects == []
    finally:
        svc.store.engine.dispose()


# ------------------------------------------------- found by a second review of the pass
@pytest.mark.parametrize(
    ("assignment", "value"),
    [
        ("data = CAST(? AS TEXT)", '{"facts":{"armed_conflict":true}}\x00junk'),
        ("sources = CAST(? AS TEXT)", "[]\x00junk"),
        ("data = ?", b"{}\x00\xff"),
    ],
    ids=["NUL in data", "NUL in sources", "BLOB data"],
)
def test_a_forgery_past_a_nul_is_not_cleared(
    populated: Path, assignment: str, value: str | bytes
) -> None:
    """SQLite's JSON functions stop at a NUL; Python reads on. Such text is never cleared."""
    con = sqlite3.connect(populated)
    con.execute(f"UPDATE events SET {assignment} WHERE case_id = 'LTU-1' AND seq = 2", (value,))
    con.commit()
    con.close()
    _forge(populated, "LTU-1", 2, "note = note")  # re-hash over SQLite's text from seq 2
    assert "LTU-1" in _scan(populated).suspects
    fast, exact = _verdicts(populated)
    assert fast == exact
    assert [f.case_id for f in fast[1]] == ["LTU-1"]


def test_text_and_blob_case_ids_split_over_many_workers(populated: Path) -> None:
    _many_cases(populated, 12)
    _sql(
        populated,
        "PRAGMA foreign_keys = OFF",
        "UPDATE events SET case_id = CAST(case_id AS BLOB) WHERE case_id IN "
        "(SELECT id FROM cases WHERE rowid % 3 = 0)",
        "UPDATE cases SET id = CAST(id AS BLOB) WHERE rowid % 3 = 0",
    )
    serial = _scan(populated)
    for workers in (3, 5):
        parallel = _scan(populated, workers=workers)
        assert (parallel.cases, parallel.events) == (serial.cases, serial.events)
        assert sorted(map(repr, parallel.suspects)) == sorted(map(repr, serial.suspects))
    fast, exact = _verdicts(populated)
    assert fast == exact


def test_deeply_nested_data_is_a_fault_not_a_crash(populated: Path) -> None:
    depth = 3000
    _sql(
        populated,
        'UPDATE events SET data = \'{"x":' + "[" * depth + "]" * depth + "}' "
        "WHERE case_id = 'LTU-1' AND seq = 2",
    )
    fast, exact = _verdicts(populated)
    assert fast == exact
    assert [(f.case_id, f.seq) for f in fast[1]] == [("LTU-1", 2)]


def test_unreadable_facts_do_not_stop_verify(populated: Path) -> None:
    """Facts are not hashed: a case row whose facts are not JSON still verifies its chain."""
    _sql(populated, "UPDATE cases SET facts = '{' WHERE id = 'LTU-1'")
    _forge(populated, "LTU-1", 3, "note = 'forged'")
    _sql(populated, "UPDATE events SET note = 'x' WHERE case_id = 'G1' AND seq = 1")
    fast, exact = _verdicts(populated)
    assert fast == exact
    assert [f.case_id for f in fast[1]] == ["G1"]


# ----------------------------------------------------------------- issue #18, item 5
@pytest.mark.parametrize(
    "assignment",
    [
        # the last copy is the stored value: Python reads it, SQLite's json_extract the first
        'data = \'{"facts": {"armed_conflict": true}, "facts": {"armed_conflict": false}}\'',
        'data = \'{"facts": {"armed_conflict": true, "armed_conflict": false}}\'',
    ],
)
def test_a_duplicate_key_whose_last_copy_is_unchanged_is_a_fault(
    populated: Path, assignment: str
) -> None:
    """A key twice in stored JSON, the hashed value last: both ways find the edit."""
    _sql(populated, f"UPDATE events SET {assignment} WHERE case_id = 'LTU-1' AND seq = 2")
    assert "LTU-1" in _scan(populated).suspects
    fast, exact = _verdicts(populated)
    assert fast == exact
    assert [(f.case_id, f.seq) for f in fast[1]] == [("LTU-1", 2)]


def test_a_duplicate_key_in_sources_is_a_fault(populated: Path) -> None:
    """A source whose citation is hashed as 'x' gets a first copy 'forged': a fault."""
    _forge(populated, "G1", 1, 'sources = \'[{"citation": "x"}]\'')
    _sql(
        populated,
        """UPDATE events SET sources = '[{"citation": "forged", "citation": "x"}]'
           WHERE case_id = 'G1' AND seq = 1""",
    )
    fast, exact = _verdicts(populated)
    assert fast == exact
    assert [(f.case_id, f.seq) for f in fast[1]] == [("G1", 1)]


def _allow_null_case_ids(db: Path) -> None:
    """Drop the NOT NULL of events.case_id, as someone rewriting the schema could."""
    con = sqlite3.connect(db)
    try:
        (sql,) = con.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()
        assert "case_id VARCHAR(200) NOT NULL" in sql
        con.execute("PRAGMA writable_schema = ON")
        con.execute(
            "UPDATE sqlite_master SET sql = ? WHERE name = 'events'",
            (sql.replace("case_id VARCHAR(200) NOT NULL", "case_id VARCHAR(200)"),),
        )
        con.commit()
    finally:
        con.close()


def test_an_event_with_a_null_case_id_is_counted_and_reported(populated: Path) -> None:
    """An event moved out of every case (case_id NULL) is counted by the fast pass and named
    by Store.orphan_faults; it is never silently dropped."""
    _allow_null_case_ids(populated)
    _sql(populated, "UPDATE events SET case_id = NULL WHERE case_id = 'LTU-1' AND seq = 3")
    scan = _scan(populated)
    assert (scan.events, scan.orphans) == (4, 1)
    assert scan.suspects == ["LTU-1"]  # its chain is now one event short
    assert _scan(populated, workers=2).orphans == 1
    store = open_store(str(populated))
    try:
        with store.read() as conn:
            [fault] = store.orphan_faults(conn)
    finally:
        store.engine.dispose()
    assert fault.seq == 3 and "no case id" in fault.reason


def test_a_null_case_id_event_alone_is_reported(populated: Path) -> None:
    """A forged event with no case at all (every case's chain intact) is still found."""
    _allow_null_case_ids(populated)
    _sql(
        populated,
        "INSERT INTO events (case_id, seq, kind, occurred_on, recorded_at, actor, sources, "
        "data, hash) VALUES (NULL, 1, 'note', '2025-01-01', 'x', 'mallory', '[]', '{}', 'h')",
    )
    scan = _scan(populated)
    assert (scan.suspects, scan.orphans, scan.events) == ([], 1, 5)
    store = open_store(str(populated))
    try:
        with store.read() as conn:
            assert len(store.orphan_faults(conn)) == 1
    finally:
        store.engine.dispose()


# ----------------------------------------------------------------- issue #19, item 3
def test_checkpoint_and_identities_come_from_the_one_pass(
    populated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify --checkpoint compares the heads the fast pass collected (no query per case) and
    the identities it checked (no second read): a rolled-back head and a swapped country
    are both found."""
    from click.testing import CliRunner

    from treatyflow.cli import main
    from treatyflow.store.sql import Store

    checkpoint = tmp_path / "heads.json"
    runner = CliRunner()
    assert (
        runner.invoke(
            main, ["--db", str(populated), "checkpoint", "-o", str(checkpoint)]
        ).exit_code
        == 0
    )
    _sql(
        populated,
        "DELETE FROM events WHERE case_id = 'LTU-1' AND seq = 3",
        "UPDATE cases SET version = 2, head_hash = (SELECT hash FROM events "
        "WHERE case_id = 'LTU-1' AND seq = 2) WHERE id = 'LTU-1'",
        "UPDATE cases SET country = 'EST' WHERE id = 'G1'",
    )

    def again(*_: Any, **__: Any) -> Any:
        raise AssertionError("read a second time")

    monkeypatch.setattr(Store, "event_hash_at", again)
    monkeypatch.setattr(Store, "heads", again)
    monkeypatch.setattr(integrity, "check_identities", again)
    result = runner.invoke(
        main, ["--db", str(populated), "verify", "--checkpoint", str(checkpoint)]
    )
    assert result.exit_code == 1, result.output
    assert "case 'LTU-1': first bad event is seq 3" in result.output
    assert "truncated" in result.output
    assert "case 'G1'" in result.output and "country" in result.output


@pytest.mark.parametrize("row_facts", [None, '{"armed_conflict": true}'])
def test_a_fact_named_twice_is_reported_whichever_copy_the_identity_reader_keeps(
    populated: Path, row_facts: str | None
) -> None:
    """The pass reads event data for the identity check with the C decoder, which keeps the
    last copy of a key. A set-fact naming a fact twice (the case row agreeing with the last
    copy, or with the first) never hashes: ``verify`` reports the case at that event, as the
    exact check does."""
    from treatyflow.app.workspace import Workspace

    _sql(
        populated,
        'UPDATE events SET data = \'{"facts": {"armed_conflict": true, '
        "\"armed_conflict\": false}}' WHERE case_id = 'LTU-1' AND seq = 2",
    )
    if row_facts is not None:
        _sql(populated, f"UPDATE cases SET facts = '{row_facts}' WHERE id = 'LTU-1'")
    fast, exact = _verdicts(populated)
    assert fast == exact
    ws = Workspace(_core(populated))
    try:
        problems = [(p.case_id, p.seq) for p in ws.verify().problems]
    finally:
        ws.close()
    assert problems == [("LTU-1", 2)]


_IDENTITY = {
    "country": "LTU",
    "treaty": "ottawa",
    "action": "withdrawal",
    "procedure": "ltu",
    "procedure_hash": "sha256:p",
    "treaty_hash": "sha256:t",
}
_FACT_VALUES = st.one_of(
    st.booleans(), st.none(), st.integers(), st.floats(), st.text(max_size=4), st.dates()
)


@settings(max_examples=300, deadline=None)
@given(
    row_edit=st.sampled_from([None, *_IDENTITY, "opened_on"]),
    facts=st.dictionaries(st.sampled_from(["a", "b", "é"]), _FACT_VALUES, max_size=3),
    later=st.lists(
        st.tuples(
            st.sampled_from(["set-fact", "migrated", "retract", "note"]),
            st.dictionaries(st.sampled_from(["a", "b"]), _FACT_VALUES, max_size=2),
        ),
        max_size=3,
    ),
    row_facts=st.sampled_from(["log", "reordered", "spaced", "twice", "other", "blob"]),
    pinned=st.sampled_from(["dict", "absent", "list"]),
)
def test_the_quick_identity_test_never_clears_what_the_exact_check_faults(
    row_edit: str | None,
    facts: dict[str, Any],
    later: list[tuple[str, dict[str, Any]]],
    row_facts: str,
    pinned: str,
) -> None:
    """``_identity_holds`` (the fast pass's quick test) is True only where
    ``identity.identity_fault`` finds nothing, whatever the row and log say: edited identity
    columns, facts set later, re-pins, retractions, facts text spelt otherwise, a key twice,
    NaN, a BLOB."""
    import json as _json

    from treatyflow.identity import identity_fault

    def jsonish(value: Any) -> Any:  # what the C decoder gives back for stored data
        return _json.loads(_json.dumps(value, default=str))

    first = {"facts": facts}
    if pinned == "dict":
        first["case"] = dict(_IDENTITY)
    elif pinned == "list":
        first["case"] = ["LTU"]
    identity = [(1, "open", "2025-06-27", jsonish(first))]
    merged = dict(jsonish(facts))
    for n, (kind, data) in enumerate(later, start=2):
        payload: dict[str, Any] = {"facts": data}
        if kind == "retract":
            payload = {"target_seq": 2}
        elif kind == "migrated":
            payload = {"to": {"procedure": "sha256:p2", "treaty": "sha256:t2"}}
        identity.append((n, kind, "2025-07-01", jsonish(payload)))
        if kind == "set-fact":
            merged.update(jsonish(data))
    row = dict(_IDENTITY, opened_on="2025-06-27")
    if row_edit is not None:
        row[row_edit] = "edited"
    text = {
        "log": _json.dumps(merged, sort_keys=True),
        "reordered": _json.dumps(merged),
        "spaced": _json.dumps(merged, sort_keys=True, indent=1),
        "twice": '{"a": true, "a": false}',
        "other": '{"a": "x"}',
        "blob": _json.dumps(merged, sort_keys=True).encode(),
    }[row_facts]
    case = (
        1, "sha256:h", "notified", row["country"], row["treaty"], row["action"],
        row["procedure"], row["procedure_hash"], row["treaty_hash"], row["opened_on"], text,
    )  # fmt: skip
    events = [{"seq": q, "kind": k, "occurred_on": o, "data": d} for q, k, o, d in identity]
    exact = identity_fault(chainscan._identity_row("C", case), events)
    if chainscan._identity_holds(case, identity):
        assert exact is None


def test_the_quick_identity_test_clears_the_usual_case() -> None:
    """The quick test is not vacuous: a row that says what its log says is cleared without
    the exact check; an edited column or facts spelt otherwise are left to it."""
    import json as _json

    identity = [
        (1, "open", "2025-06-27", {"case": dict(_IDENTITY), "facts": {"a": False}}),
        (2, "set-fact", "2025-06-28", {"facts": {"b": "2026-01-01"}}),
    ]
    facts = _json.dumps({"a": False, "b": "2026-01-01"}, sort_keys=True)
    values = [*_IDENTITY.values(), "2025-06-27"]
    case = (2, "sha256:h", "notified", *values, facts)
    assert chainscan._identity_holds(case, identity)
    assert not chainscan._identity_holds((*case[:3], "EST", *case[4:]), identity)
    assert not chainscan._identity_holds((*case[:-1], _json.dumps({"b": "2026-01-01"})), identity)


def test_the_first_range_reads_its_events_down_an_index_range(populated: Path) -> None:
    """The first of several ranges also holds the events whose case id is NULL; they are
    read by a query of their own, so that the range itself is an index range: ``case_id <
    ? OR case_id IS NULL`` made SQLite walk the whole index, the other workers' events too."""
    _allow_null_case_ids(populated)
    _sql(populated, "UPDATE events SET case_id = NULL WHERE case_id = 'LTU-1' AND seq = 3")
    con = sqlite3.connect(populated, isolation_level=None)
    statements: list[str] = []
    con.set_trace_callback(statements.append)
    try:
        scan = chainscan.scan(con, None, "M")
        plans = [
            " ".join(str(step[-1]) for step in con.execute("EXPLAIN QUERY PLAN " + sql))
            for sql in statements
            if " FROM events " in sql
        ]
    finally:
        con.close()
    assert scan.orphans == 1
    assert len(plans) == 2
    assert not [plan for plan in plans if "SCAN events" in plan], plans
