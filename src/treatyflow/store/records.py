"""The rows of the log as Python values: a case row (:class:`CaseRecord`), a chain head,
and an event row to and from an :class:`~treatyflow.events.Event` (and the stored JSON of
its sources and data, read strictly)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from treatyflow.errors import RowUnreadable
from treatyflow.events import Event, EventKind
from treatyflow.store.prepared import CASE_COLUMNS

#: The stored JSON texts, one encoder each: ``json.dumps`` with options builds a new encoder
#: on every call (~8 µs, four times a change, #19); the texts are the same.
facts_text = json.JSONEncoder(sort_keys=True).encode
"""A case row's facts as stored (``json.dumps(facts, sort_keys=True)``)."""
event_json_text = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
"""An event's ``sources`` or ``data`` as stored."""
tally_text = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
"""A projection row's tally as stored."""


@dataclass
class CaseRecord:
    """A case row (the projection)."""

    id: str
    country: str
    treaty: str
    procedure: str
    procedure_hash: str
    treaty_hash: str
    action: str
    state: str
    version: int
    head_hash: str
    opened_on: str
    last_on: str
    facts: dict[str, Any]
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Any) -> CaseRecord:
        return cls.from_data(dict(row._mapping))

    @classmethod
    def from_tuple(cls, row: Sequence[Any]) -> CaseRecord:
        """From the row's values in the table's column order (``prepared.CASE_COLUMNS``)."""
        return cls.from_data(dict(zip(CASE_COLUMNS, row, strict=True)))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CaseRecord:
        """From the row's values by column name, its facts as stored; a row with a value
        treatyflow never writes (facts that are not a JSON object, a date that is no date)
        raises :class:`~treatyflow.errors.RowUnreadable`."""
        try:
            facts = json.loads(data["facts"])
            if not isinstance(facts, dict):
                raise TypeError("not an object")
            _date(data["opened_on"])
            _date(data["last_on"])
        except (TypeError, ValueError, RecursionError) as exc:
            raise RowUnreadable(f"case {data['id']!r}", _case_why(data)) from exc
        data["facts"] = facts
        return cls(**data)

    def to_row(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["facts"] = facts_text(self.facts)
        return data


class ChainHead(NamedTuple):
    """What ``verify`` compares a case's log with: the case row's version, head and state
    (read without the case's facts, which are not hashed and may be unreadable)."""

    version: int
    head_hash: str
    state: str


def event_row(ev: Event) -> dict[str, Any]:
    return {
        "case_id": ev.case_id,
        "seq": ev.seq,
        "kind": str(ev.kind),
        "trigger": ev.trigger,
        "from_state": ev.from_state,
        "to_state": ev.to_state,
        "occurred_on": ev.occurred_on.isoformat(),
        "recorded_at": ev.recorded_at,
        "actor": ev.actor,
        "sources": event_json_text(list(ev.sources)) if ev.sources else "[]",
        "note": ev.note,
        "data": event_json_text(ev.data) if ev.data else "{}",
        "prev_hash": ev.prev_hash,
        "hash": ev.hash,
        "signature": ev.signature,
        "key": ev.key,
    }


def hashed_row(row: Any) -> dict[str, Any]:
    """An event row as the dict of hashed fields plus ``hash`` (for verification)."""
    return {
        "case_id": row["case_id"],
        "seq": row["seq"],
        "kind": row["kind"],
        "trigger": row["trigger"],
        "from_state": row["from_state"],
        "to_state": row["to_state"],
        "occurred_on": row["occurred_on"],
        "recorded_at": row["recorded_at"],
        "actor": row["actor"],
        "sources": _loads(row["sources"], []),
        "note": row["note"],
        "data": _loads(row["data"], {}),
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }


def _loads(text: Any, default: Any) -> Any:
    """The stored JSON's value; an unreadable text (not JSON, too deep, a key twice in one
    object) as a value that can never hash to the event's hash.

    A duplicate key is refused because JSON readers disagree on it: Python keeps the last
    copy, SQLite's ``json_extract`` the first; the hash must cover the one text, not one
    reader's view of it.
    """
    if text is None:
        return default
    if text == "{}" or text == "[]":  # most events' data or sources
        return {} if text == "{}" else []
    try:
        if isinstance(text, bytes):  # a BLOB (only a tamperer writes one)
            return _STRICT_JSON.decode(text.decode("utf-8"))
        if not isinstance(text, str):
            raise TypeError("not JSON text")
        return _STRICT_JSON.decode(text)
    except (TypeError, ValueError, RecursionError):
        return {"__unreadable__": str(text)}


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


#: ``json.loads`` refusing a key twice in one object (one decoder for every row).
_STRICT_JSON = json.JSONDecoder(object_pairs_hook=_unique_keys)


_EVENT_COLUMNS = (
    "case_id",
    "seq",
    "kind",
    "occurred_on",
    "recorded_at",
    "actor",
    "trigger",
    "from_state",
    "to_state",
    "sources",
    "note",
    "data",
    "prev_hash",
    "hash",
    "signature",
    "key",
    "recorded_by",
)
_KINDS = {str(kind): kind for kind in EventKind}
_date = dt.date.fromisoformat


def _event_from_tuple(row: Any) -> Event:
    """``event_from_row`` for a row of ``_EVENT_COLUMNS``, by position (the bulk read path);
    a row with a value treatyflow never writes raises
    :class:`~treatyflow.errors.RowUnreadable`."""
    try:
        return _event_of_tuple(row)
    except (TypeError, ValueError, RecursionError) as exc:
        why = _event_why(row[2], row[3], row[9], row[11])
        raise RowUnreadable(f"event {row[0]!r} seq {row[1]}", why) from exc


def _event_of_tuple(row: Any) -> Event:
    kind = _KINDS.get(row[2])
    return Event(
        row[0],
        row[1],
        EventKind(row[2]) if kind is None else kind,
        _date(row[3]),
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        () if row[9] == "[]" else tuple(json.loads(row[9])),
        row[10],
        {} if row[11] == "{}" else json.loads(row[11]),
        row[12],
        row[13],
        row[14],
        row[15],
        row[16],
    )


def event_from_row(row: Any) -> Event:
    """The event of a row (by column name); a row with a value treatyflow never writes
    raises :class:`~treatyflow.errors.RowUnreadable`."""
    try:
        return _event_of_row(row)
    except (TypeError, ValueError, RecursionError) as exc:
        why = _event_why(row["kind"], row["occurred_on"], row["sources"], row["data"])
        raise RowUnreadable(f"event {row['case_id']!r} seq {row['seq']}", why) from exc


def _case_why(data: dict[str, Any]) -> str:
    """What in a case row cannot be read."""
    for column in ("opened_on", "last_on"):
        if not _is_date(data[column]):
            return f"its {column} {_shown(data[column])} is not a date"
    return f"its facts {_shown(data['facts'])} are not a JSON object"


def _event_why(kind: Any, occurred_on: Any, sources: Any, data: Any) -> str:
    """What in an event row cannot be read."""
    if kind not in _KINDS:
        return f"its kind {_shown(kind)} is not an event kind"
    if not _is_date(occurred_on):
        return f"its occurred_on {_shown(occurred_on)} is not a date"
    for name, text in (("sources", sources), ("data", data)):
        try:
            json.loads(text)
        except (TypeError, ValueError, RecursionError):
            return f"its {name} are not JSON" if name == "sources" else "its data is not JSON"
    return "a value is not what treatyflow writes"


def _is_date(value: Any) -> bool:
    try:
        _date(value)
    except (TypeError, ValueError):
        return False
    return True


def _shown(value: Any) -> str:
    """A stored value in a message: its repr, cut short (escapes every control character)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _event_of_row(row: Any) -> Event:
    return Event(
        case_id=row["case_id"],
        seq=row["seq"],
        kind=EventKind(row["kind"]),
        occurred_on=dt.date.fromisoformat(row["occurred_on"]),
        recorded_at=row["recorded_at"],
        actor=row["actor"],
        trigger=row["trigger"],
        from_state=row["from_state"],
        to_state=row["to_state"],
        sources=tuple(json.loads(row["sources"])),
        note=row["note"],
        data=json.loads(row["data"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        signature=row["signature"],
        key=row["key"],
        recorded_by=row["recorded_by"],
    )
