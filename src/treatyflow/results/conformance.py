"""Deviations of a case from its procedure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
