"""Imprecise legal dates (#14 item 6): parsing, storage in event data, clocks and the matrix."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from treatyflow.chain import event_hash
from treatyflow.errors import InvalidInput
from treatyflow.events import Event, EventKind
from treatyflow.legal.clocks import ClockStatus, evaluate_clock
from treatyflow.legal.dates import LegalDate, Precision, occurred_of, parse_legal_date
from treatyflow.legal.facts import FactTimeline
from treatyflow.projection import fold
from treatyflow.reports.matrix import MatrixBuilder
from treatyflow.values import parse_on

D = dt.date.fromisoformat


@pytest.mark.parametrize(
    ("text", "earliest", "latest", "precision", "shown"),
    [
        ("2025-06-27", "2025-06-27", "2025-06-27", Precision.DAY, "2025-06-27"),
        ("<=2025-12-01", None, "2025-12-01", Precision.ON_OR_BEFORE, "≤2025-12-01"),
        ("≤ 2025-12-01", None, "2025-12-01", Precision.ON_OR_BEFORE, "≤2025-12-01"),
        (
            "2025-05-12..2025-05-16",
            "2025-05-12",
            "2025-05-16",
            Precision.BETWEEN,
            "2025-05-12..2025-05-16",
        ),
        ("2025-05-12..2025-05-12", "2025-05-12", "2025-05-12", Precision.DAY, "2025-05-12"),
        ("2025-07", "2025-07-01", "2025-07-31", Precision.MONTH, "2025-07"),
        ("2024-02", "2024-02-01", "2024-02-29", Precision.MONTH, "2024-02"),
    ],
)
def test_the_four_forms_of_a_legal_date(
    text: str, earliest: str | None, latest: str, precision: Precision, shown: str
) -> None:
    """A day, on or before, between and a month parse to their range and print back."""
    value = parse_legal_date(text)
    assert (value.earliest, value.latest, value.precision) == (
        None if earliest is None else D(earliest),
        D(latest),
        precision,
    )
    assert value.text() == shown
    assert value.to_json() == {"earliest": earliest, "latest": latest, "precision": precision}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-05-16..2025-05-12", "ends before it starts"),
        ("2025-13", "is not a real month"),
        ("2025-02-30", "is not a real calendar date"),
        ("<=2025-02-30", "is not a real calendar date"),
        ("May 2025", "is not an ISO 8601 date like 2025-06-27, nor a range like <=2025-12-01"),
    ],
)
def test_bad_dates_are_refused_in_one_sentence(text: str, message: str) -> None:
    """Malformed or impossible dates raise InvalidInput naming the option."""
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_on(text)
    assert str(caught.value).startswith("--on ")


def test_an_exact_day_stores_nothing_extra() -> None:
    """Only an imprecise date adds data["occurred"], so exact events keep their old shape."""
    assert parse_legal_date("2025-06-27").to_data() is None
    assert parse_legal_date("2025-07").to_data() == {
        "earliest": "2025-07-01",
        "latest": "2025-07-31",
        "precision": "month",
    }


def test_occurred_reads_the_range_back_unless_a_correction_moved_the_date() -> None:
    """The stored range applies while its latest day is the event's date."""
    data = {"occurred": parse_legal_date("<=2025-12-01").to_json()}
    assert occurred_of(D("2025-12-01"), data) == LegalDate(
        None, D("2025-12-01"), Precision.ON_OR_BEFORE
    )
    assert occurred_of(D("2025-11-20"), data) == LegalDate.day(D("2025-11-20"))
    assert occurred_of(D("2025-11-20"), {}) == LegalDate.day(D("2025-11-20"))


OTTAWA_FACTS = FactTimeline([], {"armed_conflict": False})


def test_a_clock_on_a_month_gives_its_earliest_and_latest_dates(catalog: Any) -> None:
    """CCM, Lithuania: receipt known only as "September 2024" (early autumn) -> effect between
    1 and 30 Mar 2025 (it was 6 Mar 2025); the clock is flagged imprecise-date."""
    received = parse_legal_date("2024-09")
    clock = evaluate_clock(
        "effect",
        catalog.treaty("ccm").actions["withdrawal"],
        country="LTU",
        started_on=received.latest,
        started_range=received,
        facts=OTTAWA_FACTS,
        as_of=D("2025-01-01"),
        evidence_kinds={"statement-of-reasons", "security-council-notice"},
    )
    assert (clock.status, clock.due_on) == (ClockStatus.RUNNING, D("2025-03-30"))
    assert clock.due_range == (D("2025-03-01"), D("2025-03-30"))
    assert "imprecise-date" in clock.flags
    assert clock.to_json()["due_range"] == {"earliest": "2025-03-01", "latest": "2025-03-30"}
    assert "known only as 2024-09" in clock.explanation


def test_on_or_before_has_no_earliest_due_date(catalog: Any) -> None:
    """An anchor known only as "on or before" gives a latest due date and no earliest."""
    received = parse_legal_date("<=2025-06-27")
    clock = evaluate_clock(
        "effect",
        catalog.treaty("ottawa").actions["withdrawal"],
        country="LVA",
        started_on=received.latest,
        started_range=received,
        facts=OTTAWA_FACTS,
        as_of=D("2025-12-27"),
    )
    assert (clock.status, clock.due_range) == (ClockStatus.DUE, (None, D("2025-12-27")))
    assert "no earliest date can be computed" in clock.explanation


def _notified(catalog: Any, data: dict[str, Any]) -> tuple[Any, list[Event]]:
    procedure = catalog.procedure("generic")
    stamp = "2025-12-02T12:00:00.000000Z"
    events = [
        Event("N-1", 1, EventKind.OPEN, D("2025-03-18"), stamp, "a", to_state=procedure.initial),
        Event(
            "N-1",
            2,
            EventKind.ADVANCE,
            D("2025-06-27"),
            stamp,
            "a",
            trigger="notify",
            from_state=procedure.initial,
            to_state="notified",
            data=data,
        ),
    ]
    return procedure, events


def test_fold_reads_the_range_from_the_notification_event(catalog: Any) -> None:
    """A notification stored with data["occurred"] gives the effect clock its due range."""
    procedure, events = _notified(
        catalog, {"occurred": parse_legal_date("2025-06-23..2025-06-27").to_json()}
    )
    state = fold(
        events,
        procedure=procedure,
        treaty=catalog.treaty("ottawa"),
        action="withdrawal",
        country="LVA",
        as_of=D("2025-07-01"),
    )
    effect = next(c for c in state.clocks if c.name == "effect")
    assert effect.due_range == (D("2025-12-23"), D("2025-12-27"))
    exact = fold(
        _notified(catalog, {})[1],
        procedure=procedure,
        treaty=catalog.treaty("ottawa"),
        action="withdrawal",
        country="LVA",
        as_of=D("2025-07-01"),
    )
    assert next(c for c in exact.clocks if c.name == "effect").due_range is None


def test_an_exact_event_hashes_as_before_and_a_range_is_hashed() -> None:
    """Exact events carry no extra key (old logs verify unchanged); a range is in the hash."""
    base = Event("N-1", 1, EventKind.OPEN, D("2025-12-01"), "2025-12-02T00:00:00.000000Z", "a")
    ranged = replace(base, data={"occurred": parse_legal_date("<=2025-12-01").to_json()})
    assert "occurred" not in base.hashed_fields()["data"]
    assert event_hash(base.hashed_fields()) != event_hash(ranged.hashed_fields())


def test_the_matrix_shows_an_imprecise_date_with_its_sign(catalog: Any) -> None:
    """The matrix cell of a step dated "on or before 1 Dec 2025" reads ≤2025-12-01."""
    procedure = catalog.procedure("generic")
    view = {"id": "N-1", "country": "NOR", "treaty": "ottawa", "action": "withdrawal"}
    row = MatrixBuilder().add(
        {**view, "state": "notified"},
        [
            {
                "case_id": "N-1",
                "seq": 2,
                "to_state": "notified",
                "occurred_on": "2025-12-01",
                "data": {"occurred": parse_legal_date("<=2025-12-01").to_json()},
                "sources": [{"citation": "x", "level": "official"}],
            }
        ],
        procedure,
    )
    assert row.cells["notified"].date == "≤2025-12-01"
