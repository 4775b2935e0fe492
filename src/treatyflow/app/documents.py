"""Documents kept with the log (#17): attach a file to a case, give its bytes back, check them.

``attach`` stores the file's bytes once under their SHA-256 digest (the ``documents`` table)
and appends an ``attach`` event to the case in the same transaction: its ``data`` holds the
digest, name, size and media type, and its one source cites the document by digest, so the
digest is under the case's hash chain (and signature). Any later event's source may cite an
attached document (``{"citation": ..., "document": "sha256:..."}``); :func:`check_citations`
refuses a digest the database does not hold. ``verify`` re-hashes every cited document
(:func:`document_faults`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treatyflow.app.core import ChangeContext, Core, Definitions
from treatyflow.chain import ChainFault
from treatyflow.errors import (
    DocumentCorrupt,
    DocumentNotFound,
    DocumentTooLarge,
    InvalidInput,
)
from treatyflow.events import Event, EventKind
from treatyflow.evidence_levels import EvidenceLevel, default_level
from treatyflow.legal.dates import LegalDate
from treatyflow.projection import retracted_seqs
from treatyflow.results import DocumentInfo
from treatyflow.store import documents as rows
from treatyflow.store.sql import CaseRecord
from treatyflow.values import check_actor, check_sources, check_text, document_digest

if TYPE_CHECKING:
    from treatyflow.evidence import Source

#: The largest document treatyflow keeps (10 MiB): a bundle carries each document on one
#: line, in base64, and a bundle line is at most 16 MiB (:data:`treatyflow.bundle.MAX_LINE`).
MAX_BYTES = 10 * 1024 * 1024
#: The environment variable that sets a lower limit (in bytes) for one database's users.
LIMIT_ENV = "TREATYFLOW_MAX_DOCUMENT_BYTES"
#: The longest file name kept.
MAX_NAME = 255
#: The media type of a file whose name says nothing.
UNKNOWN_TYPE = "application/octet-stream"


def size_limit() -> int:
    """The size limit in force: ``TREATYFLOW_MAX_DOCUMENT_BYTES`` if set (at most
    :data:`MAX_BYTES`), else :data:`MAX_BYTES`."""
    text = os.environ.get(LIMIT_ENV, "").strip()
    if not text:
        return MAX_BYTES
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_BYTES:
        raise InvalidInput(
            LIMIT_ENV,
            text,
            f"{LIMIT_ENV} must be a number of bytes from 1 to {MAX_BYTES:,}, not {text!r}.",
        )
    return value


def read_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path``; DocumentTooLarge past ``limit`` (read no
    further than that), InvalidInput for what is not a readable regular file."""
    shown = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not a file name that can be opened"
        raise InvalidInput("file", shown, f"cannot read {shown!r}: {why}.") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InvalidInput("file", shown, f"{shown!r} is not a regular file.")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise DocumentTooLarge(shown, os.stat(path).st_size, limit)
    return data


def check_name(name: str) -> str:
    """A file name as kept: its last path component, printable, at most MAX_NAME chars."""
    checked = check_text(name, "name", MAX_NAME)
    base = (checked or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or "\n" in base:
        raise InvalidInput("name", name, "a document needs a file name (one line of text).")
    return base


def attach(
    core: Core,
    case_id: str,
    content: bytes,
    *,
    name: str,
    actor: str,
    on: dt.date | None = None,
    occurred: LegalDate | None = None,
    kind: str | None = None,
    level: str | None = None,
    note: str | None = None,
    sources: Sequence[Source] = (),
) -> tuple[CaseRecord, ChangeContext, DocumentInfo, bool]:
    """Store ``content`` and append an ``attach`` event citing it to the case, in one
    transaction; (case row, change context, the document, whether its bytes were new)."""
    actor = check_actor(actor)
    note = check_text(note, "note")
    check_sources(sources, "sources")
    limit = size_limit()
    if len(content) > limit:
        raise DocumentTooLarge(name, len(content), limit)
    name = check_name(name)
    if level is not None and level not in {v.value for v in EvidenceLevel}:
        raise InvalidInput(
            "level", level, f"evidence level {level!r} is not reported, official or confirmed."
        )
    if kind is not None:
        kind = check_text(kind.strip(), "kind", 100) or None
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    import mimetypes  # only when a document is attached

    media_type = mimetypes.guess_type(name, strict=False)[0] or UNKNOWN_TYPE
    # no level given: it follows the kind, as for every source (a note verbale is official)
    evidence = EvidenceLevel(level) if level else default_level(kind)
    from treatyflow.evidence import EventSource

    cited = EventSource(citation=name, document=digest, kind=kind, level=evidence)
    stored: list[bool] = []

    def change(record: CaseRecord, defs: Definitions, ctx: ChangeContext) -> Event:
        now = core.now()
        new = rows.insert(
            ctx.conn, rows.DocumentRow(digest, len(content), media_type, name, now, content)
        )
        stored[:] = [new]
        return core.next_event(
            record,
            EventKind.ATTACH,
            on=on or core.today(),
            actor=actor,
            sources=[cited, *sources],
            note=note,
            data={
                "sha256": digest,
                "name": name,
                "size": len(content),
                "media_type": media_type,
                "kind": kind,
                "level": cited.level.value,
            },
            occurred=occurred,
        )

    record, ctx = core.change(case_id, change)
    ev = ctx.events[-1]
    return record, ctx, info(ev), stored[0]


def info(ev: Event) -> DocumentInfo:
    """The document an ``attach`` event records."""
    return info_of(ev.seq, ev.occurred_on, ev.data)


def info_of(seq: int, occurred_on: dt.date, data: Mapping[str, Any]) -> DocumentInfo:
    """The document an ``attach`` event (``seq``, legal date, ``data``) records."""
    return DocumentInfo(
        sha256=str(data["sha256"]),
        name=str(data["name"]),
        size=int(data["size"]),
        media_type=str(data["media_type"]),
        kind=data.get("kind"),
        level=str(data.get("level", "reported")),
        seq=seq,
        occurred_on=occurred_on,
    )


def attached(events: Sequence[Event]) -> tuple[DocumentInfo, ...]:
    """The documents the (visible) events attach, in log order, leaving out retracted ones."""
    gone = retracted_seqs(events)
    return tuple(info(e) for e in events if e.kind is EventKind.ATTACH and e.seq not in gone)


def read(core: Core, digest: str) -> bytes:
    """The bytes of the document ``digest`` (``sha256:...`` or the hex digits), re-hashed:
    DocumentNotFound when the database holds none, DocumentCorrupt when they changed."""
    digest = document_digest(digest)
    with core.store.read() as conn:
        row = rows.get(conn, digest)
    if row is None:
        raise DocumentNotFound(digest)
    computed = "sha256:" + hashlib.sha256(row.content).hexdigest()
    if computed != digest:
        raise DocumentCorrupt(digest, computed)
    return row.content


# ---------------------------------------------------------------------------- citations
def cited_digests(sources: Iterable[Mapping[str, Any]]) -> list[str]:
    """The document digests the sources (as events store them) cite."""
    return [str(s["document"]) for s in sources if isinstance(s, Mapping) and s.get("document")]


def check_citations(conn: Any, ev: Event) -> Event:
    """Refuse an event citing a document the database does not hold; give a source that
    names only the digest (``document=...`` with no citation text) the document's file
    name as its citation."""
    digests = cited_digests(ev.sources)
    if not digests:
        return ev
    held = rows.present(conn, digests)
    missing = [d for d in digests if d not in held]
    if missing:
        raise DocumentNotFound(missing[0])
    if all(s.get("citation") != s.get("document") for s in ev.sources):
        return ev
    from dataclasses import replace

    named: list[dict[str, Any]] = []
    for s in ev.sources:
        if s.get("document") and s.get("citation") == s["document"]:
            row = rows.get(conn, str(s["document"]))
            assert row is not None
            s = {**s, "citation": row.name}
        named.append(dict(s))
    return replace(ev, sources=tuple(named))


# ---------------------------------------------------------------------------- verify
def document_faults(
    core: Core, citing: Iterable[tuple[Any, Any, Any, Any, Any]] | None = None
) -> list[ChainFault]:
    """One fault per (event, document) where an event cites a document whose stored bytes
    are missing or no longer hash to its digest (or whose size differs from the size the
    ``attach`` event recorded), naming the case, the event's seq and the digest. A database
    not yet upgraded to the ``documents`` table has none to check. ``citing``: the events
    that may cite a document as ``verify``'s fast pass collected them (else they are read
    here: ``Store.citing_events``)."""
    from treatyflow.store.sql import table_names

    if "documents" not in table_names(core.store):
        return []
    with core.store.read() as conn:
        citations: dict[str, list[tuple[Any, int, int | None]]] = {}
        found = rows.citing_events(conn) if citing is None else citing
        for case_id, seq, kind, sources, data in found:
            payload = _json_dict(data) if kind == "attach" else {}
            for digest in cited_digests(_json_list(sources)):
                if digest != payload.get("sha256"):  # an attach event is listed once, below
                    citations.setdefault(digest, []).append((case_id, seq, None))
            if kind == "attach" and isinstance(payload.get("sha256"), str):
                size = payload.get("size")
                entry = (case_id, seq, size if isinstance(size, int) else None)
                citations.setdefault(payload["sha256"], []).append(entry)
        problems: dict[str, str] = {}
        sizes: dict[str, int] = {}
        for row in rows.iter_all(conn):
            if row.sha256 not in citations:
                continue
            computed = "sha256:" + hashlib.sha256(row.content).hexdigest()
            sizes[row.sha256] = len(row.content)
            if computed != row.sha256:
                problems[row.sha256] = (
                    f"document {row.sha256} changed: its stored bytes hash to {computed}"
                )
            elif row.size != len(row.content):  # a bundle would carry the wrong size
                problems[row.sha256] = (
                    f"document {row.sha256}: its stored size {row.size} is not the "
                    f"{len(row.content)} bytes it holds"
                )
    faults: list[ChainFault] = []
    for digest, where in citations.items():
        for case_id, seq, size in dict.fromkeys(where):
            reason = problems.get(digest)
            if digest not in sizes:
                reason = f"document {digest} is missing from the database"
            elif reason is None and size is not None and size != sizes[digest]:
                reason = f"document {digest} is {sizes[digest]} bytes, its event says {size}"
            if reason is not None:
                faults.append(ChainFault(case_id, seq, reason))
    return faults


def _json_list(text: Any) -> list[Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _json_dict(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
