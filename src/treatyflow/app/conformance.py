"""Conformance: per case, every step that departs from its procedure, with its sources."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from treatyflow.app.core import Core, Definitions
from treatyflow.app.queries import with_events
from treatyflow.events import Event, EventKind
from treatyflow.projection import notice_deviations, retracted_seqs
from treatyflow.results import CaseConformance, Deviation
from treatyflow.store.sql import CaseRecord

#: The flag of a case opened mid-procedure: noted, but not a deviation.
OPENED_MID_PROCEDURE = "opened-mid-procedure"

#: Flags that say what the log lacks evidence of; listed, but not a departure from procedure.
EVIDENCE_GAPS = (OPENED_MID_PROCEDURE, "defective-notice")

#: The details of a deviation kept from its event's data.
DETAIL_KEYS = ("guards_not_met", "evidence_missing", "notice_problems")


def conformance(core: Core, case_ids: Sequence[str] = ()) -> Iterator[CaseConformance]:
    """Each case's (or each of ``case_ids``') deviations, in id order, one at a time."""
    with core.store.read() as conn:
        for record, events in with_events(core, conn, case_ids):
            defs = core.definitions_for(conn, record)
            state = core.fold(record, defs, events, as_of=None)
            yield case_conformance(
                record, defs, events, notice_deviations(events, state, defs.procedure)
            )


def case_conformance(
    record: CaseRecord,
    defs: Definitions,
    events: Sequence[Event],
    evidence_gaps: Sequence[Deviation] = (),
) -> CaseConformance:
    """The case's deviations in log order. ``evidence_gaps`` (a notification recorded without
    the content its treaty requires: ``defective-notice``) are listed with them but, like a
    case opened mid-procedure, do not make the case non-conforming: they say what the log
    lacks evidence of, not a step that departed from the procedure."""
    gone = retracted_seqs(events)  # a retracted step no longer counts, nor its deviations
    deviations = [
        d for ev in events if ev.seq not in gone and (d := _deviation(ev, defs)) is not None
    ]
    deviations = sorted([*deviations, *evidence_gaps], key=lambda d: d.seq)
    if events and events[0].data.get("opened_at_state"):
        first = events[0]
        deviations.insert(
            0,
            Deviation(
                seq=1,
                occurred_on=first.occurred_on,
                kind="open",
                trigger=None,
                from_state=None,
                to_state=first.to_state,
                flags=(OPENED_MID_PROCEDURE,),
                reason="tracking started at a later state; earlier steps are not in the log",
                details={},
                note=first.note,
                sources=tuple(first.sources),
            ),
        )
    return CaseConformance(
        id=record.id,
        country=record.country,
        treaty=record.treaty,
        action=record.action,
        procedure=record.procedure,
        conforms=not any(f not in EVIDENCE_GAPS for d in deviations for f in d.flags),
        deviations=tuple(deviations),
    )


def _deviation(ev: Event, defs: Definitions) -> Deviation | None:
    flags = ev.flags
    if ev.kind is EventKind.ADVANCE and ev.trigger:
        spec = defs.machine.transition(ev.from_state or "", ev.trigger)
        if spec is not None and spec.contested is not None and "contested" not in flags:
            flags = [*flags, "contested"]
    if not flags:
        return None
    return Deviation(
        seq=ev.seq,
        occurred_on=ev.occurred_on,
        kind=str(ev.kind),
        trigger=ev.trigger,
        from_state=ev.from_state,
        to_state=ev.to_state,
        flags=tuple(flags),
        reason=ev.data.get("reason") or ev.data.get("backdate_reason"),
        details={k: ev.data[k] for k in DETAIL_KEYS if k in ev.data},
        note=ev.note,
        sources=tuple(ev.sources),
    )
