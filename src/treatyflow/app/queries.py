"""Reading cases: one case, its history, the list, every case's view, what is pending."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from treatyflow.app import projections
from treatyflow.app.core import Core
from treatyflow.app.views import case_view, group_keys, pending_item
from treatyflow.errors import InvalidInput
from treatyflow.events import Event
from treatyflow.projection import select
from treatyflow.results import CaseSummary, CaseView, PendingItem, PendingList
from treatyflow.store.sql import CaseRecord

if TYPE_CHECKING:
    from treatyflow.definitions.procedure import Procedure

#: What ``pending`` can group by.
GROUP_BY = ("actor", "country", "treaty")

#: One case for a report: its view, its events, and the procedure it runs under.
Triple = tuple[CaseView, list[Event], "Procedure"]


def show(
    core: Core, case_id: str, *, as_of: dt.date | None = None, known_at: str | None = None
) -> CaseView:
    with core.store.read() as conn:
        record = core.record(conn, case_id)
        events = core.store.events(conn, case_id)
        defs = core.definitions_for_reading(conn, record, events, known_at)
        return case_view(core, record, defs, events, as_of=as_of, known_at=known_at)


def history(
    core: Core, case_id: str, *, as_of: dt.date | None = None, known_at: str | None = None
) -> list[Event]:
    """The case's events as stored, oldest first: those recorded by ``known_at`` whose legal
    date (as corrected by the corrections recorded by then) is on or before ``as_of``.

    The events keep their stored legal dates (they are what the hash chain covers); a
    correction is itself an event of the list, so a step corrected into the as-of window is
    listed with the correction that moved it there.
    """
    with core.store.read() as conn:
        core.record(conn, case_id)
        events = core.store.events(conn, case_id)
    known = [e for e in events if known_at is None or e.recorded_at <= known_at]
    if as_of is None:
        return known
    in_force = {e.seq for e in select(events, as_of=as_of, known_at=known_at)}
    return [e for e in known if e.seq in in_force]


def cases(
    core: Core,
    *,
    country: str | None = None,
    treaty: str | None = None,
    state: str | None = None,
) -> list[CaseSummary]:
    """Every case row (filtered), in id order, without reading any log."""
    with core.store.read() as conn:
        return [
            CaseSummary(
                id=r.id,
                country=r.country,
                treaty=r.treaty,
                action=r.action,
                procedure=r.procedure,
                state=r.state,
                version=r.version,
                opened_on=dt.date.fromisoformat(r.opened_on),
                last_on=dt.date.fromisoformat(r.last_on),
            )
            for r in core.store.list_cases(conn)
            if (country is None or r.country == country)
            and (treaty is None or r.treaty == treaty)
            and (state is None or r.state == state)
        ]


def pinned_definitions(
    core: Core,
) -> list[tuple[str, tuple[tuple[str, str, str], ...]]]:
    """Per case: the (kind, id, content hash) of the procedure and treaty it is pinned to."""
    with core.store.read() as conn:
        return [
            (
                r.id,
                (
                    ("procedure", r.procedure, r.procedure_hash),
                    ("treaty", r.treaty, r.treaty_hash),
                ),
            )
            for r in core.store.list_cases(conn)
        ]


def with_events(
    core: Core, conn: Any, case_ids: Sequence[str] | None, *, countries: Sequence[str] = ()
) -> Iterator[tuple[CaseRecord, list[Event]]]:
    """Each case (or each of ``case_ids``) with its events, in id order.

    Every case: two streaming queries, the case rows by id and the events by (case_id,
    seq), merged: no query per case, and one case (with its events) in memory at a
    time. Named cases: one query each. With ``countries``, only those countries' case rows
    and events are read (the database selects them).
    """
    if case_ids:
        named = [core.record(conn, c) for c in case_ids]  # an unknown id fails first
        for record in named:
            yield record, core.store.events(conn, record.id)
        return
    # Both streams come in the database's order of ids (a collation on PostgreSQL, not
    # Python's): events of no case are recognised by membership, not by comparison.
    known = core.store.case_ids(conn, countries=countries)
    groups = core.store.events_by_case(conn, countries=countries)
    # closed here, in the read's transaction, whatever stops the merge (a case row that
    # cannot be read): left to the garbage collector, it would close its cursor after the
    # connection, and the driver would print a traceback
    with contextlib.closing(groups):
        group = next(groups, None)
        for record in core.store.iter_cases(conn, countries=countries):
            while group is not None and group[0] not in known:  # events of no case
                group = next(groups, None)
            if group is not None and group[0] == record.id:
                yield record, group[1]
                group = next(groups, None)
            else:
                yield record, []


def views(
    core: Core,
    *,
    as_of: dt.date | None = None,
    known_at: str | None = None,
    case_ids: Sequence[str] | None = None,
) -> Iterator[CaseView]:
    """The view of every case (or of ``case_ids``) that has events by ``known_at``, in id
    order, one at a time (every case known now: from the case projection where it answers)."""
    if known_at is None and not case_ids:
        yield from projections.views(core, as_of, open_only=False)
        return
    with core.store.read() as conn:
        for record, events in with_events(core, conn, case_ids):
            if known_at is not None and not any(e.recorded_at <= known_at for e in events):
                continue
            defs = core.definitions_in_force(conn, record, events, known_at)
            yield case_view(core, record, defs, events, as_of=as_of, known_at=known_at)


def portfolio(
    core: Core,
    *,
    as_of: dt.date | None = None,
    known_at: str | None = None,
    case_ids: Sequence[str] | None = None,
    raw: bool = False,
    where: Callable[[CaseRecord], bool] | None = None,
    seen: Callable[[], None] | None = None,
    countries: Sequence[str] = (),
) -> Iterator[Triple]:
    """(view, events, procedure) of every case (or of ``case_ids``), one at a time, for reports.

    The events are those visible at (``as_of``, ``known_at``) with corrected legal dates
    applied; with ``raw``, every event recorded by ``known_at`` exactly as stored
    (hash-verifiable, corrections not applied, not filtered by ``as_of``). ``where`` skips
    the case rows it refuses before any work is done on them; ``seen`` is called once per
    case looked at (for a progress bar). ``countries`` (not with ``case_ids``) reads only
    those countries' cases and their events.
    """
    with core.store.read() as conn:
        for record, events in with_events(core, conn, case_ids, countries=countries):
            if seen is not None:
                seen()
            if where is not None and not where(record):
                continue
            visible = select(events, as_of=as_of, known_at=known_at)
            if not visible:
                continue
            defs = core.definitions_in_force(conn, record, events, known_at)
            view = case_view(core, record, defs, events, as_of=as_of, known_at=known_at)
            if raw:
                visible = [e for e in events if known_at is None or e.recorded_at <= known_at]
            yield view, visible, defs.procedure


def iter_pending(
    core: Core,
    *,
    as_of: dt.date | None = None,
    known_at: str | None = None,
    due_by: dt.date | None = None,
) -> Iterator[PendingItem]:
    """Every open case's pending item, in case id order (sort by ``sort_key`` for the
    listing's order); with ``due_by``, only those whose next date is on or before it (an
    overdue one's date has passed, so it is always kept)."""
    day = as_of or core.today()
    # Known now: the case projection's rows (folding only the cases they cannot answer);
    # known at a record time: every case's log.
    listed = (
        views(core, as_of=day, known_at=known_at)
        if known_at is not None
        else projections.views(core, day)
    )
    for view in listed:
        if not view.final:
            item = pending_item(view)
            if due_by is None or (item.next_date is not None and item.next_date <= due_by):
                yield item


def due_by(as_of: dt.date, due_within: int | None) -> dt.date | None:
    """The last day of the horizon ``due_within`` days after ``as_of`` (None: no horizon)."""
    if due_within is None:
        return None
    if isinstance(due_within, bool) or not isinstance(due_within, int) or due_within < 0:
        raise InvalidInput("due_within", due_within, "due_within is a number of days, 0 or more.")
    try:
        return as_of + dt.timedelta(days=due_within)
    except OverflowError:
        raise InvalidInput(
            "due_within", due_within, f"{due_within} days after {as_of} is past the year 9999."
        ) from None


def pending(
    core: Core,
    *,
    as_of: dt.date | None = None,
    known_at: str | None = None,
    group_by: str | None = None,
    due_within: int | None = None,
) -> PendingList:
    """Every open case: its next steps, who must act, its clocks; nearest date first."""
    check_group_by(group_by)
    day = as_of or core.today()
    last = due_by(day, due_within)
    items = sorted(
        iter_pending(core, as_of=day, known_at=known_at, due_by=last), key=PendingItem.sort_key
    )
    return PendingList(
        as_of=day,
        known_at=known_at,
        cases=tuple(items),
        groups=None if group_by is None else group_ids(items, group_by),
        due_by=last,
    )


def group_ids(items: Sequence[PendingItem], group_by: str) -> dict[str, tuple[str, ...]]:
    """Group name -> the ids of ``items`` in it (in the items' order), names sorted."""
    groups: dict[str, list[str]] = {}
    for item in items:
        for key in group_keys(item, group_by):
            groups.setdefault(key, []).append(item.id)
    return {k: tuple(v) for k, v in sorted(groups.items())}


def check_group_by(group_by: str | None) -> None:
    if group_by is not None and group_by not in GROUP_BY:
        raise InvalidInput(
            "group_by",
            group_by,
            f"cannot group pending cases by {group_by!r} (choose {', '.join(GROUP_BY)}).",
        )


def write_pending_json(
    core: Core,
    out: IO[bytes],
    *,
    as_of: dt.date | None = None,
    known_at: str | None = None,
    group_by: str | None = None,
    due_within: int | None = None,
) -> int:
    """``pending``'s document (:meth:`PendingList.to_dict`) written to ``out`` as the items
    are computed: each item is encoded at once and the listing is sorted by its keys alone,
    so memory stays flat over any number of cases; the same bytes as ``json.dumps`` of the
    whole document with ``indent=2``. Returns the number of cases listed."""
    from treatyflow.streamjson import Spool, write_document

    check_group_by(group_by)
    day = as_of or core.today()
    last = due_by(day, due_within)
    keys: dict[str, list[str]] = {}
    count = 0
    with Spool(2) as spool:
        for item in iter_pending(core, as_of=day, known_at=known_at, due_by=last):
            spool.add(item.to_dict(), key=item.sort_key())
            count += 1
            if group_by:
                keys[item.id] = group_keys(item, group_by)
        fields: list[tuple[str, Any]] = [("as_of", day.isoformat()), ("known_at", known_at)]
        if last is not None:
            fields.append(("due_by", last.isoformat()))
        fields.append(("cases", spool))
        if group_by:
            groups: dict[str, list[str]] = {}
            for _, _, case_id in spool.ordered_keys():
                for key in keys[case_id]:
                    groups.setdefault(key, []).append(case_id)
            fields.append(("groups", dict(sorted(groups.items()))))
        write_document(out, fields)
    return count


def count_cases(core: Core) -> int:
    with core.store.read() as conn:
        return core.store.count_cases(conn)
