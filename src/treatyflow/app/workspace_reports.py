"""The :class:`~treatyflow.app.workspace.Workspace`'s reports: case and portfolio reports, the
matrix, the calendar and the demo's set of reports.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from treatyflow.app.arguments import DateLike, as_date, as_stamp, required_date
from treatyflow.app.workspace_base import WorkspaceBase

if TYPE_CHECKING:
    from treatyflow.app.reports import Filters
    from treatyflow.results import CalendarList


class WorkspaceReports(WorkspaceBase):
    """Reports rendered from the cases."""

    def report(
        self,
        kind: str = "portfolio",
        fmt: str = "md",
        *,
        case_ids: Sequence[str] = (),
        country: Sequence[str] = (),
        treaty: Sequence[str] = (),
        state: Sequence[str] = (),
        as_of: DateLike | None = None,
        known_at: str | None = None,
        generated_at: str | None = None,
    ) -> str:
        """A ``case`` report (of ``case_ids``) or a ``portfolio`` report (filtered) in
        ``fmt``: ``md``, ``html``, ``json`` or ``csv``."""
        from treatyflow.app import reports as report_assembly

        return report_assembly.render_report(
            self._core,
            kind,
            fmt,
            case_ids=case_ids,
            filters=self._filters(country, treaty, state),
            as_of=as_date(as_of, "as_of") or self.today(),
            known_at=as_stamp(known_at),
            generated_at=generated_at,
        )

    def write_portfolio_json(
        self,
        out: IO[bytes],
        *,
        country: Sequence[str] = (),
        treaty: Sequence[str] = (),
        state: Sequence[str] = (),
        as_of: DateLike | None = None,
        known_at: str | None = None,
        generated_at: str | None = None,
        progress: Callable[[], None] | None = None,
    ) -> int:
        """The JSON portfolio report written to ``out`` case by case; the number of cases
        (:meth:`write_portfolio` in ``json``)."""
        return self.write_portfolio(
            out,
            "json",
            country=country,
            treaty=treaty,
            state=state,
            as_of=as_of,
            known_at=known_at,
            generated_at=generated_at,
            progress=progress,
        )

    def write_portfolio(
        self,
        out: IO[bytes],
        fmt: str = "md",
        *,
        country: Sequence[str] = (),
        treaty: Sequence[str] = (),
        state: Sequence[str] = (),
        as_of: DateLike | None = None,
        known_at: str | None = None,
        generated_at: str | None = None,
        progress: Callable[[], None] | None = None,
    ) -> int:
        """The portfolio report in ``fmt`` (``md``, ``html``, ``json`` or ``csv``) written to
        ``out`` (UTF-8 bytes) case by case, in bounded memory over any number of cases: the
        same bytes as ``report("portfolio", fmt, ...)``; the number of cases."""
        from treatyflow.app import reports as report_assembly

        return report_assembly.write_portfolio(
            self._core,
            out,
            fmt,
            self._filters(country, treaty, state),
            as_of=as_date(as_of, "as_of") or self.today(),
            known_at=as_stamp(known_at),
            generated_at=generated_at,
            seen=progress,
        )

    def matrix(
        self, fmt: str = "text", *, as_of: DateLike | None = None, known_at: str | None = None
    ) -> str:
        """The country-by-step matrix in ``fmt``: ``text``, ``md``, ``csv`` or ``json``."""
        from treatyflow.app import reports as report_assembly

        return report_assembly.render_matrix(
            self._core, fmt, as_of=as_date(as_of, "as_of"), known_at=as_stamp(known_at)
        )

    def calendar(
        self, *, as_of: DateLike | None = None, alarms: Sequence[int] = ()
    ) -> tuple[bytes, int]:
        """Upcoming legal dates as iCalendar bytes (stable UIDs), and how many dates;
        ``alarms``: a VALARM reminder on each date that many days before it (0 to 3650)."""
        from treatyflow.app import reports as report_assembly

        day = as_date(as_of, "as_of") or self.today()
        return report_assembly.render_calendar(self._core, as_of=day, alarms=alarms)

    def calendar_items(
        self, *, as_of: DateLike | None = None, alarms: Sequence[int] = ()
    ) -> CalendarList:
        """The upcoming legal dates :meth:`calendar` writes, typed (``calendar --json``)."""
        from treatyflow.app import reports as report_assembly

        day = as_date(as_of, "as_of") or self.today()
        return report_assembly.calendar_list(self._core, as_of=day, alarms=alarms)

    def write_example_reports(
        self, out: str | os.PathLike[str], *, as_of: DateLike, force: bool = False
    ) -> list[Path]:
        """The demo's set of reports in the directory ``out``; the paths written. Without
        ``force`` nothing is written when any of those files exists already."""
        from treatyflow.app import reports as report_assembly

        day = required_date(as_of, "as_of")
        return report_assembly.write_example_reports(self._core, Path(out), as_of=day, force=force)

    @staticmethod
    def _filters(country: Sequence[str], treaty: Sequence[str], state: Sequence[str]) -> Filters:
        from treatyflow.app import reports as report_assembly
        from treatyflow.values import check_country

        return report_assembly.Filters(
            country=tuple(check_country(c) for c in country),
            treaty=tuple(treaty),
            state=tuple(state),
        )
