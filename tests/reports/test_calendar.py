"""``treatyflow calendar``: upcoming legal dates as iCalendar, stable and reproducible."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import icalendar
from _reportdata import HOSTILE_ID, Run

from treatyflow.reports import ics


def events(path: Path) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_calendar_lists_running_clocks_with_basis(run: Run, tmp_path: Path) -> None:
    """Each running clock is an all-day event on its due date with its legal basis."""
    target = tmp_path / "dates.ics"
    run("calendar", "--as-of", "2025-07-01", "-o", str(target))
    found = events(target)
    uid = "LTU-1-effect@treatyflow"
    assert uid in found
    ev = found[uid]
    assert ev.decoded("DTSTART") == dt.date(2025, 12, 27)
    assert ev.decoded("DTEND") == dt.date(2025, 12, 28)
    assert "APMBC Art. 20(3)" in str(ev["DESCRIPTION"])
    assert str(ev["SUMMARY"]).startswith("LTU-1: ")
    assert "DTSTAMP" in ev
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_calendar_is_reproducible_and_uids_are_stable(run: Run, tmp_path: Path) -> None:
    """Two runs give identical bytes; the UIDs do not depend on the run."""
    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    run("calendar", "--as-of", "2025-07-01", "-o", str(first))
    run("calendar", "--as-of", "2025-07-01", "-o", str(second))
    assert first.read_bytes() == second.read_bytes()
    assert set(events(first)) == {"EST-1-effect@treatyflow", "LTU-1-effect@treatyflow"}


def test_calendar_drops_dates_that_have_passed(run: Run, tmp_path: Path) -> None:
    """After a clock has fired its date is no longer listed; still-running ones are."""
    target = tmp_path / "late.ics"
    run("calendar", "--as-of", "2025-12-31", "-o", str(target))
    assert set(events(target)) == {ics.uid(HOSTILE_ID, "effect")}


def test_calendar_refuses_to_overwrite_and_prints_without_o(run: Run, tmp_path: Path) -> None:
    """An existing .ics needs --force; without -o the calendar goes to stdout."""
    target = tmp_path / "x.ics"
    target.write_text("old", encoding="utf-8")
    result = run("calendar", "-o", str(target), ok=False)
    assert result.exit_code == 1 and "--force" in result.stderr
    assert target.read_text(encoding="utf-8") == "old"
    out = run("calendar", "--as-of", "2025-07-01").stdout
    assert out.startswith("BEGIN:VCALENDAR") and "UID:LTU-1-effect@treatyflow" in out


def test_uid_encodes_free_text_case_ids() -> None:
    """A case id with spaces, @ or markup still gives one safe, stable UID."""
    assert ics.uid("LTU-1", "effect") == "LTU-1-effect@treatyflow"
    assert ics.uid("a b@c<d>", "effect") == "a%20b%40c%3Cd%3E-effect@treatyflow"


def test_alarm_adds_one_valarm_per_days_value(run: Run, tmp_path: Path) -> None:
    """--alarm 7 --alarm 1: each event carries two display reminders, 7 and 1 days before."""
    target = tmp_path / "alarms.ics"
    run("calendar", "--as-of", "2025-07-01", "--alarm", "7", "--alarm", "1", "-o", str(target))
    ev = events(target)["LTU-1-effect@treatyflow"]
    alarms = ev.walk("VALARM")
    assert [a.decoded("TRIGGER") for a in alarms] == [
        -dt.timedelta(days=7),
        -dt.timedelta(days=1),
    ]
    assert [str(a["ACTION"]) for a in alarms] == ["DISPLAY", "DISPLAY"]
    assert str(alarms[0]["DESCRIPTION"]).endswith("(in 7 days)")
    plain = tmp_path / "plain.ics"
    run("calendar", "--as-of", "2025-07-01", "-o", str(plain))
    assert b"VALARM" not in plain.read_bytes()


def test_alarm_out_of_range_is_a_usage_error(run: Run) -> None:
    """A negative number of days is refused by the option (exit 2)."""
    assert run("calendar", "--alarm", "-1", ok=False).exit_code == 2


def test_calendar_json_lists_the_same_items(run: Run) -> None:
    """--json prints the items the .ics holds, soonest first, with their basis."""
    doc = json.loads(run("calendar", "--as-of", "2025-07-01", "--json", "--alarm", "3").stdout)
    assert doc["as_of"] == "2025-07-01" and doc["alarms"] == [3]
    uids = [i["uid"] for i in doc["items"]]
    assert uids == sorted(
        uids, key=lambda u: next(i["date"] for i in doc["items"] if i["uid"] == u)
    )
    assert set(uids) == {"EST-1-effect@treatyflow", "LTU-1-effect@treatyflow"}
    ltu = next(i for i in doc["items"] if i["case"] == "LTU-1")
    assert (ltu["date"], ltu["clock"], ltu["status"], ltu["to_state"]) == (
        "2025-12-27",
        "effect",
        "running",
        "effective",
    )
    assert ltu["basis"].startswith("APMBC Art. 20(3)")
