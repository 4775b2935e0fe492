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


def _signed_cases(ws: Any, key: Path, notes: int) -> None:
    """Register alice (``key``) and write, signed, three cases L0-L2 of ``notes`` notes."""
    ws.add_key("alice", f"{key}.pub", roles=["admin", "analyst"])
    for n in range(3):
        ws.open_case(country="LTU", treaty="ottawa", id=f"L{n}", at="notified",
                     on="2025-06-27")  # fmt: skip
    for k in range(notes):
        for n in range(3):
            ws.note(f"L{n}", f"note {k}", on="2025-06-28")


def test_verify_names_a_forged_signature_among_many(tmp_path: Path) -> None:
    """Through ``verify``: a database with more signed events than one chunk, one
    signature forged in the last chunk, is reported with its case and seq."""
    key = tmp_path / "alice"
    treatyflow.generate_key(key)
    with treatyflow.open(tmp_path / "t.db", create=True, key=key, actor="alice") as ws:
        _signed_cases(ws, key, signcheck.CHUNK // 3 + 5)
        assert ws.verify().ok
        with ws.store.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE events SET signature = (SELECT signature FROM events WHERE "
                "case_id = 'L0' AND seq = 2) WHERE case_id = 'L2' AND seq = 600"
            )
        problems = [(p.case_id, p.seq) for p in ws.verify().problems]
        assert problems == [("L2", 600)]


# ------------------------------------------- a bundle's cases checked while it is read
def _by_case(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    cases: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        cases.setdefault(row["case_id"], []).append(row)
    return list(cases.items())


def _pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the process pools :class:`signcheck.CaseSignatures` starts."""
    made: list[int] = []
    real = signcheck.ProcessPoolExecutor

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(signcheck, "ProcessPoolExecutor", spy)
    return made


@pytest.mark.parametrize("workers", [1, 2])
def test_cases_handed_over_find_what_the_plain_pass_finds(
    signed: Any, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Cases handed over one by one (as a bundle is read): the first fault of each, with
    its token, in the order handed over; worker processes only with two or more cores."""
    entries, rows = signed
    pools = _pools(monkeypatch)
    checks = signcheck.CaseSignatures(entries, registry.Registry.fold(entries), workers=workers)
    for case_id, case_rows in _by_case(rows):
        checks.add(case_id, case_rows)
    found = checks.finish()
    plain = registry.signature_faults(entries, rows)
    assert [(token, seq) for token, seq, _ in found] == _faults(plain)
    assert [reason for *_, reason in found] == [f.reason for f in plain]
    assert pools == ([1] if workers == 2 else [])


def test_few_cases_handed_over_start_no_process(
    signed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries, rows = signed
    pools = _pools(monkeypatch)
    checks = signcheck.CaseSignatures(entries, registry.Registry.fold(entries), workers=2)
    for case_id, case_rows in _by_case(rows[:1_500]):
        checks.add(case_id, case_rows)
    assert [(t, s) for t, s, _ in checks.finish()] == [("C002", 51)]
    assert pools == []


def test_a_dead_worker_loses_no_case(signed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    entries, rows = signed
    monkeypatch.setattr(signcheck, "_work_cases", _die)
    checks = signcheck.CaseSignatures(entries, registry.Registry.fold(entries), workers=2)
    for case_id, case_rows in _by_case(rows):
        checks.add(case_id, case_rows)
    assert [(t, s) for t, s, _ in checks.finish()] == [("C002", 51), ("C023", 46), ("C049", 100)]


def _signed_bundle(tmp_path: Path) -> Path:
    """A bundle of 3 cases of about 90 signed events each."""
    key = tmp_path / "alice"
    treatyflow.generate_key(key)
    with treatyflow.open(tmp_path / "b.db", create=True, key=key, actor="alice") as ws:
        _signed_cases(ws, key, 90)
        ws.export(tmp_path / "b.jsonl")
    return tmp_path / "b.jsonl"


def _forge(bundle: Path, case_id: str, seq: int, out: Path) -> Path:
    """The bundle with one event's signature replaced by another event's (the body digest
    in the trailer no longer matches either: a problem of its own)."""
    import json

    lines = bundle.read_text().splitlines()
    objs = [json.loads(line) for line in lines]
    other = next(o for o in objs if o.get("type") == "event" and o["seq"] == 2)
    for obj in objs:
        if obj.get("type") == "event" and (obj["case_id"], obj["seq"]) == (case_id, seq):
            obj["signature"] = other["signature"]
    out.write_text("".join(json.dumps(o, sort_keys=True, ensure_ascii=False) + "\n" for o in objs))
    return out


def test_verify_bundle_checks_signatures_in_workers_and_says_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``verify --bundle`` of a signed bundle: its cases' signatures checked by worker
    processes give the problems, in the order, that one process gives; and ``import``
    writes nothing of a bundle with a forged signature."""
    bundle = _signed_bundle(tmp_path)
    forged = _forge(bundle, "L1", 40, tmp_path / "forged.jsonl")
    monkeypatch.setattr(signcheck, "CHUNK", 50)
    monkeypatch.setattr(signcheck, "WORKERS", 2)
    pools = _pools(monkeypatch)
    assert treatyflow.verify_bundle(bundle).ok
    parallel = treatyflow.verify_bundle(forged).problems
    assert len(pools) == 2  # each read of a signed bundle forked its workers
    monkeypatch.setattr(signcheck, "WORKERS", 1)
    assert treatyflow.verify_bundle(forged).problems == parallel
    assert len(pools) == 2
    assert any("case 'L1': first bad event is seq 40" in p for p in parallel), parallel
    monkeypatch.setattr(signcheck, "WORKERS", 2)
    with treatyflow.open(tmp_path / "copy.db", create=True, key="") as ws:
        with pytest.raises(treatyflow.BundleInvalid) as refused:
            ws.import_bundle(forged)
        assert refused.value.problems == list(parallel)
        assert ws.count_cases() == 0
        ws.import_bundle(bundle)
        assert ws.count_cases() == 3 and ws.verify().ok


def test_a_signature_fault_keeps_its_place_among_the_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case's signature fault, answered by a worker after later cases were read, is put
    where it was found: before the problem of a later case (as the one-process check put
    it), not at the end."""
    import json

    bundle = _signed_bundle(tmp_path)
    forged = _forge(bundle, "L0", 40, tmp_path / "forged.jsonl")
    objs = [json.loads(line) for line in forged.read_text().splitlines()]
    for obj in objs:
        if obj.get("type") == "event" and (obj["case_id"], obj["seq"]) == ("L2", 50):
            obj["note"] = "rewritten"  # L2's chain breaks at seq 50
    forged.write_text("".join(json.dumps(o, sort_keys=True) + "\n" for o in objs))
    monkeypatch.setattr(signcheck, "CHUNK", 50)
    monkeypatch.setattr(signcheck, "WORKERS", 2)
    problems = treatyflow.verify_bundle(forged).problems
    named = [p for p in problems if "case 'L" in p]
    assert len(named) == 2, problems
    assert "case 'L0': first bad event is seq 40" in named[0] and "signature" in named[0]
    assert "L2" in named[1] and "seq 50" in named[1]
