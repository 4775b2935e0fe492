"""The document lines of a bundle (#17): attached documents' bytes, carried and checked.

A bundle carries each stored document on one line, after the definitions and registry
entries and before the cases, by digest::

    {"type": "document", "sha256": "sha256:...", "size": 1234, "media_type": "application/pdf",
     "name": "decree-441.pdf", "stored_at": "2025-06-28T09:00:00.000000Z",
     "content": "<the bytes in base64 (RFC 4648, with padding)>"}

Reading a bundle checks each line: the base64 decodes, the bytes are ``size`` long and hash
to ``sha256``; and every event's citation of a document (an ``attach`` event's
``data.sha256``, a source's ``document``) names one the bundle carries. Only the digests are
kept in memory; the import reads the lines again and checks each digest again as it inserts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from treatyflow.errors import InvalidInput
from treatyflow.values import printable

#: The fields of a document line (besides ``type``), in the order they are written.
DOCUMENT_FIELDS = ("sha256", "size", "media_type", "name", "stored_at", "content")


def line(row: Any) -> dict[str, Any]:
    """The bundle line of a stored document row (``store.documents.DocumentRow``)."""
    return {
        "type": "document",
        "sha256": row.sha256,
        "size": row.size,
        "media_type": row.media_type,
        "name": row.name,
        "stored_at": row.stored_at,
        "content": base64.b64encode(row.content).decode("ascii"),
    }


def decode(obj: Mapping[str, Any]) -> bytes:
    """The bytes of a document line, checked: InvalidInput (one sentence) when the base64 is
    broken, the size differs or the bytes do not hash to the line's digest."""
    from treatyflow.values import check_text, document_digest

    digest = obj["sha256"]
    if not isinstance(digest, str) or document_digest(digest, "sha256") != digest:
        raise InvalidInput("sha256", digest, "its sha256 is not sha256:<64 hex digits>.")
    for key in ("media_type", "name", "stored_at"):
        check_text(obj[key], key, 255)
    if not isinstance(obj["size"], int) or isinstance(obj["size"], bool) or obj["size"] < 0:
        raise InvalidInput("size", obj["size"], "its size is not a count of bytes.")
    try:
        content = base64.b64decode(obj["content"], validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidInput("content", None, "its content is not base64.") from None
    if len(content) != obj["size"]:
        raise InvalidInput(
            "content", None, f"its content is {len(content)} bytes, its size says {obj['size']}."
        )
    computed = "sha256:" + hashlib.sha256(content).hexdigest()
    if computed != digest:
        raise InvalidInput(
            "content", None, f"its content hashes to {computed}, not {printable(digest)}."
        )
    return content


def citations(event: Mapping[str, Any]) -> list[str]:
    """The document digests an event line cites (its sources, and an ``attach`` event's
    ``data.sha256``)."""
    out: list[str] = []
    for source in event.get("sources") or ():
        if isinstance(source, Mapping) and isinstance(source.get("document"), str):
            out.append(source["document"])
    data = event.get("data")
    if event.get("kind") == "attach" and isinstance(data, Mapping):
        digest = data.get("sha256")
        if isinstance(digest, str):
            out.append(digest)
    return out


def uncited_problems(
    rows: Iterable[Mapping[str, Any]], carried: set[str]
) -> Iterator[tuple[Mapping[str, Any], str]]:
    """(event line, digest) for every citation of a document the bundle does not carry."""
    for row in rows:
        for digest in citations(row):
            if digest not in carried:
                yield row, digest
