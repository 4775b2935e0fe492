"""Clocks: statuses, postponement in armed conflict, later dates, conditions, notices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from treatyflow.definitions.treaty import (
    Anchor,
    Clause,
    Condition,
    Convention,
    EarliestNotice,
    FactValue,
)
from treatyflow.legal.clocks import Clock, ClockStatus, check_notice, evaluate_clock
from treatyflow.legal.facts import FactTimeline

D = dt.date
RECEIVED = D(2025, 6, 27)
EXPIRY = D(2025, 12, 27)

OTTAWA = Clause(
    article="Art. 20",
    basis="APMBC Art. 20(3): six months after receipt of the instrument by the Depositary",
    text="Such withdrawal shall only take effect six months after the receipt ...",
    convention=Convention.SAME_DAY,
    period="P6M",
    postpone_while="armed_conflict",
)
ROME = Clause(
    article="Art. 127",
    basis="Rome Statute Art. 127(1)",
    text="... one year after the date of receipt ..., unless ... a later date.",
    convention=Convention.SAME_DAY,
    period="P1Y",
    later_date_fact="specified_date",
)
WHO = Clause(
    article="22 U.S.C. §290c",
    basis="US 1948 reservation: one-year notice, dues for the current fiscal year paid in full",
    text="... reserves its right to withdraw ... on a one-year notice: Provided, however ...",
    convention=Convention.SAME_DAY,
    period="P1Y",
    conditions=[
        Condition(
            fact="dues_paid",
            equals=True,
            countries=["USA"],
            basis="22 U.S.C. §290c: financial obligations met in full",
        )
    ],
    contested="No withdrawal clause in the WHO Constitution; fulfilment disputed.",
)
PARIS = Clause(
    article="Art. 28",
    basis="Paris Agreement Art. 28(2)",
    text="At any time after three years from the date on which this Agreement has entered ...",
    convention=Convention.SAME_DAY,
    period="P1Y",
    later_date_fact="specified_date",
    earliest_notice=EarliestNotice(
        after="P3Y",
        basis="Paris Agreement Art. 28(1): not before three years after entry into force",
    ),
)


def conflict(*changes: tuple[dt.date, bool]) -> FactTimeline:
    """An armed_conflict timeline, false by default (as in ottawa.yaml)."""
    return FactTimeline(
        [("armed_conflict", day, value) for day, value in changes], {"armed_conflict": False}
    )


def ottawa(facts: FactTimeline, as_of: dt.date, **kwargs: Any) -> Clock:
    """Evaluate the Ottawa clock of a notification received on 27 June 2025."""
    kwargs.setdefault("started_on", RECEIVED)
    return evaluate_clock("effect", OTTAWA, country="LTU", facts=facts, as_of=as_of, **kwargs)


# --- basic statuses --------------------------------------------------------------------


def test_no_receipt_date_is_unknown() -> None:
    """Without a receipt date the clock is unknown and waits for the notification's receipt."""
    clock = ottawa(conflict(), D(2025, 7, 1), started_on=None)
    assert clock.status is ClockStatus.UNKNOWN and clock.due_on is None
    assert clock.waiting_on == ("notification receipt",)
    assert "receives the notification" in clock.explanation


def test_no_notice_date_names_the_notice_for_notice_anchored_clauses() -> None:
    """A notice-anchored clause without a start says it starts when notice is given."""
    rule = OTTAWA.model_copy(update={"anchor": Anchor.NOTICE})
    clock = evaluate_clock(
        "effect", rule, country="USA", started_on=None, facts=conflict(), as_of=D(2025, 1, 1)
    )
    assert clock.status is ClockStatus.UNKNOWN and "notice is given" in clock.explanation


def test_running_before_the_due_date() -> None:
    """Before the due date the clock runs and shows the due date and its basis."""
    clock = ottawa(conflict(), D(2025, 12, 26))
    assert (clock.status, clock.due_on, clock.started_on) == (
        ClockStatus.RUNNING,
        EXPIRY,
        RECEIVED,
    )
    assert clock.basis == OTTAWA.basis and clock.flags == () and clock.waiting_on == ()
    assert "2025-12-27" in clock.explanation


def test_due_on_the_due_date_and_after_it() -> None:
    """On or after the due date the clock is due, and due_on stays the legal date, not as_of."""
    for as_of in (EXPIRY, D(2026, 3, 1)):
        clock = ottawa(conflict(), as_of)
        assert (clock.status, clock.due_on) == (ClockStatus.DUE, EXPIRY)


def test_revoked_notification_is_void() -> None:
    """A notification revoked before effect (VCLT Art. 68) voids the clock, with no due date."""
    clock = ottawa(conflict(), D(2026, 1, 1), voided_on=D(2025, 10, 1))
    assert (clock.status, clock.due_on) == (ClockStatus.VOID, None)
    assert "VCLT Art. 68" in clock.explanation


def test_fired_clock_is_satisfied_on_the_fired_date() -> None:
    """Once the action took effect the clock is satisfied with due_on the effect date."""
    clock = ottawa(conflict(), D(2026, 6, 1), fired_on=EXPIRY)
    assert (clock.status, clock.due_on) == (ClockStatus.SATISFIED, EXPIRY)


def test_to_json_has_the_contract_keys() -> None:
    """to_json gives the case-show shape with ISO dates and lists."""
    data = ottawa(conflict((D(2025, 9, 1), True)), D(2026, 1, 5)).to_json()
    assert data == {
        "name": "effect",
        "status": "suspended",
        "due_on": None,
        "basis": OTTAWA.basis,
        "started_on": "2025-06-27",
        "waiting_on": ["armed_conflict=false"],
        "flags": ["postponed"],
        "explanation": data["explanation"],
        "issues": [],
        "due_range": None,
    }
    assert isinstance(data["explanation"], str) and data["explanation"]


def test_month_end_clock_is_flagged_for_review() -> None:
    """A clipped month-end due date carries the month-end-review flag."""
    clock = ottawa(conflict(), D(2025, 9, 1), started_on=D(2025, 8, 31))
    assert clock.due_on == D(2026, 2, 28) and "month-end-review" in clock.flags
    assert "review" in clock.explanation


def test_contested_and_uncertain_clauses_are_flagged() -> None:
    """A clause marked contested or uncertain flags every clock it yields."""
    rule = OTTAWA.model_copy(update={"contested": "x", "uncertain": "y"})
    clock = evaluate_clock(
        "effect", rule, country="LTU", started_on=RECEIVED, facts=conflict(), as_of=RECEIVED
    )
    assert clock.flags == ("contested", "uncertain")


# --- armed conflict (Ottawa / CCM Art. 20(3)) ------------------------------------------


def test_conflict_at_expiry_suspends_then_ends_on_the_end_date() -> None:
    """A conflict on the expiry day suspends effect; once it ends, effect is on the end date."""
    during = conflict((D(2025, 9, 1), True))
    clock = ottawa(during, D(2026, 1, 5))
    assert (clock.status, clock.due_on) == (ClockStatus.SUSPENDED, None)
    assert clock.waiting_on == ("armed_conflict=false",) and "postponed" in clock.flags

    ended = conflict((D(2025, 9, 1), True), (D(2026, 4, 15), False))
    clock = ottawa(ended, D(2026, 4, 15))
    assert (clock.status, clock.due_on) == (ClockStatus.DUE, D(2026, 4, 15))
    assert "postponed" in clock.flags and clock.waiting_on == ()


def test_conflict_during_the_period_that_ended_before_expiry_does_not_postpone() -> None:
    """A conflict that began after notification and ended before expiry changes nothing."""
    facts = conflict((D(2025, 8, 1), True), (D(2025, 11, 1), False))
    clock = ottawa(facts, EXPIRY)
    assert (clock.status, clock.due_on, clock.flags) == (ClockStatus.DUE, EXPIRY, ())


def test_conflict_that_ends_years_later() -> None:
    """A conflict ending years after expiry makes effect the day it ends, years later."""
    facts = conflict((D(2024, 2, 24), True), (D(2029, 5, 9), False))
    assert ottawa(facts, D(2028, 1, 1)).status is ClockStatus.SUSPENDED
    clock = ottawa(facts, D(2029, 5, 9))
    assert (clock.status, clock.due_on) == (ClockStatus.DUE, D(2029, 5, 9))


def test_conflict_starting_on_the_exact_expiry_day_postpones() -> None:
    """A conflict that begins on the expiry day itself counts as engaged on expiry."""
    clock = ottawa(conflict((EXPIRY, True)), EXPIRY)
    assert (clock.status, clock.due_on) == (ClockStatus.SUSPENDED, None)


def test_conflict_ending_on_the_exact_expiry_day_does_not_postpone() -> None:
    """A conflict recorded as ended on the expiry day is not in force on it."""
    clock = ottawa(conflict((D(2025, 9, 1), True), (EXPIRY, False)), EXPIRY)
    assert (clock.status, clock.due_on, clock.flags) == (ClockStatus.DUE, EXPIRY, ())


def test_conflict_now_with_expiry_in_the_future_runs_with_a_warning() -> None:
    """Before expiry an ongoing conflict leaves the clock running, flagged may-be-postponed."""
    clock = ottawa(conflict((D(2025, 9, 1), True)), D(2025, 10, 1))
    assert (clock.status, clock.due_on) == (ClockStatus.RUNNING, EXPIRY)
    assert clock.flags == ("may-be-postponed",)
    assert "Unless postponed" in clock.explanation


def test_unknown_conflict_fact_at_expiry_is_unknown() -> None:
    """With no default and no event, whether a conflict held on expiry is unknown."""
    facts = FactTimeline([])
    assert ottawa(facts, D(2025, 7, 1)).status is ClockStatus.RUNNING
    clock = ottawa(facts, EXPIRY)
    assert (clock.status, clock.due_on) == (ClockStatus.UNKNOWN, None)
    assert clock.waiting_on == ("armed_conflict=false",)


def test_conflict_fact_set_as_cli_string() -> None:
    """A conflict fact recorded as the string 'true' postpones like the boolean."""
    facts = FactTimeline([("armed_conflict", D(2025, 9, 1), "true")], {"armed_conflict": False})
    assert ottawa(facts, EXPIRY).status is ClockStatus.SUSPENDED


@settings(deadline=None)
@given(
    st.dates(min_value=D(2025, 6, 28), max_value=D(2027, 12, 31)),
    st.dates(min_value=D(2025, 6, 28), max_value=D(2027, 12, 31)),
    st.dates(min_value=D(2025, 6, 27), max_value=D(2028, 12, 31)),
)
def test_postponement_never_brings_effect_forward(
    begin: dt.date, end: dt.date, as_of: dt.date
) -> None:
    """Whatever the conflict dates, effect is never before expiry and only moves to an end date."""
    start, stop = sorted((begin, end))
    facts = conflict((start, True), (stop, False)) if start != stop else conflict()
    clock = ottawa(facts, as_of)
    if clock.due_on is not None:
        assert clock.due_on >= EXPIRY
        assert clock.due_on in (EXPIRY, stop)
        assert (clock.status is ClockStatus.DUE) == (clock.due_on <= as_of)
    else:
        assert clock.status is ClockStatus.SUSPENDED


# --- later date specified (Rome Art. 127(1), Paris Art. 28(2)) -------------------------


def rome(facts: FactTimeline, as_of: dt.date) -> Clock:
    """Evaluate the Rome clock of Burundi's notification (received 27 October 2016)."""
    return evaluate_clock(
        "effect", ROME, country="BDI", started_on=D(2016, 10, 27), facts=facts, as_of=as_of
    )


def test_later_specified_date_prevails() -> None:
    """A date in the notification later than one year after receipt is the effect date."""
    facts = FactTimeline([("specified_date", D(2016, 10, 27), D(2018, 1, 1))])
    clock = rome(facts, D(2017, 10, 27))
    assert (clock.status, clock.due_on) == (ClockStatus.RUNNING, D(2018, 1, 1))
    assert "later-date-specified" in clock.flags


def test_earlier_specified_date_is_ignored() -> None:
    """A specified date earlier than the treaty period does not shorten it."""
    facts = FactTimeline([("specified_date", D(2016, 10, 27), "2017-01-01")])
    clock = rome(facts, D(2017, 10, 27))
    assert (clock.status, clock.due_on, clock.flags) == (ClockStatus.DUE, D(2017, 10, 27), ())


# --- conditions (WHO, US 1948) ---------------------------------------------------------


def who(country: str, facts: FactTimeline, as_of: dt.date) -> Clock:
    """Evaluate the WHO clock of a notice received on 22 January 2025."""
    return evaluate_clock(
        "effect", WHO, country=country, started_on=D(2025, 1, 22), facts=facts, as_of=as_of
    )


def test_who_condition_unknown_for_usa() -> None:
    """For the USA an unrecorded dues fact makes the clock unknown, naming the fact."""
    clock = who("USA", FactTimeline([]), D(2026, 1, 22))
    assert (clock.status, clock.due_on) == (ClockStatus.UNKNOWN, None)
    assert clock.waiting_on == ("dues_paid=true",) and "contested" in clock.flags


def test_who_condition_unmet_for_usa_is_suspended() -> None:
    """For the USA dues known to be unpaid suspend effect."""
    clock = who("USA", FactTimeline([], {"dues_paid": False}), D(2026, 1, 22))
    assert (clock.status, clock.due_on) == (ClockStatus.SUSPENDED, None)
    assert clock.waiting_on == ("dues_paid=true",)


def test_who_condition_met_after_the_year_moves_effect_to_payment() -> None:
    """Dues paid after the year ends move effect to the payment date."""
    facts = FactTimeline([("dues_paid", D(2026, 3, 2), True)], {"dues_paid": False})
    clock = who("USA", facts, D(2026, 3, 2))
    assert (clock.status, clock.due_on) == (ClockStatus.DUE, D(2026, 3, 2))


def test_who_condition_met_early_keeps_the_one_year_date() -> None:
    """Dues paid before the year ends leave the one-year date unchanged."""
    facts = FactTimeline([("dues_paid", D(2025, 6, 1), True)], {"dues_paid": False})
    clock = who("USA", facts, D(2026, 1, 22))
    assert (clock.status, clock.due_on) == (ClockStatus.DUE, D(2026, 1, 22))


def test_who_condition_does_not_apply_to_another_country() -> None:
    """A condition limited to the USA does not hold back another country's clock."""
    clock = who("ARG", FactTimeline([]), D(2026, 1, 22))
    assert (clock.status, clock.due_on) == (ClockStatus.DUE, D(2026, 1, 22))
    assert clock.waiting_on == ()


def test_condition_for_all_countries_applies_to_any_country() -> None:
    """A condition with an empty country list applies to every case."""
    rule = WHO.model_copy(
        update={"conditions": [WHO.conditions[0].model_copy(update={"countries": []})]}
    )
    clock = evaluate_clock(
        "effect",
        rule,
        country="ARG",
        started_on=D(2025, 1, 22),
        facts=FactTimeline([]),
        as_of=D(2026, 1, 22),
    )
    assert clock.status is ClockStatus.UNKNOWN


def test_suspension_and_unmet_condition_are_both_listed() -> None:
    """A postponed clock with an unmet condition is suspended and waits on both facts."""
    rule = OTTAWA.model_copy(update={"conditions": WHO.conditions})
    facts = FactTimeline(
        [("armed_conflict", D(2025, 9, 1), True)],
        {"armed_conflict": False, "dues_paid": False},
    )
    clock = evaluate_clock(
        "effect", rule, country="USA", started_on=RECEIVED, facts=facts, as_of=EXPIRY
    )
    assert clock.status is ClockStatus.SUSPENDED
    assert clock.waiting_on == ("armed_conflict=false", "dues_paid=true")


# --- notices (Paris Art. 28(1)) --------------------------------------------------------

EIF_USA: list[tuple[str, dt.date, FactValue]] = [
    ("entry_into_force_for_party", D(2016, 11, 4), D(2016, 11, 4))
]


def test_notice_on_the_third_anniversary_is_allowed() -> None:
    """Paris: the USA's notice of 4 November 2019 (third anniversary) raises no problem."""
    assert check_notice(PARIS, notice_on=D(2019, 11, 4), facts=FactTimeline(EIF_USA)) == []


def test_notice_before_the_third_anniversary_is_too_early() -> None:
    """Paris: a notice a day before the third anniversary is reported as too early."""
    problems = check_notice(PARIS, notice_on=D(2019, 11, 3), facts=FactTimeline(EIF_USA))
    assert len(problems) == 1
    assert "too early" in problems[0] and "2019-11-04" in problems[0]
    assert "Art. 28(1)" in problems[0]


def test_notice_check_is_silent_without_rule_or_fact() -> None:
    """No earliest-notice rule, or an unknown entry-into-force date, reports nothing."""
    assert check_notice(OTTAWA, notice_on=D(2000, 1, 1), facts=FactTimeline([])) == []
    assert check_notice(PARIS, notice_on=D(2000, 1, 1), facts=FactTimeline([])) == []


def test_paris_usa_2019_clock() -> None:
    """Paris: USA received 4 November 2019 takes effect 4 November 2020."""
    clock = evaluate_clock(
        "effect",
        PARIS,
        country="USA",
        started_on=D(2019, 11, 4),
        facts=FactTimeline(EIF_USA),
        as_of=D(2020, 11, 4),
    )
    assert (clock.status, clock.due_on) == (ClockStatus.DUE, D(2020, 11, 4))


def test_fact_changes_after_as_of_are_ignored() -> None:
    """A conflict end dated after the as-of date is not in force yet: the clock stays suspended."""
    facts = conflict((D(2025, 9, 1), True), (D(2026, 4, 15), False))
    clock = ottawa(facts, D(2026, 4, 14))
    assert (clock.status, clock.due_on) == (ClockStatus.SUSPENDED, None)


def test_facts_until_drops_later_changes() -> None:
    """FactTimeline.until keeps the defaults and the changes on or before the day."""
    facts = conflict((D(2025, 9, 1), True), (D(2026, 4, 15), False)).until(D(2026, 1, 1))
    assert facts.current() == {"armed_conflict": True}
    assert facts.value_on("armed_conflict", D(2025, 8, 31)) is False
