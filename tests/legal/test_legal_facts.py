"""FactTimeline: time-varying facts with legal dates."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from treatyflow.legal.facts import FactTimeline, as_date, format_value, is_true, matches

D = dt.date
DAYS = st.dates(min_value=D(2000, 1, 1), max_value=D(2000, 3, 31))
CHANGES = st.lists(st.tuples(st.sampled_from(["a", "b"]), DAYS, st.integers(0, 5)), max_size=12)


def test_value_before_any_change_is_the_default() -> None:
    """A fact has its default until the first change, then the changed value."""
    facts = FactTimeline([("armed_conflict", D(2025, 9, 1), True)], {"armed_conflict": False})
    assert facts.value_on("armed_conflict", D(2025, 8, 31)) is False
    assert facts.value_on("armed_conflict", D(2025, 9, 1)) is True
    assert facts.value_on("armed_conflict", D(2030, 1, 1)) is True


def test_unset_fact_without_default_is_none_and_unknown() -> None:
    """A fact with neither events nor a default has no value and is not known."""
    facts = FactTimeline([], {"armed_conflict": False})
    assert facts.value_on("dues_paid", D(2025, 1, 1)) is None
    assert not facts.is_known("dues_paid")
    assert facts.is_known("armed_conflict")


def test_none_default_counts_as_no_default() -> None:
    """A default of None (a FactSpec without default) leaves the fact unknown."""
    facts = FactTimeline([], {"dues_paid": None})
    assert not facts.is_known("dues_paid")
    assert "dues_paid" not in facts.current()


def test_fact_set_after_the_day_is_unknown_on_that_day() -> None:
    """A fact without default has no value on days before its first change."""
    facts = FactTimeline([("dues_paid", D(2026, 3, 1), True)])
    assert facts.value_on("dues_paid", D(2026, 2, 28)) is None
    assert facts.is_known("dues_paid")


def test_changes_in_any_order_are_sorted_by_legal_date() -> None:
    """Input order across dates does not matter: the legal date decides."""
    facts = FactTimeline(
        [("x", D(2025, 3, 1), "late"), ("x", D(2025, 1, 1), "early")],
    )
    assert facts.value_on("x", D(2025, 2, 1)) == "early"
    assert facts.value_on("x", D(2025, 3, 1)) == "late"


def test_later_change_on_the_same_date_wins() -> None:
    """Two changes on one date: the one later in the input is in force."""
    facts = FactTimeline(
        [("x", D(2025, 1, 1), 1), ("y", D(2025, 1, 1), 9), ("x", D(2025, 1, 1), 2)]
    )
    assert facts.value_on("x", D(2025, 1, 1)) == 2
    assert facts.changes_of("x") == ((D(2025, 1, 1), 2),)


def test_current_gives_latest_values_plus_defaults() -> None:
    """current() has the latest value of every set fact and the defaults of the others."""
    facts = FactTimeline(
        [("armed_conflict", D(2025, 9, 1), True), ("armed_conflict", D(2026, 5, 1), False)],
        {"armed_conflict": False, "dues_paid": False},
    )
    assert facts.current() == {"armed_conflict": False, "dues_paid": False}


def test_first_day_from_returns_start_when_it_already_holds() -> None:
    """first_day_from gives the start day itself when the predicate holds on it."""
    facts = FactTimeline([], {"armed_conflict": False})
    assert facts.first_day_from("armed_conflict", D(2025, 12, 27), lambda v: v is False) == D(
        2025, 12, 27
    )


def test_first_day_from_finds_the_change_that_satisfies() -> None:
    """first_day_from gives the date of the first later change that satisfies the predicate."""
    facts = FactTimeline(
        [
            ("armed_conflict", D(2025, 9, 1), True),
            ("armed_conflict", D(2027, 4, 30), False),
        ]
    )
    found = facts.first_day_from("armed_conflict", D(2025, 12, 27), lambda v: v is False)
    assert found == D(2027, 4, 30)


def test_first_day_from_is_none_when_never_satisfied() -> None:
    """first_day_from gives None when no known change satisfies the predicate."""
    facts = FactTimeline([("armed_conflict", D(2025, 9, 1), True)])
    assert facts.first_day_from("armed_conflict", D(2025, 12, 27), lambda v: v is False) is None


@settings(deadline=None)
@given(CHANGES, DAYS)
def test_value_on_matches_a_brute_force_scan(
    changes: list[tuple[str, dt.date, int]], day: dt.date
) -> None:
    """value_on equals the last change on or before the day, ties broken by input order."""
    facts = FactTimeline(changes, {"a": -1})
    for name in ("a", "b"):
        expected: int | None = -1 if name == "a" else None
        best: dt.date | None = None
        for fact, when, value in changes:
            if fact == name and when <= day and (best is None or when >= best):
                best, expected = when, value
        assert facts.value_on(name, day) == expected


@settings(deadline=None)
@given(CHANGES, DAYS, st.integers(0, 5))
def test_first_day_from_matches_a_day_by_day_scan(
    changes: list[tuple[str, dt.date, int]], start: dt.date, target: int
) -> None:
    """first_day_from equals the first day, scanning forward, on which the value matches."""
    facts = FactTimeline(changes)
    expected = None
    day = start
    while day <= D(2000, 4, 30):
        if facts.value_on("a", day) == target:
            expected = day
            break
        day += dt.timedelta(days=1)
    assert facts.first_day_from("a", start, lambda v: v == target) == expected


def test_boolean_helpers_accept_cli_strings() -> None:
    """is_true and matches read 'true'/'false' strings as booleans, and never equate 1 and True."""
    assert is_true(True) and is_true("true") and not is_true("false") and not is_true(None)
    assert matches("false", False) and matches(True, True) and not matches(1, True)
    assert not matches(None, False) and matches(3, 3) and not matches(True, 1)


def test_as_date_and_format_value() -> None:
    """Date facts may be ISO strings; values print as the CLI spells them."""
    assert as_date("2026-01-22") == D(2026, 1, 22)
    assert as_date(dt.datetime(2026, 1, 22, 10, 0)) == D(2026, 1, 22)
    assert as_date("not a date") is None and as_date(5) is None
    assert [format_value(v) for v in (True, False, D(2026, 1, 2), 3, None)] == [
        "true",
        "false",
        "2026-01-02",
        "3",
        "unknown",
    ]
