"""Events: the append-only record of everything that happened to a case.

An event is immutable once written. Its ``hash`` is SHA-256 over the canonical JSON
(:mod:`treatyflow.chain`) of every other field, including ``prev_hash``: the events of a
case form a hash chain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    """What an event records."""

    OPEN = "open"
    """The case was opened (at its procedure's initial state, or ``--at`` a later one)."""
    ADVANCE = "advance"
    """An analyst fired a trigger: the case moved from one state to another."""
    TAKE_EFFECT = "take-effect"
    """A clock came due and ``tick`` fired its transition (actor ``system``)."""
    SET_FACT = "set-fact"
    """A fact has a value from the event's legal date on."""
    NOTE = "note"
    """A note or a source, changing nothing else."""
    RECORD = "record"
    """A typed event that changes no state: objection, finding, judgment, press report..."""
    CORRECT = "correct"
    """A correction of an earlier event's legal date; the old event stays in the log."""
    MIGRATED = "migrated"
    """The case was moved to another version of its procedure and treaty (``case migrate``):
    ``data`` holds the old and new content hashes, the state map and the plan. Not a legal
    event: its legal date is the case's latest one, and it applies at every legal date from
    its record time on."""
    RETRACT = "retract"
    """A retraction of an earlier step recorded by mistake (``data.target_seq``, the reason
    in the note): the step stays in the log but no longer counts. When it had moved the case,
    ``from_state``/``to_state`` record the move back."""
    PROPOSE = "propose"
    """A step that needs review (team mode), proposed: the state does not change until a
    reviewer approves it (the approving event is the step itself) or rejects it."""
    REJECT = "reject"
    """A reviewer rejected a proposed step (``data.proposal_seq``); nothing else changes."""
    ATTACH = "attach"
    """A document was attached (``case attach``): ``data`` holds its digest (``sha256``),
    ``name``, ``size`` and ``media_type``, and its one source cites it by digest; the bytes
    are kept in the ``documents`` table. Changes nothing else."""


#: Kinds of typed, state-neutral events (``case record``).
RECORD_TYPES = ("objection", "finding", "judgment", "press-report", "statement", "other")

SYSTEM_ACTOR = "system"

#: The fields an event's hash covers (see docs/canonical-json.md), in canonical order.
HASHED_FIELDS = (
    "actor",
    "case_id",
    "data",
    "from_state",
    "kind",
    "note",
    "occurred_on",
    "prev_hash",
    "recorded_at",
    "seq",
    "sources",
    "to_state",
    "trigger",
)

#: An event's columns as the store and bundles carry them (the hashed fields and ``hash``),
#: in the order bundles and bulk inserts use; a test keeps every other list of them equal.
EVENT_COLUMNS = (
    "case_id",
    "seq",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "occurred_on",
    "recorded_at",
    "actor",
    "sources",
    "note",
    "data",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class Event:
    """One entry of a case's log (``case history``); immutable once written."""

    case_id: str
    seq: int
    kind: EventKind
    occurred_on: dt.date
    recorded_at: str
    """UTC timestamp, ISO 8601 with a trailing Z, microseconds."""
    actor: str
    trigger: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    sources: tuple[dict[str, Any], ...] = ()
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    """Kind-specific payload: facts, record type, correction target, flags."""
    prev_hash: str | None = None
    hash: str = ""
    signature: str | None = None
    """Ed25519 signature of ``hash`` (``ed25519:...``); None when unsigned. Not hashed."""
    key: str | None = None
    """Fingerprint (``SHA256:...``) of the key that signed it; None when unsigned."""
    recorded_by: str | None = field(default=None, compare=False)
    """The database login role that inserted it (PostgreSQL, set by the server); None on
    SQLite. Not part of the event's identity (not compared): the server adds it."""

    def hashed_fields(self) -> dict[str, Any]:
        """The fields the hash covers, as JSON-ready values."""
        return {
            "case_id": self.case_id,
            "seq": self.seq,
            "kind": str(self.kind),
            "trigger": self.trigger,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "occurred_on": self.occurred_on.isoformat(),
            "recorded_at": self.recorded_at,
            "actor": self.actor,
            "sources": list(self.sources),
            "note": self.note,
            "data": self.data,
            "prev_hash": self.prev_hash,
        }

    def to_json(self) -> dict[str, Any]:
        """The hashed fields, the hash, and who wrote it (signature, key, recorded_by; none of
        them hashed): the record bundles and reports carry."""
        out = self.hashed_fields()
        out["hash"] = self.hash
        out["signature"] = self.signature
        out["key"] = self.key
        out["recorded_by"] = self.recorded_by
        return out

    def to_dict(self) -> dict[str, Any]:
        """The event as ``case history --json`` shows it: :meth:`to_json` and ``occurred``
        (the legal date as known: earliest, latest, precision; derived, not hashed)."""
        from treatyflow.legal.dates import occurred_of

        out = self.to_json()
        out["occurred"] = occurred_of(self.occurred_on, self.data).to_json()
        return out

    @property
    def flags(self) -> list[str]:
        return list(self.data.get("flags", []))


def utc_now() -> str:
    """The current UTC time as stored in ``recorded_at``."""
    return recorded_text(dt.datetime.now(dt.UTC))


def recorded_text(moment: dt.datetime) -> str:
    """A UTC time (year 1000 or later) as stored in ``recorded_at``:
    ``2025-05-01T09:30:00.000000Z``, microseconds always written. The same text as
    ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")``, which rebuilds its format for ``%f`` on every
    call: ``isoformat`` takes 0.7 us less, once a change (#19)."""
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"
