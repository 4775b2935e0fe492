"""Upcoming legal dates as an iCalendar file (RFC 5545), with the ``icalendar`` library.

One all-day event per clock that is still running (or due) with a date on or after
``--as-of`` (an expected effective date, the end of an objection period, ...), with its
legal basis in the description. UIDs are ``{case_id}-{clock}@treatyflow`` (the case id
percent-encoded), so a calendar that re-imports the file updates an event instead of
duplicating it; SEQUENCE is the number of events in the case's log and DTSTAMP the case's
last record time, so the output is a pure function of the data (byte-identical for the same
database and ``--as-of``). With ``--alarm DAYS`` each event carries a VALARM reminder that
many days before the date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import icalendar

PRODID = "-//treatyflow//legal dates//EN"
STATUSES = ("running", "due")


def uid(case_id: str, clock: str) -> str:
    """The stable UID of a case's clock date."""
    return f"{quote(case_id, safe='')}-{quote(clock, safe='')}@treatyflow"


def calendar_items(
    triples: Sequence[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]], Any]],
    *,
    as_of: dt.date,
) -> list[dict[str, Any]]:
    """The open clocks of (view, raw history, procedure) triples due on or after ``as_of``,
    soonest first."""
    items = []
    for view, rows, _proc in triples:
        stamp = max((str(r["recorded_at"]) for r in rows), default="1970-01-01T00:00:00Z")
        for clock in view.get("clocks") or []:
            if clock.get("status") not in STATUSES or not clock.get("due_on"):
                continue
            if str(clock["due_on"]) < as_of.isoformat():
                continue  # passed: not upcoming
            step = next(
                (s for s in view.get("steps") or [] if s.get("clock") == clock["name"]), None
            )
            what = (step.get("title") if step else None) or f"clock {clock['name']} comes due"
            items.append(
                {
                    "uid": uid(str(view["id"]), str(clock["name"])),
                    "case": view["id"],
                    "clock": clock["name"],
                    "status": clock["status"],
                    "date": clock["due_on"],
                    "summary": f"{view['id']}: {what}",
                    "basis": clock.get("basis") or "",
                    "explanation": clock.get("explanation") or "",
                    "state": view.get("state"),
                    "to_state": step.get("to_state") if step else None,
                    "sequence": len(rows),
                    "stamp": stamp,
                    "country": view.get("country"),
                    "treaty": view.get("treaty"),
                }
            )
    items.sort(key=lambda i: (i["date"], i["uid"]))
    return items


def render_ics(
    items: Sequence[Mapping[str, Any]], *, as_of: dt.date, alarms: Sequence[int] = ()
) -> bytes:
    """The items as an iCalendar document (CRLF line ends, folded lines); each event gets
    one VALARM reminder per number of days in ``alarms`` (0: on the day itself)."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "treatyflow: legal dates")
    cal.add("x-wr-caldesc", f"Upcoming legal dates of treatyflow cases as of {as_of.isoformat()}")
    for item in items:
        day = dt.date.fromisoformat(str(item["date"]))
        ev = icalendar.Event()
        ev.add("uid", item["uid"])
        ev.add("dtstamp", _timestamp(str(item["stamp"])))
        ev.add("dtstart", day)
        ev.add("dtend", day + dt.timedelta(days=1))
        ev.add("sequence", int(item["sequence"]))
        ev.add("summary", item["summary"])
        lines = [
            f"Legal basis: {item['basis']}" if item["basis"] else "",
            str(item["explanation"]),
            f"Case {item['case']} ({item['country']}, {item['treaty']}), state {item['state']}; "
            f"clock {item['clock']} is {item['status']}"
            + (
                f"; when it fires the case moves to {item['to_state']}."
                if item["to_state"]
                else "."
            ),
        ]
        ev.add("description", "\n".join(line for line in lines if line))
        ev.add("categories", ["treatyflow", str(item["country"]), str(item["treaty"])])
        ev.add("transp", "TRANSPARENT")
        ev.add("status", "CONFIRMED")
        for days in sorted(set(alarms), reverse=True):
            ev.add_component(_alarm(str(item["summary"]), days))
        cal.add_component(ev)
    return bytes(cal.to_ical())


def _alarm(summary: str, days: int) -> icalendar.Alarm:
    """A display reminder ``days`` before the (all-day) event starts (RFC 5545 VALARM)."""
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
    alarm.add("description", f"{summary} ({when})")
    alarm.add("trigger", -dt.timedelta(days=days))
    return alarm


def _timestamp(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0)
