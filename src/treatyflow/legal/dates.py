"""Imprecise legal dates: "on or before 1 Dec 2025", "12-16 May 2025", "July 2025".

Sources often date a step only roughly. A :class:`LegalDate` keeps the range: ``latest`` is the
day an event is ordered by (its ``occurred_on``), ``earliest`` the first possible day (``None``
when only an upper bound is known). An event stores a non-exact date in ``data["occurred"]``
(``{"earliest", "latest", "precision"}``); events without it are exact, so logs written before
imprecise dates existed keep their hashes and verify unchanged. See docs/legal-time.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["LegalDate", "Precision", "occurred_of", "parse_legal_date"]

_DAY = r"\d{4}-\d{2}-\d{2}"
_ON_OR_BEFORE = re.compile(rf"^(?:<=|≤)\s*({_DAY})$")
_BETWEEN = re.compile(rf"^({_DAY})\s*\.\.\s*({_DAY})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_EXACT = re.compile(rf"^{_DAY}$")


class Precision(StrEnum):
    """How precisely a legal date is known."""

    DAY = "day"
    ON_OR_BEFORE = "on-or-before"
    BETWEEN = "between"
    MONTH = "month"


@dataclass(frozen=True)
class LegalDate:
    """A legal date known to a day, or only within a range."""

    earliest: dt.date | None
    """The first possible day; ``None`` when only an upper bound is known."""
    latest: dt.date
    """The last possible day: the date the event is ordered by (its ``occurred_on``)."""
    precision: Precision

    @classmethod
    def day(cls, day: dt.date) -> LegalDate:
        return cls(day, day, Precision.DAY)

    @property
    def exact(self) -> bool:
        return self.precision is Precision.DAY

    def text(self) -> str:
        """As the matrix shows it: ``2025-06-27``, ``≤2025-12-01``, ``2025-05-12..2025-05-16``,
        ``2025-07``."""
        if self.precision is Precision.ON_OR_BEFORE:
            return f"≤{self.latest.isoformat()}"
        if self.precision is Precision.MONTH:
            return self.latest.strftime("%Y-%m")
        if self.precision is Precision.BETWEEN:
            assert self.earliest is not None
            return f"{self.earliest.isoformat()}..{self.latest.isoformat()}"
        return self.latest.isoformat()

    def to_json(self) -> dict[str, Any]:
        """History JSON's ``occurred``: ``{"earliest", "latest", "precision"}``."""
        return {
            "earliest": None if self.earliest is None else self.earliest.isoformat(),
            "latest": self.latest.isoformat(),
            "precision": self.precision.value,
        }

    def to_data(self) -> dict[str, Any] | None:
        """What an event stores in ``data["occurred"]``: nothing for an exact day."""
        return None if self.exact else self.to_json()


def parse_legal_date(text: str) -> LegalDate:
    """``2025-06-27``, ``<=2025-12-01`` (or ``≤``), ``2025-05-12..2025-05-16`` or ``2025-07``.

    Raises:
        ValueError: with one sentence saying what is wrong.
    """
    value = (text or "").strip()
    if _EXACT.match(value):
        return LegalDate.day(_day(value))
    if match := _ON_OR_BEFORE.match(value):
        return LegalDate(None, _day(match.group(1)), Precision.ON_OR_BEFORE)
    if match := _BETWEEN.match(value):
        first, last = _day(match.group(1)), _day(match.group(2))
        if first > last:
            raise ValueError(f"{text!r} ends before it starts.")
        if first == last:
            return LegalDate.day(first)
        return LegalDate(first, last, Precision.BETWEEN)
    if match := _MONTH.match(value):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r} is not a real month.")
        last_day = calendar.monthrange(year, month)[1]
        return LegalDate(dt.date(year, month, 1), dt.date(year, month, last_day), Precision.MONTH)
    raise ValueError(
        f"{text!r} is not an ISO 8601 date like 2025-06-27, nor a range like <=2025-12-01, "
        "2025-05-12..2025-05-16 or 2025-07."
    )


def occurred_of(occurred_on: dt.date, data: Mapping[str, Any]) -> LegalDate:
    """An event's legal date with its range (``data["occurred"]``), or the exact day.

    A range whose ``latest`` is no longer the event's ``occurred_on`` was superseded by a
    correction that re-dated the event: the corrected day is exact.
    """
    stored = data.get("occurred")
    if not isinstance(stored, Mapping) or stored.get("latest") != occurred_on.isoformat():
        return LegalDate.day(occurred_on)
    earliest = stored.get("earliest")
    return LegalDate(
        None if earliest is None else dt.date.fromisoformat(str(earliest)),
        occurred_on,
        Precision(str(stored.get("precision"))),
    )


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real calendar date.") from None
