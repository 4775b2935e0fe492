"""Retraction: a step recorded by mistake stops counting; the log keeps both events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from treatyflow.chain import verify_states
from treatyflow.errors import InvalidInput, RetractionRefused
from treatyflow.events import EventKind

DECREE = "Decree; level=official; kind=decree"
CN = "C.N. notification; level=official"


@pytest.fixture
def notified(ws: Any) -> Any:
    """FRA-1 (generic procedure): opened 1 Mar, decided 1 Apr, notified 2 May 2025."""
    ws.open_case(country="FRA", treaty="ottawa", id="FRA-1", on="2025-03-01")
    ws.advance("FRA-1", "decide", on="2025-04-01", sources=[DECREE])
    ws.advance("FRA-1", "notify", on="2025-05-02", sources=[CN])
    return ws


def test_a_retracted_transition_stops_counting_and_the_clock_goes(notified: Any) -> None:
    """Retracting the last transition moves the case back and drops the clock it started;
    the log keeps the step and adds a retract event recording the move back."""
    ws = notified
    assert ws.case("FRA-1").effective_on is not None
    view = ws.retract("FRA-1", 3, reason="notified on the wrong case")
    assert (view.state, view.effective_on, view.version) == ("decided", None, 4)
    assert "notify" in view.allowed
    last = ws.history("FRA-1")[-1]
    assert (last.kind, last.data["target_seq"], last.note) == (
        EventKind.RETRACT,
        3,
        "notified on the wrong case",
    )
    assert (last.from_state, last.to_state) == ("notified", "decided")
    assert last.data["due_before"] == {"effect": "2025-11-02"}
    assert last.data["due_after"] == {"effect": None}
    assert [c.state for c in ws.cases()] == ["decided"]  # the case row follows


def test_the_right_step_can_be_recorded_after_a_retraction(notified: Any) -> None:
    """After the retraction the case accepts the step again, dated before the retracted one
    (the retracted date no longer counts as the case's last), and every chain verifies."""
    ws = notified
    ws.retract("FRA-1", 3, reason="wrong date")
    view = ws.advance("FRA-1", "notify", on="2025-04-20", sources=[CN])
    assert (view.state, view.effective_on.isoformat()) == ("notified", "2025-10-20")
    assert ws.verify().ok
    rows = [e.to_dict() for e in ws.history("FRA-1")]
    assert verify_states("FRA-1", rows, expected_state="notified") is None


def test_the_view_known_before_the_retraction_still_counts_the_step(notified: Any) -> None:
    """Bitemporal: as known before the retraction was recorded, the step counted."""
    ws = notified
    before = ws.history("FRA-1")[-1].recorded_at
    ws.retract("FRA-1", 3, reason="mistake")
    assert ws.case("FRA-1", known_at=before).state == "notified"
    assert ws.case("FRA-1").state == "decided"


def test_a_step_later_transitions_depend_on_is_refused_naming_them(notified: Any) -> None:
    """A transition followed by transitions from its destination cannot be retracted; the
    error names them and nothing is written."""
    ws = notified
    with pytest.raises(RetractionRefused) as info:
        ws.retract("FRA-1", 2, reason="mistake")
    assert info.value.dependents == ["3 notify"]
    assert str(info.value) == (
        "can't retract event 2 of case 'FRA-1': later steps depend on it: 3 notify."
    )
    assert ws.case("FRA-1").version == 3
    ws.tick(as_of="2025-11-02")
    with pytest.raises(RetractionRefused) as info:
        ws.retract("FRA-1", 3, reason="mistake")
    assert info.value.dependents == ["4 take-effect"]


def test_a_fact_a_later_guard_read_is_refused(ws: Any) -> None:
    """A fact a later transition's guard relied on cannot be retracted; one nothing read can."""
    ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="submitted", on="2025-05-01")
    ws.set_fact("LTU-1", "qualified_majority", True, on="2025-05-08")
    ws.advance("LTU-1", "adopt-law", on="2025-05-08", sources=["Seimas record"])
    ws.set_fact("LTU-1", "armed_conflict", True, on="2025-05-09")
    with pytest.raises(RetractionRefused) as info:
        ws.retract("LTU-1", 2, reason="mistake")
    assert info.value.dependents == ["3 adopt-law"]
    assert ws.case("LTU-1").facts["armed_conflict"] is True
    view = ws.retract("LTU-1", 4, reason="not assessed yet")
    assert view.facts["armed_conflict"] is False  # the treaty's default again


def test_events_a_retraction_cannot_take_back(notified: Any) -> None:
    """The opening, a retraction, an already retracted event and an unknown seq are
    refused with their reason; a retraction needs a reason."""
    ws = notified
    ws.note("FRA-1", "A note", on="2025-05-03")
    with pytest.raises(RetractionRefused, match="the opening cannot be retracted"):
        ws.retract("FRA-1", 1, reason="x")
    ws.retract("FRA-1", 4, reason="duplicate")
    with pytest.raises(RetractionRefused, match="already retracted"):
        ws.retract("FRA-1", 4, reason="x")
    with pytest.raises(RetractionRefused, match="a retraction cannot be retracted"):
        ws.retract("FRA-1", 5, reason="x")
    with pytest.raises(InvalidInput, match="no event 9"):
        ws.retract("FRA-1", 9, reason="x")
    with pytest.raises(InvalidInput, match="needs a reason"):
        ws.retract("FRA-1", 3, reason=" ")
    ws.tick(as_of="2025-11-02")
    with pytest.raises(RetractionRefused, match="a clock firing follows from the log"):
        ws.retract("FRA-1", 6, reason="x")
    with pytest.raises(InvalidInput, match="no correctable event 4"):
        ws.correct("FRA-1", 4, on="2025-05-04", reason="x")


def test_reports_strike_the_retracted_step_through(notified: Any) -> None:
    """Markdown strikes it through, HTML wraps it in <del>, JSON names the retraction; the
    path and the matrix leave it out."""
    ws = notified
    ws.retract("FRA-1", 3, reason="wrong trigger")
    md = ws.report("case", "md", case_ids=["FRA-1"], as_of="2025-06-01")
    assert "3. ~~**2025-05-02** — decided → notified (notify)~~ **retracted by #4**" in md
    assert "4. **2025-05-02** — #3 retracted; state back notified → decided" in md
    html = ws.report("case", "html", case_ids=["FRA-1"], as_of="2025-06-01")
    assert 'class="retracted"' in html
    assert '<del><span class="kind">advance</span> decided → notified (notify)</del>' in html
    doc = json.loads(ws.report("case", "json", case_ids=["FRA-1"], as_of="2025-06-01"))
    case = doc["cases"][0]
    timeline = {e["seq"]: e for e in case["timeline"]}
    assert timeline[3]["retracted_by"] == 4
    assert timeline[4]["retraction"]["target_seq"] == 3
    assert timeline[4]["retraction"]["reason"] == "wrong trigger"
    assert case["path"] == ["considering", "decided"]
    assert "2025-05-02" not in ws.matrix("csv")


def test_conformance_forgets_a_retracted_deviation(ws: Any) -> None:
    """A step recorded out of procedure by mistake no longer counts as a deviation."""
    ws.open_case(country="FRA", treaty="ottawa", id="FRA-2", on="2025-03-01")
    ws.note("FRA-2", "context", on="2025-03-02")
    ws.advance("FRA-2", "decide", on="2025-04-01", out_of_procedure="no decree found")
    assert not ws.conformance(["FRA-2"])[0].conforms
    ws.retract("FRA-2", 3, reason="the decree was found; recorded on the wrong case")
    assert ws.conformance(["FRA-2"])[0].conforms


def test_verify_accepts_a_log_with_retractions_on_every_path(
    notified: Any, tmp_path: Path
) -> None:
    """The fast SQLite pass, the per-case state check and a bundle all accept a retraction."""
    ws = notified
    ws.retract("FRA-1", 3, reason="mistake")
    ws.advance("FRA-1", "notify", on="2025-05-05", sources=[CN])
    assert ws.verify().ok
    bundle = tmp_path / "b.jsonl"
    ws.export(bundle)
    import treatyflow

    assert treatyflow.verify_bundle(bundle).ok


def test_cli_case_retract(cli: Any) -> None:
    """`case retract` prints the case after it; a dependent step is an error naming it."""
    assert (
        cli(
            "case",
            "open",
            "--country",
            "FRA",
            "--treaty",
            "ottawa",
            "--id",
            "F",
            "--on",
            "2025-03-01",
        ).exit_code
        == 0
    )
    assert (
        cli("case", "advance", "F", "decide", "--on", "2025-04-01", "--source", DECREE).exit_code
        == 0
    )
    assert (
        cli("case", "advance", "F", "notify", "--on", "2025-05-02", "--source", CN).exit_code == 0
    )
    refused = cli("case", "retract", "F", "2", "--reason", "oops")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: can't retract event 2 of case 'F': later steps depend on it: 3 notify.\n"
    )
    done = cli("case", "retract", "F", "3", "--reason", "wrong case")
    assert (done.exit_code, done.stdout) == (0, "F: decided (version 4)\n")
    history = cli("case", "history", "F")
    assert "retracts seq 3 (notified -> decided)" in history.stdout
    assert cli("case", "retract", "F", "3").exit_code == 2  # --reason is required


def test_a_fact_a_later_clock_firing_read_is_refused(ws: Any) -> None:
    """The effect clock reads armed_conflict (Art. 20(3)): once it fired, a set-fact of
    armed_conflict before it cannot be retracted; a fact the clock does not read can."""
    ws.open_case(country="LTU", treaty="ottawa", id="LTU-2", at="law_signed", on="2025-05-12")
    ws.set_fact("LTU-2", "armed_conflict", False, on="2025-06-01", sources=["Assessment"])
    ws.set_fact("LTU-2", "qualified_majority", True, on="2025-06-02", sources=["Record"])
    receipt = "C.N. notification; level=official; kind=depositary-notification"
    ws.advance("LTU-2", "notify", on="2025-06-27", sources=[receipt])
    ws.tick(as_of="2025-12-27")
    with pytest.raises(RetractionRefused) as info:
        ws.retract("LTU-2", 2, reason="not assessed")
    assert info.value.dependents == ["5 take-effect"]
    assert ws.retract("LTU-2", 3, reason="wrong case").state == "effective"
