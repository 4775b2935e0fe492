"""Typed results of the public API.

Every read and write of :class:`treatyflow.Workspace` returns one of these frozen
dataclasses: dates are :class:`datetime.date`, facts are typed values (``bool``, ``date``,
``int``, ``float``, ``str``), lists are tuples. Each has ``to_dict()``, which returns exactly
the JSON document the command line prints with ``--json`` for the same read (the CLI prints
nothing else), so a notebook can go straight to ``pandas.DataFrame([r.to_dict() for r in
...])``.

Two result types come from the domain core and are re-exported as they are:
:class:`treatyflow.legal.clocks.Clock` (a clause's clock) and :class:`treatyflow.events.Event`
(one event of a case's log); both have ``to_dict()`` too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from treatyflow.chain import ChainFault
from treatyflow.definitions.treaty import FactValue
from treatyflow.legal.clocks import Clock
from treatyflow.values import fact_to_json

__all__ = [
    "AdvanceOutcome",
    "BundleResult",
    "CalendarItem",
    "CalendarList",
    "CaseChange",
    "CaseConformance",
    "CaseFileImport",
    "CaseMigration",
    "CaseSummary",
    "CaseView",
    "Changes",
    "CheckpointResult",
    "ClockChange",
    "DefinitionChange",
    "DefinitionDiff",
    "DefinitionVersion",
    "Deviation",
    "EvidenceGap",
    "FieldChange",
    "Fired",
    "GuardLost",
    "KeyInfo",
    "MigrationResult",
    "PendingItem",
    "PendingList",
    "RecordedEvent",
    "RecordedSince",
    "Review",
    "SearchHit",
    "SearchResult",
    "Step",
    "TickFailure",
    "TickResult",
    "VerifyResult",
]


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


@dataclass(frozen=True)
class Step:
    """A step the procedure expects next from the case's state."""

    trigger: str
    title: str | None
    to_state: str
    institution: str | None
    """Who acts: the institution named by the procedure, or ``system (clock)``."""
    ready: bool
    """Its guards hold on the as-of date."""
    guards_not_met: tuple[str, ...]
    evidence: tuple[Mapping[str, Any], ...]
    """The evidence the step requires (kind, minimum level, reference, description)."""
    clock: str | None
    """The clock that fires it (``tick``), or None for an analyst's step."""
    optional: bool
    contested: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "title": self.title,
            "to_state": self.to_state,
            "institution": self.institution,
            "ready": self.ready,
            "guards_not_met": list(self.guards_not_met),
            "evidence": [dict(e) for e in self.evidence],
            "clock": self.clock,
            "optional": self.optional,
            "contested": self.contested,
        }


@dataclass(frozen=True)
class CaseView:
    """A case as of a legal date (and as known at a record time): ``case show``."""

    id: str
    country: str
    country_name: str
    """The party's name (a State's ISO 3166-1 name, or an organisation's)."""
    treaty: str
    treaty_name: str
    procedure: str
    procedure_title: str
    procedure_hash: str
    procedure_current: bool
    """The case runs under the procedure version the definitions have now."""
    treaty_hash: str
    """The content hash of the treaty version the dates are computed under."""
    treaty_current: bool
    """The case runs under the treaty version the definitions have now."""
    definitions_since: str | None
    """When (UTC) the case moved to these definition versions (its latest ``migrated``
    event recorded by ``known_at``); None: the versions it was opened under."""
    action: str
    state: str
    state_title: str
    final: bool
    version: int
    """The number of events in the case's log (visible at ``known_at``)."""
    allowed: tuple[str, ...]
    """The triggers an analyst may fire from the state."""
    facts: Mapping[str, FactValue]
    effective_on: dt.date | None
    """When the action takes (or took) effect as far as it can be computed; None while
    unknown, suspended or revoked."""
    clocks: tuple[Clock, ...]
    steps: tuple[Step, ...]
    opened_on: dt.date
    last_on: dt.date | None
    head_hash: str | None
    flags: tuple[str, ...]
    as_of: dt.date
    known_at: str | None
    awaiting_review: tuple[Review, ...] = ()
    """Proposed steps no reviewer has approved or rejected yet (team mode)."""

    def clock(self, name: str) -> Clock | None:
        """The clock called ``name`` (``effect``, ``objection_period`` ...), if any."""
        return next((c for c in self.clocks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "country": self.country,
            "country_name": self.country_name,
            "treaty": self.treaty,
            "treaty_name": self.treaty_name,
            "procedure": self.procedure,
            "procedure_title": self.procedure_title,
            "procedure_hash": self.procedure_hash,
            "procedure_current": self.procedure_current,
            "treaty_hash": self.treaty_hash,
            "treaty_current": self.treaty_current,
            "definitions_since": self.definitions_since,
            "action": self.action,
            "state": self.state,
            "state_title": self.state_title,
            "final": self.final,
            "version": self.version,
            "allowed": list(self.allowed),
            "facts": {k: fact_to_json(v) for k, v in sorted(self.facts.items())},
            "effective_on": _iso(self.effective_on),
            "clocks": [c.to_json() for c in self.clocks],
            "steps": [s.to_dict() for s in self.steps],
            "opened_on": self.opened_on.isoformat(),
            "last_on": _iso(self.last_on),
            "head_hash": self.head_hash,
            "flags": list(self.flags),
            "as_of": self.as_of.isoformat(),
            "known_at": self.known_at,
            "awaiting_review": [r.to_dict() for r in self.awaiting_review],
        }


@dataclass(frozen=True)
class CaseSummary:
    """One line of ``case list``: the case row, without folding its log."""

    id: str
    country: str
    treaty: str
    action: str
    procedure: str
    state: str
    version: int
    opened_on: dt.date
    last_on: dt.date

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "country": self.country,
            "treaty": self.treaty,
            "action": self.action,
            "procedure": self.procedure,
            "state": self.state,
            "version": self.version,
            "opened_on": self.opened_on.isoformat(),
            "last_on": self.last_on.isoformat(),
        }


@dataclass(frozen=True)
class Review:
    """A proposed step awaiting a second reviewer (team mode's four eyes)."""

    seq: int
    """The proposal's event; ``case approve CASE_ID SEQ`` applies it."""
    trigger: str
    """The trigger proposed, or ``correct`` for a correction of a legal date."""
    proposed_by: str
    on: dt.date
    """The legal date the step will take when approved."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "trigger": self.trigger,
            "proposed_by": self.proposed_by,
            "on": self.on.isoformat(),
        }


@dataclass(frozen=True)
class KeyInfo:
    """A key in the registry (``keys list``)."""

    name: str
    fingerprint: str
    """OpenSSH's ``SHA256:...`` fingerprint, as events' ``key`` names it."""
    public_key: str
    roles: tuple[str, ...]
    added: str
    """UTC record time of its registration."""
    retired: str | None
    """UTC record time of its retirement; None while it is valid."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "public_key": self.public_key,
            "roles": list(self.roles),
            "added": self.added,
            "retired": self.retired,
        }


@dataclass(frozen=True)
class PendingItem:
    """One open case in ``pending``: its next date, who must act, its clocks."""

    id: str
    country: str
    country_name: str
    treaty: str
    action: str
    state: str
    state_title: str
    next_date: dt.date | None
    """The earliest date still open: a running, due or suspended clock's due date."""
    overdue: bool
    """A clock is due and has not fired (run ``tick``)."""
    blocked: bool
    """No step is ready, no clock runs and nothing is overdue."""
    steps: tuple[Step, ...]
    clocks: tuple[Clock, ...]
    effective_on: dt.date | None
    flags: tuple[str, ...]
    awaiting_review: tuple[Review, ...] = ()
    """Proposed steps no reviewer has approved or rejected yet (team mode)."""

    def sort_key(self) -> tuple[bool, str, str]:
        """The listing's order: nearest next date first, undated last, then id."""
        return (self.next_date is None, _iso(self.next_date) or "", self.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "country": self.country,
            "country_name": self.country_name,
            "treaty": self.treaty,
            "action": self.action,
            "state": self.state,
            "state_title": self.state_title,
            "next_date": _iso(self.next_date),
            "overdue": self.overdue,
            "blocked": self.blocked,
            "steps": [s.to_dict() for s in self.steps],
            "clocks": [c.to_json() for c in self.clocks],
            "effective_on": _iso(self.effective_on),
            "flags": list(self.flags),
            "awaiting_review": [r.to_dict() for r in self.awaiting_review],
        }


@dataclass(frozen=True)
class PendingList:
    """``pending``: every open case as of a date, nearest date first."""

    as_of: dt.date
    known_at: str | None
    cases: tuple[PendingItem, ...]
    groups: Mapping[str, tuple[str, ...]] | None = None
    """With ``group_by``: group name -> case ids, the names sorted."""
    due_by: dt.date | None = None
    """With ``due_within``: only cases whose next date is on or before it (overdue ones
    included); the document then has a ``due_by`` key."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "known_at": self.known_at,
        }
        if self.due_by is not None:
            out["due_by"] = self.due_by.isoformat()
        out["cases"] = [c.to_dict() for c in self.cases]
        if self.groups is not None:
            out["groups"] = {k: list(v) for k, v in self.groups.items()}
        return out


@dataclass(frozen=True)
class AdvanceOutcome:
    """What became of one request of ``advance_many`` (one line of ``case advance-many``)."""

    line: int
    """The request's position in the input, from 1 (a line number)."""
    case: str | None
    """The case it names (None when a malformed request names none)."""
    ok: bool
    state: str | None = None
    """The case's state after the step (unchanged when the step awaits review)."""
    version: int | None = None
    seq: int | None = None
    """The sequence number of the event written."""
    kind: str | None = None
    """The event written: ``advance``, or ``propose`` when the step awaits review."""
    error: str | None = None
    """Why nothing was written: one sentence."""
    error_type: str | None = None
    """The error's class (``TransitionNotAllowed``, ``InvalidInput`` ...)."""
    code: int | None = None
    """The exit status ``case advance`` would end with: 1 a refused or failed step, 2 a
    malformed request (a usage error)."""

    def to_dict(self) -> dict[str, Any]:
        if self.ok:
            return {
                "line": self.line,
                "case": self.case,
                "ok": True,
                "state": self.state,
                "version": self.version,
                "seq": self.seq,
                "kind": self.kind,
            }
        return {
            "line": self.line,
            "case": self.case,
            "ok": False,
            "error": self.error,
            "error_type": self.error_type,
            "code": self.code,
        }


@dataclass(frozen=True)
class Fired:
    """A clock ``tick`` fired: the case moved to ``to_state`` on the legal date ``on``."""

    case: str
    clock: str
    on: dt.date
    to_state: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "clock": self.clock,
            "on": self.on.isoformat(),
            "to_state": self.to_state,
        }


@dataclass(frozen=True)
class TickFailure:
    """A case ``tick`` could not fire (its other cases still fired)."""

    case: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "error": self.error}


@dataclass(frozen=True)
class TickResult:
    """What one ``tick`` fired (and, per case, what it could not)."""

    as_of: dt.date
    fired: tuple[Fired, ...]
    failed: tuple[TickFailure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "fired": [f.to_dict() for f in self.fired],
        }
        if self.failed:
            out["failed"] = [f.to_dict() for f in self.failed]
        return out


@dataclass(frozen=True)
class VerifyResult:
    """``verify``: every case's chain checked; ``problems`` name the case and first bad seq."""

    cases: int
    problems: tuple[ChainFault, ...]
    checkpoint: Mapping[str, Any] | None = None
    """With a checkpoint: its path and the number of cases it covers."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "ok": self.ok,
            "cases": self.cases,
            "problems": [
                {"case": f.case_id, "seq": f.seq, "reason": f.reason} for f in self.problems
            ],
        }
        if self.checkpoint is not None:
            doc["checkpoint"] = dict(self.checkpoint)
        return doc


@dataclass(frozen=True)
class Deviation:
    """One step of a case that departs from its procedure (``conformance``)."""

    seq: int
    occurred_on: dt.date
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    flags: tuple[str, ...]
    reason: str | None
    details: Mapping[str, Any]
    note: str | None
    sources: tuple[Mapping[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "occurred_on": self.occurred_on.isoformat(),
            "kind": self.kind,
            "trigger": self.trigger,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "flags": list(self.flags),
            "reason": self.reason,
            "details": dict(self.details),
            "note": self.note,
            "sources": [dict(s) for s in self.sources],
        }


@dataclass(frozen=True)
class CaseConformance:
    """A case's deviations from its procedure, with their sources."""

    id: str
    country: str
    treaty: str
    action: str
    procedure: str
    conforms: bool
    deviations: tuple[Deviation, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "country": self.country,
            "treaty": self.treaty,
            "action": self.action,
            "procedure": self.procedure,
            "conforms": self.conforms,
            "deviations": [d.to_dict() for d in self.deviations],
        }


@dataclass(frozen=True)
class BundleResult:
    """What ``export``, ``import`` or ``verify --bundle`` did with a bundle file.

    ``counts`` are the numbers of definitions, cases and events; ``heads_digest`` is the
    digest over every case's chain head (the same as a checkpoint's). ``details`` are the
    other keys the command prints with ``--json``.
    """

    bundle: str
    counts: Mapping[str, int]
    heads_digest: str | None
    problems: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"bundle": self.bundle, **self.details}


@dataclass(frozen=True)
class CheckpointResult:
    """A checkpoint written: where, how many cases it covers and its digest."""

    checkpoint: str
    cases: int
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "cases": self.cases, "digest": self.digest}


@dataclass(frozen=True)
class DefinitionChange:
    """One difference between two versions of a treaty or procedure."""

    section: str
    """What changed: ``states``, ``transitions``, ``guards``, ``evidence``, ``clocks``,
    ``facts``, ``clause`` (a treaty's clause fields) or ``definition`` (anything else)."""
    path: str
    """Where, e.g. ``actions.withdrawal.period`` or ``states.decided``."""
    change: str
    """``added``, ``removed`` or ``changed``."""
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "path": self.path,
            "change": self.change,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class DefinitionVersion:
    """One stored (or the current) version of a definition and the cases running on it."""

    hash: str
    current: bool
    """It is the version the definitions have now."""
    stored: bool
    """A snapshot of it is in the database (every version a case ever ran on is)."""
    case_ids: tuple[str, ...]
    """The cases pinned to it now."""
    changes: tuple[DefinitionChange, ...]
    """What changed from it to the current version (empty for the current one, or when the
    current definitions no longer have it)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "current": self.current,
            "stored": self.stored,
            "cases": len(self.case_ids),
            "case_ids": list(self.case_ids),
            "changes": [c.to_dict() for c in self.changes],
        }


@dataclass(frozen=True)
class DefinitionDiff:
    """``workflow diff``: a treaty's or procedure's versions, what changed, who runs on each."""

    kind: str
    """``treaty`` or ``procedure``."""
    id: str
    current_hash: str | None
    """None when the definitions no longer have it."""
    versions: tuple[DefinitionVersion, ...]
    """Older versions first (by the time their snapshot was stored), the current one last."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "current_hash": self.current_hash,
            "versions": [v.to_dict() for v in self.versions],
        }


@dataclass(frozen=True)
class ClockChange:
    """A clock whose due date a migration changes."""

    name: str
    before: dt.date | None
    after: dt.date | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "before": _iso(self.before), "after": _iso(self.after)}


@dataclass(frozen=True)
class GuardLost:
    """A step from the case's state that was ready and whose guards no longer hold."""

    trigger: str
    failures: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"trigger": self.trigger, "failures": list(self.failures)}


@dataclass(frozen=True)
class EvidenceGap:
    """A step already taken whose cited sources the new version's evidence rules reject."""

    seq: int
    trigger: str
    missing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "trigger": self.trigger, "missing": list(self.missing)}


@dataclass(frozen=True)
class CaseMigration:
    """What a migration does (or did) to one case: ``case migrate``."""

    id: str
    procedure: str
    treaty: str
    procedure_hash_before: str
    procedure_hash_after: str
    treaty_hash_before: str
    treaty_hash_after: str
    state_before: str
    state_after: str
    map: Mapping[str, str]
    """The states mapped (OLD -> NEW) for this case."""
    effective_on_before: dt.date | None
    effective_on_after: dt.date | None
    clocks: tuple[ClockChange, ...]
    """The clocks whose due dates change."""
    guards_no_longer_holding: tuple[GuardLost, ...]
    evidence_missing: tuple[EvidenceGap, ...]
    changed: bool
    """The case is not on the target versions yet (False: nothing to do)."""
    applied: bool
    """The ``migrated`` event was written (False on a dry run)."""
    seq: int | None
    """The ``migrated`` event's seq once applied."""

    def plan(self) -> dict[str, Any]:
        """The plan as the ``migrated`` event's data keeps it."""
        return {
            "state_before": self.state_before,
            "state_after": self.state_after,
            "effective_on_before": _iso(self.effective_on_before),
            "effective_on_after": _iso(self.effective_on_after),
            "clocks": [c.to_dict() for c in self.clocks],
            "guards_no_longer_holding": [g.to_dict() for g in self.guards_no_longer_holding],
            "evidence_missing": [g.to_dict() for g in self.evidence_missing],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "procedure": self.procedure,
            "treaty": self.treaty,
            "procedure_hash_before": self.procedure_hash_before,
            "procedure_hash_after": self.procedure_hash_after,
            "treaty_hash_before": self.treaty_hash_before,
            "treaty_hash_after": self.treaty_hash_after,
            "map": dict(self.map),
            **self.plan(),
            "changed": self.changed,
            "applied": self.applied,
            "seq": self.seq,
        }


@dataclass(frozen=True)
class MigrationResult:
    """``case migrate``: the plan (and, unless a dry run, the outcome) per case, in id order."""

    dry_run: bool
    cases: tuple[CaseMigration, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "cases": [c.to_dict() for c in self.cases]}


@dataclass(frozen=True)
class SearchHit:
    """One event a search found: where it is, a snippet of its text and how well it matched.

    ``marks`` are the (start, end) character offsets of the matched words in ``snippet``.
    """

    case_id: str
    seq: int
    kind: str
    occurred_on: dt.date
    recorded_at: str
    snippet: str
    marks: tuple[tuple[int, int], ...]
    rank: float
    """Higher is better; comparable within one result only."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "seq": self.seq,
            "kind": self.kind,
            "occurred_on": self.occurred_on.isoformat(),
            "recorded_at": self.recorded_at,
            "snippet": self.snippet,
            "marks": [list(m) for m in self.marks],
            "rank": round(self.rank, 6),
        }


@dataclass(frozen=True)
class SearchResult:
    """``search``: the events whose notes or sources hold every word, best match first."""

    query: str
    words: tuple[str, ...]
    """The words searched for, as the query was read (punctuation dropped)."""
    case_id: str | None
    limit: int
    hits: tuple[SearchHit, ...]
    more: bool
    """There are more matches than ``limit``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "words": list(self.words),
            "case_id": self.case_id,
            "limit": self.limit,
            "more": self.more,
            "hits": [h.to_dict() for h in self.hits],
        }


@dataclass(frozen=True)
class RecordedEvent:
    """An event recorded in the window of :class:`RecordedSince`."""

    case_id: str
    seq: int
    kind: str
    trigger: str | None
    to_state: str | None
    occurred_on: dt.date
    recorded_at: str
    actor: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "seq": self.seq,
            "kind": self.kind,
            "trigger": self.trigger,
            "to_state": self.to_state,
            "occurred_on": self.occurred_on.isoformat(),
            "recorded_at": self.recorded_at,
            "actor": self.actor,
        }


@dataclass(frozen=True)
class RecordedSince:
    """What was recorded since a record time: the events, per case (cases by id)."""

    since: str
    cases: Mapping[str, tuple[RecordedEvent, ...]]
    limit: int
    more: bool
    """More events were recorded in the window than ``limit``; the oldest are listed."""

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.cases.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "limit": self.limit,
            "more": self.more,
            "cases": {k: [e.to_dict() for e in v] for k, v in self.cases.items()},
        }


@dataclass(frozen=True)
class CaseFileImport:
    """A case file imported (``case import``): the case, how many events the import added
    (clock firings between the steps included) and whether the log already had it all."""

    path: str
    case_id: str
    events_added: int
    created: bool
    """The case did not exist before this import."""

    @property
    def unchanged(self) -> bool:
        """The log already held every step of the file: nothing was written."""
        return self.events_added == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "case_id": self.case_id,
            "events_added": self.events_added,
            "created": self.created,
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True)
class FieldChange:
    """One field of a case that differs between two record times: ``old`` -> ``new``.

    ``field`` is ``state``, ``effective_on``, ``clock:NAME`` (its due date and status),
    ``fact:NAME`` or ``flags``; the values are JSON-ready (text, dates as ISO text, lists).
    """

    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class CaseChange:
    """A case whose view changed between two record times (``report diff``)."""

    id: str
    country: str
    treaty: str
    action: str
    state: str
    """The state as known at the later time."""
    new: bool
    """Nothing of the case had been recorded at the earlier time."""
    changes: tuple[FieldChange, ...]
    events: int
    """How many events were recorded between the two times."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "country": self.country,
            "treaty": self.treaty,
            "action": self.action,
            "state": self.state,
            "new": self.new,
            "events": self.events,
            "changes": [c.to_dict() for c in self.changes],
        }


@dataclass(frozen=True)
class Changes:
    """Every case whose state, effective date, clock dates, facts or flags differ between
    what was recorded by ``since`` and by ``until``, both read as of the legal date
    ``as_of`` (``report diff``, the weekly brief)."""

    since: str
    until: str
    as_of: dt.date
    cases: tuple[CaseChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "as_of": self.as_of.isoformat(),
            "cases": [c.to_dict() for c in self.cases],
        }


@dataclass(frozen=True)
class CalendarItem:
    """One upcoming legal date of ``calendar``: a case's clock that is running or due."""

    uid: str
    """Stable across runs (``{case}-{clock}@treatyflow``): calendars update, not duplicate."""
    case: str
    clock: str
    status: str
    date: dt.date
    summary: str
    basis: str
    explanation: str
    state: str | None
    to_state: str | None
    country: str | None
    treaty: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "case": self.case,
            "clock": self.clock,
            "status": self.status,
            "date": self.date.isoformat(),
            "summary": self.summary,
            "basis": self.basis,
            "explanation": self.explanation,
            "state": self.state,
            "to_state": self.to_state,
            "country": self.country,
            "treaty": self.treaty,
        }


@dataclass(frozen=True)
class CalendarList:
    """The upcoming legal dates as of a day (``calendar --json``), soonest first;
    ``alarms`` are the reminders (days before each date) the iCalendar file carries."""

    as_of: dt.date
    alarms: tuple[int, ...]
    items: tuple[CalendarItem, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "alarms": list(self.alarms),
            "items": [i.to_dict() for i in self.items],
        }
