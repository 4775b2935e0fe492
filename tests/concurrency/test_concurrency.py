"""Many analysts at once, as real processes: nothing lost, nothing doubled, no forked chain.

Each worker process (``worker.py``) writes through the Workspace API and records every
call's outcome; the test then checks the log against the outcomes.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

WORKER = Path(__file__).with_name("worker.py")
CASES = ("LTU-1", "LVA-1", "EST-1")


def _prepare(url: str, catalog: Any) -> None:
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace
    from treatyflow.store import migrate, open_store

    store = open_store(url, create=True)
    migrate.upgrade(store)
    svc = Workspace(Core(store, catalog))
    for case_id in CASES:
        svc.open_case(country=case_id[:3], treaty="ottawa", actor="lead", id=case_id,
                      at="notified", on=dt.date(2025, 6, 27))  # fmt: skip
    store.engine.dispose()


def _hammer(url: str, processes: int, writes: int, tmp_path: Path) -> list[dict[str, Any]]:
    procs = []
    for n in range(processes):
        out = tmp_path / f"worker-{n}.jsonl"
        args = [sys.executable, str(WORKER), url, str(n), str(writes), ",".join(CASES), str(out)]
        procs.append((subprocess.Popen(args, stderr=subprocess.PIPE, text=True), out))
    outcomes: list[dict[str, Any]] = []
    for proc, out in procs:
        _, err = proc.communicate()
        assert proc.returncode == 0, err
        outcomes += [json.loads(line) for line in out.read_text().splitlines()]
    assert len(outcomes) == processes * writes
    return outcomes


def _check(url: str, catalog: Any, outcomes: list[dict[str, Any]]) -> None:
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace
    from treatyflow.store import open_store

    store = open_store(url)
    try:
        svc = Workspace(Core(store, catalog))
        assert svc.verify().problems == ()
        in_log: Counter[str] = Counter()
        where: dict[str, str] = {}
        with store.read() as conn:
            for case_id in CASES:
                record = store.get_case(conn, case_id)
                evs = store.events(conn, case_id)
                assert record is not None
                assert [e.seq for e in evs] == list(range(1, len(evs) + 1))
                assert record.version == len(evs)
                assert record.head_hash == evs[-1].hash
                for ev in evs[1:]:
                    assert ev.note is not None
                    in_log[ev.note] += 1
                    where[ev.note] = case_id
        acknowledged = {o["token"]: o for o in outcomes if o["ok"]}
        refused = {o["token"] for o in outcomes if not o["ok"]}
        for token, outcome in acknowledged.items():
            assert in_log[token] == 1, f"acknowledged write {token} is in the log {in_log[token]}x"
            assert where[token] == outcome["case"]
        assert not refused & set(in_log), "a refused write is in the log"
        assert set(in_log) <= set(acknowledged), "the log has writes nobody was told about"
        for o in outcomes:
            if not o["ok"]:
                assert "run the command again" in o["error"]
    finally:
        store.engine.dispose()


def test_sqlite_eight_processes(tmp_path: Path, catalog: Any) -> None:
    """8 processes x 300 writes on 3 shared cases on SQLite: every acknowledged write once."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    _prepare(url, catalog)
    outcomes = _hammer(url, 8, 300, tmp_path)
    _check(url, catalog, outcomes)
    assert {o["kind"] for o in outcomes} == {"note", "set-fact"}


def test_postgresql_sixteen_processes(postgres_url: str, tmp_path: Path, catalog: Any) -> None:
    """16 processes x 60 writes on 3 shared cases on PostgreSQL: nothing lost or doubled."""
    _prepare(postgres_url, catalog)
    outcomes = _hammer(postgres_url, 16, 60, tmp_path)
    _check(postgres_url, catalog, outcomes)
    assert {o["kind"] for o in outcomes} == {"note", "set-fact"}


@pytest.mark.slow
def test_postgresql_sixteen_processes_full(
    postgres_url: str, tmp_path: Path, catalog: Any
) -> None:
    """16 processes x 300 writes on 3 shared cases on PostgreSQL (the full soak)."""
    _prepare(postgres_url, catalog)
    outcomes = _hammer(postgres_url, 16, 300, tmp_path)
    _check(postgres_url, catalog, outcomes)
    assert sum(o["ok"] for o in outcomes) > 0
