"""Real withdrawals: each treaty's clause, built inline, reproduces the recorded effect date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from treatyflow.definitions.treaty import Anchor, Clause, Convention, FixedAnnualDate
from treatyflow.legal.calendar import due_date
from treatyflow.legal.clocks import ClockStatus, evaluate_clock
from treatyflow.legal.facts import FactTimeline

D = dt.date


def clause(article: str, basis: str, convention: Convention, **fields: Any) -> Clause:
    """A clause with a citation; the text is abbreviated, the rule is what is tested."""
    return Clause(article=article, basis=basis, text=basis, convention=convention, **fields)


OTTAWA = clause(
    "Art. 20",
    "APMBC Art. 20(3): six months after receipt of the instrument by the Depositary",
    Convention.SAME_DAY,
    period="P6M",
    postpone_while="armed_conflict",
)
ROME = clause(
    "Art. 127",
    "Rome Statute Art. 127(1): one year after receipt, unless a later date is specified",
    Convention.SAME_DAY,
    period="P1Y",
    later_date_fact="specified_date",
)
PARIS = clause(
    "Art. 28",
    "Paris Agreement Art. 28(2): upon expiry of one year from receipt by the Depositary",
    Convention.SAME_DAY,
    period="P1Y",
    later_date_fact="specified_date",
)
KYOTO = clause(
    "Art. 27",
    "Kyoto Protocol Art. 27(2): upon expiry of one year from receipt by the Depositary",
    Convention.SAME_DAY,
    period="P1Y",
)
INF = clause(
    "Art. XV",
    "INF Treaty Art. XV(2): notice six months prior to withdrawal",
    Convention.SAME_DAY,
    period="P6M",
    anchor=Anchor.NOTICE,
)
OPEN_SKIES = clause(
    "Art. XV",
    "Open Skies Treaty Art. XV(2): notice at least six months in advance",
    Convention.SAME_DAY,
    period="P6M",
    anchor=Anchor.NOTICE,
)
ICSID = clause(
    "Art. 71",
    "ICSID Convention Art. 71: six months after receipt of such notice",
    Convention.PLUS_ONE_DAY,
    period="P6M",
)
ECT = clause(
    "Art. 47",
    "ECT Art. 47(2): upon expiry of one year after receipt of the notification",
    Convention.PLUS_ONE_DAY,
    period="P1Y",
)
UNESCO = clause(
    "Art. II(6)",
    "UNESCO Constitution Art. II(6): 31 December of the year following the notice",
    Convention.DECEMBER_31_FOLLOWING_YEAR,
    anchor=Anchor.NOTICE,
)
ISTANBUL = clause(
    "Art. 80",
    "CETS 210 Art. 80: first day of the month following three months after receipt",
    Convention.FIRST_OF_FOLLOWING_MONTH,
    period="P3M",
)
ICRW = clause(
    "Art. XI",
    "ICRW Art. XI: 30 June of any year, notice on or before 1 January of that year",
    Convention.FIXED_ANNUAL_DATE,
    fixed_annual=FixedAnnualDate(effect="06-30", notice_by="01-01"),
)
CFE = clause(
    "Art. XIX",
    "CFE Treaty Art. XIX(2): notice at least 150 days before withdrawal",
    Convention.DAYS,
    days=150,
    offset_days=1,
    anchor=Anchor.NOTICE,
    uncertain="Exact date the notice was sent; effect at 00:00 after the 150th day.",
)

REAL = [
    pytest.param(OTTAWA, D(2025, 6, 27), D(2025, 12, 27), id="ottawa-EST-LVA-LTU-2025"),
    pytest.param(OTTAWA, D(2025, 7, 10), D(2026, 1, 10), id="ottawa-FIN-2025"),
    pytest.param(OTTAWA, D(2025, 8, 20), D(2026, 2, 20), id="ottawa-POL-2025"),
    pytest.param(ROME, D(2016, 10, 27), D(2017, 10, 27), id="rome-BDI"),
    pytest.param(ROME, D(2018, 3, 17), D(2019, 3, 17), id="rome-PHL"),
    pytest.param(PARIS, D(2019, 11, 4), D(2020, 11, 4), id="paris-USA-2019"),
    pytest.param(KYOTO, D(2011, 12, 15), D(2012, 12, 15), id="kyoto-CAN"),
    pytest.param(INF, D(2019, 2, 2), D(2019, 8, 2), id="inf-USA"),
    pytest.param(OPEN_SKIES, D(2020, 5, 22), D(2020, 11, 22), id="open-skies-USA"),
    pytest.param(ICSID, D(2012, 1, 24), D(2012, 7, 25), id="icsid-VEN"),
    pytest.param(ICSID, D(2007, 5, 2), D(2007, 11, 3), id="icsid-BOL"),
    pytest.param(ECT, D(2014, 12, 31), D(2016, 1, 1), id="ect-ITA"),
    pytest.param(UNESCO, D(2017, 10, 12), D(2018, 12, 31), id="unesco-USA-2017"),
    pytest.param(ISTANBUL, D(2021, 3, 22), D(2021, 7, 1), id="istanbul-TUR"),
    pytest.param(ICRW, D(2018, 12, 26), D(2019, 6, 30), id="icrw-JPN"),
    pytest.param(CFE, D(2023, 6, 9), D(2023, 11, 7), id="cfe-RUS"),
]


@pytest.mark.parametrize(("rule", "received", "effective"), REAL)
def test_real_withdrawal_effect_date(rule: Clause, received: dt.date, effective: dt.date) -> None:
    """The clause's convention gives the effect date the depositary (or State) recorded."""
    assert due_date(rule, received).day == effective
    assert not due_date(rule, received).month_end_adjusted


@pytest.mark.parametrize(("rule", "received", "effective"), REAL)
def test_real_withdrawal_clock_fires_on_the_effect_date(
    rule: Clause, received: dt.date, effective: dt.date
) -> None:
    """The clock runs the day before the effect date and is due on it, with that due date."""
    facts = FactTimeline([], {"armed_conflict": False})
    before = evaluate_clock(
        "effect",
        rule,
        country="XXX",
        started_on=received,
        facts=facts,
        as_of=effective - dt.timedelta(days=1),
    )
    on = evaluate_clock(
        "effect", rule, country="XXX", started_on=received, facts=facts, as_of=effective
    )
    assert (before.status, before.due_on) == (ClockStatus.RUNNING, effective)
    assert (on.status, on.due_on) == (ClockStatus.DUE, effective)


def test_cfe_without_the_extra_day_would_miss_the_recorded_date() -> None:
    """Counting only 150 days from 9 June 2023 gives 6 November, not the 7 November recorded."""
    bare = CFE.model_copy(update={"offset_days": 0})
    assert due_date(bare, D(2023, 6, 9)).day == D(2023, 11, 6)
    assert due_date(CFE, D(2023, 6, 9)).day == D(2023, 11, 7)
