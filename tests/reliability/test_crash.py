"""Crash safety: writers killed with SIGKILL at random moments lose nothing they reported.

Each writer is a forked child process (the catalogue is loaded once, before forking, so a
child starts writing within milliseconds). It annotates cases through the Workspace API and
prints each write's unique token to stdout, flushed, only after the call has returned, i.e.
after the transaction committed. The parent kills it after a random 20-150 ms and checks the
database file: integrity, every hash chain, version == number of events for every case, and
every token any writer ever reported is present.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from treatyflow.app.core import Core
from treatyflow.app.workspace import Workspace
from treatyflow.catalog import Catalog
from treatyflow.store import migrate, open_store

FORK = multiprocessing.get_context("fork")
CASES = ("C1", "C2", "C3")
OPENED_ON = dt.date(2025, 6, 27)
DAY = dt.date(2025, 7, 1)


def _writer(db: str, fd: int, prefix: str, seed: int, catalog: Catalog) -> None:
    """Write forever (until killed): notes, facts and the odd new case; report each token."""
    os.dup2(fd, 1)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - lives as long as the process
    svc = Workspace(Core(open_store(db), catalog))
    rng = random.Random(seed)
    n = 0
    while True:
        n += 1
        token = f"{prefix}-{n}"
        case_id = rng.choice(CASES)
        roll = rng.random()
        if roll < 0.45:
            svc.note(case_id, token, on=DAY, actor="writer")
        elif roll < 0.92:
            value = rng.choice(("true", "false"))
            svc.set_fact(case_id, "armed_conflict", value, on=DAY, actor="writer", note=token)
        else:
            svc.open_case(
                country="LTU",
                treaty="ottawa",
                id=token,
                at="notified",
                on=DAY,
                actor="writer",
            )
        print(token, flush=True)


def _prepare(path: Path, catalog: Catalog) -> None:
    store = open_store(str(path), create=True)
    migrate.upgrade(store)
    svc = Workspace(Core(store, catalog))
    for case_id in CASES:
        svc.open_case(
            country="LTU",
            treaty="ottawa",
            id=case_id,
            at="notified",
            on=OPENED_ON,
            actor="setup",
        )
    store.engine.dispose()


def _read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


def _check(path: Path, reported: set[str], catalog: Catalog) -> None:
    """The invariants that must hold whenever no writer is running."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        versions = dict(conn.execute("SELECT id, version FROM cases").fetchall())
        counts = dict(
            conn.execute("SELECT case_id, count(*) FROM events GROUP BY case_id").fetchall()
        )
        notes = {row[0] for row in conn.execute("SELECT note FROM events WHERE note IS NOT NULL")}
    finally:
        conn.close()
    assert versions == counts
    missing = sorted(t for t in reported if t not in notes and t not in versions)
    assert missing == []
    store = open_store(str(path))
    try:
        assert Workspace(Core(store, catalog)).verify().problems == ()
    finally:
        store.engine.dispose()


def crash_loop(path: Path, catalog: Catalog, *, kills: int, writers: int, seed: int) -> int:
    """Start ``writers`` writers, SIGKILL each after 20-150 ms, check; ``kills`` times each.

    Returns how many writes the writers reported in all.
    """
    _prepare(path, catalog)
    rng = random.Random(seed)
    reported: set[str] = set()
    for cycle in range(kills):
        running: list[tuple[Any, int, float]] = []
        for w in range(writers):
            read_fd, write_fd = os.pipe()
            proc = FORK.Process(
                target=_writer,
                args=(str(path), write_fd, f"t{cycle}w{w}", rng.randrange(2**32), catalog),
                daemon=True,
            )
            proc.start()
            os.close(write_fd)
            running.append((proc, read_fd, rng.uniform(0.02, 0.15)))
        started = time.monotonic()
        for proc, read_fd, after in sorted(running, key=lambda r: r[2]):
            time.sleep(max(0.0, started + after - time.monotonic()))
            os.kill(proc.pid, signal.SIGKILL)
            proc.join()
            assert proc.exitcode == -signal.SIGKILL
            output = _read_all(read_fd)
            # Only complete lines: a line is one write(2) of a few bytes (atomic on a pipe).
            reported.update(output.split("\n")[:-1])
        _check(path, reported, catalog)
    return len(reported)


def test_sigkilled_writer_loses_no_reported_write(tmp_path: Path, catalog: Catalog) -> None:
    """A writer SIGKILLed 40 times leaves a sound database holding every reported write."""
    writes = crash_loop(tmp_path / "crash.db", catalog, kills=40, writers=1, seed=7)
    assert writes > 0


def test_sigkilled_concurrent_writers_lose_no_reported_write(
    tmp_path: Path, catalog: Catalog
) -> None:
    """Two concurrent writers, each SIGKILLed 30 times, leave every reported write intact."""
    writes = crash_loop(tmp_path / "crash2.db", catalog, kills=30, writers=2, seed=11)
    assert writes > 0


@pytest.mark.slow
def test_sigkilled_writer_soak(tmp_path: Path, catalog: Catalog) -> None:
    """A writer SIGKILLed 500 times leaves a sound database holding every reported write."""
    writes = crash_loop(tmp_path / "soak.db", catalog, kills=500, writers=1, seed=2025)
    assert writes > 0


@pytest.mark.slow
def test_sigkilled_concurrent_writers_soak(tmp_path: Path, catalog: Catalog) -> None:
    """Three concurrent writers, each SIGKILLed 500 times, lose no reported write."""
    writes = crash_loop(tmp_path / "soak3.db", catalog, kills=500, writers=3, seed=2026)
    assert writes > 0
