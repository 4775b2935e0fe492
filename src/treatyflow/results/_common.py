"""Helpers shared by the result modules."""

from __future__ import annotations

import datetime as dt


def iso(day: dt.date | None) -> str | None:
    """ISO 8601 text of a date; None stays None."""
    return None if day is None else day.isoformat()
