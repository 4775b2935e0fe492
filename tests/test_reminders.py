"""Reminders for cron jobs: `pending --due-within DAYS [--exit-code]`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from treatyflow.errors import InvalidInput

CN = "C.N. notification; level=official"


@pytest.fixture
def three(cli: Any) -> Any:
    """LTU-1 and EST-1 notified 27 Jun 2025 (effect 27 Dec 2025); FIN-1 notified 10 Jul
    2025 (effect 10 Jan 2026); G1 considering (no date)."""
    for country, case_id, on in (("LTU", "L1", "2025-06-27"), ("FIN", "F1", "2025-07-10")):
        opened = cli("case", "open", "--country", country, "--treaty", "ottawa", "--id",
                     case_id, "--at", "notified", "--on", on)  # fmt: skip
        assert opened.exit_code == 0, opened.output
    assert cli("case", "open", "--country", "FRA", "--treaty", "ottawa", "--id", "G1",
               "--on", "2025-03-01").exit_code == 0  # fmt: skip
    return cli


def test_due_within_keeps_the_dates_in_the_horizon(three: Any) -> None:
    """Only L1 falls due within 7 days of 21 Dec; within 30 days F1 too; undated G1 never."""
    week = json.loads(three("pending", "--as-of", "2025-12-21", "--due-within", "7",
                            "--json").stdout)  # fmt: skip
    assert (week["as_of"], week["due_by"]) == ("2025-12-21", "2025-12-28")
    assert [c["id"] for c in week["cases"]] == ["L1"]
    month = json.loads(three("pending", "--as-of", "2025-12-21", "--due-within", "30",
                             "--json").stdout)  # fmt: skip
    assert [c["id"] for c in month["cases"]] == ["L1", "F1"]


def test_overdue_items_are_always_due(three: Any) -> None:
    """A clock that came due and was not ticked is listed, whatever the horizon."""
    doc = json.loads(three("pending", "--as-of", "2026-01-05", "--due-within", "0",
                           "--json").stdout)  # fmt: skip
    assert [(c["id"], c["overdue"]) for c in doc["cases"]] == [("L1", True)]


def test_exit_code_3_when_something_is_due_0_otherwise(three: Any) -> None:
    """--exit-code: 3 with something listed (the table is printed), 0 with nothing."""
    due = three("pending", "--as-of", "2025-12-21", "--due-within", "7", "--exit-code")
    assert due.exit_code == 3
    assert due.stdout.splitlines()[0] == "Pending as of 2025-12-21 (due by 2025-12-28)"
    assert "L1" in due.stdout and "F1" not in due.stdout
    calm = three("pending", "--as-of", "2025-08-01", "--due-within", "7", "--exit-code")
    assert (calm.exit_code, calm.stdout) == (0, "Nothing due by 2025-08-08 (as of 2025-08-01).\n")
    as_json = three("pending", "--as-of", "2025-12-21", "--due-within", "7", "--exit-code",
                    "--json")  # fmt: skip
    assert as_json.exit_code == 3 and json.loads(as_json.stdout)["cases"][0]["id"] == "L1"


def test_pending_json_without_the_new_options_is_unchanged(three: Any) -> None:
    """Without --due-within the document has exactly the keys it always had."""
    doc = json.loads(three("pending", "--as-of", "2025-12-21", "--json").stdout)
    assert list(doc) == ["as_of", "known_at", "cases"]
    assert [c["id"] for c in doc["cases"]] == ["L1", "F1", "G1"]


def test_due_within_in_the_api(ws: Any) -> None:
    """Workspace.pending(due_within=) filters the same way; a negative horizon is refused."""
    ws.open_case(country="LTU", treaty="ottawa", id="L1", at="notified", on="2025-06-27")
    listing = ws.pending(as_of="2025-12-21", due_within=6)
    assert [c.id for c in listing.cases] == ["L1"]
    assert listing.to_dict()["due_by"] == "2025-12-27"
    assert ws.pending(as_of="2025-12-20", due_within=6).cases == ()
    with pytest.raises(InvalidInput, match="number of days"):
        ws.pending(due_within=-1)
