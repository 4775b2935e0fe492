"""Cases as they stand, their steps, what is pending, and what a tick fired."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from treatyflow.definitions.basics import FactValue
from treatyflow.legal.clocks import Clock
from treatyflow.results._common import iso as _iso
from treatyflow.values import fact_to_json


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
    documents: tuple[DocumentInfo, ...] = ()
    """The documents attached to the case (``attach`` events visible at ``known_at``, not
    retracted), in log order."""

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
            "documents": [d.to_dict() for d in self.documents],
        }


@dataclass(frozen=True)
class DocumentInfo:
    """A document attached to a case's log (``case attach``): what its ``attach`` event
    records. The bytes are read with :meth:`treatyflow.Workspace.document`."""

    sha256: str
    """``sha256:`` and the 64 hex digits of the SHA-256 of its bytes."""
    name: str
    """The file name it was attached under."""
    size: int
    media_type: str
    """Guessed from the name (``application/pdf``); ``application/octet-stream`` if unknown."""
    kind: str | None
    """What sort of evidence it is (a source kind: ``decree``, ``note-verbale`` ...)."""
    level: str
    """Its evidence level: ``reported``, ``official`` or ``confirmed``."""
    seq: int
    """The ``attach`` event of the case that records it."""
    occurred_on: dt.date

    @property
    def short(self) -> str:
        """The digest as ``case history`` shows it: ``sha256:`` and 12 hex digits."""
        return self.sha256[:19]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "name": self.name,
            "size": self.size,
            "media_type": self.media_type,
            "kind": self.kind,
            "level": self.level,
            "seq": self.seq,
            "occurred_on": self.occurred_on.isoformat(),
        }


@dataclass(frozen=True)
class Attached:
    """``case attach``: the document attached, whether its bytes were new to the database
    (the same bytes attached before are stored once), and the case after the change."""

    case: CaseView
    document: DocumentInfo
    stored: bool
    """True when these bytes were stored now; False when the database held them already."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case.to_dict(),
            "document": self.document.to_dict(),
            "stored": self.stored,
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
