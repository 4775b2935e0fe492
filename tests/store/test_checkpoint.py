"""Checkpoints: chain heads kept outside the database catch truncation and rewriting."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from treatyflow.chain import event_hash
from treatyflow.cli import main
from treatyflow.store.tables import cases, events

DAY = dt.date(2025, 6, 27)


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def two_cases(svc: Any, mstore: Any, tmp_path: Path) -> Path:
    """Two cases with a few events each, and a checkpoint taken of them."""
    for country in ("LTU", "EST"):
        svc.open_case(country=country, treaty="ottawa", actor="a", id=f"{country}-1",
                      at="notified", on=DAY)  # fmt: skip
        for n in range(3):
            svc.note(f"{country}-1", f"note {n}", on=DAY, actor="a")
    path = tmp_path / "cp.json"
    result = _run("--db", mstore.url, "checkpoint", "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


def _verify(store: Any, checkpoint: Path) -> Result:
    return _run("--db", store.url, "verify", "--checkpoint", str(checkpoint))


def _rewrite_chain(store: Any, case_id: str, keep: int | None, edit_seq: int | None) -> None:
    """Rewrite a case's history *with* fresh hashes: keep the first events, edit one."""
    with store.read() as conn:
        evs = store.events(conn, case_id)
    if keep is not None:
        evs = evs[:keep]
    prev: str | None = None
    rebuilt = []
    for ev in evs:
        if ev.seq == edit_seq:
            ev = replace(ev, note="history, improved")
        ev = replace(ev, prev_hash=prev)
        ev = replace(ev, hash=event_hash(ev.hashed_fields()))
        rebuilt.append(ev)
        prev = ev.hash
    from treatyflow.store.sql import event_row

    with store.engine.begin() as conn:
        conn.execute(events.delete().where(events.c.case_id == case_id))
        conn.execute(events.insert(), [event_row(e) for e in rebuilt])
        conn.execute(
            cases.update()
            .where(cases.c.id == case_id)
            .values(version=len(rebuilt), head_hash=rebuilt[-1].hash)
        )


def test_checkpoint_is_deterministic(two_cases: Path, mstore: Any, tmp_path: Path) -> None:
    """Two checkpoints of the same state are byte for byte the same."""
    again = tmp_path / "again.json"
    assert _run("--db", mstore.url, "checkpoint", "-o", str(again)).exit_code == 0
    assert again.read_bytes() == two_cases.read_bytes()
    doc = json.loads(two_cases.read_text())
    assert [c["case"] for c in doc["cases"]] == ["EST-1", "LTU-1"]
    assert [c["version"] for c in doc["cases"]] == [4, 4]
    assert doc["digest"].startswith("sha256:")


def test_history_that_only_grew_passes(two_cases: Path, svc: Any, mstore: Any) -> None:
    """New events and new cases since the checkpoint are fine."""
    svc.note("LTU-1", "later", on=DAY, actor="a")
    svc.open_case(country="LVA", treaty="ottawa", actor="a", id="LVA-1", on=DAY)
    result = _verify(mstore, two_cases)
    assert result.exit_code == 0, result.output
    assert "checkpoint of 2 case(s) holds" in result.stdout


def test_truncation_is_detected(two_cases: Path, mstore: Any) -> None:
    """Cutting the last events (and fixing up the case row) is named with case and seq."""
    _rewrite_chain(mstore, "LTU-1", keep=2, edit_seq=None)
    assert _run("--db", mstore.url, "verify").exit_code == 0  # the chain alone looks fine
    result = _verify(mstore, two_cases)
    assert result.exit_code == 1
    assert "'LTU-1'" in result.stdout and "seq 3" in result.stdout
    assert "truncated" in result.stdout
    assert "EST-1" not in result.stdout


def test_rewrite_is_detected(two_cases: Path, mstore: Any) -> None:
    """Editing an old event and re-hashing the whole chain is caught at the checkpointed seq."""
    _rewrite_chain(mstore, "EST-1", keep=None, edit_seq=2)
    assert _run("--db", mstore.url, "verify").exit_code == 0
    result = _verify(mstore, two_cases)
    assert result.exit_code == 1
    assert "'EST-1'" in result.stdout and "seq 4" in result.stdout
    assert "rewritten" in result.stdout


def test_missing_case_is_detected(two_cases: Path, mstore: Any) -> None:
    """A case deleted since the checkpoint is named."""
    with mstore.engine.begin() as conn:
        conn.execute(events.delete().where(events.c.case_id == "EST-1"))
        conn.execute(cases.delete().where(cases.c.id == "EST-1"))
    result = _run("--db", mstore.url, "verify", "--checkpoint", str(two_cases), "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["case"], p["seq"]) for p in problems] == [("EST-1", 1)]
    assert "missing" in problems[0]["reason"]


def test_edited_checkpoint_file_is_refused(two_cases: Path, mstore: Any) -> None:
    """A checkpoint whose cases no longer match its digest is rejected as changed."""
    doc = json.loads(two_cases.read_text())
    doc["cases"][0]["version"] = 1
    two_cases.write_text(json.dumps(doc))
    result = _verify(mstore, two_cases)
    assert result.exit_code == 1
    assert "digest does not match" in result.stderr


def test_bundle_checked_against_a_checkpoint(
    two_cases: Path, svc: Any, mstore: Any, tmp_path: Path
) -> None:
    """verify --bundle --checkpoint checks an export against heads kept elsewhere, offline."""
    good = tmp_path / "good.jsonl"
    assert _run("--db", mstore.url, "export", "-o", str(good)).exit_code == 0
    assert _run("verify", "--bundle", str(good), "--checkpoint", str(two_cases)).exit_code == 0
    _rewrite_chain(mstore, "LTU-1", keep=None, edit_seq=1)
    forged = tmp_path / "forged.jsonl"
    assert _run("--db", mstore.url, "export", "-o", str(forged)).exit_code == 0
    assert _run("verify", "--bundle", str(forged)).exit_code == 0  # self-consistent forgery
    result = _run("verify", "--bundle", str(forged), "--checkpoint", str(two_cases))
    assert result.exit_code == 1
    assert "'LTU-1'" in result.stdout and "rewritten" in result.stdout


def test_checkpoint_refuses_to_overwrite(two_cases: Path, mstore: Any) -> None:
    """checkpoint -o an existing file needs --force."""
    result = _run("--db", mstore.url, "checkpoint", "-o", str(two_cases))
    assert result.exit_code == 1
    assert "--force" in result.stderr
    assert _run("--db", mstore.url, "checkpoint", "-o", str(two_cases), "--force").exit_code == 0
