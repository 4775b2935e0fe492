"""Definition versions: what changed between them, and moving running cases to a new one.

A case is pinned to the content hashes of the procedure and treaty it was opened under
(:mod:`treatyflow.app.core`); every version a case ever ran on stays stored in the
``definitions`` table. :func:`diff` compares those versions with the current definitions;
:func:`migrate` moves cases to the current versions, one ``migrated`` event per case, each in
its own write transaction (:meth:`Core.change`). A dry run computes the same plan and writes
nothing.

After a migration a case's dates are computed under the definitions named by its latest
``migrated`` event recorded by the read's ``known_at`` (else the opening pins), so a read
known at a time before the migration reproduces the old dates
(:meth:`Core.definitions_in_force`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError

from treatyflow import engine
from treatyflow.app.core import ChangeContext, Core, Definitions, id_order
from treatyflow.app.writes import evidence_missing
from treatyflow.definitions.procedure import Procedure
from treatyflow.definitions.treaty import Treaty
from treatyflow.errors import InvalidInput, NotFound, StateUnmapped
from treatyflow.events import Event, EventKind
from treatyflow.evidence import EventSource
from treatyflow.projection import Tally, effective_on, select
from treatyflow.results import (
    CaseMigration,
    ClockChange,
    DefinitionChange,
    DefinitionDiff,
    DefinitionVersion,
    EvidenceGap,
    GuardLost,
    MigrationResult,
)
from treatyflow.store.sql import CaseRecord
from treatyflow.values import check_actor, check_text

#: What ``case migrate`` can move cases to.
TARGETS = ("current",)


# ---------------------------------------------------------------------------- diff
def diff(core: Core, ident: str) -> DefinitionDiff:
    """The versions of the treaty or procedure ``ident`` that cases are (or were) pinned to,
    what changed from each to the current one, and which cases run on each."""
    check_text(ident, "id", 100)
    cat = core.catalog
    current: Treaty | Procedure | None = None
    current_hash: str | None = None
    if ident in cat.treaties:
        kind = "treaty"
        current, current_hash = cat.treaty(ident), cat.treaty_hash(ident)
    elif ident in cat.procedures:
        if cat.procedures[ident].part:
            users = sorted(
                pid for pid, p in cat.procedures.items() if ident in p.include and not p.part
            )
            raise InvalidInput(
                "id",
                ident,
                f"{ident!r} is a part, not a procedure a case runs on; compare the procedures "
                f"that include it ({', '.join(users) or 'none'}).",
            )
        kind = "procedure"
        current, current_hash = cat.procedure(ident), cat.procedure_hash(ident)
    else:
        kind = ""
    with core.store.read() as conn:
        stored_rows = [d for d in core.store.all_definitions(conn) if d["definition_id"] == ident]
        if not kind:
            if not stored_rows:
                known = sorted([*cat.treaties, *cat.whole_procedures()])
                raise NotFound(f"no treaty or procedure {ident!r}; known: {', '.join(known)}.")
            kind = str(stored_rows[0]["kind"])
        stored_rows = [d for d in stored_rows if d["kind"] == kind]
        pinned: dict[str, list[str]] = {}
        for record in core.store.list_cases(conn):
            pin = _pin(record, kind)
            if pin is not None and pin[0] == ident:
                pinned.setdefault(pin[1], []).append(record.id)
    stored = {str(d["hash"]): d for d in stored_rows}
    order = sorted(stored, key=lambda h: (str(stored[h]["stored_at"]), h))
    hashes = [h for h in order if h != current_hash]
    hashes += sorted(h for h in pinned if h not in stored and h != current_hash)
    if current_hash is not None:
        hashes.append(current_hash)
    versions = []
    for digest in hashes:
        changes: tuple[DefinitionChange, ...] = ()
        if current is not None and digest != current_hash and digest in stored:
            old = _model(kind).model_validate_json(str(stored[digest]["content"]))
            changes = tuple(compare(kind, old, current))
        versions.append(
            DefinitionVersion(
                hash=digest,
                current=digest == current_hash,
                stored=digest in stored,
                case_ids=tuple(sorted(pinned.get(digest, []), key=id_order)),
                changes=changes,
            )
        )
    return DefinitionDiff(kind=kind, id=ident, current_hash=current_hash, versions=tuple(versions))


def compare(kind: str, old: BaseModel, new: BaseModel) -> list[DefinitionChange]:
    """Every difference from ``old`` to ``new`` (two versions of one treaty or procedure):
    states, transitions and clocks are compared by their ids, everything else field by
    field."""
    out: list[DefinitionChange] = []
    _walk(_normalised(kind, old), _normalised(kind, new), (), kind, out)
    return out


def _normalised(kind: str, model: BaseModel) -> dict[str, Any]:
    data = model.model_dump(mode="json")
    if kind == "procedure":
        data["states"] = {s["id"]: s for s in data["states"]}
        data["transitions"] = {_transition_key(t): t for t in data["transitions"]}
        data["clocks"] = {c["name"]: c for c in data["clocks"]}
    return data


def _transition_key(t: Mapping[str, Any]) -> str:
    sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
    return f"{t['trigger']} from {'|'.join(sources)}"


def _walk(
    before: Any, after: Any, path: tuple[str, ...], kind: str, out: list[DefinitionChange]
) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            where = (*path, str(key))
            if key not in after:
                out.append(_change(kind, where, "removed", before[key], None))
            elif key not in before:
                out.append(_change(kind, where, "added", None, after[key]))
            else:
                _walk(before[key], after[key], where, kind, out)
    elif before != after:
        out.append(_change(kind, path, "changed", before, after))


def _change(
    kind: str, path: tuple[str, ...], change: str, before: Any, after: Any
) -> DefinitionChange:
    return DefinitionChange(_section(kind, path), ".".join(path), change, before, after)


def _section(kind: str, path: tuple[str, ...]) -> str:
    head = path[0] if path else ""
    if kind == "treaty":
        return {"actions": "clause", "facts": "facts"}.get(head, "definition")
    if head == "transitions" and len(path) > 2 and path[2] in ("guards", "evidence"):
        return path[2]
    if head in ("states", "transitions", "clocks", "facts"):
        return head
    return "definition"


def _model(kind: str) -> type[Treaty] | type[Procedure]:
    return Treaty if kind == "treaty" else Procedure


def _pin(record: CaseRecord, kind: str) -> tuple[str, str] | None:
    if kind == "treaty":
        return record.treaty, record.treaty_hash
    if kind == "procedure":
        return record.procedure, record.procedure_hash
    return None


# ---------------------------------------------------------------------------- migrate
def migrate(
    core: Core,
    case_ids: Sequence[str] = (),
    *,
    all_cases: bool = False,
    to: str = "current",
    mapping: Mapping[str, str] | None = None,
    dry_run: bool = False,
    actor: str,
) -> MigrationResult:
    """Move cases to the current versions of their procedure and treaty.

    Every case is planned first, in one read: a case that cannot be moved (a state it has
    been in has no counterpart and is not mapped) stops the whole run before anything is
    written. Then each case is moved in a write transaction of its own (re-planned there,
    version-checked). With ``all_cases``, every case not on the current versions.
    """
    if isinstance(case_ids, str):
        case_ids = [case_ids]  # one id, not its characters
    if to not in TARGETS:
        raise InvalidInput(
            "to", to, f"cases can be moved only to {', '.join(repr(t) for t in TARGETS)}."
        )
    if all_cases and case_ids:
        raise InvalidInput("case_ids", list(case_ids), "name cases or ask for all, not both.")
    if not all_cases and not case_ids:
        raise InvalidInput("case_ids", [], "name at least one case to migrate, or ask for all.")
    actor = check_actor(actor)
    states_map = _check_map_text(mapping or {})
    with core.store.read() as conn:
        if case_ids:
            records = [core.record(conn, c) for c in dict.fromkeys(case_ids)]
        else:
            records = [r for r in core.store.list_cases(conn) if _behind(core, r)]
        records.sort(key=lambda r: id_order(r.id))
        olds = {r.id: core.definitions_for(conn, r) for r in records}
        targets = {r.id: target(core, r) for r in records}
        _check_map_states(states_map, olds.values(), targets.values())
        plans = [
            plan_case(
                core,
                r,
                olds[r.id],
                targets[r.id],
                core.store.events(conn, r.id),
                states_map,
                actor,
            )[0]
            for r in records
        ]
    if dry_run:
        return MigrationResult(dry_run=True, cases=tuple(plans))
    done = []
    for plan in plans:
        done.append(_apply(core, plan, states_map, actor) if plan.changed else plan)
    return MigrationResult(dry_run=False, cases=tuple(done))


def _apply(
    core: Core, plan: CaseMigration, mapping: Mapping[str, str], actor: str
) -> CaseMigration:
    """Write the case's ``migrated`` event in one transaction, re-planned on what it reads."""
    outcome: list[CaseMigration] = []

    def change(record: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event | None:
        outcome.clear()
        new = target(core, record)
        planned, ev = plan_case(core, record, defs, new, ctx.events, mapping, actor)
        outcome.append(planned)
        if ev is None:
            return None
        review_hook(core, record, ev)
        now = core.now()
        core.store.save_definition(
            ctx.conn,
            new.procedure_hash,
            "procedure",
            new.procedure.id,
            new.procedure.model_dump_json(),
            now,
        )
        core.store.save_definition(
            ctx.conn, new.treaty_hash, "treaty", new.treaty.id, new.treaty.model_dump_json(), now
        )
        return ev

    record, _ctx = core.change(plan.id, change)
    planned = outcome[-1]
    if not planned.changed:
        return planned
    return replace(planned, applied=True, seq=record.version)


def review_hook(core: Core, record: CaseRecord, ev: Event) -> None:
    """HOOK(#13, team mode): a migration requires review.

    Issue #13 (keys, signatures, review) is built in parallel. When it lands, a workspace
    in team mode must route the ``migrated`` event ``ev`` through its review (propose now,
    apply on approval) instead of appending it at once; call that here. Until then this
    does nothing and the event is written directly.
    """


def target(core: Core, record: CaseRecord) -> Definitions:
    """The current versions of the case's procedure and treaty (what it would move to)."""
    proc = core.catalog.procedure(record.procedure)
    treaty = core.catalog.treaty(record.treaty)
    proc_hash = core.catalog.procedure_hash(record.procedure)
    treaty_hash = core.catalog.treaty_hash(record.treaty)
    return Definitions(proc, treaty, engine.machine_for(proc, proc_hash), proc_hash, treaty_hash)


def _behind(core: Core, record: CaseRecord) -> bool:
    return (
        core.current_procedure_hash(record.procedure) != record.procedure_hash
        or core.current_treaty_hash(record.treaty) != record.treaty_hash
    )


def _check_map_text(mapping: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for old, new in mapping.items():
        check_text(old, "map", 100)
        check_text(new, "map", 100)
        if not old or not new:
            raise InvalidInput("map", f"{old}={new}", "a state map entry is OLD_STATE=NEW_STATE.")
        out[old] = new
    return out


def _check_map_states(
    mapping: Mapping[str, str], olds: Iterable[Definitions], news: Iterable[Definitions]
) -> None:
    """Refuse a map naming a state no case's old version has, or a state the new versions
    lack."""
    old_states = {s for d in olds for s in d.procedure.state_ids}
    new_defs = list(news)
    for old, new in mapping.items():
        if old not in old_states:
            raise InvalidInput(
                "map",
                f"{old}={new}",
                f"{old!r} is not a state of the versions the cases run on "
                f"(states: {', '.join(sorted(old_states)) or 'none'}).",
            )
        for d in new_defs:
            if d.procedure.state(new) is None:
                raise InvalidInput(
                    "map",
                    f"{old}={new}",
                    f"{new!r} is not a state of the new version of procedure "
                    f"{d.procedure.id!r} (states: {', '.join(d.procedure.state_ids)}).",
                )


def plan_case(
    core: Core,
    record: CaseRecord,
    old: Definitions,
    new: Definitions,
    events: Sequence[Event],
    mapping: Mapping[str, str],
    actor: str,
) -> tuple[CaseMigration, Event | None]:
    """What moving the case from ``old`` to ``new`` does, and the (unsealed) ``migrated``
    event that does it (None when the case is on ``new`` already)."""
    changed = (old.procedure_hash, old.treaty_hash) != (new.procedure_hash, new.treaty_hash)
    today = core.today()
    before = core.fold(record, old, events, as_of=None)
    state_before = before.state or record.state
    visited = list(dict.fromkeys([*before.entered, state_before]))
    applied = {s: mapping[s] for s in visited if s in mapping}
    missing = [s for s in visited if s not in applied and new.procedure.state(s) is None]
    if changed and missing:
        raise StateUnmapped(record.id, record.procedure, missing, new.procedure.state_ids)
    state_after = applied.get(state_before, state_before)
    if not changed:
        plan = CaseMigration(
            id=record.id,
            procedure=record.procedure,
            treaty=record.treaty,
            procedure_hash_before=old.procedure_hash,
            procedure_hash_after=new.procedure_hash,
            treaty_hash_before=old.treaty_hash,
            treaty_hash_after=new.treaty_hash,
            state_before=state_before,
            state_after=state_before,
            map={},
            effective_on_before=effective_on(before.clocks),
            effective_on_after=effective_on(before.clocks),
            clocks=(),
            guards_no_longer_holding=(),
            evidence_missing=(),
            changed=False,
            applied=False,
            seq=None,
        )
        return plan, None
    ev = core.next_event(
        record,
        EventKind.MIGRATED,
        # the case's last legal date from its log, not the case row's unbound copy
        on=Tally.of(select(events)).last_on or dt.date.fromisoformat(record.opened_on),
        actor=actor,
        from_state=state_before,
        to_state=state_after,
        data={"map": applied},
    )
    after = core.fold(record, new, [*events, ev], as_of=None)
    plan = CaseMigration(
        id=record.id,
        procedure=record.procedure,
        treaty=record.treaty,
        procedure_hash_before=old.procedure_hash,
        procedure_hash_after=new.procedure_hash,
        treaty_hash_before=old.treaty_hash,
        treaty_hash_after=new.treaty_hash,
        state_before=state_before,
        state_after=state_after,
        map=applied,
        effective_on_before=effective_on(before.clocks),
        effective_on_after=effective_on(after.clocks),
        clocks=tuple(_clock_changes(before.clocks, after.clocks)),
        guards_no_longer_holding=tuple(
            _guards_lost(
                old, new, state_before, state_after, before.facts_on(today), after.facts_on(today)
            )
        ),
        evidence_missing=tuple(_evidence_gaps(old, new, events, applied)),
        changed=True,
        applied=False,
        seq=None,
    )
    data = {
        "from": {"procedure": old.procedure_hash, "treaty": old.treaty_hash},
        "to": {"procedure": new.procedure_hash, "treaty": new.treaty_hash},
        "map": applied,
        "plan": plan.plan(),
    }
    return plan, replace(ev, data=data)


def _clock_changes(before: Sequence[Any], after: Sequence[Any]) -> list[ClockChange]:
    old = {c.name: c.due_on for c in before}
    new = {c.name: c.due_on for c in after}
    names = [*old, *(n for n in new if n not in old)]
    return [ClockChange(n, old.get(n), new.get(n)) for n in names if old.get(n) != new.get(n)]


def _guards_lost(
    old: Definitions,
    new: Definitions,
    state_before: str,
    state_after: str,
    facts_before: Mapping[str, Any],
    facts_after: Mapping[str, Any],
) -> list[GuardLost]:
    """Analyst steps from the case's state that were ready and are blocked by a guard now."""
    ready = {
        s.spec.trigger
        for s in old.machine.steps(state_before, facts_before)
        if s.spec.clock is None and s.ready
    }
    return [
        GuardLost(s.spec.trigger, s.failures)
        for s in new.machine.steps(state_after, facts_after)
        if s.spec.clock is None and not s.ready and s.spec.trigger in ready
    ]


def _evidence_gaps(
    old: Definitions, new: Definitions, events: Sequence[Event], mapping: Mapping[str, str]
) -> list[EvidenceGap]:
    """Steps already taken whose sources met the old evidence rules and miss the new ones."""
    gaps = []
    for ev in events:
        if ev.kind is not EventKind.ADVANCE or not ev.trigger or ev.from_state is None:
            continue
        if "out-of-procedure" in ev.flags or "evidence-missing" in ev.flags:
            continue
        spec = new.machine.transition(mapping.get(ev.from_state, ev.from_state), ev.trigger)
        if spec is None or not spec.evidence:
            continue
        try:
            sources = [EventSource.model_validate(s) for s in ev.sources]
        except ValidationError:
            continue
        missing = evidence_missing(spec, sources)
        old_spec = old.machine.transition(ev.from_state, ev.trigger)
        if missing and not (old_spec is not None and evidence_missing(old_spec, sources)):
            gaps.append(EvidenceGap(ev.seq, ev.trigger, tuple(missing)))
    return gaps
