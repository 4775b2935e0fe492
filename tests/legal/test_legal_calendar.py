"""Depositary calendars: each convention, month ends, leap years and their properties."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from treatyflow.definitions.treaty import Clause, Convention, EarliestNotice, FixedAnnualDate
from treatyflow.legal.calendar import (
    DueDate,
    add_months_clipped,
    due_date,
    earliest_notice_date,
)
from treatyflow.legal.facts import FactTimeline

D = dt.date
ANCHORS = st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 12, 31))
MONTH_DAYS = st.tuples(st.integers(1, 12), st.integers(1, 31)).map(
    lambda md: f"{md[0]:02d}-{md[1]:02d}"
)


def clause(convention: str, **fields: Any) -> Clause:
    """A minimal valid clause for one convention."""
    return Clause(
        article="Art. X",
        basis="Test clause, Art. X",
        text="The clause text.",
        convention=Convention(convention),
        **fields,
    )


@st.composite
def clauses(draw: st.DrawFn) -> Clause:
    """Any convention with a positive period."""
    convention = draw(st.sampled_from(list(Convention)))
    years = draw(st.integers(0, 3))
    months = draw(st.integers(0, 24))
    days = draw(st.integers(0, 40))
    assume(years or months or days)
    period = "P" + "".join(
        f"{n}{unit}" for n, unit in ((years, "Y"), (months, "M"), (days, "D")) if n
    )
    fields: dict[str, Any] = {"offset_days": draw(st.integers(0, 2))}
    if convention in (
        Convention.SAME_DAY,
        Convention.PLUS_ONE_DAY,
        Convention.FIRST_OF_FOLLOWING_MONTH,
    ):
        fields["period"] = period
    elif convention is Convention.DAYS:
        fields["days"] = draw(st.integers(1, 1000))
    elif convention is Convention.FIXED_ANNUAL_DATE:
        fields["fixed_annual"] = FixedAnnualDate(
            effect=draw(MONTH_DAYS), notice_by=draw(MONTH_DAYS)
        )
    return clause(convention.value, **fields)


# --- table tests derived from the clause texts -----------------------------------------


@pytest.mark.parametrize(
    ("convention", "fields", "anchor", "expected"),
    [
        ("same-day", {"period": "P6M"}, D(2025, 6, 27), D(2025, 12, 27)),
        ("same-day", {"period": "P1Y"}, D(2019, 11, 4), D(2020, 11, 4)),
        ("same-day", {"period": "P3M"}, D(1993, 3, 12), D(1993, 6, 12)),
        ("plus-one-day", {"period": "P6M"}, D(2012, 1, 24), D(2012, 7, 25)),
        ("plus-one-day", {"period": "P1Y"}, D(2014, 12, 31), D(2016, 1, 1)),
        ("first-of-following-month", {"period": "P3M"}, D(2021, 3, 22), D(2021, 7, 1)),
        ("first-of-following-month", {"period": "P6M"}, D(2021, 3, 22), D(2021, 10, 1)),
        ("december-31-following-year", {}, D(2017, 10, 12), D(2018, 12, 31)),
        ("december-31-following-year", {}, D(2017, 1, 1), D(2018, 12, 31)),
        ("days", {"days": 150}, D(2023, 6, 10), D(2023, 11, 7)),
        ("days", {"days": 150, "offset_days": 1}, D(2023, 6, 9), D(2023, 11, 7)),
    ],
)
def test_convention_table(
    convention: str, fields: dict[str, Any], anchor: dt.date, expected: dt.date
) -> None:
    """Each convention yields the date its clause text and depositary practice give."""
    assert due_date(clause(convention, **fields), anchor) == DueDate(expected, False)


ICRW = FixedAnnualDate(effect="06-30", notice_by="01-01")


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        (D(2018, 12, 26), D(2019, 6, 30)),  # Japan: notice before the 1 Jan 2019 cut-off
        (D(2019, 1, 1), D(2019, 6, 30)),  # on the cut-off itself: still that year
        (D(2019, 1, 2), D(2020, 6, 30)),  # a day late: the next year
        (D(2019, 7, 1), D(2020, 6, 30)),
    ],
)
def test_icrw_fixed_annual_date(anchor: dt.date, expected: dt.date) -> None:
    """ICRW Art. XI: 30 June of the first year whose 1 January cut-off the notice met."""
    assert due_date(clause("fixed-annual-date", fixed_annual=ICRW), anchor).day == expected


def test_fixed_annual_effect_before_cutoff_in_the_year_moves_to_the_next_year() -> None:
    """A fixed effect day earlier in the year than the cut-off still falls after the notice."""
    rule = FixedAnnualDate(effect="01-01", notice_by="06-30")
    assert due_date(clause("fixed-annual-date", fixed_annual=rule), D(2020, 3, 1)).day == D(
        2021, 1, 1
    )


def test_fixed_annual_leap_day_is_clipped_and_flagged() -> None:
    """A 29 February effect day in a common year is the 28th and is flagged for review."""
    rule = FixedAnnualDate(effect="02-29", notice_by="01-01")
    assert due_date(clause("fixed-annual-date", fixed_annual=rule), D(2024, 6, 1)) == DueDate(
        D(2025, 2, 28), True
    )


@pytest.mark.parametrize(
    ("convention", "anchor", "expected"),
    [
        ("same-day", D(2025, 8, 31), D(2026, 2, 28)),
        ("same-day", D(2023, 8, 31), D(2024, 2, 29)),
        ("same-day", D(2025, 3, 31), D(2025, 9, 30)),
        ("plus-one-day", D(2025, 8, 31), D(2026, 3, 1)),
        ("plus-one-day", D(2023, 8, 31), D(2024, 3, 1)),
    ],
)
def test_month_end_is_clipped_and_flagged(
    convention: str, anchor: dt.date, expected: dt.date
) -> None:
    """A target day the month lacks becomes the month's last day, flagged month_end_adjusted."""
    assert due_date(clause(convention, period="P6M"), anchor) == DueDate(expected, True)


def test_first_of_month_after_clipped_expiry_is_flagged() -> None:
    """30 Nov + 3 months clips to 28 Feb, giving 1 March, flagged because clipping decided it."""
    result = due_date(clause("first-of-following-month", period="P3M"), D(2025, 11, 30))
    assert result == DueDate(D(2026, 3, 1), True)


def test_first_of_month_when_receipt_is_on_the_first() -> None:
    """Receipt on the 1st: the period expires on the 1st, so effect is the next month's 1st."""
    result = due_date(clause("first-of-following-month", period="P3M"), D(2025, 3, 1))
    assert result == DueDate(D(2025, 7, 1), False)


@pytest.mark.parametrize(
    ("anchor", "period", "expected", "adjusted"),
    [
        (D(2024, 2, 29), "P1Y", D(2025, 2, 28), True),
        (D(2024, 2, 29), "P4Y", D(2028, 2, 29), False),
        (D(2024, 2, 29), "P6M", D(2024, 8, 29), False),
        (D(2023, 2, 28), "P1Y", D(2024, 2, 28), False),
        (D(2024, 2, 29), "P1Y1D", D(2025, 3, 1), True),
    ],
)
def test_leap_day_anchors(anchor: dt.date, period: str, expected: dt.date, adjusted: bool) -> None:
    """A 29 February anchor keeps the 29th only in leap years; otherwise it clips to the 28th."""
    assert due_date(clause("same-day", period=period), anchor) == DueDate(expected, adjusted)


def test_add_months_clipped() -> None:
    """add_months_clipped clips to the month's last day and says so."""
    assert add_months_clipped(D(2025, 1, 31), 1) == (D(2025, 2, 28), True)
    assert add_months_clipped(D(2025, 1, 30), 12) == (D(2026, 1, 30), False)
    assert add_months_clipped(D(2025, 12, 31), -1) == (D(2025, 11, 30), True)


# --- earliest notice (Paris / Kyoto) ---------------------------------------------------

PARIS = clause(
    "same-day",
    period="P1Y",
    earliest_notice=EarliestNotice(after="P3Y", basis="Paris Agreement Art. 28(1)"),
)


def test_earliest_notice_is_the_third_anniversary() -> None:
    """Paris Art. 28(1): the first allowed notice day is the third anniversary of EIF."""
    facts = FactTimeline([("entry_into_force_for_party", D(2016, 11, 4), D(2016, 11, 4))])
    assert earliest_notice_date(PARIS, facts) == D(2019, 11, 4)


def test_earliest_notice_accepts_an_iso_string_fact() -> None:
    """An entry-into-force date stored as an ISO string is read as a date."""
    facts = FactTimeline([("entry_into_force_for_party", D(2021, 2, 19), "2021-02-19")])
    assert earliest_notice_date(PARIS, facts) == D(2024, 2, 19)


def test_earliest_notice_is_none_without_rule_or_fact() -> None:
    """No rule, an unknown fact or a non-date value give None."""
    assert earliest_notice_date(clause("same-day", period="P1Y"), FactTimeline([])) is None
    assert earliest_notice_date(PARIS, FactTimeline([])) is None
    bad = FactTimeline([("entry_into_force_for_party", D(2016, 11, 4), True)])
    assert earliest_notice_date(PARIS, bad) is None


# --- properties ------------------------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(clauses(), ANCHORS)
def test_due_date_is_after_the_anchor(rule: Clause, anchor: dt.date) -> None:
    """Every convention with a positive period gives a date strictly after the anchor."""
    assert due_date(rule, anchor).day > anchor


@settings(deadline=None, max_examples=300)
@given(clauses(), ANCHORS, ANCHORS)
def test_due_date_is_monotonic_in_the_anchor(rule: Clause, a: dt.date, b: dt.date) -> None:
    """A later receipt never gives an earlier due date, for every convention."""
    early, late = sorted((a, b))
    assert due_date(rule, early).day <= due_date(rule, late).day


@settings(deadline=None)
@given(ANCHORS, st.integers(1, 120))
def test_same_day_round_trips_without_clipping(anchor: dt.date, months: int) -> None:
    """Same-day: when no clipping happened, going back the same months returns the anchor."""
    result = due_date(clause("same-day", period=f"P{months}M"), anchor)
    target = anchor + relativedelta(months=months)
    last = calendar.monthrange(target.year, target.month)[1]
    assert result.month_end_adjusted == (anchor.day > last)
    if not result.month_end_adjusted:
        assert result.day - relativedelta(months=months) == anchor
        assert result.day.day == anchor.day
    else:
        assert result.day.day == last


@settings(deadline=None)
@given(ANCHORS, st.integers(1, 60))
def test_plus_one_day_is_same_day_plus_one(anchor: dt.date, months: int) -> None:
    """Plus-one-day is exactly one day after same-day, with the same month-end flag."""
    same = due_date(clause("same-day", period=f"P{months}M"), anchor)
    plus = due_date(clause("plus-one-day", period=f"P{months}M"), anchor)
    assert plus == DueDate(same.day + dt.timedelta(days=1), same.month_end_adjusted)


@settings(deadline=None)
@given(ANCHORS, st.integers(1, 24))
def test_first_of_following_month_is_the_first_after_expiry(anchor: dt.date, months: int) -> None:
    """First-of-following-month gives a 1st, after the expiry and at most a month later."""
    expiry = due_date(clause("same-day", period=f"P{months}M"), anchor).day
    result = due_date(clause("first-of-following-month", period=f"P{months}M"), anchor).day
    assert result.day == 1
    assert expiry < result <= expiry + dt.timedelta(days=31)
    assert (result.year, result.month) != (expiry.year, expiry.month)


@settings(deadline=None)
@given(ANCHORS)
def test_december_31_of_the_following_year(anchor: dt.date) -> None:
    """UNESCO style gives 31 December of the year after the notice, whatever its day."""
    assert due_date(clause("december-31-following-year"), anchor) == DueDate(
        D(anchor.year + 1, 12, 31), False
    )


@settings(deadline=None)
@given(ANCHORS, st.integers(1, 2000), st.integers(0, 3))
def test_days_convention_adds_exactly_n_plus_offset(anchor: dt.date, n: int, offset: int) -> None:
    """The days convention adds N days, then offset_days."""
    result = due_date(clause("days", days=n, offset_days=offset), anchor)
    assert (result.day - anchor).days == n + offset
    assert not result.month_end_adjusted


@settings(deadline=None)
@given(ANCHORS, MONTH_DAYS, MONTH_DAYS)
def test_fixed_annual_is_the_first_year_that_fits(
    anchor: dt.date, effect: str, notice_by: str
) -> None:
    """Fixed-annual gives the effect day of the first year whose cut-off the notice met."""
    rule = FixedAnnualDate(effect=effect, notice_by=notice_by)
    result = due_date(clause("fixed-annual-date", fixed_annual=rule), anchor)

    def in_year(year: int, month_day: str) -> dt.date:
        month, day = (int(x) for x in month_day.split("-"))
        return D(year, month, min(day, calendar.monthrange(year, month)[1]))

    year = result.day.year
    assert result.day == in_year(year, effect) and result.day > anchor
    assert anchor <= in_year(year, notice_by)
    for earlier in range(anchor.year, year):
        assert not (anchor <= in_year(earlier, notice_by) and in_year(earlier, effect) > anchor)


@settings(deadline=None, max_examples=500)
@given(st.dates(), st.integers(-1200, 1200))
def test_month_shift_is_relativedelta_s(day: dt.date, months: int) -> None:
    """The calendar's own month arithmetic (kept off dateutil for start-up) gives what
    ``relativedelta(months=...)`` gives, clipping and out-of-range years included."""
    from treatyflow.legal.calendar import _shift_months

    try:
        expected: dt.date | type[Exception] = day + relativedelta(months=months)
    except (ValueError, OverflowError) as exc:
        expected = type(exc)
    try:
        got: dt.date | type[Exception] = _shift_months(day, months)
    except (ValueError, OverflowError) as exc:
        got = type(exc)
    assert got == expected
    if isinstance(got, dt.date):
        assert add_months_clipped(day, months) == (got, got.day != day.day)
