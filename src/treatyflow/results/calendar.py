"""Upcoming legal dates (the calendar)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


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
