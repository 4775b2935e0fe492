"""Case-file imports and what changed between two recorded times."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


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
