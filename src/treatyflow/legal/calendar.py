"""Depositary calendars: from a clause and an anchor date to the date a withdrawal takes effect.

Each :class:`~treatyflow.definitions.treaty.Convention` is one counting rule observed in
practice (docs/legal-time.md gives the legal source and a worked example of each). All
functions here are pure: no I/O, no clock.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from treatyflow.definitions.basics import Convention, parse_duration
from treatyflow.legal.facts import FactTimeline, as_date

if TYPE_CHECKING:
    from treatyflow.definitions.treaty import Clause, FixedAnnualDate

__all__ = [
    "DueDate",
    "add_months_clipped",
    "due_date",
    "earliest_notice_date",
    "fixed_annual_due",
]

_FIXED_ANNUAL_SEARCH_YEARS = 3


@dataclass(frozen=True)
class DueDate:
    """A computed date, and whether month-end clipping decided it."""

    day: dt.date
    month_end_adjusted: bool
    """True when the target day did not exist in the target month (31 Aug + 6 months)."""


def add_months_clipped(d: dt.date, months: int) -> tuple[dt.date, bool]:
    """``d`` plus ``months`` calendar months; a day missing from the target month becomes its
    last day (31 Aug + 6 months = 28/29 Feb). Returns the date and whether it was clipped."""
    result = _shift_months(d, months)
    return result, result.day != d.day


def _shift_months(d: dt.date, months: int) -> dt.date:
    """``d`` moved by ``months`` calendar months, the day clipped to the target month's last
    (what ``dateutil``'s ``relativedelta(months=months)`` gives; the standard library's
    ``calendar`` keeps the dependency off every command's start-up)."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + months, 12)
    last = _stdlib_calendar.monthrange(year, month0 + 1)[1] if 1 <= year <= 9999 else 31
    return d.replace(year=year, month=month0 + 1, day=min(d.day, last))


def _add_duration(anchor: dt.date, period: str) -> DueDate:
    """The anchor plus an ISO 8601 duration: years and months first (clipped), then days."""
    years, months, days = parse_duration(period)
    shifted, clipped = add_months_clipped(anchor, 12 * years + months)
    return DueDate(shifted + dt.timedelta(days=days), clipped)


def _day_in_year(year: int, month_day: str) -> tuple[dt.date, bool]:
    """``MM-DD`` in ``year``; a day the month lacks (02-29 in 2025) becomes the month's last."""
    month, day = (int(part) for part in month_day.split("-"))
    last = _stdlib_calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day, last)), day > last


def fixed_annual_due(rule: FixedAnnualDate, anchor: dt.date) -> DueDate:
    """ICRW Art. XI: the effect day of the first year Y whose cut-off (on or before) the notice
    met, provided the effect day comes after the notice."""
    for year in range(anchor.year, anchor.year + _FIXED_ANNUAL_SEARCH_YEARS):
        cutoff, cutoff_clipped = _day_in_year(year, rule.notice_by)
        effect, effect_clipped = _day_in_year(year, rule.effect)
        if anchor <= cutoff and effect > anchor:
            return DueDate(effect, cutoff_clipped or effect_clipped)
    raise ValueError(  # pragma: no cover - any MM-DD pair finds a year within three
        f"no year after {anchor.isoformat()} fits fixed annual date {rule.effect}"
    )


def due_date(clause: Clause, anchor: dt.date) -> DueDate:
    """The date the clause's period ends and the action takes effect, counted from ``anchor``.

    ``anchor`` is already the date the clause counts from (receipt by the depositary, or the
    notice date); ``clause.anchor`` only says which. ``clause.offset_days`` is added last.
    """
    convention = clause.convention
    if convention is Convention.SAME_DAY:
        result = _add_duration(anchor, _need(clause.period, clause))
    elif convention is Convention.PLUS_ONE_DAY:
        base = _add_duration(anchor, _need(clause.period, clause))
        result = DueDate(base.day + dt.timedelta(days=1), base.month_end_adjusted)
    elif convention is Convention.FIRST_OF_FOLLOWING_MONTH:
        expiry = _add_duration(anchor, _need(clause.period, clause))
        first = _shift_months(expiry.day.replace(day=1), 1)
        result = DueDate(first, expiry.month_end_adjusted)
    elif convention is Convention.DECEMBER_31_FOLLOWING_YEAR:
        result = DueDate(dt.date(anchor.year + 1, 12, 31), False)
    elif convention is Convention.FIXED_ANNUAL_DATE:
        rule = clause.fixed_annual
        if rule is None:
            raise ValueError(
                f"{clause.article}: convention 'fixed-annual-date' needs fixed_annual"
            )
        result = fixed_annual_due(rule, anchor)
    elif convention is Convention.DAYS:
        if clause.days is None:
            raise ValueError(f"{clause.article}: convention 'days' needs days")
        result = DueDate(anchor + dt.timedelta(days=clause.days), False)
    else:  # pragma: no cover - exhaustive over Convention
        raise ValueError(f"unknown convention {convention!r}")
    if clause.offset_days:
        result = DueDate(
            result.day + dt.timedelta(days=clause.offset_days), result.month_end_adjusted
        )
    return result


def earliest_notice_date(clause: Clause, facts: FactTimeline) -> dt.date | None:
    """The first day a notice is allowed (Paris Art. 28(1), Kyoto Art. 27(1)).

    The period runs from the date held by ``clause.earliest_notice.from_fact`` (entry into force
    for the Party, its latest known value) and the anniversary itself is allowed, as the UN
    applied it to the USA on 4 Nov 2019. ``None`` when the clause has no such rule or the fact
    is unknown or not a date.
    """
    rule = clause.earliest_notice
    if rule is None:
        return None
    value = facts.current().get(rule.from_fact)
    start = as_date(value)
    if start is None:
        return None
    return _add_duration(start, rule.after).day


def _need(period: str | None, clause: Clause) -> str:
    if period is None:
        raise ValueError(f"{clause.article}: convention {clause.convention.value!r} needs period")
    return period
