"""The :class:`~treatyflow.app.workspace.Workspace`'s reads: a case, its history, the list,
pending, what changed, conformance, search; each one consistent snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING

from treatyflow.app import queries
from treatyflow.app.arguments import DateLike, as_bound, as_date, as_stamp
from treatyflow.app.workspace_base import WorkspaceBase
from treatyflow.events import Event

if TYPE_CHECKING:
    from treatyflow.results import (
        CaseConformance,
        CaseSummary,
        CaseView,
        Changes,
        PendingItem,
        PendingList,
        RecordedSince,
        SearchResult,
    )


class WorkspaceReads(WorkspaceBase):
    """Reads of the cases."""

    def case(
        self, case_id: str, *, as_of: DateLike | None = None, known_at: str | None = None
    ) -> CaseView:
        """The case as of the legal date ``as_of`` (default today), from what had been
        recorded by the UTC timestamp ``known_at`` (default: everything)."""
        return queries.show(
            self._core, case_id, as_of=as_date(as_of, "as_of"), known_at=as_stamp(known_at)
        )

    def cases(
        self, *, country: str | None = None, treaty: str | None = None, state: str | None = None
    ) -> list[CaseSummary]:
        """Every case (filtered by country, treaty or current state), in id order."""
        return queries.cases(self._core, country=country, treaty=treaty, state=state)

    def count_cases(self) -> int:
        """How many cases the database holds."""
        return queries.count_cases(self._core)

    def reproject(self, *, all: bool = False) -> int:
        """Write the case projection's row (#19) of every case that has none or a stale one
        (``all``: of every case) from its log; returns how many rows were written. Reads
        never need it (they fold a case without a current row); it makes them fast again
        after rows were written outside treatyflow."""
        from treatyflow.app import projections

        return projections.rebuild(self._core, stale_only=not all)

    def reindex(self) -> int | None:
        """Write the search index (SQLite's FTS5 table of every event's note and sources)
        again from the events, in one transaction; returns how many events were indexed
        (None on PostgreSQL, whose index the database keeps itself: nothing to rebuild).
        Needed only after the index was edited outside treatyflow (``doctor``'s
        ``search-index`` check)."""
        from treatyflow.app import search

        return search.reindex(self._core)

    def views(
        self,
        *,
        as_of: DateLike | None = None,
        known_at: str | None = None,
        case_ids: Sequence[str] | None = None,
    ) -> Iterator[CaseView]:
        """Every case's view (or ``case_ids``'), one at a time, in id order."""
        return queries.views(
            self._core,
            as_of=as_date(as_of, "as_of"),
            known_at=as_stamp(known_at),
            case_ids=case_ids,
        )

    def history(
        self, case_id: str, *, as_of: DateLike | None = None, known_at: str | None = None
    ) -> list[Event]:
        """The case's events as stored, oldest first: those recorded by ``known_at`` and
        in force by ``as_of`` (corrections applied to decide which)."""
        return queries.history(
            self._core, case_id, as_of=as_date(as_of, "as_of"), known_at=as_stamp(known_at)
        )

    def pending(
        self,
        *,
        as_of: DateLike | None = None,
        known_at: str | None = None,
        group_by: str | None = None,
        due_within: int | None = None,
    ) -> PendingList:
        """Every open case: next steps, who must act, clocks; nearest next date first.
        ``group_by``: ``actor``, ``country`` or ``treaty``. ``due_within``: only the cases
        whose next date falls within that many days of ``as_of`` (overdue ones included)."""
        return queries.pending(
            self._core,
            as_of=as_date(as_of, "as_of"),
            known_at=as_stamp(known_at),
            group_by=group_by,
            due_within=due_within,
        )

    def iter_pending(
        self, *, as_of: DateLike | None = None, known_at: str | None = None
    ) -> Iterator[PendingItem]:
        """:meth:`pending`'s items one at a time, in case id order (flat memory)."""
        return queries.iter_pending(
            self._core, as_of=as_date(as_of, "as_of"), known_at=as_stamp(known_at)
        )

    def write_pending_json(
        self,
        out: IO[bytes],
        *,
        as_of: DateLike | None = None,
        known_at: str | None = None,
        group_by: str | None = None,
        due_within: int | None = None,
    ) -> int:
        """:meth:`pending`'s ``to_dict()`` document as JSON, written to ``out`` as the
        cases are read (flat memory over any number of cases); the number of cases."""
        return queries.write_pending_json(
            self._core,
            out,
            as_of=as_date(as_of, "as_of"),
            known_at=as_stamp(known_at),
            group_by=group_by,
            due_within=due_within,
        )

    def changes(
        self,
        *,
        since: str | dt.date | dt.datetime,
        until: str | dt.date | dt.datetime | None = None,
        as_of: DateLike | None = None,
    ) -> Changes:
        """Every case whose state, effective date, clock dates, facts or flags differ
        between what had been recorded by ``since`` and by ``until`` (default now), both read
        as of the legal date ``as_of`` (default today): old -> new, the weekly brief.

        ``since`` and ``until`` are UTC timestamps (ISO text or aware datetimes) or dates:
        a date as ``since`` means the start of that day (changes recorded on it count), as
        ``until`` the end of it. Only cases with events recorded in between are read twice.

        Raises:
            InvalidInput: a value that is not a timestamp or date, or ``until`` before
                ``since``.
        """
        from treatyflow.app import changes as diff

        return diff.changes(
            self._core,
            since=as_bound(since, "since", start=True),
            until=None if until is None else as_bound(until, "until", start=False),
            as_of=as_date(as_of, "as_of"),
        )

    def conformance(self, case_ids: Sequence[str] = ()) -> list[CaseConformance]:
        """Per case (or per ``case_ids``), every deviation from its procedure."""
        from treatyflow.app import conformance

        return list(conformance.conformance(self._core, case_ids))

    def search(self, text: str, *, case_id: str | None = None, limit: int = 20) -> SearchResult:
        """Events whose notes or sources (citation, reference, URL) hold every word of
        ``text``, best match first: at most ``limit`` (1 to 200), in ``case_id`` if given.

        ``text`` is plain words, never a query language (quotes, ``*``, ``OR`` and the like
        are words or punctuation); at most 200 characters and 16 words. Raises
        :class:`InvalidInput` for a text with no word or over the limits, and
        :class:`CaseNotFound` for an unknown ``case_id``."""
        from treatyflow.app import search as finding

        return finding.search(self._core, text, case_id=case_id, limit=limit)

    def recorded_since(self, since: DateLike, *, limit: int = 500) -> RecordedSince:
        """The events recorded at or after ``since`` (a date: from the start of that UTC
        day; or a UTC timestamp), per case, oldest first; at most ``limit`` (1 to 5000)."""
        from treatyflow.app import search as finding

        text = since.isoformat() if isinstance(since, dt.date) else since
        return finding.recorded_since(self._core, text, limit=limit)

    def revision(self) -> tuple[int, str | None]:
        """A value that changes whenever an event is recorded (the number of events and the
        newest record time): what a cache of a read may be keyed on."""
        from treatyflow.app import search as finding

        return finding.revision(self._core)
