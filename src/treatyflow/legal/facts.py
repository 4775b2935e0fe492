"""Time-varying facts: each fact has a value from a legal date on.

A fact (``armed_conflict``, ``specified_date``, ``dues_paid`` ...) is set by events that carry a
*legal* date (``occurred_on``). Between two changes the value is constant, so a timeline is a
step function per fact. The service builds the timeline from the events it has already filtered
(``--as-of`` / ``--known-at``); this module never looks at the clock.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping

from treatyflow.definitions.basics import FactValue

__all__ = ["FactTimeline", "FactValue", "as_date", "format_value", "is_true", "matches"]


class FactTimeline:
    """Time-varying facts: each fact has a value from a legal date on.

    ``changes`` may come in any order; they are sorted by date, and when one fact changes twice
    on the same date the later one in the input wins (the sort is stable). ``defaults`` give the
    value a fact has before any change; a ``None`` default means "no default". ``assumed`` names
    the facts whose default is an assumption standing in for an assessment (``armed_conflict``):
    :meth:`is_assumed` tells a clock that it relies on one.
    """

    def __init__(
        self,
        changes: Iterable[tuple[str, dt.date, FactValue]],
        defaults: Mapping[str, FactValue | None] | None = None,
        assumed: Iterable[str] = (),
    ) -> None:
        per_fact: dict[str, list[tuple[dt.date, FactValue]]] = {}
        for name, day, value in sorted(changes, key=lambda change: change[1]):
            steps = per_fact.setdefault(name, [])
            if steps and steps[-1][0] == day:
                steps[-1] = (day, value)  # the later change on the same date wins
            else:
                steps.append((day, value))
        self._steps = per_fact
        self._days = {name: [day for day, _ in steps] for name, steps in per_fact.items()}
        self._defaults: dict[str, FactValue] = {
            name: value for name, value in (defaults or {}).items() if value is not None
        }
        self._assumed = frozenset(assumed)

    def value_on(self, name: str, day: dt.date) -> FactValue | None:
        """The value in force on ``day``: the last change on or before it, else the default."""
        steps = self._steps.get(name)
        if steps:
            index = bisect_right(self._days[name], day)
            if index:
                return steps[index - 1][1]
        return self._defaults.get(name)

    def current(self) -> dict[str, FactValue]:
        """The latest value of every fact, plus the defaults of facts never set."""
        result = dict(self._defaults)
        for name, steps in self._steps.items():
            result[name] = steps[-1][1]
        return result

    def first_day_from(
        self,
        name: str,
        start: dt.date,
        predicate: Callable[[FactValue | None], bool],
    ) -> dt.date | None:
        """The first day on or after ``start`` on which ``predicate(value)`` holds.

        ``None`` when it never holds given the changes known now (the value after the last
        change lasts for ever).
        """
        if predicate(self.value_on(name, start)):
            return start
        for day, value in self._steps.get(name, []):
            if day > start and predicate(value):
                return day
        return None

    def is_known(self, name: str) -> bool:
        """True when an event has set the fact or it has a default."""
        return name in self._steps or name in self._defaults

    def is_assumed(self, name: str) -> bool:
        """True when no event has set the fact and its value is only an assumed default."""
        return name in self._assumed and name in self._defaults and name not in self._steps

    def until(self, day: dt.date) -> FactTimeline:
        """The same timeline without the changes dated after ``day`` (what is in force by then)."""
        kept = [
            (name, when, value)
            for name, steps in self._steps.items()
            for when, value in steps
            if when <= day
        ]
        return FactTimeline(kept, self._defaults, self._assumed)

    def changes_of(self, name: str) -> tuple[tuple[dt.date, FactValue], ...]:
        """The effective changes of one fact, oldest first (one per date)."""
        return tuple(self._steps.get(name, []))


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def is_true(value: FactValue | None) -> bool:
    """Whether a boolean fact holds; tolerates the strings 'true'/'false' from a CLI."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return False


def matches(value: FactValue | None, expected: FactValue) -> bool:
    """Whether a fact's value equals the expected one (a boolean may arrive as a string)."""
    if value is None:
        return False
    if isinstance(expected, bool):
        if isinstance(value, bool):
            return value is expected
        if isinstance(value, str):
            text = value.strip().lower()
            return text in (_TRUE if expected else _FALSE)
        return False
    if isinstance(value, bool):
        return False
    return value == expected


def format_value(value: FactValue | None) -> str:
    """A fact value as the CLI spells it: true/false, ISO dates, plain numbers and text."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def as_date(value: object) -> dt.date | None:
    """A date fact, which may arrive as a date or an ISO string; ``None`` if it is neither."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
