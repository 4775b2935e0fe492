"""Finding events: full-text search over notes and sources, and what was recorded since a time.

Search reads the index of migration ``0002_16`` through the store
(:mod:`treatyflow.store.search`): SQLite FTS5 or PostgreSQL full-text search, the same
semantics on both. The query is plain words, never a query language: it is split on white
space into terms, each term into its word tokens (``C.N.123.2025`` is the phrase
``C N 123 2025``); an event matches when its note or its sources (citation, reference,
URL) hold every term. Case and accents are ignored on SQLite; PostgreSQL's ``simple``
configuration ignores case. Ranking is the backend's own (BM25 on SQLite, ``ts_rank`` on
PostgreSQL), best first.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from treatyflow.app.core import Core
from treatyflow.errors import InvalidInput
from treatyflow.results import RecordedEvent, RecordedSince, SearchHit, SearchResult
from treatyflow.values import check_text

if TYPE_CHECKING:
    from treatyflow.store.search import IndexCheck

#: The longest query accepted, in characters.
MAX_QUERY = 200
#: The most words a query may hold.
MAX_WORDS = 16
#: Hits returned by default, and the most a caller may ask for.
DEFAULT_LIMIT = 20
MAX_LIMIT = 200
#: Events :func:`changes` lists by default, and the most a caller may ask for.
DEFAULT_CHANGES = 500
MAX_CHANGES = 5000

_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def phrases(text: str) -> list[list[str]]:
    """The query's terms, each a list of word tokens (punctuation dropped), lower-cased."""
    out = []
    for term in text.split():
        tokens = [t.lower() for t in _WORD.findall(term)]
        if tokens:
            out.append(tokens)
    return out


def search(
    core: Core, text: str, *, case_id: str | None = None, limit: int = DEFAULT_LIMIT
) -> SearchResult:
    """Up to ``limit`` events whose notes or sources hold every word of ``text``."""
    from treatyflow.store import search as store_search

    if not isinstance(text, str):
        raise InvalidInput("text", text, "the search text must be text.")
    query = text.strip()
    check_text(query, "the search text", MAX_QUERY)
    terms = phrases(query)
    if not terms:
        raise InvalidInput(
            "text", text, "the search text holds no word to look for (letters or digits)."
        )
    words = [w for t in terms for w in t]
    if len(words) > MAX_WORDS:
        raise InvalidInput(
            "text", text[:40], f"the search text has {len(words)} words; the limit is {MAX_WORDS}."
        )
    limit = _bounded(limit, MAX_LIMIT, "limit")
    with core.store.read() as conn:
        if case_id is not None:
            core.record(conn, case_id)  # CaseNotFound for an unknown id
        rows = store_search.search(conn, terms, case_id=case_id, limit=limit + 1)
    hits = tuple(_hit(r) for r in rows[:limit])
    return SearchResult(
        query=query,
        words=tuple(words),
        case_id=case_id,
        limit=limit,
        hits=hits,
        more=len(rows) > limit,
    )


def _hit(row: object) -> SearchHit:
    from treatyflow.store.search import MARK_END, MARK_START, SearchRow

    assert isinstance(row, SearchRow)
    plain: list[str] = []
    marks: list[tuple[int, int]] = []
    length, start = 0, None
    for piece in re.split(f"([{MARK_START}{MARK_END}])", row.snippet):
        if piece == MARK_START:
            start = length
        elif piece == MARK_END:
            if start is not None and length > start:
                marks.append((start, length))
            start = None
        else:
            piece = _SPACE.sub(" ", piece)  # the note and the sources on one line
            plain.append(piece)
            length += len(piece)
    return SearchHit(
        case_id=row.case_id,
        seq=row.seq,
        kind=row.kind,
        occurred_on=dt.date.fromisoformat(row.occurred_on),
        recorded_at=row.recorded_at,
        snippet="".join(plain),
        marks=tuple(marks),
        rank=row.rank,
    )


def since_timestamp(value: str) -> str:
    """A record time in its stored form: a date means the start of that day (UTC)."""
    from treatyflow.values import parse_timestamp

    text = (value or "").strip()
    if _DATE_ONLY.match(text):
        text += "T00:00:00Z"
    return parse_timestamp(text, "since")


def recorded_since(core: Core, since: str, *, limit: int = DEFAULT_CHANGES) -> RecordedSince:
    """The events recorded at or after ``since`` (a date or a UTC timestamp), oldest first,
    grouped by case (cases in id order); at most ``limit`` of them."""
    from treatyflow.store import search as store_search

    stamp = since_timestamp(since)
    limit = _bounded(limit, MAX_CHANGES, "limit")
    with core.store.read() as conn:
        rows = store_search.recorded_since(conn, stamp, limit=limit + 1)
    grouped: dict[str, list[RecordedEvent]] = {}
    for r in rows[:limit]:
        event = RecordedEvent(
            case_id=r[0],
            seq=r[1],
            kind=r[2],
            trigger=r[3],
            to_state=r[4],
            occurred_on=dt.date.fromisoformat(r[5]),
            recorded_at=r[6],
            actor=r[7],
        )
        grouped.setdefault(event.case_id, []).append(event)
    return RecordedSince(
        since=stamp,
        cases={k: tuple(grouped[k]) for k in sorted(grouped)},
        limit=limit,
        more=len(rows) > limit,
    )


def revision(core: Core) -> tuple[int, str | None]:
    """A value that changes whenever an event is recorded: (events, newest record time)."""
    from treatyflow.store import search as store_search

    with core.store.read() as conn:
        return store_search.revision(conn)


def check_index(core: Core) -> IndexCheck | None:
    """The SQLite search index against the events (``doctor``'s ``search-index`` check);
    None on PostgreSQL, whose index the database keeps itself. The index is no evidence (the
    hash chain covers the events), but an index edited outside treatyflow makes a search
    miss events, or name events by words they do not hold."""
    from treatyflow.store import search as store_search

    with core.store.write() as conn:  # FTS5's check is spelled as an INSERT
        return store_search.check_index(conn)


def reindex(core: Core) -> int | None:
    """Write the SQLite search index again from the events, in one transaction; how many
    events were indexed (None on PostgreSQL: nothing to rebuild)."""
    from treatyflow.store import search as store_search

    if not core.store.is_sqlite:
        return None
    with core.store.write() as conn:
        return store_search.rebuild_index(conn)


def _bounded(value: int, most: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise InvalidInput(field, value, f"{field} must be a whole number from 1 to {most}.")
    return value
