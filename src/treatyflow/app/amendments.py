"""Changing what was recorded: correct a step's legal date, retract a step, and the four
eyes' review of a proposal (approve, reject).

Like :mod:`treatyflow.app.writes`, each function appends one event in one write transaction
(:meth:`Core.change`) after checking it, and writes nothing when a check fails. A correction
or a retraction changes how earlier events count: the case's projection row is tallied afresh
from its log (:func:`treatyflow.app.projections.track`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from treatyflow.app.core import (
    ChangeContext,
    Core,
    Definitions,
    iso_map,
)
from treatyflow.errors import (
    InvalidInput,
    NotAuthorised,
    RetractionRefused,
    SelfApproval,
)
from treatyflow.events import Event, EventKind
from treatyflow.evidence import Source
from treatyflow.projection import clause_for, retracted_seqs, select
from treatyflow.store.sql import CaseRecord
from treatyflow.values import (
    check_actor,
    check_sources,
    check_text,
)


def check_roles(core: Core, ctx: ChangeContext, roles: Sequence[str], doing: str) -> None:
    """In a team (a signed write), the signer must hold one of ``roles`` (none: anyone)."""
    if not roles:
        return
    record = core.signer_record(ctx.registry)
    if record is None:
        return  # no identity, no roles: a single analyst's database
    if not set(record.roles) & set(roles):
        raise NotAuthorised(
            record.name,
            f"{doing} needs the role {' or '.join(roles)}; {record.name!r} has "
            f"{', '.join(record.roles) or 'none'}.",
        )


def correct(
    core: Core,
    case_id: str,
    seq: int,
    *,
    on: dt.date,
    reason: str,
    actor: str,
    sources: Sequence[Source] = (),
) -> tuple[CaseRecord, ChangeContext]:
    """Correct the legal date of event ``seq``; the old event stays in the log."""
    actor = check_actor(actor)
    check_sources(sources, "sources")
    why = check_text(reason, "reason")
    if not why or not why.strip():
        raise InvalidInput("reason", reason, "a correction needs a reason.")

    def change(record: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event:
        events, st = ctx.events, ctx.state
        target = next((e for e in events if e.seq == seq), None)
        if (
            target is None
            or target.kind in (EventKind.CORRECT, EventKind.RETRACT)
            or seq in retracted_seqs(events)
        ):
            raise InvalidInput("seq", seq, f"case {record.id!r} has no correctable event {seq}.")
        policy = defs.procedure.corrections
        check_roles(core, ctx, policy.roles if policy else [], "correcting a legal date")
        current = select(events)[seq - 1].occurred_on
        before = {c.name: c.due_on for c in st.clocks}
        if policy is not None and policy.review == "required" and ctx.registry.required:
            correction = {
                "target_seq": seq,
                "occurred_on": on.isoformat(),
                "previous_occurred_on": current.isoformat(),
            }
            return core.next_event(
                record,
                EventKind.PROPOSE,
                on=on,
                actor=actor,
                trigger="correct",
                sources=sources,
                note=why,
                data={"proposal": {"kind": "correct", "data": correction}},
            )
        ev = core.next_event(
            record,
            EventKind.CORRECT,
            on=on,
            actor=actor,
            sources=sources,
            note=why,
            data={
                "target_seq": seq,
                "occurred_on": on.isoformat(),
                "previous_occurred_on": current.isoformat(),
                "due_before": iso_map(before),
            },
        )
        after = core.fold(record, defs, [*events, ev], as_of=None)
        ev.data["due_after"] = iso_map({c.name: c.due_on for c in after.clocks})
        return ev

    return core.change(case_id, change)


# ---------------------------------------------------------------------------- review
def approve(
    core: Core, case_id: str, seq: int, *, actor: str, note: str | None = None
) -> tuple[CaseRecord, ChangeContext]:
    """Apply the proposed step ``seq`` (four eyes): by a reviewer who did not propose it,
    with the proposal's legal date and sources. The approving event is the step itself."""
    actor = check_actor(actor)
    note = check_text(note, "note")

    def change(record: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event:
        reviewer = _reviewer(core, ctx, "approve a proposed step")
        proposal = _open_proposal(record, ctx.events, seq)
        if proposal.actor == reviewer:
            raise SelfApproval(reviewer, record.id, seq)
        spec = proposal.data["proposal"]
        data = {**spec["data"], "proposal_seq": seq, "proposed_by": proposal.actor}
        if spec["kind"] == "advance":
            if record.state != spec["from_state"]:
                raise InvalidInput(
                    "seq",
                    seq,
                    f"case {record.id!r} has moved from {spec['from_state']!r} to "
                    f"{record.state!r} since step {seq} was proposed; reject it instead.",
                )
            ev = core.next_event(
                record,
                EventKind.ADVANCE,
                on=proposal.occurred_on,
                actor=actor,
                trigger=proposal.trigger,
                from_state=record.state,
                to_state=spec["to_state"],
                note=note if note is not None else proposal.note,
                data=data,
            )
            return replace(ev, sources=proposal.sources)
        events, st = ctx.events, ctx.state
        data["due_before"] = iso_map({c.name: c.due_on for c in st.clocks})
        ev = core.next_event(
            record,
            EventKind.CORRECT,
            on=proposal.occurred_on,
            actor=actor,
            note=proposal.note,
            data=data,
        )
        ev = replace(ev, sources=proposal.sources)
        after = core.fold(record, defs, [*events, ev], as_of=None)
        ev.data["due_after"] = iso_map({c.name: c.due_on for c in after.clocks})
        return ev

    return core.change(case_id, change)


def reject(
    core: Core, case_id: str, seq: int, *, actor: str, reason: str
) -> tuple[CaseRecord, ChangeContext]:
    """Close the proposed step ``seq`` without applying it (a reviewer, or its proposer
    withdrawing it); nothing else changes."""
    actor = check_actor(actor)
    why = check_text(reason, "reason")
    if not why or not why.strip():
        raise InvalidInput("reason", reason, "a rejection needs a reason.")

    def change(record: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event:
        proposal = _open_proposal(record, ctx.events, seq)
        signer = core.signer_record(ctx.registry)
        if signer is None or signer.name != proposal.actor:
            _reviewer(core, ctx, "reject a proposed step")
        return core.next_event(
            record,
            EventKind.REJECT,
            on=proposal.occurred_on,
            actor=actor,
            trigger=proposal.trigger,
            note=why,
            data={"proposal_seq": seq, "proposed_by": proposal.actor},
        )

    return core.change(case_id, change)


def _reviewer(core: Core, ctx: ChangeContext, doing: str) -> str:
    """The signing reviewer's name; refused without a registered key with the role."""
    record = core.signer_record(ctx.registry)
    if record is None:
        raise NotAuthorised(None, f"only a reviewer's registered key may {doing}.")
    if "reviewer" not in record.roles:
        raise NotAuthorised(record.name, f"{record.name!r} is not a reviewer and may not {doing}.")
    return record.name


def _open_proposal(record: CaseRecord, events: Sequence[Event], seq: int) -> Event:
    proposal = next((e for e in events if e.seq == seq), None)
    if proposal is None or proposal.kind is not EventKind.PROPOSE:
        raise InvalidInput("seq", seq, f"case {record.id!r} has no proposed step {seq}.")
    closed = next((e for e in events if e.data.get("proposal_seq") == seq), None)
    if closed is not None:
        what = "rejected" if closed.kind is EventKind.REJECT else "approved"
        raise InvalidInput(
            "seq",
            seq,
            f"step {seq} of case {record.id!r} was already {what} (event {closed.seq}).",
        )
    return proposal


def retract(
    core: Core,
    case_id: str,
    seq: int,
    *,
    reason: str,
    actor: str,
) -> tuple[CaseRecord, ChangeContext]:
    """Take back event ``seq``, recorded by mistake: it stays in the log but stops counting.

    Refused (:class:`RetractionRefused`) for the opening, a clock firing, a correction, a
    retraction, an event already retracted, and a step later steps depend on: a state
    transition followed by another transition, or a fact read by a later transition's
    guards or a later clock firing.
    """
    actor = check_actor(actor)
    why = check_text(reason, "reason")
    if not why or not why.strip():
        raise InvalidInput("reason", reason, "a retraction needs a reason.")

    def change(record: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event:
        events = ctx.events
        target = next((e for e in events if e.seq == seq), None)
        if target is None:
            raise InvalidInput("seq", seq, f"case {record.id!r} has no event {seq}.")
        gone = retracted_seqs(events)
        refuse = _not_retractable(target, gone)
        if refuse:
            raise RetractionRefused(record.id, seq, refuse)
        counted = [
            e
            for e in events
            if e.seq > seq and e.seq not in gone and e.kind is not EventKind.RETRACT
        ]
        dependents = _dependents(target, counted, defs, record.action)
        if dependents:
            raise RetractionRefused(
                record.id,
                seq,
                "later steps depend on it: " + ", ".join(dependents),
                dependents,
            )
        before = {c.name: c.due_on for c in ctx.state.clocks}
        ev = core.next_event(
            record,
            EventKind.RETRACT,
            on=select(events)[seq - 1].occurred_on,
            actor=actor,
            note=why,
            data={"target_seq": seq, "target_kind": str(target.kind), "due_before": {}},
        )
        after = core.fold(record, defs, [*events, ev], as_of=None)
        if after.state != record.state:
            ev = replace(ev, from_state=record.state, to_state=after.state)
        ev.data["due_before"] = iso_map(before)
        ev.data["due_after"] = iso_map({c.name: c.due_on for c in after.clocks})
        return ev

    return core.change(case_id, change)


def _not_retractable(target: Event, gone: set[int]) -> str:
    """Why ``target`` is not an event a retraction can take back ("" when it is)."""
    if target.seq in gone:
        return "it is already retracted"
    if target.kind is EventKind.OPEN:
        return "the opening cannot be retracted (a case opened by mistake is left, not undone)"
    if target.kind is EventKind.RETRACT:
        return "a retraction cannot be retracted"
    if target.kind is EventKind.CORRECT:
        return "a correction is undone by another correction, not retracted"
    if target.data.get("clock"):
        return (
            "a clock firing follows from the log; retract or correct the step or fact "
            "that made the clock come due"
        )
    return ""


def _dependents(
    target: Event, later: Sequence[Event], defs: Definitions, action: str
) -> list[str]:
    """The later events (``seq trigger``) that rely on ``target``."""
    out: list[str] = []
    if target.to_state is not None:
        # Every later transition left the state this one entered, or a later one.
        out = [f"{e.seq} {e.trigger}" for e in later if e.to_state is not None]
    elif target.kind is EventKind.SET_FACT:
        names = set(target.data.get("facts", {}))
        for e in later:
            if e.to_state is None:
                continue
            if e.data.get("clock"):
                spec = defs.procedure.clock(e.data["clock"])
                clause = clause_for(spec, defs.treaty, action) if spec is not None else None
                read = _facts_read(clause) if clause is not None else names
            else:
                tr = defs.machine.transition(e.from_state or "", e.trigger or "")
                read = {g.fact for g in tr.guards} if tr is not None else set()
            if names & read:
                out.append(f"{e.seq} {e.trigger}")
    return out


def _facts_read(clause: Any) -> set[str]:
    """The fact names a treaty clause reads (its ``fact`` and ``*_fact`` fields, nested)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and (key == "fact" or key.endswith(("_fact", "_while"))):
                    found.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(clause.model_dump())
    return found
