"""The bundle format's fields, digests and JSON text (one line, a stored JSON column)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from treatyflow.chain import digest
from treatyflow.events import EVENT_COLUMNS

FORMAT = "treatyflow.bundle/1"
#: Problems listed at most (the trailer's are always among them).
MAX_PROBLEMS = 50

CASE_FIELDS = (
    "id",
    "country",
    "treaty",
    "procedure",
    "procedure_hash",
    "treaty_hash",
    "action",
    "state",
    "version",
    "head_hash",
    "opened_on",
    "last_on",
    "facts",
    "created_at",
    "updated_at",
)
EVENT_FIELDS = EVENT_COLUMNS
DEFINITION_FIELDS = ("hash", "kind", "definition_id", "stored_at", "content")
#: Fields an event line has when the event is signed.
SIGNATURE_FIELDS = ("signature", "key")


def heads_digest(heads: Iterable[tuple[str, int, str]]) -> str:
    """The digest over chain heads (case id, version, head hash), in case id order."""
    items = [{"case": c, "version": v, "head": h} for c, v, h in sorted(heads)]
    return digest(items)


def definition_hash(content: str) -> str:
    """The content hash of a stored definition snapshot (its ``model_dump_json`` text),
    exactly :func:`treatyflow.catalog.content_hash` of the model it holds
    (:func:`treatyflow.catalog.snapshot_hash`)."""
    from treatyflow.catalog import snapshot_hash

    return snapshot_hash(content)


def _line(obj: Mapping[str, Any]) -> bytes:
    return (json.dumps(obj, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _seq(row: Mapping[str, Any]) -> int:
    seq = row.get("seq")
    return seq if isinstance(seq, int) else 0


#: ``json.dumps(value, sort_keys=True, ensure_ascii=False)``, with one encoder for all:
#: how the store writes an event's sources and data (``store.sql.event_row``).
_ENCODE = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
#: ``json.dumps(facts, sort_keys=True)``: how the store writes a case's facts
#: (``CaseRecord.to_row``).
_FACTS_ENCODE = json.JSONEncoder(sort_keys=True).encode


def _json_text(value: Any) -> str:
    if value == {} and type(value) is dict:
        return "{}"
    if value == [] and type(value) is list:
        return "[]"
    return _ENCODE(value)
