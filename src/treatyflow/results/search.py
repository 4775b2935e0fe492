"""Search hits and the events recorded since a moment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SearchHit:
    """One event a search found: where it is, a snippet of its text and how well it matched.

    ``marks`` are the (start, end) character offsets of the matched words in ``snippet``.
    """

    case_id: str
    seq: int
    kind: str
    occurred_on: dt.date
    recorded_at: str
    snippet: str
    marks: tuple[tuple[int, int], ...]
    rank: float
    """Higher is better; comparable within one result only."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "seq": self.seq,
            "kind": self.kind,
            "occurred_on": self.occurred_on.isoformat(),
            "recorded_at": self.recorded_at,
            "snippet": self.snippet,
            "marks": [list(m) for m in self.marks],
            "rank": round(self.rank, 6),
        }


@dataclass(frozen=True)
class SearchResult:
    """``search``: the events whose notes or sources hold every word, best match first."""

    query: str
    words: tuple[str, ...]
    """The words searched for, as the query was read (punctuation dropped)."""
    case_id: str | None
    limit: int
    hits: tuple[SearchHit, ...]
    more: bool
    """There are more matches than ``limit``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "words": list(self.words),
            "case_id": self.case_id,
            "limit": self.limit,
            "more": self.more,
            "hits": [h.to_dict() for h in self.hits],
        }


@dataclass(frozen=True)
class RecordedEvent:
    """An event recorded in the window of :class:`RecordedSince`."""

    case_id: str
    seq: int
    kind: str
    trigger: str | None
    to_state: str | None
    occurred_on: dt.date
    recorded_at: str
    actor: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "seq": self.seq,
            "kind": self.kind,
            "trigger": self.trigger,
            "to_state": self.to_state,
            "occurred_on": self.occurred_on.isoformat(),
            "recorded_at": self.recorded_at,
            "actor": self.actor,
        }


@dataclass(frozen=True)
class RecordedSince:
    """What was recorded since a record time: the events, per case (cases by id)."""

    since: str
    cases: Mapping[str, tuple[RecordedEvent, ...]]
    limit: int
    more: bool
    """More events were recorded in the window than ``limit``; the oldest are listed."""

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.cases.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "limit": self.limit,
            "more": self.more,
            "cases": {k: [e.to_dict() for e in v] for k, v in self.cases.items()},
        }
