"""Canonical JSON and the hash chain over a case's events (see docs/canonical-json.md).

Canonical form: UTF-8 JSON, keys sorted, no insignificant white space, strings in Unicode
NFC, non-ASCII characters written as themselves, dates as ISO 8601 strings, integers as
integers, no floats (numbers in facts are stored as their decimal text). A hash is written
``sha256:<64 lowercase hex digits>``.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from treatyflow.events import HASHED_FIELDS

HASH_PREFIX = "sha256:"

#: Fields stored with an event that its hash does not cover: the hash itself, and who wrote
#: it (the signature is over the hash; the login role is the server's note).
UNHASHED = frozenset(("hash", "signature", "key", "recorded_by"))


def _normalise(value: Any) -> Any:
    # exact types first (nearly every value): no ABC checks, no NFC pass over ASCII text
    kind = type(value)
    if kind is str:
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                key = _normalise(key)
            item_kind = type(item)
            if item_kind is str:
                if not item.isascii():
                    item = unicodedata.normalize("NFC", item)
            elif item_kind is not int and item_kind is not bool and item is not None:
                item = _normalise(item)
            out[key] = item
        return out
    if kind is list or kind is tuple:
        return [_normalise(v) for v in value]
    if kind is int or kind is bool or value is None:
        return value
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, Mapping):
        return {_normalise(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, float):
        raise TypeError("floats are not allowed in canonical JSON; store decimal text")
    return value


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 bytes of ``value``."""
    return _ENCODER.encode(_normalise(value)).encode("utf-8")


#: One encoder for every hash (``json.dumps`` with options builds a new one per call).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    return HASH_PREFIX + hashlib.sha256(canonical_json(value)).hexdigest()


def event_hash(fields: Mapping[str, Any]) -> str:
    """The hash of an event, from its hashed fields (which include ``prev_hash``)."""
    return digest(dict(fields))


@dataclass(frozen=True)
class ChainFault:
    case_id: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"case {self.case_id!r}: first bad event is seq {self.seq} ({self.reason})"


def verify_events(
    case_id: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    expected_head: str | None = None,
    expected_count: int | None = None,
) -> ChainFault | None:
    """Check one case's events (dicts with the hashed fields plus ``hash``), in seq order.

    Detects an edited event (its hash no longer matches), a deleted or inserted one (seq
    gap, or prev_hash not the previous hash), a swap, a forged hash, and, with the case
    row's ``expected_head``/``expected_count``, a truncated tail.
    """
    prev: str | None = None
    expected_seq = 1
    count = 0
    for row in rows:
        raw_seq = row["seq"]
        if not isinstance(raw_seq, int) or isinstance(raw_seq, bool):
            # A tampered row can hold any value (SQLite columns are not typed): report it.
            return ChainFault(case_id, expected_seq, f"seq {raw_seq!r} is not an integer")
        seq = raw_seq
        if row.get("case_id") != case_id:
            return ChainFault(case_id, seq, "the event belongs to another case")
        if seq != expected_seq:
            bad = min(seq, expected_seq)
            return ChainFault(case_id, bad, f"expected seq {expected_seq}, found {seq}")
        if row.get("prev_hash") != prev:
            return ChainFault(case_id, seq, "prev_hash does not match the previous event")
        # The hashed fields only: derived keys (history JSON's ``occurred``) are not hashed.
        fields = {k: row[k] for k in row if k in HASHED_FIELDS}
        try:
            computed = event_hash(fields)
        except (TypeError, ValueError):
            return ChainFault(case_id, seq, "its content is not canonical JSON (a float?)")
        except RecursionError:
            return ChainFault(case_id, seq, "its content is nested too deeply to be an event")
        if computed != row.get("hash"):
            return ChainFault(case_id, seq, "its content does not match its hash")
        prev = row["hash"]
        expected_seq += 1
        count += 1
    if expected_count is not None and count != expected_count:
        return ChainFault(
            case_id,
            count + 1 if count < expected_count else count,
            f"the case records {expected_count} events, the log has {count}",
        )
    if expected_head is not None and prev != expected_head:
        return ChainFault(case_id, max(count, 1), "the chain head differs from the case's")
    return None


def verify_states(
    case_id: str, rows: Iterable[Mapping[str, Any]], *, expected_state: str | None = None
) -> ChainFault | None:
    """Check that a (hash-verified) log's states follow on, and match the case row's state.

    Every step must leave the state the log had reached (its ``from_state`` is the previous
    ``to_state``), and the last ``to_state`` must be ``expected_state``. A case row edited to
    another state, and any step the service then took from it, are found here: the chain
    itself is intact in that case, so :func:`verify_events` cannot see it.

    A retraction (kind ``retract``) that took back a state transition records the move back
    as its own ``from_state`` -> ``to_state``, so a log with retractions follows on too.
    """
    state: str | None = None
    seq = 0
    for row in rows:
        seq = int(row["seq"])
        from_state, to_state = row.get("from_state"), row.get("to_state")
        if from_state is not None and from_state != state:
            return ChainFault(
                case_id, seq, f"it leaves state {from_state!r}, but the log is in {state!r}"
            )
        if to_state is not None:
            state = to_state
    if expected_state is not None and state != expected_state:
        return ChainFault(
            case_id, max(seq, 1), f"the case row says state {expected_state!r}, its log {state!r}"
        )
    return None
