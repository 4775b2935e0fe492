"""What the definitions share that is not a pydantic model: the enumerations, the fact value
type, the id pattern and durations, and the read-only methods of the models.

Kept apart from :mod:`~treatyflow.definitions.treaty` and
:mod:`~treatyflow.definitions.procedure` so that reading a case with a cached catalogue
(:mod:`treatyflow.definitions.plain`) needs neither pydantic nor the models: the models
and their plain twins both take their read methods from the classes here.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from treatyflow.definitions.procedure import ClockSpec, StateSpec

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?$"
)


class Convention(StrEnum):
    """How a depositary counts the period (see docs/legal-time.md)."""

    SAME_DAY = "same-day"
    """The same calendar day N months/years after the anchor (UN Secretary-General)."""
    PLUS_ONE_DAY = "plus-one-day"
    """The period, then one more day (World Bank for ICSID; Portugal for the ECT)."""
    FIRST_OF_FOLLOWING_MONTH = "first-of-following-month"
    """The first day of the month after the period expires (Council of Europe)."""
    DECEMBER_31_FOLLOWING_YEAR = "december-31-following-year"
    """31 December of the year after the year of the notice (UNESCO Art. II(6))."""
    FIXED_ANNUAL_DATE = "fixed-annual-date"
    """A fixed day of the year, if notice arrived by a cut-off (ICRW Art. XI)."""
    DAYS = "days"
    """A count of days after the anchor (CFE Art. XIX: 150 days)."""


class Anchor(StrEnum):
    """Which date starts the clock."""

    RECEIPT = "receipt"
    """The date the depositary (or the other party) received the notification (VCLT Art. 78(b))."""
    NOTICE = "notice"
    """The date the notice was given (where practice counts from the note itself)."""


class FactType(StrEnum):
    BOOLEAN = "boolean"
    DATE = "date"
    NUMBER = "number"
    TEXT = "text"


FactValue = bool | dt.date | int | float | str


def check_duration(value: str) -> str:
    match = _DURATION.match(value)
    if not match or value == "P":
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as 'P6M' or 'P1Y'")
    return value


@functools.lru_cache(maxsize=1024)
def parse_duration(value: str) -> tuple[int, int, int]:
    """Split an ISO 8601 date duration into (years, months, days); weeks count as 7 days."""
    match = _DURATION.match(check_duration(value))
    assert match is not None
    parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    return parts["years"], parts["months"], parts["weeks"] * 7 + parts["days"]


def show_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------ read methods of the models
# Each is inherited by the pydantic model and by its plain twin: one body for both.


# The classes declare no annotations of their own: pydantic would take them for fields.


class _GuardFields(Protocol):
    @property
    def fact(self) -> str: ...
    @property
    def equals(self) -> Any: ...
    @property
    def not_equals(self) -> Any: ...


class _TransitionFields(Protocol):
    @property
    def source(self) -> str | list[str]: ...


class _ProcedureFields(Protocol):
    @property
    def states(self) -> list[StateSpec]: ...

    @property
    def clocks(self) -> list[ClockSpec]: ...


class GuardReads:
    def describe(self: _GuardFields) -> str:
        if self.not_equals is not None:
            return f"{self.fact} is not {show_value(self.not_equals)}"
        return f"{self.fact} is {show_value(self.equals)}"


class TransitionReads:
    @property
    def sources(self: _TransitionFields) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)


class ProcedureReads:
    # (lookups by loops, not next() over a generator: a generator left unfinished is closed
    # by raising GeneratorExit in it, ~0.5 us, several times a change, #19)
    def state(self: _ProcedureFields, state_id: str) -> StateSpec | None:
        for spec in self.states:
            if spec.id == state_id:
                return spec
        return None

    def clock(self: _ProcedureFields, name: str) -> ClockSpec | None:
        """The procedure's clock ``name``, if it has one."""
        for spec in self.clocks:
            if spec.name == name:
                return spec
        return None

    @property
    def state_ids(self: _ProcedureFields) -> list[str]:
        return [s.id for s in self.states]
