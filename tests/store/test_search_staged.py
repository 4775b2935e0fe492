"""Search ranks a common word in stages on SQLite (bm25 alone, then the tie at the limit,
then snippets for the chosen rows): it returns exactly what the plain query returns, ties
at the limit included; and on both databases a smaller limit is a prefix of a larger one."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treatyflow.store import search as store_search
from treatyflow.store.schema import events

ON = dt.date(2025, 6, 27)
#: Opened in this order, so event ids (FTS row ids) do not follow case id order.
CASES = ("ZAF-9", "AUT-1", "MLT-5", "AUT-10", "BEL-2")
#: Few distinct notes: most matches tie on their score.
NOTES = (
    "Press review",
    "Press review",
    "review",
    "A review of the press review",
    "Nothing to find",
    "Review (second reading), press",
)
QUERIES = ([["review"]], [["press"]], [["press", "review"]], [["review"], ["press"]])


@pytest.fixture
def cases(svc: Any) -> Any:
    for cid in CASES:
        svc.open_case(country=cid[:3], treaty="ottawa", id=cid, on=ON, actor="a")
    return svc


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every search with no case filter takes the staged path on SQLite (the list counts
    the staged searches)."""
    monkeypatch.setattr(store_search, "STAGED_MATCHES", 0)
    monkeypatch.setattr(store_search, "STAGED_SHARE", 0.0)
    calls: list[int] = []
    real = store_search._sqlite_staged

    def counted(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(store_search, "_sqlite_staged", counted)
    return calls


@pytest.fixture
def conn(cases: Any) -> Iterator[Any]:
    """A connection in a transaction that is rolled back (each example adds its own rows)."""
    with cases.store.engine.connect() as c:
        yield c


def _add(conn: Any, rows: list[tuple[int, int]]) -> None:
    seqs = dict.fromkeys(CASES, 1)
    for case, note in rows:
        cid = CASES[case]
        seqs[cid] += 1
        conn.execute(
            events.insert().values(
                case_id=cid,
                seq=seqs[cid],
                kind="note",
                occurred_on=ON.isoformat(),
                recorded_at="2025-07-01T00:00:00.000000Z",
                actor="a",
                sources="[]",
                note=NOTES[note],
                data="{}",
                hash="0" * 64,
            )
        )


def _plain(
    conn: Any, phrases: list[list[str]], limit: int, case_id: str | None = None
) -> list[store_search.SearchRow]:
    """The straightforward query: every match joined, snippets and all, sorted, cut."""
    match = " ".join('"' + " ".join(t) + '"' for t in phrases)
    where = "" if case_id is None else " AND e.case_id = :case_id"
    sql = sa.text(store_search.SQLITE["plain"].format(where=where))
    params = {"match": match, "limit": limit, "case_id": case_id}
    return [
        store_search.SearchRow(r[0], r[1], r[2], r[3], r[4], r[5] or "", -float(r[6]))
        for r in conn.execute(sql, params)
    ]


@contextlib.contextmanager
def _rows_added(conn: Any, rows: list[tuple[int, int]]) -> Iterator[None]:
    """``rows`` added (:func:`_add`) in a transaction that is rolled back on leaving."""
    trans = conn.begin()
    try:
        _add(conn, rows)
        yield
    finally:
        trans.rollback()


ROWS = st.lists(
    st.tuples(st.integers(0, len(CASES) - 1), st.integers(0, len(NOTES) - 1)), max_size=40
)
#: The notes added, a query and a limit: one search's example.
SEARCHES = given(rows=ROWS, query=st.sampled_from(QUERIES), limit=st.integers(1, 15))


def _examples(n: int) -> settings:
    """At most ``n`` examples, no deadline, and the test's function-scoped fixtures shared
    by its examples (each example rolls its rows back: :func:`_rows_added`)."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


@_examples(60)
@SEARCHES
def test_staged_search_is_the_plain_query(
    conn: Any, staged: list[int], rows: list[tuple[int, int]], query: Any, limit: int
) -> None:
    if conn.dialect.name != "sqlite":
        pytest.skip("the staged query is SQLite's")
    with _rows_added(conn, rows):
        got = store_search.search(conn, query, case_id=None, limit=limit)
        assert got == _plain(conn, query, limit)
        for cid in CASES[:2]:  # the case filter reads that case's matches only
            got = store_search.search(conn, query, case_id=cid, limit=limit)
            assert got == _plain(conn, query, limit, cid)


@_examples(40)
@SEARCHES
def test_a_smaller_limit_is_a_prefix(
    conn: Any, staged: list[int], rows: list[tuple[int, int]], query: Any, limit: int
) -> None:
    """The first ``limit`` rows of every match ranked: ties at the limit broken by (case
    id, seq) as further down, on SQLite and PostgreSQL."""
    with _rows_added(conn, rows):
        every = store_search.search(conn, query, case_id=None, limit=1000)
        assert store_search.search(conn, query, case_id=None, limit=limit) == every[:limit]
        keys = [(-r.rank, r.case_id, r.seq) for r in every]
        assert keys == sorted(keys)
        for cid in CASES[:2]:  # a case filter keeps that case's rows, in the same order
            one = store_search.search(conn, query, case_id=cid, limit=1000)
            assert one == [r for r in every if r.case_id == cid]


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 8, 11])
def test_tie_at_the_limit_follows_case_ids_not_row_ids(
    conn: Any, staged: list[int], limit: int
) -> None:
    """Twelve identical notes: ZAF-9's come first in the index, AUT-1's first in the
    result; the tied rows are late among many non-matching ones (the walk is widened)."""
    if conn.dialect.name != "sqlite":
        pytest.skip("the staged query is SQLite's")
    tied = [(c, 2) for c in (0, 4, 2, 3, 1)] * 2
    better = [(0, 3), (4, 3)]  # "review" twice: better scores, for the small limits
    with _rows_added(conn, [(0, 4)] * 30 + [(1, 4)] * 30 + tied + better):
        got = store_search.search(conn, [["review"]], case_id=None, limit=limit)
        assert got == _plain(conn, [["review"]], limit)
        assert len(got) == limit and staged


def test_a_case_filter_reads_that_cases_events_first(conn: Any) -> None:
    """With a case filter SQLite looks the case's events up in the (case_id, seq) index
    and passes over the other cases' matches instead of joining each to its event."""
    if conn.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    seen: list[str] = []
    sa.event.listen(conn, "before_cursor_execute", lambda *a: seen.append(a[2]))
    store_search.search(conn, [["review"]], case_id="AUT-1", limit=5)
    plan = conn.exec_driver_sql(
        "EXPLAIN QUERY PLAN " + seen[-1], ('"review"', "AUT-1", "AUT-1", 5)
    )
    details = [r[3] for r in plan]
    assert any("INDEX" in d and "(case_id=?)" in d for d in details), details
