"""The 2025 Ottawa example as the demo builds it: dates, sources, Ukraine, conformance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from treatyflow.cli import main

EXPECTED_EFFECT = {
    "EST-ottawa-2025": "2025-12-27",
    "LVA-ottawa-2025": "2025-12-27",
    "LTU-ottawa-2025": "2025-12-27",
    "FIN-ottawa-2025": "2026-01-10",
    "POL-ottawa-2025": "2026-02-20",
}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once for the module, ticked to 2026-11-28."""
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo.db"
    result = CliRunner().invoke(
        main,
        ["--db", str(db), "demo", "--out", str(folder / "reports"), "--as-of", "2026-11-28"],
    )
    assert result.exit_code == 0, result.output
    return db


def _json(db: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--db", str(db), *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_five_withdrawals_are_effective_on_the_depositary_dates(demo_db: Path) -> None:
    """EST, LVA, LTU (27 Dec 2025), FIN (10 Jan 2026) and POL (20 Feb 2026) are effective."""
    for case_id, day in EXPECTED_EFFECT.items():
        view = _json(demo_db, "case", "show", case_id)
        assert ("effective", day) == (view["state"], view["effective_on"]), case_id
        last = _json(demo_db, "case", "history", case_id)[-1]
        assert ("take-effect", "system", day) == (last["kind"], last["actor"], last["occurred_on"])


def test_every_example_event_carries_a_source(demo_db: Path) -> None:
    """Every event an analyst recorded from the example data cites at least one source."""
    recorded = [
        (case["id"], event)
        for case in _json(demo_db, "case", "list")
        for event in _json(demo_db, "case", "history", case["id"])
        if event["actor"] != "system"
    ]
    assert len(recorded) >= len(_json(demo_db, "case", "list"))  # at least each case's open
    for case_id, event in recorded:
        assert event["sources"], f"{case_id} #{event['seq']}"


def test_ukraine_is_a_disputed_suspension_with_its_domestic_steps(demo_db: Path) -> None:
    """Ukraine's case is a suspension, objected to, with the NSDC, decree and Rada steps."""
    view = _json(demo_db, "case", "show", "UKR-ottawa-2025")
    assert (
        view["action"],
        view["state"],
        view["effective_on"],
    ) == ("suspension", "disputed", None)
    history = _json(demo_db, "case", "history", "UKR-ottawa-2025")
    steps = {(e["trigger"], e["occurred_on"]) for e in history if e["trigger"]}
    assert {
        ("nsdc-decide", "2025-06-29"),
        ("enact-decree", "2025-06-29"),
        ("adopt-law", "2025-07-15"),
    } <= steps
    decree = next(e for e in history if e["trigger"] == "enact-decree")
    assert any("441/2025" in (s.get("reference") or "") for s in decree["sources"])
    objectors = {e["data"].get("by") for e in history if e["kind"] == "record"} | {
        e["data"].get("by") for e in history if e["trigger"] == "object"
    }
    assert {"NOR", "BEL", "AUT", "CHE", "NZL", "COL"} <= objectors


def test_ukraine_objection_period_says_the_objection_ended_it(demo_db: Path) -> None:
    """The void Art. 65(2) clock names the objection that ended it, not a revocation (#14)."""
    view = _json(demo_db, "case", "show", "UKR-ottawa-2025")
    clock = next(c for c in view["clocks"] if c["name"] == "objection_period")
    assert clock["status"] == "void"
    assert clock["explanation"] == (
        "The clock ended on 2025-10-17: the case entered 'disputed' (Claim disputed (objection "
        "raised)) by the trigger 'object', before it came due."
    )
    assert "revoked" not in clock["explanation"]


def test_the_demo_records_its_armed_conflict_assessments(demo_db: Path) -> None:
    """Every Ottawa case records armed_conflict explicitly, so no clock is unassessed (#14)."""
    for case_id in [*EXPECTED_EFFECT, "UKR-ottawa-2025"]:
        view = _json(demo_db, "case", "show", case_id)
        first = _json(demo_db, "case", "history", case_id)[0]
        assert "armed_conflict" in first["data"]["facts"], case_id
        assert "unassessed" not in view["flags"], case_id


def test_poland_statement_of_reasons_is_on_record(demo_db: Path) -> None:
    """POL's statement of reasons (Dz.U. 2025 poz. 1514) meets APMBC Art. 20(2); only the
    Security Council notice lacks evidence. Latvia's file has neither."""
    subjects = {}
    for case_id in ("POL-ottawa-2025", "LVA-ottawa-2025"):
        clock = next(
            c for c in _json(demo_db, "case", "show", case_id)["clocks"] if c["name"] == "effect"
        )
        subjects[case_id] = sorted(i["subject"] for i in clock["issues"])
    assert subjects == {
        "POL-ottawa-2025": ["security-council-notice"],
        "LVA-ottawa-2025": ["security-council-notice", "statement-of-reasons"],
    }


def test_conformance_flags_ukraine_and_no_other_deviation(demo_db: Path) -> None:
    """Conformance lists Ukraine's notification of a suspension as out of procedure."""
    report = {c["id"]: c for c in _json(demo_db, "conformance")}
    assert not report["UKR-ottawa-2025"]["conforms"]
    flags = {f for d in report["UKR-ottawa-2025"]["deviations"] for f in d["flags"]}
    assert {"out-of-procedure", "guards-not-met", "contested"} <= flags
    for case_id in EXPECTED_EFFECT:
        assert report[case_id]["conforms"], case_id


def test_matrix_shows_dates_and_footnotes(demo_db: Path) -> None:
    """The matrix has a row per case, the notification and effect dates, and footnotes."""
    matrix = _json(demo_db, "report", "matrix")
    rows = {r["case"]: r for r in matrix["rows"]}
    assert rows["POL-ottawa-2025"]["cells"]["notified"]["date"] == "2025-08-20"
    assert rows["FIN-ottawa-2025"]["cells"]["effective"]["date"] == "2026-01-10"
    assert any("UNCERTAIN" in f["text"] for f in matrix["footnotes"])
    result = CliRunner().invoke(
        main, ["--db", str(demo_db), "report", "matrix", "--format", "csv"]
    )
    assert result.stdout.startswith("Case,Country,Action,")


def test_demo_refuses_a_database_that_has_cases(demo_db: Path, tmp_path: Path) -> None:
    """The demo needs a new or empty database and says so."""
    result = CliRunner().invoke(main, ["--db", str(demo_db), "demo", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "already has cases" in result.stderr
