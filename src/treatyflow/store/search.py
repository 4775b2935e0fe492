"""Full-text search over events (the index of migration ``0002_16``), and events by record time.

The caller passes the query already split into phrases of plain word tokens
(:func:`treatyflow.app.search.phrases`); nothing the user typed reaches either database's
query syntax: on SQLite each phrase is written as an FTS5 string (tokens of word characters
only, in double quotes); on PostgreSQL each is bound as a parameter of ``phraseto_tsquery``.
Every phrase must match (AND); a phrase matches its tokens in that order.

Snippets mark each match with the control characters STX (``\\x02``) before and ETX
(``\\x03``) after, which :mod:`treatyflow.app.search` turns into offsets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from treatyflow.store.schema import events

MARK_START = "\x02"
MARK_END = "\x03"
#: Tokens of context a snippet shows around the matches.
SNIPPET_TOKENS = 24


class SearchRow(NamedTuple):
    case_id: str
    seq: int
    kind: str
    occurred_on: str
    recorded_at: str
    snippet: str
    rank: float
    """Higher is better; comparable within one result, not between databases."""


def search(
    conn: Connection,
    phrases: Sequence[Sequence[str]],
    *,
    case_id: str | None,
    limit: int,
) -> list[SearchRow]:
    """Up to ``limit`` events whose note or sources contain every phrase, best first."""
    if conn.dialect.name == "sqlite":
        return _sqlite(conn, phrases, case_id, limit)
    return _postgresql(conn, phrases, case_id, limit)


#: Above this many matches, and this share of all events (with no case filter), SQLite
#: ranks in stages: the plain query would join every match to its event and sort them all
#: by (bm25, case, seq); for fewer it is as fast, and the tie walk below would be longer.
STAGED_MATCHES = 2000
STAGED_SHARE = 0.05

_SNIPPET = f"snippet(events_fts, -1, char(2), char(3), '…', {SNIPPET_TOKENS})"
#: Every statement of SQLite's search; ``bench/run.py`` runs the same ones in raw sqlite3.
SQLITE = {
    "plain": (
        "SELECT e.case_id, e.seq, e.kind, e.occurred_on, e.recorded_at,"  # noqa: S608
        f" {_SNIPPET}, bm25(events_fts)"
        " FROM events_fts JOIN events AS e ON e.id = events_fts.rowid"
        " WHERE events_fts MATCH :match{where}"
        " ORDER BY bm25(events_fts), e.case_id, e.seq LIMIT :limit"
    ),
    "count": "SELECT count(*), (SELECT max(id) FROM events) FROM events_fts"
    " WHERE events_fts MATCH :match",
    # the best scores, ties in no particular order
    "top": "SELECT rowid, bm25(events_fts) AS score FROM events_fts"
    " WHERE events_fts MATCH :match ORDER BY score LIMIT :limit",
    # the first rows by (case_id, seq) that score exactly :bound (the same computation in
    # the same snapshot gives the same double) among the first :walk events by (case_id,
    # seq): bm25 and the join only for the matches among those events
    "tied": "SELECT e.id FROM events_fts JOIN events AS e ON e.id = events_fts.rowid"
    " WHERE events_fts MATCH :match"
    " AND +events_fts.rowid IN (SELECT id FROM events ORDER BY case_id, seq LIMIT :walk)"
    " AND bm25(events_fts) = :bound ORDER BY e.case_id, e.seq LIMIT :need",
    # the chosen rows' events and snippets (not bm25 again: on a row looked up by id, FTS5
    # would count the phrase's matches over the whole index once for each row)
    "picked": "SELECT e.id, e.case_id, e.seq, e.kind, e.occurred_on, e.recorded_at,"  # noqa: S608
    f" {_SNIPPET} FROM events_fts JOIN events AS e ON e.id = events_fts.rowid"
    " WHERE events_fts MATCH :match AND events_fts.rowid IN (SELECT value FROM json_each(:ids))",
}


def _sqlite(
    conn: Connection, phrases: Sequence[Sequence[str]], case_id: str | None, limit: int
) -> list[SearchRow]:
    # Tokens hold word characters only (no quote, no operator), so each is a plain FTS5 string.
    match = " ".join('"' + " ".join(tokens) + '"' for tokens in phrases)
    if case_id is None:
        matches, last_id = conn.execute(sa.text(SQLITE["count"]), {"match": match}).one()
        if matches > STAGED_MATCHES and matches >= STAGED_SHARE * last_id:
            return _sqlite_staged(conn, match, limit, matches, last_id)
    # one case's events first, so that only its matches are joined (and scored): a common
    # word's other matches are passed over in the index
    where = " AND +events_fts.rowid IN (SELECT id FROM events WHERE case_id = :case_id)"
    where = where + " AND e.case_id = :case_id" if case_id is not None else ""
    params: dict[str, Any] = {"match": match, "limit": limit}
    if case_id is not None:
        params["case_id"] = case_id
    return [
        SearchRow(r[0], r[1], r[2], r[3], r[4], r[5] or "", -float(r[6]))
        for r in conn.execute(sa.text(SQLITE["plain"].format(where=where)), params)
    ]


def _sqlite_staged(
    conn: Connection, match: str, limit: int, matches: int, last_id: int
) -> list[SearchRow]:
    """The plain query's rows when many events match: rank by bm25 alone (no join, no
    snippet); if the score at the limit is tied beyond it, take the tied rows first by
    (case_id, seq) from a prefix of the events in that order, widened until it holds
    enough of them; then read the events and snippets of the chosen rows only."""
    top = conn.execute(sa.text(SQLITE["top"]), {"match": match, "limit": limit + 1}).all()
    scores = {r[0]: r[1] for r in top[:limit]}
    if len(top) > limit and top[limit][1] == top[limit - 1][1]:
        bound = top[limit - 1][1]
        scores = {k: v for k, v in scores.items() if v < bound}  # every better row
        need = limit - len(scores)
        # a prefix expected to hold about twice the tied rows needed if most matches tie
        walk = need * -(-2 * last_id // matches)
        while True:
            params = {"match": match, "walk": walk, "bound": bound, "need": need}
            tied = [r[0] for r in conn.execute(sa.text(SQLITE["tied"]), params)]
            if len(tied) == need or walk >= last_id:  # enough, or every event walked
                break
            walk *= 8
        scores.update((rowid, bound) for rowid in tied)
    params = {"match": match, "ids": json.dumps(list(scores))}
    rows = sorted(
        conn.execute(sa.text(SQLITE["picked"]), params),
        key=lambda r: (scores[r[0]], r[1], r[2]),
    )
    return [
        SearchRow(r[1], r[2], r[3], r[4], r[5], r[6] or "", -float(scores[r[0]])) for r in rows
    ]


def _postgresql(
    conn: Connection, phrases: Sequence[Sequence[str]], case_id: str | None, limit: int
) -> list[SearchRow]:
    params: dict[str, Any] = {f"p{i}": " ".join(t) for i, t in enumerate(phrases)}
    query = " && ".join(f"phraseto_tsquery('simple', :p{i})" for i in range(len(phrases)))
    where = " AND e.case_id = :case_id" if case_id is not None else ""
    options = (
        f"StartSel=\x02, StopSel=\x03, MaxWords={SNIPPET_TOKENS}, MinWords=8,"
        " MaxFragments=2, FragmentDelimiter=' … '"
    )
    # the phrases are bound parameters; only their count shapes the statement
    sql = sa.text(
        "SELECT e.case_id, e.seq, e.kind, e.occurred_on, e.recorded_at,"  # noqa: S608
        " ts_headline('simple', treatyflow_event_text(e.note, e.sources), q.query, :options),"
        " ts_rank(treatyflow_event_document(e.note, e.sources), q.query) AS rank"
        f" FROM events AS e, (SELECT {query} AS query) AS q"
        " WHERE treatyflow_event_document(e.note, e.sources) @@ q.query"
        f"{where} ORDER BY rank DESC, e.case_id, e.seq LIMIT :limit"
    )
    params.update(options=options, limit=limit)
    if case_id is not None:
        params["case_id"] = case_id
    return [
        SearchRow(r[0], r[1], r[2], r[3], r[4], (r[5] or "").strip(), float(r[6]))
        for r in conn.execute(sql, params)
    ]


def recorded_since(conn: Connection, since: str, *, limit: int) -> list[tuple[Any, ...]]:
    """(case_id, seq, kind, trigger, to_state, occurred_on, recorded_at, actor) of up to
    ``limit`` events recorded at or after ``since`` (a stored UTC timestamp), oldest first."""
    cols = ("case_id", "seq", "kind", "trigger", "to_state", "occurred_on", "recorded_at", "actor")
    query = (
        sa.select(*(events.c[c] for c in cols))
        .where(events.c.recorded_at >= since)
        .order_by(events.c.recorded_at, events.c.case_id, events.c.seq)
        .limit(limit)
    )
    return [tuple(r) for r in conn.execute(query)]


#: The newest event by id: one step down the primary key's index, not a scan of the log.
REVISION = sa.select(events.c.id, events.c.recorded_at).order_by(events.c.id.desc()).limit(1)


def revision(conn: Connection) -> tuple[int, str | None]:
    """(the newest event's id, its record time); (0, None) without events. It changes
    whenever an event is recorded: ids only grow (SQLite's row ids, PostgreSQL's sequence),
    and a newest row deleted outside treatyflow and replaced carries another record time.
    (``count(*)`` and ``max(recorded_at)`` read every event: ~0.1 s a request at a million
    events, and the web view asks on every request.)"""
    row = conn.execute(REVISION).first()
    if row is None:
        return 0, None
    return int(row[0]), None if row[1] is None else str(row[1])


# ------------------------------------------------------------ the index against the events
#: The FTS5 table as migration ``0002_16`` creates it (a test holds the two the same): what
#: :func:`rebuild_index` creates again.
FTS_TABLE = """CREATE VIRTUAL TABLE events_fts USING fts5(
  note, sources, tokenize='unicode61 remove_diacritics 2')"""

#: Events whose indexed text is missing or not what the event's note and sources give.
_UNINDEXED = (
    "SELECT e.case_id, e.seq FROM events_search AS s JOIN events AS e ON e.id = s.id "
    "LEFT JOIN events_fts AS f ON f.rowid = s.id "
    "WHERE f.rowid IS NULL OR f.note IS NOT s.note OR f.sources IS NOT s.sources "
    "ORDER BY e.case_id, e.seq"
)
#: Indexed rows of no event.
_EXTRA = "SELECT count(*) FROM events_fts WHERE rowid NOT IN (SELECT id FROM events)"
#: FTS5's own check that its index is the one its stored text gives (writes nothing).
_FTS_INTEGRITY = "INSERT INTO events_fts (events_fts, rank) VALUES ('integrity-check', 0)"


#: How many of the events missing from the index :func:`check_index` names.
NAMED = 20


class IndexCheck(NamedTuple):
    """The SQLite search index against the events (see :func:`check_index`)."""

    unindexed: list[tuple[str, int]]
    """(case id, seq) of the first :data:`NAMED` events (by case and seq) whose indexed text
    is missing or differs from what their note and sources give (a search would miss them,
    or find them by words they do not hold)."""
    unindexed_count: int
    """How many such events there are (all of them, named or not)."""
    extra: int
    """Indexed rows of no event (a search would name an event that is not there)."""
    damaged: bool
    """The index's inner structure is not the one its own text gives (FTS5's check)."""

    @property
    def ok(self) -> bool:
        return not (self.unindexed_count or self.extra or self.damaged)


def check_index(conn: Connection) -> IndexCheck | None:
    """The SQLite search index against the events, in ``conn``'s transaction (a write one:
    FTS5's check is spelled as an INSERT, though it writes nothing); None on PostgreSQL,
    whose index is an expression index the database keeps itself (no SQL edits it)."""
    if conn.dialect.name != "sqlite":
        return None
    unindexed: list[tuple[str, int]] = []
    count = 0
    for case_id, seq in conn.exec_driver_sql(_UNINDEXED):  # (memory bounded: a whole index
        count += 1  # deleted names a few events, counts the rest)
        if count <= NAMED:
            unindexed.append((str(case_id), int(seq)))
    extra = int(conn.exec_driver_sql(_EXTRA).scalar_one())
    try:  # a failed statement is undone alone: the transaction goes on
        conn.exec_driver_sql(_FTS_INTEGRITY)
        damaged = False
    except sa.exc.DatabaseError:  # "database disk image is malformed": SQLITE_CORRUPT_VTAB
        damaged = True
    return IndexCheck(unindexed, count, extra, damaged)


def rebuild_index(conn: Connection) -> int:
    """Write the SQLite search index again from the events, in ``conn``'s (write)
    transaction: the table dropped (a damaged index could fail a delete) and created as the
    migration does, every event's text indexed. Returns the number of events indexed; 0 on
    PostgreSQL (nothing to rebuild)."""
    if conn.dialect.name != "sqlite":
        return 0
    conn.exec_driver_sql("DROP TABLE IF EXISTS events_fts")
    conn.exec_driver_sql(FTS_TABLE)
    return int(
        conn.exec_driver_sql(
            "INSERT INTO events_fts (rowid, note, sources) SELECT id, note, sources "
            "FROM events_search"
        ).rowcount
    )
