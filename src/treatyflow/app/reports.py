"""Assembling reports: read the cases, build the report model, hand it to a renderer.

The renderers (:mod:`treatyflow.reports`) receive plain data and never open the database;
this module is where the data comes from: (view, raw history, procedure) per case, as of a
legal date and as known at a record time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

from treatyflow.app import queries
from treatyflow.app.core import Core
from treatyflow.errors import InvalidInput
from treatyflow.reports.model import Triple
from treatyflow.results import CalendarItem, CalendarList

#: The formats of ``report case`` and ``report portfolio``.
REPORT_FORMATS = ("md", "html", "json", "csv")

#: The formats of ``report matrix``.
MATRIX_FORMATS = ("text", "md", "csv", "json")


@dataclass(frozen=True)
class Filters:
    """Which cases a portfolio report covers (empty: all)."""

    country: tuple[str, ...] = ()
    treaty: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    """The case's state as of the report's date."""

    def shown(self) -> dict[str, str]:
        """The filters as the report's header names them."""
        pairs = (("country", self.country), ("treaty", self.treaty), ("state", self.state))
        return {k: ", ".join(v) for k, v in pairs if v}


def triples(
    core: Core,
    filters: Filters = Filters(),
    *,
    as_of: dt.date,
    known_at: str | None,
    seen: Callable[[], None] | None = None,
) -> Iterator[Triple]:
    """(view, raw history, procedure) of every case the filters keep, one at a time, from
    one pass over the database, as the renderers take them."""
    countries, treaties, states = filters.country, filters.treaty, filters.state

    def wanted(record: Any) -> bool:
        return (not countries or record.country in countries) and (
            not treaties or record.treaty in treaties
        )

    for view, events, procedure in queries.portfolio(
        core,
        as_of=as_of,
        known_at=known_at,
        raw=True,
        where=wanted,
        seen=seen,
        countries=countries,  # only these countries' rows and events are read
    ):
        if not states or view.state in states:
            yield view.to_dict(), [e.to_json() for e in events], procedure


def named_triples(
    core: Core, case_ids: Sequence[str], *, as_of: dt.date, known_at: str | None
) -> list[Triple]:
    """The triples of the named cases, in their order; each must have events by then."""
    out: list[Triple] = []
    for case_id in dict.fromkeys(case_ids):
        got = list(
            queries.portfolio(core, as_of=as_of, known_at=known_at, case_ids=[case_id], raw=True)
        )
        if not got:
            raise InvalidInput(
                "case_ids",
                case_id,
                f"case {case_id!r} has no events recorded by {known_at} "
                f"with a legal date on or before {as_of.isoformat()}.",
            )
        out += [(v.to_dict(), [e.to_json() for e in evs], p) for v, evs, p in got]
    return out


def render_report(
    core: Core,
    kind: str,
    fmt: str,
    *,
    case_ids: Sequence[str] = (),
    filters: Filters = Filters(),
    as_of: dt.date,
    known_at: str | None = None,
    generated_at: str | None = None,
    seen: Callable[[], None] | None = None,
) -> str:
    """A ``case`` report of ``case_ids`` or a ``portfolio`` report, rendered in ``fmt``."""
    from treatyflow.reports import model, render

    _check_format(fmt, REPORT_FORMATS, "report")
    if kind == "case":
        chosen = named_triples(core, case_ids, as_of=as_of, known_at=known_at)
    elif kind == "portfolio":
        chosen = list(triples(core, filters, as_of=as_of, known_at=known_at, seen=seen))
    else:
        raise InvalidInput("kind", kind, f"there is no {kind!r} report (case or portfolio).")
    built = model.build_report(
        kind,
        chosen,
        as_of=as_of,
        known_at=known_at,
        filters=filters.shown(),
        generated_at=generated_at,
    )
    return render.render(built, fmt)


def write_portfolio(
    core: Core,
    out: IO[bytes],
    fmt: str,
    filters: Filters = Filters(),
    *,
    as_of: dt.date,
    known_at: str | None = None,
    generated_at: str | None = None,
    seen: Callable[[], None] | None = None,
) -> int:
    """The portfolio report in ``fmt`` (md, html, json or csv) written to ``out`` case by
    case: bounded memory over any number of cases, the same bytes as :func:`render_report`
    (UTF-8); the number of cases."""
    from treatyflow.reports.stream import write_portfolio as write

    _check_format(fmt, REPORT_FORMATS, "report")
    return write(
        out,
        fmt,
        triples(core, filters, as_of=as_of, known_at=known_at, seen=seen),
        as_of=as_of,
        known_at=known_at,
        filters=filters.shown(),
        generated_at=generated_at,
    )


def render_matrix(
    core: Core, fmt: str, *, as_of: dt.date | None = None, known_at: str | None = None
) -> str:
    """The country-by-step matrix in ``fmt`` (text, md, csv or json)."""
    from treatyflow.reports import matrix as mx

    _check_format(fmt, MATRIX_FORMATS, "matrix")
    rows = list(queries.portfolio(core, as_of=as_of, known_at=known_at))
    built = mx.build(
        [v.to_dict() for v, _, _ in rows],
        {v.id: [e.to_json() for e in evs] for v, evs, _ in rows},
        {v.id: p for v, _, p in rows},
    )
    render = {
        "text": mx.render_text,
        "md": mx.render_markdown,
        "csv": mx.render_csv,
        "json": mx.render_json,
    }[fmt]
    return render(built)


def render_calendar(
    core: Core, *, as_of: dt.date, alarms: Sequence[int] = ()
) -> tuple[bytes, int]:
    """Upcoming legal dates as iCalendar bytes, and how many dates it holds."""
    from treatyflow.reports import ics

    check_alarms(alarms)
    items = ics.calendar_items(list(triples(core, as_of=as_of, known_at=None)), as_of=as_of)
    return ics.render_ics(items, as_of=as_of, alarms=alarms), len(items)


def calendar_list(core: Core, *, as_of: dt.date, alarms: Sequence[int] = ()) -> CalendarList:
    """The upcoming legal dates :func:`render_calendar` writes, as typed items."""
    from treatyflow.reports import ics

    check_alarms(alarms)
    items = ics.calendar_items(list(triples(core, as_of=as_of, known_at=None)), as_of=as_of)
    return CalendarList(
        as_of=as_of,
        alarms=tuple(sorted(set(alarms), reverse=True)),
        items=tuple(
            CalendarItem(
                uid=i["uid"],
                case=str(i["case"]),
                clock=str(i["clock"]),
                status=str(i["status"]),
                date=dt.date.fromisoformat(str(i["date"])),
                summary=i["summary"],
                basis=i["basis"],
                explanation=i["explanation"],
                state=i["state"],
                to_state=i["to_state"],
                country=i["country"],
                treaty=i["treaty"],
            )
            for i in items
        ),
    )


#: The longest reminder (days before a date) a calendar may carry.
MAX_ALARM_DAYS = 3650


def check_alarms(alarms: Sequence[int]) -> None:
    for days in alarms:
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_ALARM_DAYS:
            raise InvalidInput(
                "alarms",
                days,
                f"a reminder is a number of days from 0 to {MAX_ALARM_DAYS}, not {days!r}.",
            )


def write_example_reports(
    core: Core, out: Path, *, as_of: dt.date, force: bool = False
) -> list[Path]:
    """The demo's reports in ``out``: the portfolio (HTML, Markdown, JSON), each case's HTML
    report and the matrix (Markdown, CSV, JSON), as of ``as_of``; the paths written.

    Without ``force`` nothing is written when any of those files exists already.
    """
    from treatyflow.errors import ReportExists
    from treatyflow.reports import model, render
    from treatyflow.reports.output import write_private

    chosen = list(triples(core, as_of=as_of, known_at=None))
    portfolio = model.build_report("portfolio", chosen, as_of=as_of)
    files: list[tuple[Path, Callable[[], str]]] = [
        (out / f"portfolio.{fmt}", partial(render.render, portfolio, fmt))
        for fmt in ("html", "md", "json")
    ]
    for triple in chosen:
        name = re.sub(r"[^A-Za-z0-9._-]", "_", str(triple[0]["id"]))
        one = model.build_report("case", [triple], as_of=as_of)
        files.append((out / f"case-{name}.html", partial(render.render, one, "html")))
    for fmt, name in (("md", "matrix.md"), ("csv", "matrix.csv"), ("json", "matrix.json")):
        files.append((out / name, partial(render_matrix, core, fmt, as_of=as_of)))
    if not force:
        existing = [path for path, _ in files if path.exists() or path.is_symlink()]
        if existing:
            raise ReportExists(str(existing[0]))
    out.mkdir(parents=True, exist_ok=True)
    for path, text in files:
        write_private(path, text(), force=force)
    return [path for path, _ in files]


def example_reports_present(out: Path) -> Path | None:
    """A report file the demo would write that is already in ``out`` (portfolio, matrix or
    a case report), if any: checked before the demo records anything."""
    if not out.is_dir():
        return None
    fixed = [out / f"portfolio.{f}" for f in ("html", "md", "json")]
    fixed += [out / n for n in ("matrix.md", "matrix.csv", "matrix.json")]
    found = [p for p in fixed if p.exists() or p.is_symlink()]
    return found[0] if found else next(iter(sorted(out.glob("case-*.html"))), None)


def _check_format(fmt: str, formats: Sequence[str], what: str) -> None:
    if fmt not in formats:
        raise InvalidInput(
            "format", fmt, f"the {what} has no format {fmt!r} (choose {', '.join(formats)})."
        )
