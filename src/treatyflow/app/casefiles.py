"""Case files: a case and its dated steps in YAML (the format of ``examples/ottawa-2025``,
docs/case-files.md), imported as an analyst would record them, each file in one transaction.

An import is idempotent. A file whose case does not exist yet is replayed whole. A file whose
case exists is compared, step by step, with the case's log *as it counts* (clock firings,
corrections and retractions set aside, corrected dates applied): when the log holds the
file's first N steps exactly, the steps after them are appended (none: nothing is written);
any other difference refuses the import with :class:`CaseFileConflict`, naming the first
step that differs and how. A case file never rewrites or drops what the log already holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from treatyflow.app.core import Core, retry
from treatyflow.casefile import CaseFile, CaseHeader, Step, read, read_with_lines
from treatyflow.errors import CaseFileConflict
from treatyflow.events import SYSTEM_ACTOR, Event, EventKind
from treatyflow.legal.dates import LegalDate, occurred_of
from treatyflow.projection import apply_corrections, fact_specs, retracted_seqs
from treatyflow.results import CaseFileImport
from treatyflow.values import check_country, fact_to_json, parse_fact, source_json

if TYPE_CHECKING:
    from treatyflow.app.workspace import Workspace

T = TypeVar("T")

#: Longest value a conflict message quotes.
SHOWN = 60
CONTEXT = 20  # characters shown before the first difference of two long texts


@dataclass(frozen=True)
class Loaded:
    """A case file replayed: the file, the case id, the number of events written."""

    path: Path
    case_id: str
    events: int


def replay(ws: Workspace, path: Path, *, progress: Callable[[str], None] | None = None) -> Loaded:
    """Open the case described in ``path`` and record each of its steps (clocks due before
    a step are fired first, as they were in law), all in one transaction."""
    data = read(path)

    def attempt() -> Loaded:
        with ws.store.batch():
            _open(ws, data.case)
            for step in data.events:
                _apply(ws, data.case.id, step)
                if progress:
                    progress(data.case.id)
        return Loaded(path, data.case.id, 1 + len(data.events))

    return _retried(ws, attempt)


def import_files(ws: Workspace, core: Core, paths: Iterable[Path]) -> list[CaseFileImport]:
    """Import every case file of ``paths`` in one transaction: all of them, or (on any
    error) none. Each file is read and validated before anything is written; the steps are
    recorded through ``ws`` (the checks of each command), the log read through ``core``."""
    files = [(path, *read_with_lines(path)) for path in paths]

    def attempt() -> list[CaseFileImport]:
        with core.store.batch():
            return [_import(ws, core, path, data, line_of) for path, data, line_of in files]

    return _retried(ws, attempt)


def _retried(ws: Workspace, attempt: Callable[[], T]) -> T:
    # A conflict with a concurrent writer aborts the batch: run it again from the start
    # (the comparison with the log makes a second run add only what is still missing).
    return attempt() if ws.store.in_batch else retry(attempt)


def _import(
    ws: Workspace,
    core: Core,
    path: Path,
    data: CaseFile,
    line_of: Callable[[tuple[str | int, ...]], int | None],
) -> CaseFileImport:
    head = data.case
    with core.store.read() as conn:
        record = core.store.get_case(conn, head.id)
        if record is None:
            events: list[Event] = []
            defs = None
        else:
            events = core.store.events(conn, head.id)
            defs = core.definitions_for(conn, record)
    if record is None or defs is None:
        _open(ws, head)
        start, before = 0, 0
    else:
        before = record.version
        specs = fact_specs(defs.treaty, defs.procedure)
        counted = counted_events(events)
        conflict = _Compare(str(path), head.id, line_of)
        conflict.header(head, record, counted[0] if counted else None, defs, specs)
        start = conflict.steps(data.events, counted[1:], specs)
    for step in data.events[start:]:
        _apply(ws, head.id, step)
    with core.store.read() as conn:
        after = core.store.get_case(conn, head.id)
    assert after is not None
    return CaseFileImport(
        path=str(path),
        case_id=head.id,
        events_added=after.version - before,
        created=record is None,
    )


def counted_events(events: Sequence[Event]) -> list[Event]:
    """The log as it counts, as a case file would have written it: the analysts' events with
    their corrected legal dates, without clock firings, corrections, retractions and the
    events retracted."""
    gone = retracted_seqs(events)
    return [
        e
        for e in apply_corrections(events)
        if e.kind not in (EventKind.CORRECT, EventKind.RETRACT)
        and e.seq not in gone
        and not (e.actor == SYSTEM_ACTOR and e.data.get("clock"))
    ]


class _Compare:
    """The comparison of a case file with a case's log; raises the first difference."""

    def __init__(
        self,
        path: str,
        case_id: str,
        line_of: Callable[[tuple[str | int, ...]], int | None],
    ) -> None:
        self.path, self.case_id, self.line_of = path, case_id, line_of

    def header(
        self, head: CaseHeader, record: Any, first: Event | None, defs: Any, specs: Any
    ) -> None:
        facts = {k: fact_to_json(parse_fact(k, v, specs)[1]) for k, v in head.facts.items()}
        expected: dict[str, Any] = {
            "country": check_country(head.country),
            "treaty": head.treaty,
            "action": head.action,
            "opened_on": head.opened_on.isoformat(),
            "at": head.at or defs.procedure.initial,
            "facts": facts,
            "note": head.note,
            "sources": [source_json(s) for s in head.sources],
        }
        if head.procedure is not None:
            expected["procedure"] = head.procedure
        logged: dict[str, Any] = {
            "country": record.country,
            "treaty": record.treaty,
            "action": record.action,
            "procedure": record.procedure,
        }
        if first is not None:
            logged |= {
                "opened_on": first.occurred_on.isoformat(),
                "at": first.to_state,
                "facts": dict(first.data.get("facts", {})),
                "note": first.note,
                "sources": list(first.sources),
            }
        diffs = _differences(logged, expected)
        if diffs:
            seq = first.seq if first is not None else None
            line = self.line_of(("case", diffs[0][0]))
            raise CaseFileConflict(self.path, self.case_id, 0, line, seq, diffs)

    def steps(self, steps: Sequence[Step], logged: Sequence[Event], specs: Any) -> int:
        """How many of ``steps`` the log holds (all its counted events must be among them)."""
        index = 0
        for n, step in enumerate(steps):
            wanted = _expected(step, specs)
            if index == len(logged):
                return n  # the log ends here: the rest is new
            if index + len(wanted) > len(logged):
                ev = logged[index]
                self._raise(n, ev, [("step", "only part of it", "all of it")])
            for sig in wanted:
                ev = logged[index]
                diffs = _differences(_actual(ev, sig), sig)
                if diffs:
                    self._raise(n, ev, diffs)
                index += 1
        if index < len(logged):
            extra = logged[index]
            self._raise(
                len(steps), extra, [("step", _shown(_label(_actual(extra, {}))), "nothing")]
            )
        return len(steps)

    def _raise(self, n: int, ev: Event, diffs: Sequence[tuple[str, str, str]]) -> None:
        # The line of the first differing key (of the step when it is not in the file).
        line = self.line_of(("events", n, diffs[0][0]))
        raise CaseFileConflict(self.path, self.case_id, n + 1, line, ev.seq, diffs)


def _expected(step: Step, specs: Any) -> list[dict[str, Any]]:
    """What the log holds for ``step``: one signature per event it writes."""
    common: dict[str, Any] = {
        "on": _when(step.on).text(),
        "note": step.note,
        "sources": [source_json(s) for s in step.sources],
    }
    if step.advance is not None:
        sig = {"kind": "advance", "advance": step.advance, **common}
        sig["out_of_procedure"] = step.out_of_procedure
        if step.to is not None:
            sig["to"] = step.to
        return [sig]
    if step.set_fact is not None:
        return [
            {
                "kind": "set-fact",
                "set-fact": {name: fact_to_json(parse_fact(name, value, specs)[1])},
                **common,
            }
            for name, value in step.set_fact.items()
        ]
    if step.record is not None:
        return [{"kind": "record", "record": step.record, "by": step.by or None, **common}]
    return [{"kind": "note", **common}]


def _actual(ev: Event, sig: dict[str, Any]) -> dict[str, Any]:
    """The stored event in the shape of a step signature."""
    out: dict[str, Any] = {
        "kind": str(ev.kind),
        "on": occurred_of(ev.occurred_on, ev.data).text(),
        "note": ev.note,
        "sources": list(ev.sources),
    }
    if ev.kind is EventKind.ADVANCE:
        out["advance"] = ev.trigger
        out["out_of_procedure"] = ev.data.get("reason")
        out["to"] = ev.to_state
    elif ev.kind is EventKind.SET_FACT:
        out["set-fact"] = dict(ev.data.get("facts", {}))
    elif ev.kind is EventKind.RECORD:
        out["record"] = ev.data.get("type")
        out["by"] = ev.data.get("by")
    return out


def _differences(logged: dict[str, Any], expected: dict[str, Any]) -> list[tuple[str, str, str]]:
    if "kind" in expected and logged.get("kind") != expected["kind"]:
        return [("step", _shown(_label(logged)), _shown(_label(expected)))]
    return [
        (key, *_shown_pair(logged.get(key), value))
        for key, value in expected.items()
        if key != "kind" and logged.get(key) != value
    ]


def _label(sig: dict[str, Any]) -> str:
    kind = sig.get("kind", "?")
    what = sig.get(kind)
    if isinstance(what, dict):
        what = ", ".join(what)
    return f"{kind} {what}" if what else str(kind)


def _text(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        cites = "; ".join(str(v.get("citation", "")) for v in value)
        return f"{len(value)} source(s): {cites}" if value else "no sources"
    return str(value)


def _clipped(text: str) -> str:
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 3] + "...")


def _shown(value: Any) -> str:
    return "nothing" if value is None else _clipped(_text(value))


def _shown_pair(logged: Any, expected: Any) -> tuple[str, str]:
    """Both values clipped alike; when two long texts first differ beyond what the clip
    shows, each starts shortly before that point, so the message shows the difference."""
    if logged is None or expected is None:
        return _shown(logged), _shown(expected)
    old, new = _text(logged), _text(expected)
    pairs = enumerate(zip(old, new, strict=False))
    same = next((i for i, (a, b) in pairs if a != b), min(len(old), len(new)))
    if same < SHOWN - 3 - CONTEXT:
        return _clipped(old), _clipped(new)
    start = same - CONTEXT
    return _clipped("..." + old[start:]), _clipped("..." + new[start:])


def _open(ws: Workspace, head: CaseHeader) -> None:
    ws.open_case(
        country=head.country,
        treaty=head.treaty,
        procedure=head.procedure,
        action=head.action,
        id=head.id,
        at=head.at,
        on=head.opened_on,
        facts=head.facts,
        sources=head.sources,
        note=head.note,
    )


def _apply(ws: Workspace, case_id: str, step: Step) -> None:
    """Record one step (after firing the clocks that came due by its date)."""
    # Clocks due by the step's (latest possible) date happened first in law.
    ws.tick_case(case_id, as_of=_when(step.on).latest)
    if step.advance is not None:
        ws.advance(
            case_id,
            step.advance,
            on=step.on,
            sources=step.sources,
            note=step.note,
            out_of_procedure=step.out_of_procedure,
            to=step.to,
        )
    elif step.set_fact is not None:
        for name, value in step.set_fact.items():
            ws.set_fact(case_id, name, value, on=step.on, sources=step.sources, note=step.note)
    elif step.record is not None:
        ws.record(
            case_id, step.record, on=step.on, by=step.by, sources=step.sources, note=step.note
        )
    else:
        assert step.note is not None
        ws.note(case_id, step.note, on=step.on, sources=step.sources)


def _when(on: dt.date | str) -> LegalDate:
    """A step's legal date: a day, or (as text) a range known only as ``<=DAY``, ``DAY..DAY``
    or ``YYYY-MM``."""
    if isinstance(on, dt.date):
        return LegalDate.day(on)
    from treatyflow.values import parse_on

    return parse_on(on, "on")
