"""`report diff`: what changed between two record times, old -> new, as of one legal date."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from treatyflow.errors import InvalidInput
from treatyflow.reports import diff

CN = "C.N. notification; level=official"


class Clock:
    """A record-time clock the test moves by hand."""

    def __init__(self) -> None:
        self.moment = dt.datetime(2025, 7, 1, 9, 0, tzinfo=dt.UTC)

    def now(self) -> str:
        self.moment += dt.timedelta(seconds=1)
        return self.moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def jump(self, day: str) -> None:
        self.moment = dt.datetime.fromisoformat(day + "T09:00:00+00:00")


@pytest.fixture
def timed(store: Any, catalog: Any) -> Iterator[tuple[Any, Clock]]:
    """A workspace whose record times the test sets (week 1: 1 July; week 2: 8 July)."""
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace

    clock = Clock()
    core = Core(store, catalog, now=clock.now, today=lambda: dt.date(2026, 1, 1))
    ws = Workspace(core, actor="analyst")
    ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="notified", on="2025-06-27")
    ws.open_case(country="FRA", treaty="ottawa", id="FRA-1", on="2025-03-01")
    ws.open_case(country="EST", treaty="ottawa", id="EST-1", at="notified", on="2025-06-27")
    clock.jump("2025-07-08")
    ws.advance("FRA-1", "decide", on="2025-04-01", sources=["Decree; level=official"])
    ws.advance("FRA-1", "notify", on="2025-05-02", sources=[CN])
    ws.set_fact("LTU-1", "armed_conflict", True, on="2025-07-05", sources=["Assessment"])
    ws.note("EST-1", "A note changes nothing a brief shows", on="2025-07-06")
    ws.open_case(country="LVA", treaty="ottawa", id="LVA-1", at="notified", on="2025-06-27")
    yield ws, clock


def test_changes_list_each_changed_field_old_to_new(timed: Any) -> None:
    """Between 2 and 8 July: FRA-1 moved and gained a clock, LTU-1's fact suspended its
    clock, LVA-1 is new; EST-1 (a note only) is not listed."""
    ws, _ = timed
    found = ws.changes(since="2025-07-02", until="2025-07-08", as_of="2026-01-01")
    assert (found.since, found.until, found.as_of) == (
        "2025-07-02T00:00:00.000000Z",
        "2025-07-08T23:59:59.999999Z",
        dt.date(2026, 1, 1),
    )
    by_id = {c.id: c for c in found.cases}
    assert sorted(by_id) == ["FRA-1", "LTU-1", "LVA-1"]
    fra = {c.field: (c.old, c.new) for c in by_id["FRA-1"].changes}
    assert fra["state"] == ("considering", "notified")
    assert fra["effective_on"] == (None, "2025-11-02")
    assert fra["clock:effect"] == (
        {"due_on": None, "status": "unknown"},
        {"due_on": "2025-11-02", "status": "due"},
    )
    ltu = {c.field: (c.old, c.new) for c in by_id["LTU-1"].changes}
    assert ltu["fact:armed_conflict"] == (False, True)
    assert ltu["effective_on"] == ("2025-12-27", None)
    assert ltu["clock:effect"][1]["status"] == "suspended"
    assert (by_id["LVA-1"].new, by_id["FRA-1"].new, by_id["FRA-1"].events) == (True, False, 2)
    assert {c.field for c in by_id["LVA-1"].changes} >= {"state", "effective_on"}


def test_a_window_before_the_changes_lists_nothing(timed: Any) -> None:
    """Nothing recorded in the window: no case."""
    ws, _ = timed
    assert ws.changes(since="2025-07-02", until="2025-07-03").cases == ()
    assert ws.changes(since="2025-07-09", until="2025-07-10").cases == ()


def test_the_same_legal_date_is_used_on_both_sides(timed: Any) -> None:
    """As of a legal date before the steps, a step recorded in the window changes nothing."""
    ws, _ = timed
    found = ws.changes(since="2025-07-02", until="2025-07-08", as_of="2025-03-15")
    assert "FRA-1" not in {c.id for c in found.cases}


def test_bad_bounds_are_refused(timed: Any) -> None:
    """A value that is not a timestamp, or an until before since, is an InvalidInput."""
    ws, _ = timed
    with pytest.raises(InvalidInput, match="until"):
        ws.changes(since="2025-07-08", until="2025-07-01")
    with pytest.raises(InvalidInput, match="since"):
        ws.changes(since="last week")
    with pytest.raises(InvalidInput, match="aware"):
        ws.changes(since=dt.datetime(2025, 7, 1))
    aware = ws.changes(since=dt.datetime(2025, 7, 2, tzinfo=dt.UTC), until=dt.date(2025, 7, 8))
    assert len(aware.cases) == 3


def test_markdown_html_and_json_renderings(timed: Any) -> None:
    """Markdown has a before/after table per case, HTML the same escaped, JSON to_dict()."""
    ws, _ = timed
    found = ws.changes(since="2025-07-02", until="2025-07-08", as_of="2026-01-01")
    text = diff.render(found.to_dict(), "md")
    assert text.startswith(
        "# What changed: 2025-07-02T00:00:00.000000Z → 2025-07-08T23:59:59.999999Z\n\n"
        "As of the legal date 2026-01-01: 3 case(s) changed (1 new).\n"
    )
    assert "| state | considering | notified |" in text
    assert "| clock effect | – (unknown) | 2025-11-02 (due) |" in text
    assert "| fact armed\\_conflict | false | true |" in text
    assert "## LVA-1 (new case)" in text
    html = diff.render(found.to_dict(), "html")
    assert (
        "<td>state</td><td><del>considering</del></td><td><strong>notified</strong></td>" in html
    )
    assert json.loads(diff.render(found.to_dict(), "json")) == found.to_dict()


def test_cli_report_diff(cli: Any, tmp_path: Path) -> None:
    """The command prints the Markdown brief; --json the document; a bad --since exits 1."""
    assert cli("case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "L",
               "--at", "notified", "--on", "2025-06-27").exit_code == 0  # fmt: skip
    out = cli("report", "diff", "--since", "2000-01-01", "--as-of", "2025-07-01")
    assert out.exit_code == 0
    assert "## L (new case)" in out.stdout
    assert "| effective date | – | 2025-12-27 |" in out.stdout
    doc = json.loads(cli("report", "diff", "--since", "2000-01-01", "--json").stdout)
    assert [c["id"] for c in doc["cases"]] == ["L"]
    none = cli("report", "diff", "--since", "2999-01-01", "--until", "2999-01-02")
    assert "0 case(s) changed." in none.stdout and "Nothing changed." in none.stdout
    bad = cli("report", "diff", "--since", "soon")
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: since 'soon' is not")
    target = tmp_path / "brief.html"
    wrote = cli("report", "diff", "--since", "2000-01-01", "--format", "html", "-o", str(target))
    assert wrote.exit_code == 0 and target.read_text("utf-8").startswith("<!DOCTYPE html>")
