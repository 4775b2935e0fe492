"""Definition snapshots are under their hash: an edited or deleted snapshot is found on load,
by ``doctor``, by :func:`definition_faults`, and ``export`` refuses to write a bundle of it.

A case runs under its stored snapshot when the catalogue on disk no longer holds the
version it was opened under (a ``--workflows`` override, an upgrade). Editing that row
(``P6M`` -> ``P1M``) moved legal dates while every check said ok (issue #18, item 1).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from treatyflow.errors import StoreError
from treatyflow.store import open_store

Cli = Callable[..., Result]
SHIPPED = Path(__file__).resolve().parents[2] / "workflows"


@pytest.fixture
def overridden(cli: Cli, db: Path, tmp_path: Path) -> str:
    """LTU-1 opened under an edited copy of the ottawa treaty (via --workflows): without the
    override the case runs under its stored snapshot. Returns the snapshot's hash."""
    treaties = tmp_path / "wf" / "treaties"
    treaties.mkdir(parents=True)
    text = (SHIPPED / "treaties" / "ottawa.yaml").read_text(encoding="utf-8")
    assert "\nshort_name: " in text and "period: P6M" in text
    edited = text.replace("\nshort_name: ", "\nshort_name: Local - ", 1)
    (treaties / "ottawa.yaml").write_text(edited, encoding="utf-8")
    opened = cli(
        "case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1",
        "--at", "notified", "--on", "2025-06-27", workflows=tmp_path / "wf",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    with sqlite3.connect(db) as conn:
        (digest,) = conn.execute("SELECT treaty_hash FROM cases WHERE id = 'LTU-1'").fetchone()
    shown = cli("case", "show", "LTU-1", "--json")  # the shipped catalogue: the snapshot is used
    assert shown.exit_code == 0, shown.output
    return str(digest)


def _edit_snapshot(db: Path, digest: str) -> None:
    with sqlite3.connect(db) as conn:
        changed = conn.execute(
            "UPDATE definitions SET content = replace(content, '\"P6M\"', '\"P1M\"') "
            "WHERE hash = ?",
            (digest,),
        ).rowcount
    assert changed == 1


def test_edited_snapshot_is_refused_when_a_case_uses_it(
    cli: Cli, db: Path, overridden: str
) -> None:
    """P6M -> P1M in the stored treaty: every command on the case refuses, naming the
    treaty, the hash and what to do; nothing is computed from the edited text."""
    before = json.loads(cli("case", "show", "LTU-1", "--json").stdout)
    _edit_snapshot(db, overridden)
    for argv in (("case", "show", "LTU-1"), ("case", "note", "LTU-1", "x"), ("tick",)):
        result = cli(*argv)
        assert result.exit_code == 1, (argv, result.output)
        assert "Traceback" not in result.output
        assert "'ottawa'" in result.stderr and overridden[:19] in result.stderr
        assert "cannot be trusted" in result.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)
    assert before["effective_on"] == "2025-12-27"  # six months, from the intact snapshot


def test_load_definition_rehashes(db: Path, overridden: str) -> None:
    """Store.load_definition returns an intact snapshot and raises StoreError (kind, id,
    hash) for an edited one."""
    store = open_store(str(db))
    try:
        with store.read() as conn:
            assert store.load_definition(conn, overridden) is not None
        _edit_snapshot(db, overridden)
        with store.read() as conn, pytest.raises(StoreError) as caught:
            store.load_definition(conn, overridden)
    finally:
        store.engine.dispose()
    message = str(caught.value)
    assert "treaty 'ottawa'" in message and overridden[:19] in message


def _faults(db: Path) -> list[str]:
    from treatyflow.store.snapshots import definition_faults

    store = open_store(str(db))
    try:
        with store.read() as conn:
            return definition_faults(store, conn)
    finally:
        store.engine.dispose()


def test_definition_faults_finds_edited_and_missing_snapshots(
    db: Path, overridden: str, cli: Cli
) -> None:
    """Nothing on an intact database; one fault per edited snapshot, one per missing one
    (naming the cases opened under it)."""
    assert _faults(db) == []
    _edit_snapshot(db, overridden)
    [fault] = _faults(db)
    assert "treaty 'ottawa'" in fault and overridden[:19] in fault and "hashes to" in fault
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM definitions WHERE hash = ?", (overridden,))
    [fault] = _faults(db)
    assert "treaty 'ottawa'" in fault and "'LTU-1'" in fault and "missing" in fault


def test_a_snapshot_that_is_not_a_definition_is_a_fault(db: Path, overridden: str) -> None:
    """A snapshot replaced by other JSON *with its hash re-made* still is a fault: it does not
    hold a treaty."""
    from treatyflow.catalog import snapshot_hash

    content = '{"x": 1}'
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE definitions SET content = ?, hash = ? WHERE hash = ?",
            (content, snapshot_hash(content), overridden),
        )
        conn.execute("UPDATE cases SET treaty_hash = ?", (snapshot_hash(content),))
    [fault] = _faults(db)
    assert "not a valid treaty" in fault


def test_doctor_names_an_edited_snapshot(cli: Cli, db: Path, overridden: str) -> None:
    """doctor's snapshots check fails on an edited snapshot, naming it."""
    db.chmod(0o600)
    _edit_snapshot(db, overridden)
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    [finding] = [f for f in doc["findings"] if f["check"] == "snapshots" and not f["ok"]]
    assert "'ottawa'" in finding["problem"] and overridden[:19] in finding["problem"]
    assert finding["fix_command"]


@pytest.mark.parametrize("damage", ["edited", "deleted"])
def test_export_refuses_a_bundle_that_would_not_verify(
    cli: Cli, db: Path, overridden: str, tmp_path: Path, damage: str
) -> None:
    """An edited or deleted snapshot: export exits 1 naming it and leaves no file (neither
    the bundle nor a temporary one)."""
    if damage == "edited":
        _edit_snapshot(db, overridden)
    else:
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM definitions WHERE hash = ?", (overridden,))
    out = tmp_path / "out"
    out.mkdir()
    result = cli("export", "-o", str(out / "b.jsonl"))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error:") and "'ottawa'" in result.stderr
    assert "Traceback" not in result.output
    assert list(out.iterdir()) == []


def test_snapshot_case_faults_name_each_case_at_seq_1(db: Path, overridden: str) -> None:
    """For verify: one ChainFault per case pinned to an edited or missing snapshot, at the
    opening event."""
    from treatyflow.store.snapshots import snapshot_case_faults

    def faults() -> list[tuple[str, int, str]]:
        store = open_store(str(db))
        try:
            with store.read() as conn:
                return [(f.case_id, f.seq, f.reason) for f in snapshot_case_faults(store, conn)]
        finally:
            store.engine.dispose()

    assert faults() == []
    _edit_snapshot(db, overridden)
    [(case_id, seq, reason)] = faults()
    assert (case_id, seq) == ("LTU-1", 1)
    assert "treaty 'ottawa'" in reason and "cannot be trusted" in reason
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM definitions WHERE hash = ?", (overridden,))
    [(case_id, seq, reason)] = faults()
    assert case_id == "LTU-1" and "missing" in reason
