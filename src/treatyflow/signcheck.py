"""Every event's signature checked by worker processes, one per core (#19).

An Ed25519 verification costs ~100 us of CPU in ``cryptography`` and holds the GIL, so a
thread pool gains nothing: a database of a million signed events takes minutes on one core.
:func:`signature_faults` gives exactly what :func:`treatyflow.registry.signature_faults`
gives (the registry's own fault, then the first fault of each case, in the order of the
rows), with the rows' signatures checked in chunks by forked worker processes. The workers
receive the registry once and chunks of rows (plain dicts); they never touch the database,
so forking while the caller reads it is safe (a worker ends with ``os._exit`` and inherits
no lock it could release). Few rows, no ``fork`` on this platform or one core: the plain
pass (:func:`treatyflow.registry.signature_faults` itself). A worker that cannot be
started or dies: the rows are checked again in this process, never skipped.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from treatyflow import registry
from treatyflow.chain import ChainFault
from treatyflow.registry import REGISTRY_CASE, Entry, Registry, check_entries, check_event

#: Rows per chunk sent to a worker (a few hundred milliseconds of work each).
CHUNK = 2_000
#: Worker processes: one per core, at most 8.
WORKERS = min(os.cpu_count() or 1, 8)

_registry: Registry | None = None  # a worker's registry, set once by _start


def signature_faults(
    entries: Sequence[Entry], rows: Iterable[Mapping[str, Any]], *, workers: int | None = None
) -> list[ChainFault]:
    """The faults of the registry ``entries`` and of the event ``rows`` (by case and seq)
    against it, one per case, the first (:func:`treatyflow.registry.signature_faults`),
    checked by ``workers`` processes (default one per core) when there are more than
    :data:`CHUNK` rows."""
    workers = WORKERS if workers is None else workers
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return registry.signature_faults(entries, rows)
    chunks = _chunks(rows)
    head = [chunk for chunk in (next(chunks, None), next(chunks, None)) if chunk is not None]
    if len(head) < 2:  # one chunk at most: not worth a process
        return registry.signature_faults(entries, [row for chunk in head for row in chunk])
    found = _parallel(entries, Registry.fold(entries), head, chunks, workers)
    faults: list[ChainFault] = []
    problem = check_entries(entries)
    if problem is not None:
        faults.append(ChainFault(REGISTRY_CASE, problem[0], problem[1]))
    seen: set[Any] = set()
    for case_id, seq, reason in found:
        if case_id not in seen:
            faults.append(ChainFault(case_id, seq, reason))
            seen.add(case_id)
    return faults


def _parallel(
    entries: Sequence[Entry],
    reg: Registry,
    head: list[list[dict[str, Any]]],
    rest: Iterator[list[dict[str, Any]]],
    workers: int,
) -> list[tuple[Any, Any, str]]:
    """The chunks checked by ``workers`` processes, at most two chunks each in flight (the
    rows are streamed, not held), results in the rows' order."""
    out: list[tuple[Any, Any, str]] = []
    # the chunks not yet answered, oldest first (a chunk goes in before it is submitted and
    # out only after its answer is kept: none is lost if the pool breaks)
    pending: deque[tuple[list[dict[str, Any]], Future[Any] | None]] = deque()
    context = multiprocessing.get_context("fork")

    def collect() -> None:
        future = pending[0][1]
        assert future is not None
        answer = future.result()
        pending.popleft()
        out.extend(answer)

    try:
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start, initargs=(list(entries),)
        ) as pool:
            for chunk in _chain(head, rest):
                pending.append((chunk, None))
                pending[-1] = (chunk, pool.submit(_work, chunk))
                if len(pending) >= 2 * workers:
                    collect()
            while pending:
                collect()
    except (OSError, BrokenProcessPool):
        # no worker could start, or one died: check the unanswered chunks here, then the rest
        for chunk, _ in pending:
            out += _check(reg, chunk)
        for chunk in rest:
            out += _check(reg, chunk)
    return out


def _chain(
    head: list[list[dict[str, Any]]], rest: Iterator[list[dict[str, Any]]]
) -> Iterator[list[dict[str, Any]]]:
    yield from head
    yield from rest


def _chunks(rows: Iterable[Mapping[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(dict(row))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check(reg: Registry, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, Any, str]]:
    """(case id, seq, what is wrong) of every row with a fault."""
    out = []
    for row in rows:
        reason = check_event(row, reg)
        if reason is not None:
            out.append((row["case_id"], row["seq"], reason))
    return out


def _start(entries: list[Entry]) -> None:  # pragma: no cover - runs in a worker process
    global _registry
    _registry = Registry.fold(entries)


def _work(rows: list[dict[str, Any]]) -> list[tuple[Any, Any, str]]:  # pragma: no cover
    assert _registry is not None
    return _check(_registry, rows)
