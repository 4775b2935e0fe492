"""Signatures checked by worker processes (#19): the same faults as the plain pass, in the
same order, however the rows fall into chunks; a worker that dies loses no row."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import treatyflow
from treatyflow import registry, signcheck
from treatyflow.chain import event_hash
from treatyflow.events import utc_now


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], list[dict[str, Any]]]:
    """A registry (alice, an admin) and 5,300 signed event rows over 53 cases, with faults
    spread over several chunks: a forged signature, a wrong actor, an unknown key, and
    a second fault in a case that already has one."""
    folder = tmp_path_factory.mktemp("signcheck")
    key = folder / "alice"
    treatyflow.generate_key(key)
    signer = treatyflow.load_key(key)
    with treatyflow.open(folder / "s.db", create=True, key=key) as ws:
        ws.add_key("alice", f"{key}.pub", roles=["admin", "analyst"])
        with ws.store.read() as conn:
            entries = ws.store.registry_entries(conn)
    now = utc_now()
    rows = []
    for c in range(53):
        for seq in range(1, 101):
            h = event_hash({"case": f"C{c:03d}", "seq": seq})
            rows.append(
                {"case_id": f"C{c:03d}", "seq": seq, "kind": "note", "actor": "alice",
                 "recorded_at": now, "hash": h, "signature": signer.sign(h),
                 "key": signer.fingerprint, "data": {}}
            )  # fmt: skip
    rows[250]["signature"] = rows[251]["signature"]  # C002 seq 51: forged
    rows[2_345]["actor"] = "mallory"  # C023 seq 46
    rows[2_399]["signature"] = rows[2_398]["signature"]  # C023 again: not its first fault
    rows[4_999]["key"] = "SHA256:unknown"  # C049 seq 100
    return entries, rows


def _faults(found: list[Any]) -> list[tuple[Any, Any]]:
    return [(f.case_id, f.seq) for f in found]


def test_workers_find_what_the_plain_pass_finds(signed: Any) -> None:
    entries, rows = signed
    plain = registry.signature_faults(entries, rows)
    assert _faults(plain) == [("C002", 51), ("C023", 46), ("C049", 100)]
    parallel = signcheck.signature_faults(entries, iter(rows), workers=2)
    assert parallel == plain
    one_chunk = signcheck.signature_faults(entries, rows[:1_500], workers=2)
    assert _faults(one_chunk) == [("C002", 51)]
    assert signcheck.signature_faults(entries, iter(rows), workers=1) == plain


def test_a_dead_worker_loses_no_row(signed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies (here: every one, on its first chunk) breaks the pool: every
    chunk not answered is checked in the calling process."""
    entries, rows = signed
    monkeypatch.setattr(signcheck, "_work", _die)
    found = signcheck.signature_faults(entries, iter(rows), workers=2)
    assert _faults(found) == [("C002", 51), ("C023", 46), ("C049", 100)]


def _die(rows: list[dict[str, Any]]) -> Any:
    os._exit(3)


def test_verify_names_a_forged_signature_among_many(tmp_path: Path) -> None:
    """Through ``verify``: a database with more signed events than one chunk, one
    signature forged in the last chunk, is reported with its case and seq."""
    key = tmp_path / "alice"
    treatyflow.generate_key(key)
    with treatyflow.open(tmp_path / "t.db", create=True, key=key, actor="alice") as ws:
        ws.add_key("alice", f"{key}.pub", roles=["admin", "analyst"])
        for n in range(3):
            ws.open_case(country="LTU", treaty="ottawa", id=f"L{n}", at="notified",
                         on="2025-06-27")  # fmt: skip
        for k in range(signcheck.CHUNK // 3 + 5):
            for n in range(3):
                ws.note(f"L{n}", f"note {k}", on="2025-06-28")
        assert ws.verify().ok
        with ws.store.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE events SET signature = (SELECT signature FROM events WHERE "
                "case_id = 'L0' AND seq = 2) WHERE case_id = 'L2' AND seq = 600"
            )
        problems = [(p.case_id, p.seq) for p in ws.verify().problems]
        assert problems == [("L2", 600)]
