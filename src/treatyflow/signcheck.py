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

:class:`CaseSignatures` does the same for a bundle while it is read (``verify --bundle``,
``import``): the reader hands over each case when its events end and goes on reading.
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


# ------------------------------------------------------- a bundle's cases, as it is read
#: The fields of an event row that :func:`~treatyflow.registry.check_event` reads (and the
#: seq and line that name a fault): what is sent to a worker, not the whole event.
AUTHOR_FIELDS = ("seq", "kind", "actor", "recorded_at", "hash", "signature", "key", "data")


class CaseSignatures:
    """Each case's events' authors checked against a registry by worker processes while a
    bundle is read (``verify --bundle`` and ``import``): the reader hands over a case when
    its events end (:meth:`add`) and goes on; :meth:`finish` gives the first fault of each
    case, with the token it was handed over with, in the order handed over.

    The same answers as checking each case in turn in this process
    (:func:`~treatyflow.registry.check_event`, first fault of a case): fewer than two
    chunks of rows, one core or no ``fork`` here, they are checked in this process; a worker
    that cannot be started or dies, the cases not yet answered are checked here. At most two
    chunks per worker are in flight, so memory stays bounded whatever the bundle's size.
    """

    def __init__(
        self, entries: Sequence[Entry], reg: Registry, *, workers: int | None = None
    ) -> None:
        self._entries = list(entries)
        self._reg = reg
        self._workers = WORKERS if workers is None else workers
        self._parallel = self._workers >= 2 and "fork" in multiprocessing.get_all_start_methods()
        self._chunk: list[tuple[Any, list[dict[str, Any]]]] = []
        self._rows = 0
        self._first: list[tuple[Any, list[dict[str, Any]]]] | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._pending: deque[tuple[list[Any], Future[Any] | None]] = deque()
        self._found: list[tuple[Any, Any, str]] = []

    def add(self, token: Any, rows: Iterable[Mapping[str, Any]]) -> None:
        """Hand over one case's events (each row's :data:`AUTHOR_FIELDS` are kept)."""
        kept = [{k: row.get(k) for k in AUTHOR_FIELDS} for row in rows]
        self._chunk.append((token, kept))
        self._rows += len(kept)
        if self._rows >= CHUNK:
            chunk, self._chunk, self._rows = self._chunk, [], 0
            self._hand(chunk)

    def _hand(self, chunk: list[tuple[Any, list[dict[str, Any]]]]) -> None:
        if not self._parallel:
            self._found += _first_faults(self._reg, chunk)
        elif self._first is None and self._pool is None:
            self._first = chunk  # one chunk: not yet worth a process
        else:
            if self._first is not None:
                first, self._first = self._first, None
                self._submit(first)
            self._submit(chunk)

    def _submit(self, chunk: list[tuple[Any, list[dict[str, Any]]]]) -> None:
        self._pending.append((chunk, None))
        try:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self._workers,
                    mp_context=multiprocessing.get_context("fork"),
                    initializer=_start,
                    initargs=(self._entries,),
                )
            self._pending[-1] = (chunk, self._pool.submit(_work_cases, chunk))
            while len(self._pending) >= 2 * self._workers:
                self._collect()
        except (OSError, BrokenProcessPool):
            self._fall_back()

    def _collect(self) -> None:
        future = self._pending[0][1]
        assert future is not None
        answer = future.result()
        self._pending.popleft()
        self._found += answer

    def _fall_back(self) -> None:
        """No worker could start, or one died: the unanswered chunks here, from now on too."""
        self._parallel = False
        for chunk, _ in self._pending:
            self._found += _first_faults(self._reg, chunk)
        self._pending.clear()
        self.close()

    def finish(self) -> list[tuple[Any, Any, str]]:
        """(token, seq, what is wrong) of the first fault of each case that has one, in the
        order the cases were handed over; the workers are stopped."""
        try:
            while self._pending:
                self._collect()
        except (OSError, BrokenProcessPool):
            self._fall_back()
        for held in (self._first, self._chunk):  # (the first: only when none was sent)
            if held:
                self._found += _first_faults(self._reg, held)
        self._first, self._chunk, self._rows = None, [], 0
        self.close()
        return self._found

    def close(self) -> None:
        """Stop the workers (idempotent; also when the read was cut short)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _first_faults(
    reg: Registry, chunk: Sequence[tuple[Any, Sequence[Mapping[str, Any]]]]
) -> list[tuple[Any, Any, str]]:
    """(token, seq, what is wrong) of the first fault of each case in ``chunk``."""
    out = []
    for token, rows in chunk:
        for row in rows:
            reason = check_event(row, reg)
            if reason is not None:
                out.append((token, row["seq"], reason))
                break
    return out


def _work_cases(  # pragma: no cover - runs in a worker process
    chunk: list[tuple[Any, list[dict[str, Any]]]],
) -> list[tuple[Any, Any, str]]:
    assert _registry is not None
    return _first_faults(_registry, chunk)
