"""Legal time through the workspace: clocks from events and facts, tick, corrections, as-of."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from treatyflow.errors import ClockDueFirst, NoticeTooEarly, OutOfOrder, TransitionNotAllowed

D = dt.date.fromisoformat


def _open_notified(ws: Any, country: str, treaty: str, on: str, **kw: Any) -> str:
    view = ws.open_case(country=country, treaty=treaty, at="notified", on=D(on), **kw)
    return str(view.id)


def _clock(view: dict[str, Any], name: str = "effect") -> dict[str, Any]:
    return next(c for c in view["clocks"] if c["name"] == name)


def test_tick_never_fires_early_and_is_idempotent(ws: Any) -> None:
    """tick fires on the due date, not the day before, and a second tick adds nothing."""
    case = _open_notified(ws, "EST", "ottawa", "2025-06-27")
    assert ws.tick(as_of=D("2025-12-26")).fired == ()
    fired = [f.to_dict() for f in ws.tick(as_of=D("2025-12-27")).fired]
    assert [
        {"case": case, "clock": "effect", "on": "2025-12-27", "to_state": "effective"}
    ] == fired
    assert ws.tick(as_of=D("2026-06-01")).fired == ()
    history = [e.to_dict() for e in ws.history(case)]
    assert [e["kind"] for e in history] == ["open", "take-effect"]
    assert history[-1]["actor"] == "system"
    assert history[-1]["occurred_on"] == "2025-12-27"


def test_armed_conflict_at_expiry_suspends_until_it_ends(ws: Any) -> None:
    """A conflict on the expiry day postpones effect to the day the conflict ends."""
    case = _open_notified(ws, "EST", "ottawa", "2025-06-27")
    ws.set_fact(case, "armed_conflict", "true", on=D("2025-09-01"))
    view = ws.case(case, as_of=D("2026-03-01")).to_dict()
    assert (_clock(view)["status"], _clock(view)["due_on"]) == ("suspended", None)
    assert view["effective_on"] is None
    assert ws.tick(as_of=D("2026-03-01")).fired == ()
    ws.set_fact(case, "armed_conflict", "false", on=D("2027-05-09"))
    assert ws.tick(as_of=D("2027-05-08")).fired == ()
    fired = [f.to_dict() for f in ws.tick(as_of=D("2027-05-09")).fired]
    assert [f["on"] for f in fired] == ["2027-05-09"]
    assert ws.case(case).to_dict()["state"] == "effective"


def test_conflict_that_ends_before_expiry_does_not_postpone(ws: Any) -> None:
    """A conflict that began after notice and ended before expiry changes nothing."""
    case = _open_notified(ws, "FIN", "ottawa", "2025-07-10")
    ws.set_fact(case, "armed_conflict", "true", on=D("2025-08-01"))
    ws.set_fact(case, "armed_conflict", "false", on=D("2025-10-01"))
    assert ws.case(case, as_of=D("2025-12-01")).to_dict()["effective_on"] == "2026-01-10"


def test_revoked_notification_never_takes_effect(ws: Any) -> None:
    """A revocation before effect voids the clock; tick never makes the case effective."""
    case = _open_notified(ws, "ZAF", "rome-statute", "2016-10-19")
    ws.advance(case, "revoke", on=D("2017-03-07"))
    view = ws.case(case, as_of=D("2020-01-01")).to_dict()
    assert (view["state"], _clock(view)["status"], view["effective_on"]) == (
        "revoked",
        "void",
        None,
    )
    assert ws.tick(as_of=D("2020-01-01")).fired == ()


def test_revocation_after_the_due_date_needs_tick_first(ws: Any) -> None:
    """An analyst step dated after a clock came due is refused until tick has run."""
    case = _open_notified(ws, "LVA", "ottawa", "2025-06-27")
    with pytest.raises(ClockDueFirst, match="on or before 2026-01-05") as info:
        ws.advance(case, "revoke", on=D("2026-01-05"))
    assert info.value.on == D("2026-01-05")
    ws.tick(as_of=D("2026-01-05"))
    with pytest.raises(TransitionNotAllowed):
        ws.advance(case, "revoke", on=D("2026-01-05"))


def test_correction_redates_and_records_old_and_new_due_dates(ws: Any) -> None:
    """Correcting the receipt date recomputes the clock; the correction keeps both dates."""
    case = _open_notified(ws, "LTU", "ottawa", "2025-06-26")
    view = ws.correct(case, 1, on=D("2025-06-27"), reason="C.N. gives 27 June", actor="a")
    assert view.to_dict()["effective_on"] == "2025-12-27"
    correction = ws.history(case)[-1].to_dict()
    assert correction["kind"] == "correct"
    assert correction["data"]["due_before"] == {"effect": "2025-12-26"}
    assert correction["data"]["due_after"] == {"effect": "2025-12-27"}
    assert ws.history(case)[0].to_dict()["occurred_on"] == "2025-06-26"


def test_notice_before_the_earliest_date_is_refused_or_flagged(ws: Any) -> None:
    """Paris Art. 28(1): a notice before the third anniversary is refused unless flagged."""
    facts = {"entry_into_force_for_party": "2016-11-04"}
    with pytest.raises(NoticeTooEarly, match="2019-11-04"):
        _open_notified(ws, "USA", "paris", "2017-08-04", facts=facts)
    case = _open_notified(
        ws, "USA", "paris", "2017-08-04", facts=facts, out_of_procedure="test of a claim"
    )
    assert {"out-of-procedure", "notice-too-early"} <= set(ws.case(case).to_dict()["flags"])
    ok = _open_notified(ws, "USA", "paris", "2019-11-04", facts=facts)
    assert ws.case(ok).to_dict()["effective_on"] == "2020-11-04"


def test_deadline_clock_is_met_when_the_case_moves_on(ws: Any) -> None:
    """Latvia's proclamation deadline is satisfied on the day the law is proclaimed."""
    view = ws.open_case(country="LVA", treaty="ottawa", at="law_adopted", on=D("2025-04-16"))
    early = ws.case(view.id, as_of=D("2025-04-20")).to_dict()
    assert (
        _clock(early, "proclamation_deadline")["status"],
        _clock(early, "proclamation_deadline")["due_on"],
    ) == ("running", "2025-05-07")
    after = ws.advance(view.id, "proclaim", on=D("2025-04-24")).to_dict()
    deadline = _clock(after, "proclamation_deadline")
    assert (deadline["status"], deadline["due_on"]) == ("satisfied", "2025-04-24")
    assert "was met" in deadline["explanation"]


def test_as_of_and_known_at_answer_two_time_questions(ws: Any) -> None:
    """--as-of filters by legal date, --known-at by the time an event was recorded."""
    stamps = iter(["2025-07-01T10:00:00.000000Z", "2025-08-01T10:00:00.000000Z"])
    ws._core.now = lambda: next(stamps)
    case = _open_notified(ws, "EST", "ottawa", "2025-06-27")
    ws.set_fact(case, "armed_conflict", "true", on=D("2025-06-30"))
    assert ws.case(case).to_dict()["version"] == 2
    assert ws.case(case, as_of=D("2025-06-29")).to_dict()["version"] == 1
    known = ws.case(case, as_of=D("2025-07-05"), known_at="2025-07-15T00:00:00.000000Z").to_dict()
    assert (known["version"], known["facts"]["armed_conflict"]) == (1, False)


def test_advance_dated_before_the_last_legal_date_needs_backdate(ws: Any) -> None:
    """A step dated before the case's last legal date is refused unless backdated."""
    view = ws.open_case(country="LVA", treaty="ottawa", on=D("2025-03-25"), actor="a")
    with pytest.raises(OutOfOrder, match="2025-03-01 is before the last legal date"):
        ws.advance(view.id, "submit", on=D("2025-03-01"), actor="a")


def test_out_of_procedure_reason_is_recorded_on_an_allowed_step(ws: Any) -> None:
    """An analyst's declared deviation is kept even when the rules allow the step."""
    view = ws.open_case(country="FRA", treaty="ottawa", on=D("2025-03-25"), actor="a")
    after = ws.advance(
        view.id, "decide", on=D("2025-04-01"), actor="a", out_of_procedure="no decree found"
    ).to_dict()
    assert "out-of-procedure" in after["flags"]
    report = ws.conformance([view.id])[0].to_dict()
    assert (report["deviations"][0]["reason"], report["conforms"]) == ("no decree found", False)
