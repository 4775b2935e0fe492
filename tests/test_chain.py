"""Canonical JSON and the per-case hash chain, tampered with directly in the SQLite file."""

from __future__ import annotations

import json
import shutil
import sqlite3
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from treatyflow.chain import canonical_json, digest, event_hash, verify_events
from treatyflow.events import EventKind

Cli = Callable[..., Result]


# ------------------------------------------------------------------------------ canonical JSON
def test_canonical_json_sorts_keys_at_every_level() -> None:
    """Keys are sorted at every depth and no insignificant white space is written."""
    value = {"b": 1, "a": {"z": [3, {"y": None, "x": True}], "c": "d"}}
    assert canonical_json(value) == b'{"a":{"c":"d","z":[3,{"x":true,"y":null}]},"b":1}'


def test_canonical_json_is_independent_of_insertion_order() -> None:
    """Two dicts with the same items in a different order hash the same."""
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})


def test_canonical_json_normalises_to_nfc() -> None:
    """Strings (values and keys) are NFC-normalised, so NFD input hashes like NFC."""
    nfd = unicodedata.normalize("NFD", "Lëtzebuerg")
    assert nfd != "Lëtzebuerg"
    assert canonical_json({"Lëtzebuerg": "Lëtzebuerg"}) == canonical_json({nfd: nfd})
    assert '{"Lëtzebuerg":"Lëtzebuerg"}'.encode() == canonical_json({nfd: nfd})


def test_canonical_json_writes_non_ascii_as_itself() -> None:
    """Non-ASCII characters are written as UTF-8, not as \\u escapes."""
    assert '["Česko"]'.encode() == canonical_json(["Česko"])


def test_canonical_json_tuples_are_lists() -> None:
    """A tuple is written as a JSON array, like a list."""
    assert canonical_json([1, 2]) == canonical_json((1, 2))


@pytest.mark.parametrize("value", [1.5, {"a": 0.1}, [1, [2.0]]], ids=["top", "nested", "deep"])
def test_canonical_json_refuses_floats(value: Any) -> None:
    """Floats are refused anywhere in the value (numbers in facts are stored as text)."""
    with pytest.raises(TypeError, match="floats are not allowed"):
        canonical_json(value)


def test_digest_format() -> None:
    """A digest is 'sha256:' and 64 lowercase hex digits."""
    value = digest({"a": 1})
    assert value.startswith("sha256:")
    assert len(value.removeprefix("sha256:")) == 64
    assert value == value.lower()


def test_verify_events_accepts_an_empty_log() -> None:
    """No events and no expectations: nothing to complain about."""
    assert verify_events("X", []) is None


# ------------------------------------------------------------------------------ tampering
THREE_EVENTS = (
    "case open --country POL --treaty ottawa --procedure generic --id C1 --on 2025-01-10",
    "case advance C1 decide --on 2025-02-01",
    "case advance C1 notify --on 2025-03-01",
    "case open --country FIN --treaty ottawa --procedure generic --id C2 --on 2025-01-10",
)


@pytest.fixture
def three_events(cli: Cli, db: Path, prepared: Callable[..., Path]) -> Path:
    """Case C1 with three events (open, decide, notify) and case C2 with one; returns the db."""
    shutil.copyfile(prepared(*THREE_EVENTS), db)
    assert cli("verify").exit_code == 0
    return db


def sql(db: Path, *statements: str, params: tuple[Any, ...] = ()) -> None:
    conn = sqlite3.connect(db)
    try:
        with conn:
            for statement in statements:
                conn.execute(statement, params)
    finally:
        conn.close()


def rows(db: Path, case_id: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        found = conn.execute(
            "SELECT * FROM events WHERE case_id = ? ORDER BY seq", (case_id,)
        ).fetchall()
        return [dict(r) for r in found]
    finally:
        conn.close()


def rehash(row: dict[str, Any]) -> str:
    """The hash a forger would compute for an event row (its hashed fields)."""
    fields = {
        k: row[k]
        for k in (
            "case_id",
            "seq",
            "kind",
            "trigger",
            "from_state",
            "to_state",
            "occurred_on",
            "recorded_at",
            "actor",
            "note",
            "prev_hash",
        )
    }
    fields["sources"] = json.loads(row["sources"])
    fields["data"] = json.loads(row["data"])
    return event_hash(fields)


def verify(cli: Cli) -> tuple[int, list[dict[str, Any]]]:
    result = cli("verify", "--json")
    return result.exit_code, json.loads(result.stdout)["problems"]


def test_edited_event_is_caught(cli: Cli, three_events: Path) -> None:
    """Editing an event's content makes verify name the case and that event's seq."""
    sql(three_events, "UPDATE events SET occurred_on = '2025-01-31' WHERE case_id='C1' AND seq=2")
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C1", 2)]
    text = cli("verify")
    assert text.exit_code == 1
    assert "case 'C1': first bad event is seq 2" in text.stdout


def test_deleted_event_is_caught(cli: Cli, three_events: Path) -> None:
    """Deleting an event from the middle makes verify name its seq."""
    sql(three_events, "DELETE FROM events WHERE case_id='C1' AND seq=2")
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C1", 2)]


def test_deleted_last_event_is_caught(cli: Cli, three_events: Path) -> None:
    """Deleting the newest event is caught by the case row's version."""
    sql(three_events, "DELETE FROM events WHERE case_id='C1' AND seq=3")
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C1", 3)]


def test_inserted_event_is_caught(cli: Cli, three_events: Path) -> None:
    """An event inserted in the middle (later events renumbered) is named by its seq."""
    sql(
        three_events,
        "UPDATE events SET seq = 4 WHERE case_id='C1' AND seq=3",
        "INSERT INTO events (case_id, seq, kind, trigger, from_state, to_state, occurred_on,"
        " recorded_at, actor, sources, note, data, prev_hash, hash)"
        " SELECT case_id, 3, 'note', NULL, NULL, NULL, occurred_on, recorded_at, actor,"
        " '[]', 'inserted', '{}', hash, hash FROM events WHERE case_id='C1' AND seq=2",
    )
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C1", 3)]


def test_swapped_events_are_caught(cli: Cli, three_events: Path) -> None:
    """Swapping two events' sequence numbers makes verify name the first of them."""
    sql(
        three_events,
        "UPDATE events SET seq = -1 WHERE case_id='C1' AND seq=2",
        "UPDATE events SET seq = 2 WHERE case_id='C1' AND seq=3",
        "UPDATE events SET seq = 3 WHERE case_id='C1' AND seq=-1",
    )
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C1", 2)]


def test_event_moved_to_another_case_is_caught(cli: Cli, three_events: Path) -> None:
    """An event re-labelled with another case's id breaks both chains."""
    sql(three_events, "UPDATE events SET case_id='C2', seq=2 WHERE case_id='C1' AND seq=3")
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C1", 3), ("C2", 2)]


def test_rehashed_forged_last_event_is_caught_by_the_case_head(
    cli: Cli, three_events: Path
) -> None:
    """A forged newest event with a correct hash still differs from the case row's head."""
    (last := rows(three_events, "C1")[2])["occurred_on"] = "2025-02-15"
    sql(
        three_events,
        "UPDATE events SET occurred_on = ?, hash = ? WHERE case_id='C1' AND seq=3",
        params=(last["occurred_on"], rehash(last)),
    )
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C1", 3)]
    assert "head" in problems[0]["reason"]


def test_rehashed_forged_chain_is_caught_by_the_case_head(cli: Cli, three_events: Path) -> None:
    """Re-hashing an edited event and every later one still mismatches the case row's head."""
    events = rows(three_events, "C1")
    events[1]["actor"] = "forger"
    prev = events[0]["hash"]
    for ev in events[1:]:
        ev["prev_hash"] = prev
        ev["hash"] = prev = rehash(ev)
        sql(
            three_events,
            "UPDATE events SET actor = ?, prev_hash = ?, hash = ? WHERE case_id='C1' AND seq = ?",
            params=(ev["actor"], ev["prev_hash"], ev["hash"], ev["seq"]),
        )
    code, problems = verify(cli)
    assert code == 1
    assert [p["case"] for p in problems] == ["C1"]
    assert "head" in problems[0]["reason"]


def test_rehashed_appended_event_is_caught_by_the_case_version(
    cli: Cli, three_events: Path
) -> None:
    """A well-chained event appended behind the case row's back mismatches its version."""
    last = rows(three_events, "C1")[2]
    forged = {
        **last,
        "seq": 4,
        "kind": "note",
        "trigger": None,
        "from_state": None,
        "to_state": None,
        "note": "forged",
        "prev_hash": last["hash"],
    }
    forged["hash"] = rehash(forged)
    sql(
        three_events,
        "INSERT INTO events (case_id, seq, kind, trigger, from_state, to_state, occurred_on,"
        " recorded_at, actor, sources, note, data, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params=tuple(
            forged[k]
            for k in (
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
        ),
    )
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C1", 4)]


def test_rehash_helper_matches_the_stored_hashes(three_events: Path) -> None:
    """The forger's rehash reproduces the stored hashes (so the forgery tests are real)."""
    events = rows(three_events, "C1")
    assert [e["hash"] for e in events] == [rehash(e) for e in events]


def test_edited_case_row_is_caught(cli: Cli, three_events: Path) -> None:
    """Editing only the case row's head hash is caught."""
    sql(three_events, "UPDATE cases SET head_hash = 'sha256:' || hex(zeroblob(32)) WHERE id='C2'")
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C2", 1)]


def test_edited_case_state_is_caught(cli: Cli, three_events: Path) -> None:
    """A case row whose state no event supports is caught, naming the case."""
    sql(three_events, "UPDATE cases SET state = 'notified' WHERE id = 'C2'")
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C2", 1)]
    assert "state" in problems[0]["reason"]


def test_step_from_a_forged_state_is_caught(cli: Cli, three_events: Path) -> None:
    """A step taken from a state the log never reached is caught at that step's seq."""
    sql(three_events, "UPDATE cases SET state = 'notified' WHERE id = 'C2'")
    assert cli("case", "advance", "C2", "revoke", "--on", "2025-02-01").exit_code == 0
    code, problems = verify(cli)
    assert code == 1
    assert [(p["case"], p["seq"]) for p in problems] == [("C2", 2)]
    assert "considering" in problems[0]["reason"]


def _canonical_by_definition(value: Any) -> bytes:
    """The canonical form written out the long way (NFC every string, lists, no floats)."""

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return unicodedata.normalize("NFC", v)
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        if isinstance(v, float):
            raise TypeError("float")
        return v

    return json.dumps(
        walk(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


@pytest.mark.parametrize(
    "value",
    [
        {"a": "e\u0301", "e\u0301": ["x", ("y", "Z\u0301")], "n": None, "t": True, "i": 7},
        {"nested": {"deep": [{"k": "caf\u00e9"}, {"k": "cafe\u0301"}]}, "b": False},
        {"kind": EventKind.OPEN, "seq": 1, "data": {}, "sources": []},
        [1, "two", ["three", {"four": 4}]],
        "cafe\u0301",
    ],
)
def test_canonical_json_fast_paths_match_the_definition(value: Any) -> None:
    """The exact-type fast paths in _normalise give the same bytes as the long way."""
    assert canonical_json(value) == _canonical_by_definition(value)


@pytest.mark.parametrize("value", [{"a": {"b": [1, 2.5]}}, {"x": (1.0,)}, {1.5: "key"}])
def test_canonical_json_refuses_nested_floats(value: Any) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)
