"""Tamper evidence: every single-event edit, deletion, insertion and swap is detected.

The pure tests model a log as the database returns it (rows ordered by seq, one row per
seq) and check :func:`treatyflow.chain.verify_events` with the case row's ``head_hash`` and
``version`` as ``expected_head``/``expected_count``. Each tamper has a known first bad seq;
the fault must name the case and that seq. The end-to-end tests edit a real SQLite file with
SQL, as someone with a database client would, and run ``treatyflow verify``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from treatyflow.chain import UNHASHED, ChainFault, event_hash, verify_events
from treatyflow.events import Event, EventKind

CASE = "LTU-ottawa-2025"
Row = dict[str, Any]
Cli = Callable[..., Result]

#: Every field of a stored event row the hash chain protects (``hash`` included).
FIELDS = (
    "case_id",
    "seq",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "occurred_on",
    "recorded_at",
    "actor",
    "sources",
    "note",
    "data",
    "prev_hash",
    "hash",
)


# ---------------------------------------------------------------------------- building logs
def _event(seq: int, prev: str | None) -> Event:
    """A varied event: every field is set in some events and empty in others."""
    kinds = [EventKind.ADVANCE, EventKind.SET_FACT, EventKind.NOTE, EventKind.RECORD]
    kind = EventKind.OPEN if seq == 1 else kinds[seq % len(kinds)]
    advancing = kind in (EventKind.OPEN, EventKind.ADVANCE)
    ev = Event(
        case_id=CASE,
        seq=seq,
        kind=kind,
        occurred_on=dt.date(2025, 1, 1) + dt.timedelta(days=seq),
        recorded_at=f"2025-07-01T10:{seq // 60 % 60:02d}:{seq % 60:02d}.{seq:06d}Z",
        actor="system" if seq % 7 == 0 else "analyst",
        trigger=f"step-{seq}" if kind is EventKind.ADVANCE else None,
        from_state=f"s{seq - 1}" if kind is EventKind.ADVANCE else None,
        to_state=f"s{seq}" if advancing else None,
        sources=({"citation": f"Décret n° {seq}", "level": "official"},) if seq % 3 else (),
        note=f"note {seq}: Šiauliai" if seq % 2 else None,
        data={"facts": {"armed_conflict": seq % 4 == 0, "specified_date": "2026-01-01"}}
        if kind is EventKind.SET_FACT
        else ({"flags": ["backdated"], "n": seq} if seq % 5 == 0 else {}),
        prev_hash=prev,
    )
    return replace(ev, hash=event_hash(ev.hashed_fields()))


def make_log(n: int) -> list[Row]:
    """n chained events, as rows (hashed fields plus ``hash``)."""
    rows: list[Row] = []
    prev = None
    for seq in range(1, n + 1):
        ev = _event(seq, prev)
        rows.append(ev.to_json())
        prev = ev.hash
    return rows


def rehash(rows: list[Row], start: int = 0) -> list[Row]:
    """Re-chain rows[start:] as a forger with the algorithm would (valid hashes and links)."""
    prev = rows[start - 1]["hash"] if start > 0 else None
    for row in rows[start:]:
        row["prev_hash"] = prev
        row["hash"] = event_hash({k: v for k, v in row.items() if k not in UNHASHED})
        prev = row["hash"]
    return rows


def as_stored(rows: list[Row]) -> list[Row]:
    """Rows in the order ``ORDER BY seq`` returns them (SQLite sorts numbers before text)."""

    def key(row: Row) -> tuple[int, float, str]:
        seq = row["seq"]
        if isinstance(seq, int | float) and not isinstance(seq, bool):
            return (0, seq, "")
        return (1, 0, str(seq))

    return sorted(rows, key=key)


def check(rows: list[Row], head: str | None, count: int) -> ChainFault | None:
    return verify_events(CASE, rows, expected_head=head, expected_count=count)


def alternatives(value: Any) -> Iterator[Any]:
    """Values that differ from ``value`` (deep edits of containers included)."""
    if value is None:
        yield from ("x", "", 0, [], {})
    elif isinstance(value, bool):
        yield not value
        yield None
    elif isinstance(value, int):
        yield from (value + 1, str(value), None)
    elif isinstance(value, str):
        yield value + " "
        yield value[:-1] if value else "x"
        yield "X" + value[1:] if value[:1] != "X" else "Y" + value[1:]
        yield None
        yield 0
    elif isinstance(value, list):
        yield [*value, {"citation": "forged"}]
        yield value[:-1] if value else [None]
        for i, item in enumerate(value):
            for alt in alternatives(item):
                yield [*value[:i], alt, *value[i + 1 :]]
                break
    elif isinstance(value, dict):
        yield {**value, "forged": True}
        yield None
        for key, item in value.items():
            if value:
                smaller = dict(value)
                del smaller[key]
                yield smaller
            for alt in alternatives(item):
                yield {**value, key: alt}
                break
    else:  # pragma: no cover - rows hold JSON values only
        raise AssertionError(type(value))


# ---------------------------------------------------------------------------- the tampers
def tampers(n: int) -> Iterator[tuple[str, list[Row], int]]:
    """(description, tampered rows, expected first bad seq) for every single-event tamper.

    The expected count and head are always the original log's (the case row is intact).
    """
    log = make_log(n)
    for i in range(1, n + 1):
        # seq: only values the unique (case_id, seq) allows; the rows come back re-sorted
        for seq in (0, -1, n + 1, n + 100, str(i), float(i)):
            rows = copy.deepcopy(log)
            rows[i - 1]["seq"] = seq
            first = min(i, seq) if isinstance(seq, int) else i
            yield f"edit seq {i} to {seq!r}", as_stored(rows), first
        for field in FIELDS:
            if field == "seq":
                continue
            for alt in alternatives(log[i - 1][field]):
                rows = copy.deepcopy(log)
                rows[i - 1][field] = alt
                yield f"edit seq {i} {field}={alt!r}", rows, i
            # The same edit, then the rest of the chain re-hashed by a forger: only the
            # case row's head/count can reveal it, so it is found at the head.
            if field not in ("seq", "hash", "prev_hash", "case_id"):
                rows = copy.deepcopy(log)
                rows[i - 1][field] = next(alternatives(log[i - 1][field]))
                yield f"edit seq {i} {field} and re-hash", rehash(rows, i - 1), n
        # deletion: a gap at i, or (for the last event) a count short of the case row's
        rows = copy.deepcopy(log)
        del rows[i - 1]
        yield f"delete seq {i}", rows, i
    for i in range(1, n + 2):
        forged = _forged(log, i)
        prefix, suffix = copy.deepcopy(log[: i - 1]), copy.deepcopy(log[i - 1 :])
        for row in suffix:
            row["seq"] += 1
        junk = dict(forged, hash="sha256:" + "0" * 64)
        yield f"insert junk at {i}", [*prefix, junk, *suffix], i
        yield f"insert re-hashed at {i}", [*prefix, forged, *suffix], min(i + 1, n + 1)
        yield (
            f"insert at {i}, whole suffix re-hashed",
            rehash([*prefix, copy.deepcopy(forged), *copy.deepcopy(suffix)], i - 1),
            n + 1,
        )
        if i <= n:
            dup = copy.deepcopy(log[i - 1 :])
            yield f"insert at {i} keeping seqs", [*prefix, forged, *dup], i
    for i in range(1, n):
        rows = copy.deepcopy(log)
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
        yield f"swap order {i},{i + 1}", rows, i  # verify_events is given them out of order
        rows = copy.deepcopy(log)
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
        rows[i - 1]["seq"], rows[i]["seq"] = i, i + 1
        yield f"swap content {i},{i + 1}", rows, i
        yield f"swap content {i},{i + 1} re-hashed", rehash(copy.deepcopy(rows), i - 1), n


def _forged(log: list[Row], i: int) -> Row:
    prev = log[i - 2]["hash"] if i > 1 else None
    ev = replace(_event(i, prev), note="forged entry", actor="mallory")
    return replace(ev, hash=event_hash(ev.hashed_fields())).to_json()


def assert_all_detected(n: int) -> int:
    log = make_log(n)
    head, count = log[-1]["hash"], n
    assert check(log, head, count) is None
    checked = 0
    for what, rows, first_bad in tampers(n):
        fault = check(rows, head, count)
        assert fault is not None, what
        assert (fault.case_id, fault.seq) == (CASE, first_bad), (what, fault)
        checked += 1
    return checked


# ---------------------------------------------------------------------------- pure tests
@pytest.mark.parametrize("n", [1, 2, 3, 5, 12, 40])
def test_every_single_event_tamper_is_detected(n: int) -> None:
    """Every edit, deletion, insertion and swap in an n-event log names the first bad seq."""
    assert assert_all_detected(n) > 0


@pytest.mark.slow
@pytest.mark.parametrize("n", [*range(1, 41), 64, 128, 199, 200])
def test_every_single_event_tamper_is_detected_long(n: int) -> None:
    """Exhaustive tampering of logs of up to 200 events names the first bad seq each time."""
    assert assert_all_detected(n) > 0


@st.composite
def multi_edits(draw: st.DrawFn) -> tuple[int, list[tuple[int, str, int]]]:
    n = draw(st.integers(1, 60))
    edits = draw(
        st.lists(
            st.tuples(
                st.integers(1, n),
                st.sampled_from([f for f in FIELDS if f != "seq"]),
                st.integers(0, 4),
            ),
            min_size=1,
            max_size=5,
        )
    )
    return n, edits


def _apply(n: int, edits: list[tuple[int, str, int]]) -> tuple[list[Row], int | None]:
    log = make_log(n)
    rows = copy.deepcopy(log)
    changed = []
    for i, field, k in edits:
        options = list(alternatives(rows[i - 1][field]))
        rows[i - 1][field] = options[k % len(options)]
        changed.append(i)
    really = [i for i in changed if rows[i - 1] != log[i - 1]]
    return rows, min(really) if really else None


def _check_multi(case: tuple[int, list[tuple[int, str, int]]]) -> None:
    n, edits = case
    rows, first = _apply(n, edits)
    log = make_log(n)
    fault = check(rows, log[-1]["hash"], n)
    if first is None:  # the edits cancelled out
        assert fault is None
    else:
        assert fault is not None
        assert (fault.case_id, fault.seq) == (CASE, first)


@settings(max_examples=150, deadline=None)
@given(multi_edits())
def test_several_edits_are_detected_at_the_first(case: tuple[int, list[Any]]) -> None:
    """Several edits at once are detected, and the fault names the earliest edited seq."""
    _check_multi(case)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None)
@given(multi_edits())
def test_several_edits_are_detected_at_the_first_long(case: tuple[int, list[Any]]) -> None:
    """Many random multi-edits are each detected at the earliest edited seq."""
    _check_multi(case)


def test_truncation_is_detected_only_with_the_case_row() -> None:
    """Dropping the tail is caught by the case row's count; without it a chain cannot tell."""
    log = make_log(10)
    for keep in range(1, 10):
        fault = verify_events(CASE, log[:keep], expected_head=log[-1]["hash"], expected_count=10)
        assert fault is not None and fault.seq == keep + 1
        assert verify_events(CASE, log[:keep]) is None


def test_full_rewrite_with_case_row_is_undetectable_without_checkpoint() -> None:
    """A forger who re-hashes the chain and rewrites the case row passes verify_events."""
    # The documented limit (docs/reliability.md): only a head kept outside the database
    # (a checkpoint, an exported bundle) reveals it.
    log = make_log(6)
    forged = copy.deepcopy(log)
    forged[2]["note"] = "history rewritten"
    rehash(forged, 2)
    assert forged[-1]["hash"] != log[-1]["hash"]
    assert verify_events(CASE, forged, expected_head=forged[-1]["hash"], expected_count=6) is None
    fault = verify_events(CASE, forged, expected_head=log[-1]["hash"], expected_count=6)
    assert fault is not None and fault.seq == 6


def test_unicode_normalisation_is_not_an_edit() -> None:
    """Rewriting text in another Unicode normal form keeps the hash (canonical JSON is NFC)."""
    log = make_log(2)
    rows = copy.deepcopy(log)
    rows[0]["note"] = "Cafe\u0301"  # decomposed é
    rehash(rows)
    nfd = copy.deepcopy(rows)
    nfd[0]["note"] = "Caf\u00e9"  # composed é
    assert verify_events(CASE, nfd, expected_head=rows[-1]["hash"], expected_count=2) is None


# ---------------------------------------------------------------------------- end to end
def _sql(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def _verify(cli: Cli) -> tuple[int, str]:
    result = cli("verify")
    assert "Traceback" not in result.output and "internal error" not in result.output
    return result.exit_code, result.output


E2E = [
    ("UPDATE events SET note = 'forged' WHERE case_id = 'LTU-1' AND seq = 2", "LTU-1", 2),
    ("UPDATE events SET occurred_on = '2025-06-26' WHERE case_id = 'LTU-1' AND seq = 1",
     "LTU-1", 1),
    ("UPDATE events SET actor = 'mallory' WHERE case_id = 'LTU-1' AND seq = 3", "LTU-1", 3),
    ("DELETE FROM events WHERE case_id = 'LTU-1' AND seq = 3", "LTU-1", 3),
    ("DELETE FROM events WHERE case_id = 'LTU-1' AND seq = 2", "LTU-1", 2),
    ("UPDATE events SET seq = seq + 10 WHERE case_id = 'LTU-1' AND seq = 2", "LTU-1", 2),
    ("UPDATE events SET data = '{\"facts\": {\"armed_conflict\": 1.5}}' "
     "WHERE case_id = 'LTU-1' AND seq = 2", "LTU-1", 2),
    ("UPDATE events SET seq = 2.5 WHERE case_id = 'LTU-1' AND seq = 2", "LTU-1", 2),
    ("UPDATE events SET sources = 'not json' WHERE case_id = 'LTU-1' AND seq = 1", "LTU-1", 1),
    ("UPDATE events SET case_id = 'G1', seq = 2 WHERE case_id = 'LTU-1' AND seq = 3", "G1", 2),
    ("UPDATE cases SET version = 2 WHERE id = 'LTU-1'", "LTU-1", 3),
]  # fmt: skip


@pytest.mark.parametrize(("statement", "case_id", "seq"), E2E)
def test_sql_tamper_makes_verify_fail(
    cli: Cli, populated: Path, statement: str, case_id: str, seq: int
) -> None:
    """An edit made with a SQL client makes 'treatyflow verify' exit 1 naming case and seq."""
    assert _verify(cli)[0] == 0
    _sql(populated, statement)
    code, output = _verify(cli)
    assert code == 1
    assert f"case {case_id!r}: first bad event is seq {seq}" in output


def test_sql_swap_of_two_events_makes_verify_fail(cli: Cli, populated: Path) -> None:
    """Exchanging the seq numbers of two events (through a free seq) is detected."""
    _sql(
        populated,
        "UPDATE events SET seq = 99 WHERE case_id = 'LTU-1' AND seq = 2",
        "UPDATE events SET seq = 2 WHERE case_id = 'LTU-1' AND seq = 3",
        "UPDATE events SET seq = 3 WHERE case_id = 'LTU-1' AND seq = 99",
    )
    code, output = _verify(cli)
    assert code == 1
    assert "case 'LTU-1': first bad event is seq 2" in output


def test_sql_forged_tail_event_makes_verify_fail(cli: Cli, populated: Path) -> None:
    """A correctly hashed event appended with SQL is caught by the case row's count."""
    conn = sqlite3.connect(populated)
    conn.row_factory = sqlite3.Row
    last = dict(
        conn.execute("SELECT * FROM events WHERE case_id = 'LTU-1' ORDER BY seq DESC").fetchone()
    )
    row = {k: last[k] for k in FIELDS if k != "hash"}
    row.update(seq=4, note="forged", prev_hash=last["hash"])
    row["sources"], row["data"] = json.loads(row["sources"]), json.loads(row["data"])
    digest = event_hash(row)
    row["sources"], row["data"] = json.dumps(row["sources"]), json.dumps(row["data"])
    columns = ", ".join([*row, "hash"])
    marks = ", ".join("?" for _ in range(len(row) + 1))
    conn.execute(f"INSERT INTO events ({columns}) VALUES ({marks})", [*row.values(), digest])
    conn.commit()
    conn.close()
    code, output = _verify(cli)
    assert code == 1
    assert "case 'LTU-1': first bad event is seq 4" in output


# ---------------------------------------------------------------------------- checkpoints
def _rewrite_case(db: Path, case_id: str, keep: int, note: str | None = None) -> None:
    """Rewrite a case's log as a forger with the algorithm would: keep its first ``keep``
    events (editing the note of the last one kept, if ``note``), re-hash the chain and update
    the case row (head, version and the facts the kept log implies), so that the chain and
    the row agree."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = [
        dict(r)
        for r in conn.execute("SELECT * FROM events WHERE case_id = ? ORDER BY seq", (case_id,))
    ]
    conn.execute("DELETE FROM events WHERE case_id = ? AND seq > ?", (case_id, keep))
    prev = None
    for row in rows[:keep]:
        if note is not None and row["seq"] == keep:
            row["note"] = note
        fields = {k: row[k] for k in FIELDS if k != "hash"}
        fields.update(
            prev_hash=prev, sources=json.loads(row["sources"]), data=json.loads(row["data"])
        )
        prev = event_hash(fields)
        conn.execute(
            "UPDATE events SET note = ?, prev_hash = ?, hash = ? WHERE case_id = ? AND seq = ?",
            (row["note"], fields["prev_hash"], prev, case_id, row["seq"]),
        )
    # The row's facts follow the kept log too (verify checks them against it, #18).
    facts: dict[str, object] = {}
    for row in rows[:keep]:
        if row["kind"] in ("open", "set-fact"):
            facts.update(json.loads(row["data"]).get("facts", {}))
    conn.execute(
        "UPDATE cases SET version = ?, head_hash = ?, facts = ? WHERE id = ?",
        (keep, prev, json.dumps(facts, sort_keys=True), case_id),
    )
    conn.commit()
    conn.close()


def _checkpoint(cli: Cli, path: Path) -> None:
    result = cli("checkpoint", "-o", str(path))
    assert result.exit_code == 0, result.output


def test_truncation_past_a_checkpoint_is_detected(
    cli: Cli, populated: Path, tmp_path: Path
) -> None:
    """Dropping events a checkpoint covers (case row adjusted) passes verify, not --checkpoint."""
    checkpoint = tmp_path / "heads.json"
    _checkpoint(cli, checkpoint)
    _rewrite_case(populated, "LTU-1", keep=1)
    assert _verify(cli)[0] == 0  # the chain and the case row agree: only a checkpoint can tell
    result = cli("verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1, result.output
    assert "case 'LTU-1': first bad event is seq 2" in result.output
    assert "truncated" in result.output


def test_rewrite_under_a_checkpoint_is_detected(cli: Cli, populated: Path, tmp_path: Path) -> None:
    """An edited event re-hashed with its case row passes verify but not --checkpoint."""
    checkpoint = tmp_path / "heads.json"
    _checkpoint(cli, checkpoint)
    _rewrite_case(populated, "LTU-1", keep=3, note="history rewritten")
    assert _verify(cli)[0] == 0
    result = cli("verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1, result.output
    assert "case 'LTU-1': first bad event is seq 3" in result.output


def test_deleted_case_under_a_checkpoint_is_detected(
    cli: Cli, populated: Path, tmp_path: Path
) -> None:
    """A whole case deleted (events and row) passes verify but not --checkpoint."""
    checkpoint = tmp_path / "heads.json"
    _checkpoint(cli, checkpoint)
    _sql(populated, "DELETE FROM events WHERE case_id = 'G1'", "DELETE FROM cases WHERE id = 'G1'")
    assert _verify(cli)[0] == 0
    result = cli("verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1, result.output
    assert "case 'G1'" in result.output and "missing" in result.output


def test_growth_after_a_checkpoint_is_not_a_fault(
    cli: Cli, populated: Path, tmp_path: Path
) -> None:
    """New events and cases after a checkpoint are fine: it protects only what it covers."""
    checkpoint = tmp_path / "heads.json"
    _checkpoint(cli, checkpoint)
    assert cli("case", "note", "LTU-1", "later news", "--on", "2025-07-01").exit_code == 0
    opened = cli("case", "open", "--country", "FIN", "--treaty", "ottawa", "--on", "2025-07-01")
    assert opened.exit_code == 0
    result = cli("verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 0, result.output


def test_edited_checkpoint_file_is_refused(cli: Cli, populated: Path, tmp_path: Path) -> None:
    """A checkpoint whose heads were edited no longer matches its digest and is refused."""
    checkpoint = tmp_path / "heads.json"
    _checkpoint(cli, checkpoint)
    doc = json.loads(checkpoint.read_text())
    doc["cases"][0]["version"] += 5
    checkpoint.write_text(json.dumps(doc))
    result = cli("verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1
    assert "digest" in result.stderr and "Traceback" not in result.output
