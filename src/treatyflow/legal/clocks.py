"""Legal clocks: the status and due date of one clause for one case, as of a legal date.

:func:`evaluate_clock` is pure: it reads the clause, the anchor date, the facts known and the
as-of date, and says whether the clock is running, due, suspended, unknown, satisfied or void,
with a sentence a lawyer can check. The service fires a DUE clock with ``occurred_on = due_on``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any

from treatyflow.definitions.basics import Anchor, Convention, parse_duration
from treatyflow.legal.calendar import add_months_clipped, due_date, earliest_notice_date
from treatyflow.legal.dates import LegalDate
from treatyflow.legal.facts import FactTimeline, FactValue, as_date, format_value, is_true, matches

if TYPE_CHECKING:
    from treatyflow.definitions.treaty import Clause, Condition, SurvivalPeriod

__all__ = [
    "Clock",
    "ClockIssue",
    "ClockStatus",
    "check_notice",
    "evaluate_clock",
    "notice_defects",
    "survival_clock",
]

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
class ClockIssue:
    """Why a clock carries a review flag: what is missing and the article that asks for it."""

    flag: str
    """``defective-notice``, ``unassessed`` or ``no-withdrawal-right``."""
    subject: str
    """The requirement or the fact concerned: ``statement-of-reasons``, ``armed_conflict``."""
    basis: str
    """The article (and its words) behind the flag."""
    text: str
    """The flag explained in a sentence."""

    def to_json(self) -> dict[str, str]:
        return {"flag": self.flag, "subject": self.subject, "basis": self.basis, "text": self.text}


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
    issues: tuple[ClockIssue, ...] = ()
    """The details behind the flags defective-notice, unassessed and no-withdrawal-right."""
    due_range: tuple[dt.date | None, dt.date] | None = None
    """Earliest and latest due dates when the anchor is imprecise (flag ``imprecise-date``);
    ``due_on`` is the latest. The earliest is ``None`` when the anchor has no lower bound."""

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
            "issues": [issue.to_json() for issue in self.issues],
            "due_range": None
            if self.due_range is None
            else {
                "earliest": None if self.due_range[0] is None else self.due_range[0].isoformat(),
                "latest": self.due_range[1].isoformat(),
            },
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
    void_cause: str | None = None,
    evidence_kinds: Collection[str] = (),
    started_range: LegalDate | None = None,
) -> Clock:
    """The clock of ``clause`` for a case of ``country`` anchored on ``started_on``.

    With ``deadline`` the clock is a time limit for a step (it fires nothing): it is
    SATISFIED once the step is taken (``fired_on``) and its texts speak of a date falling due
    rather than of an action taking effect. ``void_cause`` says what ended a void clock ("the
    case entered 'disputed' ..."); without it a void clock was ended by a revocation.
    ``evidence_kinds`` are the source kinds recorded on the case, checked against the clause's
    notice requirements (flag ``defective-notice``). ``started_range`` is the anchor when it is
    known only as a range (``started_on`` is then its latest day): the clock gives its earliest
    and latest due dates (``due_range``) and is flagged ``imprecise-date``.

    Order of rules: revoked → VOID; no right for this party → UNKNOWN; fired → SATISFIED; no
    anchor → UNKNOWN; otherwise the convention's date, then a later specified date, then
    postponement (Art. 20(3) style), then conditions; the result is RUNNING (due after
    ``as_of``), DUE, SUSPENDED or UNKNOWN. Fact changes dated after ``as_of`` are not in force
    on ``as_of`` and are ignored. Facts only assumed (an unassessed default) keep the date but
    flag the clock ``unassessed``.
    """
    flags = _Flags()
    issues: list[ClockIssue] = []
    if clause.contested:
        flags.add("contested")
    if clause.uncertain:
        flags.add("uncertain")
    notes = [f"{s.what} ({s.basis})." for s in clause.survival if s.period is None]
    earliest_due: list[dt.date | None] = []

    def make(
        status: ClockStatus,
        due_on: dt.date | None,
        explanation: str,
        waiting_on: tuple[str, ...] = (),
    ) -> Clock:
        for issue in issues:
            flags.add(issue.flag)
        extra = [issue.text for issue in issues if issue.text not in explanation]
        if status is not ClockStatus.VOID:
            extra += notes
        explanation = " ".join([explanation, *extra]) if extra else explanation
        due_range = None
        if (
            earliest_due
            and due_on is not None
            and status in (ClockStatus.RUNNING, ClockStatus.DUE)
        ):
            due_range = (earliest_due[0], due_on)
        return Clock(
            name=name,
            status=status,
            due_on=due_on,
            basis=clause.basis,
            started_on=started_on,
            waiting_on=waiting_on,
            flags=flags.as_tuple(),
            explanation=explanation,
            issues=tuple(issues),
            due_range=due_range,
        )

    takes, took = ("falls due", "was met") if deadline else ("takes effect", "took effect")
    if voided_on is not None:
        day = voided_on.isoformat()
        if void_cause is not None:
            return make(
                ClockStatus.VOID,
                None,
                f"The clock ended on {day}: {void_cause}, before it came due.",
            )
        if deadline:
            return make(
                ClockStatus.VOID,
                None,
                f"The clock stopped on {day}: the case reached a state that ends it.",
            )
        return make(
            ClockStatus.VOID,
            None,
            f"The notification was revoked on {day}, before it took effect "
            "(VCLT Art. 68), so it will not take effect.",
        )
    code = country.upper()
    if clause.available_to and code not in {c.upper() for c in clause.available_to}:
        issues.append(
            ClockIssue(
                "no-withdrawal-right",
                code,
                clause.article,
                f"The rule applied ({clause.basis}) is available only to "
                f"{', '.join(clause.available_to)}, not to {code}.",
            )
        )
        return make(ClockStatus.UNKNOWN, None, clause.unavailable or "")
    if started_on is not None:
        issues += notice_defects(clause, evidence_kinds)
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

    rule = clause.earliest_notice
    if rule is not None and as_date(facts.current().get(rule.from_fact)) is None:
        issues.append(
            ClockIssue(
                "unassessed",
                rule.from_fact,
                rule.basis,
                f"{rule.from_fact} is not recorded, so the bar of {_duration_phrase(rule.after)} "
                f"went unchecked ({rule.basis}): whether the notice of "
                f"{started_on.isoformat()} came too early is not known.",
            )
        )

    if clause.later_date_fact:
        later = as_date(facts.current().get(clause.later_date_fact))
        if later is not None and later > expiry:
            due = later
            flags.add("later-date-specified")
            sentences.append(
                f"The notification specifies the later date {later.isoformat()}, which prevails."
            )

    if started_range is not None and not started_range.exact:
        flags.add("imprecise-date")
        low = started_range.earliest
        first = None if low is None else due_date(clause, low).day
        if first is not None and due is not None and "later-date-specified" in flags:
            first = max(first, due)
        earliest_due.append(first)
        sentences.append(
            f"The anchor is known only as {started_range.text()}, so the date above is the "
            "latest possible one; "
            + (
                "no earliest date can be computed."
                if first is None
                else f"the earliest is {first.isoformat()}."
            )
        )

    if clause.postpone_while:
        fact = clause.postpone_while
        requirement = f"{fact}=false"
        if facts.is_assumed(fact):
            issues.append(_unassessed(fact, facts.value_on(fact, as_of), clause.basis))
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
        if facts.is_assumed(condition.fact):
            issues.append(
                _unassessed(condition.fact, facts.value_on(condition.fact, as_of), condition.basis)
            )
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


def notice_defects(clause: Clause, evidence_kinds: Collection[str]) -> list[ClockIssue]:
    """The clause's notice requirements that no recorded source shows were met.

    A requirement is met by a source whose ``kind`` is one of its ``evidence_kinds`` on any event
    of the case (docs/legal-time.md, "Required notice content").
    """
    kinds = set(evidence_kinds)
    return [
        ClockIssue(
            "defective-notice",
            req.content,
            req.basis,
            f"No source of kind {' or '.join(req.evidence_kinds)} is recorded, so the notice "
            f"may be defective: {req.basis}.",
        )
        for req in clause.notice_requirements
        if not kinds.intersection(req.evidence_kinds)
    ]


def survival_clock(survival: SurvivalPeriod, effect: Clock, *, as_of: dt.date) -> Clock:
    """The clock of what survives a withdrawal (ECT Art. 47(3)), derived from its effect clock.

    It runs from the effect date (provisional while the effect clock runs) to the end of
    ``survival.period``; SATISFIED once that end is on or before ``as_of``; VOID with a void
    effect clock; UNKNOWN while the effect date is not known. It fires nothing.
    """
    assert survival.period is not None

    def make(status: ClockStatus, due_on: dt.date | None, text: str) -> Clock:
        return Clock(
            name=survival.name,
            status=status,
            due_on=due_on,
            basis=survival.basis,
            started_on=start,
            waiting_on=waiting,
            flags=effect.flags if status is not ClockStatus.VOID else (),
            explanation=text,
        )

    start = effect.due_on if effect.status is not ClockStatus.VOID else None
    waiting: tuple[str, ...] = ()
    if effect.status is ClockStatus.VOID:
        return make(
            ClockStatus.VOID,
            None,
            f"The withdrawal will not take effect (clock {effect.name!r} is void), so "
            "nothing survives it.",
        )
    if start is None:
        waiting = (f"{effect.name} date",)
        return make(
            ClockStatus.UNKNOWN,
            None,
            f"{survival.what} The period runs from the date the withdrawal takes effect, which "
            "is not known yet.",
        )
    years, months, days = parse_duration(survival.period)
    end = add_months_clipped(start, 12 * years + months)[0] + dt.timedelta(days=days)
    span = _duration_phrase(survival.period)
    if effect.status is ClockStatus.SATISFIED:
        since = f"The withdrawal took effect on {start.isoformat()}"
    else:
        since = f"If the withdrawal takes effect on {start.isoformat()} as now computed"
    text = f"{survival.what} {since}, the {span} end on {end.isoformat()} ({survival.basis})."
    if end <= as_of:
        return make(ClockStatus.SATISFIED, end, text + " That period has ended.")
    return make(ClockStatus.RUNNING, end, text)


def _unassessed(fact: str, value: FactValue | None, basis: str) -> ClockIssue:
    return ClockIssue(
        "unassessed",
        fact,
        basis,
        f"{fact} has not been assessed: the date assumes {format_value(value)} (the "
        f"definition's default) until an event records a value ({basis}).",
    )


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
