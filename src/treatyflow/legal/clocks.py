"""Legal clocks: the status and due date of one clause for one case, as of a legal date.

:func:`evaluate_clock` is pure: it reads the clause, the anchor date, the facts known and the
as-of date, and says whether the clock is running, due, suspended, unknown, satisfied or void,
with a sentence a lawyer can check. The service fires a DUE clock with ``occurred_on = due_on``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any

from treatyflow.definitions.treaty import Anchor, Clause, Condition, Convention, parse_duration
from treatyflow.legal.calendar import due_date, earliest_notice_date
from treatyflow.legal.facts import FactTimeline, FactValue, as_date, format_value, is_true, matches

__all__ = ["Clock", "ClockStatus", "check_notice", "evaluate_clock"]

NOTIFICATION_RECEIPT = "notification receipt"


class ClockStatus(StrEnum):
    """Where a clock stands on the as-of date."""

    RUNNING = "running"
    """The due date is known and still after the as-of date."""
    DUE = "due"
    """The due date is on or before the as-of date; the caller fires it with that date."""
    SUSPENDED = "suspended"
    """A known fact blocks effect (an armed conflict at expiry; an unmet condition)."""
    UNKNOWN = "unknown"
    """A date or fact the clock needs is not recorded (no receipt date; a fact with no value)."""
    SATISFIED = "satisfied"
    """The action took effect; ``due_on`` is the date it did."""
    VOID = "void"
    """The notification was revoked before it took effect (VCLT Art. 68)."""


@dataclass(frozen=True)
class Clock:
    """One clause's clock for one case, as of a legal date."""

    name: str
    status: ClockStatus
    due_on: dt.date | None
    basis: str
    started_on: dt.date | None
    """The anchor: the date of receipt (or of the notice)."""
    waiting_on: tuple[str, ...]
    """What it waits for or needs, e.g. ("armed_conflict=false",)."""
    flags: tuple[str, ...]
    """E.g. "month-end-review", "postponed", "may-be-postponed", "contested", "uncertain",
    "later-date-specified"."""
    explanation: str
    """Why this status and date, in a sentence or two."""

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of ``case show``'s ``clocks`` entries."""
        return {
            "name": self.name,
            "status": self.status.value,
            "due_on": None if self.due_on is None else self.due_on.isoformat(),
            "basis": self.basis,
            "started_on": None if self.started_on is None else self.started_on.isoformat(),
            "waiting_on": list(self.waiting_on),
            "flags": list(self.flags),
            "explanation": self.explanation,
        }

    def to_dict(self) -> dict[str, Any]:
        """The same as :meth:`to_json` (the name every API result shares)."""
        return self.to_json()


def evaluate_clock(
    name: str,
    clause: Clause,
    *,
    country: str,
    started_on: dt.date | None,
    facts: FactTimeline,
    as_of: dt.date,
    fired_on: dt.date | None = None,
    voided_on: dt.date | None = None,
    deadline: bool = False,
) -> Clock:
    """The clock of ``clause`` for a case of ``country`` anchored on ``started_on``.

    With ``deadline`` the clock is a time limit for a step (it fires nothing): it is
    SATISFIED once the step is taken (``fired_on``) and its texts speak of a date falling due
    rather than of an action taking effect.

    Order of rules: revoked → VOID; fired → SATISFIED; no anchor → UNKNOWN; otherwise the
    convention's date, then a later specified date, then postponement (Art. 20(3) style), then
    conditions; the result is RUNNING (due after ``as_of``), DUE, SUSPENDED or UNKNOWN.
    Fact changes dated after ``as_of`` are not in force on ``as_of`` and are ignored.
    """
    flags = _Flags()
    if clause.contested:
        flags.add("contested")
    if clause.uncertain:
        flags.add("uncertain")

    def make(
        status: ClockStatus,
        due_on: dt.date | None,
        explanation: str,
        waiting_on: tuple[str, ...] = (),
    ) -> Clock:
        return Clock(
            name=name,
            status=status,
            due_on=due_on,
            basis=clause.basis,
            started_on=started_on,
            waiting_on=waiting_on,
            flags=flags.as_tuple(),
            explanation=explanation,
        )

    takes, took = ("falls due", "was met") if deadline else ("takes effect", "took effect")
    if voided_on is not None and deadline:
        return make(
            ClockStatus.VOID,
            None,
            f"The clock stopped on {voided_on.isoformat()}: the case reached a state that "
            "ends it.",
        )
    if voided_on is not None:
        return make(
            ClockStatus.VOID,
            None,
            f"The notification was revoked on {voided_on.isoformat()}, before it took effect "
            "(VCLT Art. 68), so it will not take effect.",
        )
    if fired_on is not None:
        return make(
            ClockStatus.SATISFIED,
            fired_on,
            f"It {took} on {fired_on.isoformat()} under {clause.basis}.",
        )
    if started_on is None:
        starts = (
            "when the notice is given"
            if clause.anchor is Anchor.NOTICE
            else "when the depositary (or the other party) receives the notification"
        )
        return make(
            ClockStatus.UNKNOWN,
            None,
            f"The clock starts {starts} (VCLT Art. 78(b)); no such date is recorded yet.",
            (NOTIFICATION_RECEIPT,),
        )

    facts = facts.until(as_of)  # a change dated after as_of is not in force yet
    base = due_date(clause, started_on)
    expiry = base.day
    sentences = [
        f"{_anchor_phrase(clause)} on {started_on.isoformat()}; {_convention_phrase(clause)} "
        f"gives {expiry.isoformat()}"
        + (
            " (the target day does not exist in that month, so the month's last day is used"
            " and the date needs review)"
            if base.month_end_adjusted
            else ""
        )
        + "."
    ]
    if base.month_end_adjusted:
        flags.add("month-end-review")

    due: dt.date | None = expiry
    waiting: list[str] = []
    suspended = False
    unknown = False

    if clause.later_date_fact:
        later = as_date(facts.current().get(clause.later_date_fact))
        if later is not None and later > expiry:
            due = later
            flags.add("later-date-specified")
            sentences.append(
                f"The notification specifies the later date {later.isoformat()}, which prevails."
            )

    if clause.postpone_while:
        fact = clause.postpone_while
        requirement = f"{fact}=false"
        if as_of < expiry:
            if is_true(facts.value_on(fact, as_of)):
                flags.add("may-be-postponed")
                sentences.append(
                    f"{fact} is true; if it still is on {expiry.isoformat()}, effect is "
                    f"postponed until it ends ({clause.article})."
                )
        else:
            at_expiry = facts.value_on(fact, expiry)
            if at_expiry is None:
                unknown = True
                waiting.append(requirement)
                sentences.append(
                    f"Whether {fact} held on {expiry.isoformat()} is not recorded, and "
                    f"{clause.article} postpones effect while it does."
                )
            elif is_true(at_expiry):
                flags.add("postponed")
                end = facts.first_day_from(fact, expiry, lambda value: not is_true(value))
                if end is None:
                    suspended = True
                    waiting.append(requirement)
                    sentences.append(
                        f"{fact} was true on the expiry of the period ({expiry.isoformat()}), "
                        f"so under {clause.article} effect waits for its end; no end is "
                        "recorded."
                    )
                else:
                    due = max(end, due) if due is not None else end
                    sentences.append(
                        f"{fact} was true on the expiry of the period ({expiry.isoformat()}) "
                        f"and ended on {end.isoformat()}, so effect is postponed to "
                        f"{due.isoformat()}."
                    )

    for condition in _applicable(clause.conditions, country):
        requirement = f"{condition.fact}={format_value(condition.equals)}"
        if not facts.is_known(condition.fact):
            unknown = True
            waiting.append(requirement)
            sentences.append(
                f"Effect needs {requirement} ({condition.basis}); the fact is not recorded."
            )
            continue
        if due is None or suspended or unknown:
            if not matches(facts.current().get(condition.fact), condition.equals):
                waiting.append(requirement)
            continue
        start: dt.date = due
        met_on = facts.first_day_from(condition.fact, start, partial(_holds, condition.equals))
        if met_on is None:
            suspended = True
            waiting.append(requirement)
            sentences.append(
                f"Effect also needs {requirement} ({condition.basis}); it does not hold, so "
                f"effect waits for the first day from {start.isoformat()} on which it does."
            )
        elif met_on > start:
            due = met_on
            sentences.append(
                f"Effect also needs {requirement} ({condition.basis}); it first holds on "
                f"{met_on.isoformat()}."
            )

    if suspended:
        return make(ClockStatus.SUSPENDED, None, " ".join(sentences), tuple(waiting))
    if unknown or due is None:
        return make(ClockStatus.UNKNOWN, None, " ".join(sentences), tuple(waiting))
    if due > as_of:
        lead = "Unless postponed, it" if "may-be-postponed" in flags else "It"
        sentences.append(
            f"{lead} {takes} on {due.isoformat()}, after the as-of date {as_of.isoformat()}."
        )
        return make(ClockStatus.RUNNING, due, " ".join(sentences), tuple(waiting))
    sentences.append(
        f"That date is on or before the as-of date {as_of.isoformat()}, so it {takes} on "
        f"{due.isoformat()}."
    )
    return make(ClockStatus.DUE, due, " ".join(sentences), tuple(waiting))


def check_notice(clause: Clause, *, notice_on: dt.date, facts: FactTimeline) -> list[str]:
    """Problems with giving the notice on ``notice_on``; empty when none are known.

    Paris Art. 28(1) / Kyoto Art. 27(1): no notice before three years after entry into force
    for that Party (the anniversary itself is allowed). An unknown entry-into-force date yields
    no problem: the rule cannot be checked, which the caller may show separately.
    """
    rule = clause.earliest_notice
    earliest = earliest_notice_date(clause, facts)
    if rule is None or earliest is None or notice_on >= earliest:
        return []
    since = as_date(facts.current().get(rule.from_fact))
    since_text = "" if since is None else f" ({rule.from_fact} is {since.isoformat()})"
    return [
        f"The notice of {notice_on.isoformat()} is too early: {rule.basis}; the first day "
        f"a notice may be given is {earliest.isoformat()}{since_text}."
    ]


def _holds(expected: FactValue, value: FactValue | None) -> bool:
    return matches(value, expected)


class _Flags:
    """An ordered set of flag names."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, flag: str) -> None:
        self._items[flag] = None

    def __contains__(self, flag: object) -> bool:
        return flag in self._items

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(self._items)


def _applicable(conditions: list[Condition], country: str) -> list[Condition]:
    """Conditions for this country: those with no country list, or listing it."""
    code = country.upper()
    return [c for c in conditions if not c.countries or code in {x.upper() for x in c.countries}]


def _anchor_phrase(clause: Clause) -> str:
    if clause.anchor is Anchor.NOTICE:
        return "Notice given"
    return "Notification received"


def _duration_phrase(period: str) -> str:
    years, months, days = parse_duration(period)
    parts = [
        f"{count} {unit}{'' if count == 1 else 's'}"
        for count, unit in ((years, "year"), (months, "month"), (days, "day"))
        if count
    ]
    return " and ".join(parts) or "no time"


def _convention_phrase(clause: Clause) -> str:
    convention = clause.convention
    period = _duration_phrase(clause.period) if clause.period else ""
    if convention is Convention.SAME_DAY:
        text = f"the same calendar day {period} later"
    elif convention is Convention.PLUS_ONE_DAY:
        text = f"{period} plus one day"
    elif convention is Convention.FIRST_OF_FOLLOWING_MONTH:
        text = f"the first day of the month after {period} expire"
    elif convention is Convention.DECEMBER_31_FOLLOWING_YEAR:
        text = "31 December of the year after the notice"
    elif convention is Convention.FIXED_ANNUAL_DATE and clause.fixed_annual is not None:
        rule = clause.fixed_annual
        text = (
            f"the {rule.effect} (MM-DD) of the first year whose {rule.notice_by} cut-off "
            "the notice met"
        )
    elif convention is Convention.DAYS:
        text = f"{clause.days} days"
    else:  # pragma: no cover - validated clauses always fit a branch above
        text = convention.value
    if clause.offset_days:
        text += f" plus {clause.offset_days} day{'' if clause.offset_days == 1 else 's'}"
    return f"{clause.article} ({text})"
