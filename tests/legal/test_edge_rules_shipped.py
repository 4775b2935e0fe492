"""Edge rules of legal time, against the SHIPPED treaty files (workflows/treaties/).

The calendar tests (test_legal_calendar.py) check each counting convention on clauses built
inline; these check what the shipped clauses give on the awkward days, through the public API
(a case opened at 'notified'), so that a change to a treaty file that moves one of these dates
fails here:

1. a receipt on the 31st with a month-long period ending in a shorter month (31 Aug + 6 months),
2. a receipt on 29 February with a period in years,
3. a notification revoked before it takes effect, and on the day it takes effect,
4. a notification dated on one day and received on another: which one the clause counts from.

Where practice is known it is cited; where it is not, the shipped rule (month-end clipping, the
day clipped to the month's last) is pinned together with its ``month-end-review`` flag, so the
date is never shown as settled.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from treatyflow.definitions.basics import Anchor
from treatyflow.errors import ClockDueFirst, TransitionNotAllowed

D = dt.date.fromisoformat


def _effect(ws: Any, country: str, treaty: str, on: str, **kw: Any) -> dict[str, Any]:
    """The effect clock of a case opened at 'notified' on ``on`` (``case show --json``)."""
    view: dict[str, Any] = ws.open_case(
        country=country, treaty=treaty, at="notified", on=D(on), **kw
    ).to_dict()
    return next(c for c in view["clocks"] if c["name"] == "effect")


# --- 1. receipt on the 31st: the target month has no 31st ----------------------------------


@pytest.mark.parametrize(
    ("treaty", "country", "received", "effective"),
    [
        # UN SG, same-day, six months: 31 Aug -> the last day of February (no practice yet).
        pytest.param("ottawa", "FIN", "2025-08-31", "2026-02-28", id="ottawa-31aug-2025"),
        pytest.param("ottawa", "FIN", "2023-08-31", "2024-02-29", id="ottawa-31aug-leap-year"),
        pytest.param("ccm", "LTU", "2025-08-31", "2026-02-28", id="ccm-31aug-2025"),
        # World Bank, six months plus one day: the clipped 28 Feb, then the next day.
        pytest.param("icsid", "HND", "2025-08-31", "2026-03-01", id="icsid-31aug-2025"),
        pytest.param("icsid", "HND", "2023-08-31", "2024-03-01", id="icsid-31aug-leap-year"),
        # CoE, first day of the month after three months: 30 Nov -> 28 Feb -> 1 Mar.
        pytest.param("istanbul", "TUR", "2025-11-30", "2026-03-01", id="istanbul-30nov-2025"),
    ],
)
def test_month_end_receipt_is_clipped_and_flagged(
    ws: Any, treaty: str, country: str, received: str, effective: str
) -> None:
    """A day the target month lacks becomes its last day, and the clock says so."""
    clock = _effect(ws, country, treaty, received)
    assert clock["due_on"] == effective, clock["explanation"]
    assert "month-end-review" in clock["flags"]


def test_istanbul_month_end_matches_council_of_europe_practice(ws: Any) -> None:
    """CoE practice at a month's end: Moldova deposited its ratification of CETS 210 on
    31 Jan 2022 and the Convention entered into force for it on 1 May 2022 (La Strada
    International; Council of Europe Office in Chisinau via nuveicrede.ro). Art. 75(4) counts
    entry into force with the same words as the denunciation clause, Art. 80(2) ("the first
    day of the month following the expiration of a period of three months after the date of
    ..."): the three months from 31 Jan ended on 30 Apr, not on 1 May (which would have given
    1 Jun). The shipped denunciation clause counts a receipt on 31 Jan the same way.
    """
    clock = _effect(ws, "TUR", "istanbul", "2022-01-31", action="denunciation")
    assert clock["due_on"] == "2022-05-01", clock["explanation"]


@pytest.mark.parametrize(
    ("treaty", "country", "received", "effective"),
    [
        ("ottawa", "FIN", "2025-08-28", "2026-02-28"),
        ("icsid", "HND", "2025-08-28", "2026-03-01"),
        ("istanbul", "TUR", "2025-11-28", "2026-03-01"),
    ],
)
def test_the_same_date_reached_without_clipping_is_not_flagged(
    ws: Any, treaty: str, country: str, received: str, effective: str
) -> None:
    """The flag marks a clipped date only: 28 Aug + 6 months is 28 Feb exactly, so the same
    effect dates as above carry no month-end-review flag."""
    clock = _effect(ws, country, treaty, received)
    assert clock["due_on"] == effective
    assert "month-end-review" not in clock["flags"]


# --- 2. receipt on 29 February + years ------------------------------------------------------


@pytest.mark.parametrize(
    ("treaty", "country", "facts", "effective", "flagged"),
    [
        # UN SG, one year, same day: no 29 Feb in 2025, so 28 Feb, flagged.
        pytest.param("rome-statute", "HUN", {}, "2025-02-28", True, id="rome-statute"),
        pytest.param("paris", "USA", {}, "2025-02-28", True, id="paris"),
        pytest.param("kyoto", "CAN", {}, "2025-02-28", True, id="kyoto"),
        pytest.param("achr", "VEN", {}, "2025-02-28", True, id="achr"),
        pytest.param(
            "who", "USA", {"current_dues_paid": "true"}, "2025-02-28", True, id="who-usa"
        ),
        # Portugal (ECT), one year plus one day: the clipped 28 Feb 2025, then 1 Mar.
        pytest.param("ect", "ESP", {}, "2025-03-01", True, id="ect"),
        # UNESCO: 31 Dec of the following year whatever the day; ICRW: a fixed 30 June (the
        # notice missed 1 Jan 2024, so 2025). Neither counts months, so nothing is clipped.
        pytest.param("unesco", "USA", {}, "2025-12-31", False, id="unesco"),
        pytest.param("icrw", "JPN", {}, "2025-06-30", False, id="icrw"),
    ],
)
def test_leap_day_receipt_plus_years(
    ws: Any, treaty: str, country: str, facts: dict[str, str], effective: str, flagged: bool
) -> None:
    """A notification received on 29 Feb 2024, counted in years by each depositary."""
    clock = _effect(ws, country, treaty, "2024-02-29", facts=facts)
    assert clock["due_on"] == effective, clock["explanation"]
    assert ("month-end-review" in clock["flags"]) is flagged


def test_leap_day_receipt_plus_six_months_is_not_clipped(ws: Any) -> None:
    """29 Feb + 6 months is 29 Aug: every month has a 29th except a short February."""
    clock = _effect(ws, "FIN", "ottawa", "2024-02-29")
    assert clock["due_on"] == "2024-08-29"
    assert "month-end-review" not in clock["flags"]


# --- 3. revoked before it takes effect (VCLT Art. 68) ----------------------------------------


def test_revocation_the_day_before_effect_voids_the_withdrawal(ws: Any) -> None:
    """Rome Statute: received 2 Jun 2025 (Hungary), due 2 Jun 2026; a revocation received on
    1 Jun 2026 comes "before it takes effect" (VCLT Art. 68): the clock is void, the case never
    reaches 'effective', and a tick on the old effect date fires nothing."""
    case = ws.open_case(country="HUN", treaty="rome-statute", at="notified", on=D("2025-06-02"))
    ws.advance(case.id, "revoke", on=D("2026-06-01"))
    assert [f.to_dict() for f in ws.tick(as_of=D("2026-06-02")).fired] == []
    view = ws.case(case.id).to_dict()
    clock = next(c for c in view["clocks"] if c["name"] == "effect")
    assert (view["state"], view["effective_on"]) == ("revoked", None)
    assert (clock["status"], clock["due_on"]) == ("void", None)


def test_revocation_on_the_effect_day_comes_too_late(ws: Any) -> None:
    """On 2 Jun 2026 the withdrawal has taken effect: a revocation dated that day is refused
    until tick has recorded the effect, and is then not allowed at all (VCLT Art. 68 allows it
    only "before it takes effect")."""
    case = ws.open_case(country="HUN", treaty="rome-statute", at="notified", on=D("2025-06-02"))
    with pytest.raises(ClockDueFirst, match="came due on 2026-06-02"):
        ws.advance(case.id, "revoke", on=D("2026-06-02"))
    ws.tick(as_of=D("2026-06-02"))
    with pytest.raises(TransitionNotAllowed):
        ws.advance(case.id, "revoke", on=D("2026-06-02"))
    assert ws.case(case.id).to_dict()["effective_on"] == "2026-06-02"


# --- 4. dated on one day, received on another ------------------------------------------------

#: Treaties whose clause counts from the notice itself, not from its receipt:
#: UNESCO Art. II(6) ("the year following that during which the notice was given") and
#: NPT Art. X(1) (notice to all Parties and the Security Council: no single receipt).
NOTICE_ANCHORED = {"unesco", "npt"}


def test_every_shipped_clause_says_which_date_it_counts_from(catalog: Any) -> None:
    """All other clauses count from receipt by the depositary (VCLT Art. 78(b))."""
    for treaty_id in sorted(catalog.treaties):
        treaty = catalog.treaty(treaty_id)
        for action, clause in treaty.actions.items():
            expected = Anchor.NOTICE if treaty_id in NOTICE_ANCHORED else Anchor.RECEIPT
            assert clause.anchor is expected, (treaty_id, action)


@pytest.mark.parametrize(
    ("treaty", "country", "action", "dated", "received", "effective", "facts"),
    [
        # Poland signed its Ottawa instrument on 5 Aug 2025; the UN received it on 20 Aug 2025;
        # effect 20 Feb 2026 (Government statement, Dz.U. 2025 poz. 1514).
        pytest.param(
            "ottawa",
            "POL",
            "withdrawal",
            "2025-08-05",
            "2025-08-20",
            "2026-02-20",
            {},
            id="ottawa-POL-2025",
        ),
        # Venezuela's note was dated 6 Sep 2012 and presented on 10 Sep 2012; the Court and
        # the OAS give effect on 10 Sep 2013 (ASIL's 6 Sep 2013 counted from the note).
        pytest.param(
            "achr",
            "VEN",
            "denunciation",
            "2012-09-06",
            "2012-09-10",
            "2013-09-10",
            {},
            id="achr-VEN-2012",
        ),
        # The US letter to the UN SG was dated 20 Jan 2025 and received on 22 Jan 2025; the
        # membership ended on 22 Jan 2026 (TASS), not 20 Jan.
        pytest.param(
            "who",
            "USA",
            "withdrawal",
            "2025-01-20",
            "2025-01-22",
            "2026-01-22",
            {"current_dues_paid": "true"},
            id="who-USA-2025",
        ),
    ],
)
def test_receipt_not_the_letter_date_starts_the_clock(
    ws: Any,
    treaty: str,
    country: str,
    action: str,
    dated: str,
    received: str,
    effective: str,
    facts: dict[str, str],
) -> None:
    """Recorded at the receipt date the clock gives the recorded effect date and says so;
    the letter's date would have given a different (wrong) one."""
    clock = _effect(ws, country, treaty, received, action=action, facts=facts)
    assert clock["due_on"] == effective
    assert clock["explanation"].startswith(f"Notification received on {received}")
    wrong = _effect(ws, country, treaty, dated, action=action, facts=facts)
    assert wrong["due_on"] != effective


def test_unesco_counts_the_year_the_notice_was_given(ws: Any) -> None:
    """UNESCO Art. II(6) keys on the year of the notice: Israel's notice of 29 Dec 2017 took
    effect on 31 Dec 2018, a notice given two days later would take effect on 31 Dec 2019."""
    given = _effect(ws, "ISR", "unesco", "2017-12-29")
    assert given["due_on"] == "2018-12-31"
    assert given["explanation"].startswith("Notice given on 2017-12-29")
    assert _effect(ws, "ISR", "unesco", "2018-01-01")["due_on"] == "2019-12-31"
