"""Legal time through the service: clocks from events and facts, tick, corrections, as-of."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from treatyflow.errors import InvalidInput, NoticeTooEarly, OutOfOrder, TransitionNotAllowed

D = dt.date.fromisoformat


def _open_notified(service: Any, country: str, treaty: str, on: str, **kw: Any) -> str:
    view = service.open_case(
        country=country, treaty=treaty, at="notified", on=D(on), actor="analyst", **kw
    )
    return str(view["id"])


def _clock(view: dict[str, Any], name: str = "effect") -> dict[str, Any]:
    return next(c for c in view["clocks"] if c["name"] == name)


def test_tick_never_fires_early_and_is_idempotent(service: Any) -> None:
    """tick fires on the due date, not the day before, and a second tick adds nothing."""
    case = _open_notified(service, "EST", "ottawa", "2025-06-27")
    assert service.tick(D("2025-12-26")) == []
    fired = service.tick(D("2025-12-27"))
    assert [
        {"case": case, "clock": "effect", "on": "2025-12-27", "to_state": "effective"}
    ] == fired
    assert service.tick(D("2026-06-01")) == []
    history = service.history(case)
    assert [e["kind"] for e in history] == ["open", "take-effect"]
    assert history[-1]["actor"] == "system"
    assert history[-1]["occurred_on"] == "2025-12-27"


def test_armed_conflict_at_expiry_suspends_until_it_ends(service: Any) -> None:
    """A conflict on the expiry day postpones effect to the day the conflict ends."""
    case = _open_notified(service, "EST", "ottawa", "2025-06-27")
    service.set_fact(case, "armed_conflict=true", on=D("2025-09-01"), actor="analyst")
    view = service.show(case, as_of=D("2026-03-01"))
    assert (_clock(view)["status"], _clock(view)["due_on"]) == ("suspended", None)
    assert view["effective_on"] is None
    assert service.tick(D("2026-03-01")) == []
    service.set_fact(case, "armed_conflict=false", on=D("2027-05-09"), actor="analyst")
    assert service.tick(D("2027-05-08")) == []
    fired = service.tick(D("2027-05-09"))
    assert [f["on"] for f in fired] == ["2027-05-09"]
    assert service.show(case)["state"] == "effective"


def test_conflict_that_ends_before_expiry_does_not_postpone(service: Any) -> None:
    """A conflict that began after notice and ended before expiry changes nothing."""
    case = _open_notified(service, "FIN", "ottawa", "2025-07-10")
    service.set_fact(case, "armed_conflict=true", on=D("2025-08-01"), actor="analyst")
    service.set_fact(case, "armed_conflict=false", on=D("2025-10-01"), actor="analyst")
    assert service.show(case, as_of=D("2025-12-01"))["effective_on"] == "2026-01-10"


def test_revoked_notification_never_takes_effect(service: Any) -> None:
    """A revocation before effect voids the clock; tick never makes the case effective."""
    case = _open_notified(service, "ZAF", "rome-statute", "2016-10-19")
    service.advance(case, "revoke", on=D("2017-03-07"), actor="analyst")
    view = service.show(case, as_of=D("2020-01-01"))
    assert (view["state"], _clock(view)["status"], view["effective_on"]) == (
        "revoked",
        "void",
        None,
    )
    assert service.tick(D("2020-01-01")) == []


def test_revocation_after_the_due_date_needs_tick_first(service: Any) -> None:
    """An analyst step dated after a clock came due is refused until tick has run."""
    case = _open_notified(service, "LVA", "ottawa", "2025-06-27")
    with pytest.raises(InvalidInput, match="tick --as-of 2026-01-05"):
        service.advance(case, "revoke", on=D("2026-01-05"), actor="analyst")
    service.tick(D("2026-01-05"))
    with pytest.raises(TransitionNotAllowed):
        service.advance(case, "revoke", on=D("2026-01-05"), actor="analyst")


def test_correction_redates_and_records_old_and_new_due_dates(service: Any) -> None:
    """Correcting the receipt date recomputes the clock; the correction keeps both dates."""
    case = _open_notified(service, "LTU", "ottawa", "2025-06-26")
    view = service.correct(case, 1, on=D("2025-06-27"), reason="C.N. gives 27 June", actor="a")
    assert view["effective_on"] == "2025-12-27"
    correction = service.history(case)[-1]
    assert correction["kind"] == "correct"
    assert correction["data"]["due_before"] == {"effect": "2025-12-26"}
    assert correction["data"]["due_after"] == {"effect": "2025-12-27"}
    assert service.history(case)[0]["occurred_on"] == "2025-06-26"


def test_notice_before_the_earliest_date_is_refused_or_flagged(service: Any) -> None:
    """Paris Art. 28(1): a notice before the third anniversary is refused unless flagged."""
    facts = ["entry_into_force_for_party=2016-11-04"]
    with pytest.raises(NoticeTooEarly, match="2019-11-04"):
        _open_notified(service, "USA", "paris", "2017-08-04", facts=facts)
    case = _open_notified(
        service, "USA", "paris", "2017-08-04", facts=facts, out_of_procedure="test of a claim"
    )
    assert {"out-of-procedure", "notice-too-early"} <= set(service.show(case)["flags"])
    ok = _open_notified(service, "USA", "paris", "2019-11-04", facts=facts)
    assert service.show(ok)["effective_on"] == "2020-11-04"


def test_deadline_clock_is_met_when_the_case_moves_on(service: Any) -> None:
    """Latvia's proclamation deadline is satisfied on the day the law is proclaimed."""
    view = service.open_case(
        country="LVA", treaty="ottawa", at="law_adopted", on=D("2025-04-16"), actor="analyst"
    )
    early = service.show(view["id"], as_of=D("2025-04-20"))
    assert (
        _clock(early, "proclamation_deadline")["status"],
        _clock(early, "proclamation_deadline")["due_on"],
    ) == ("running", "2025-05-07")
    after = service.advance(view["id"], "proclaim", on=D("2025-04-24"), actor="analyst")
    deadline = _clock(after, "proclamation_deadline")
    assert (deadline["status"], deadline["due_on"]) == ("satisfied", "2025-04-24")
    assert "was met" in deadline["explanation"]


def test_as_of_and_known_at_answer_two_time_questions(service: Any) -> None:
    """--as-of filters by legal date, --known-at by the time an event was recorded."""
    stamps = iter(["2025-07-01T10:00:00.000000Z", "2025-08-01T10:00:00.000000Z"])
    service.now = lambda: next(stamps)
    case = _open_notified(service, "EST", "ottawa", "2025-06-27")
    service.set_fact(case, "armed_conflict=true", on=D("2025-06-30"), actor="analyst")
    assert service.show(case)["version"] == 2
    assert service.show(case, as_of=D("2025-06-29"))["version"] == 1
    known = service.show(case, as_of=D("2025-07-05"), known_at="2025-07-15T00:00:00.000000Z")
    assert (known["version"], known["facts"]["armed_conflict"]) == (1, False)


def test_advance_dated_before_the_last_legal_date_needs_backdate(service: Any) -> None:
    """A step dated before the case's last legal date is refused unless backdated."""
    view = service.open_case(country="LVA", treaty="ottawa", on=D("2025-03-25"), actor="a")
    with pytest.raises(OutOfOrder, match="--backdate"):
        service.advance(view["id"], "submit", on=D("2025-03-01"), actor="a")


def test_out_of_procedure_reason_is_recorded_on_an_allowed_step(service: Any) -> None:
    """An analyst's declared deviation is kept even when the rules allow the step."""
    view = service.open_case(country="FRA", treaty="ottawa", on=D("2025-03-25"), actor="a")
    after = service.advance(
        view["id"], "decide", on=D("2025-04-01"), actor="a", out_of_procedure="no decree found"
    )
    assert "out-of-procedure" in after["flags"]
    report = service.conformance([view["id"]])[0]
    assert (report["deviations"][0]["reason"], report["conforms"]) == ("no decree found", False)
