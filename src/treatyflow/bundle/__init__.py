"""Export, offline verification and import of a whole database as a JSON Lines bundle.

A bundle (``treatyflow.bundle/1``) is one JSON object per line, written with sorted keys:

1. ``{"type": "header", "format": "treatyflow.bundle/1", "treatyflow_version": ...,
   "exported_at": ..., "schema_revision": ..., "source": <redacted database URL>}``
2. one ``{"type": "definition", "hash", "kind", "definition_id", "stored_at", "content"}`` per
   treaty or procedure snapshot (``content`` is the stored JSON text; ``hash`` is
   recomputable from it, exactly as :func:`treatyflow.catalog.content_hash` does);
   then, when the database has a key registry, one ``{"type": "registry", ...}`` per
   registry entry (:data:`treatyflow.registry.ENTRY_FIELDS`), by seq; then one
   ``{"type": "document", "sha256", "size", "media_type", "name", "stored_at", "content"}``
   per attached document, by digest (``content`` in base64; :mod:`treatyflow.bundle_documents`);
3. one ``{"type": "case", ...}`` per case row (``facts`` as an object), by id;
4. one ``{"type": "event", ...}`` per event (the hashed fields plus ``hash``, and
   ``signature`` and ``key`` when it is signed), by case, seq;
5. ``{"type": "trailer", "counts": {...}, "heads": n, "heads_digest": ...,
   "body_digest": ...}`` — ``heads_digest`` is the digest over every case's
   (id, version, head hash), the same as a checkpoint's; ``body_digest`` is SHA-256 over
   the bytes of every line before the trailer (it catches accidental damage; the chain
   and definition hashes catch any edit that was not carefully re-hashed, and a
   checkpoint kept elsewhere catches the rest). ``counts`` has ``registry`` only when the
   bundle carries registry entries, ``documents`` only when it carries documents.

Signatures are checked offline against the bundle's own registry, as it stood when each
event was recorded (:func:`treatyflow.registry.check_event`, one case at a time).

:func:`read_bundle` needs no database; :func:`import_path` checks a bundle and loads it
into an empty database in one pass and one transaction, rolled back (nothing written) when
any problem is found anywhere in the file.

The modules, one job each: :mod:`~treatyflow.bundle.format` (the fields, digests and JSON
text of a line), :mod:`~treatyflow.bundle.lines` (reading a file's lines, bounded),
:mod:`~treatyflow.bundle.checks` (what each line must hold),
:mod:`~treatyflow.bundle.verify` (one verifying pass: :func:`read_bundle`),
:mod:`~treatyflow.bundle.export` (:func:`export_bundle`) and
:mod:`~treatyflow.bundle.load` (:func:`import_path`: the verifying pass writing as it goes).
"""

from treatyflow.bundle.export import export_bundle
from treatyflow.bundle.format import (
    CASE_FIELDS,
    DEFINITION_FIELDS,
    EVENT_FIELDS,
    FORMAT,
    MAX_PROBLEMS,
    SIGNATURE_FIELDS,
    _line,
    definition_hash,
    heads_digest,
)
from treatyflow.bundle.lines import MAX_LINE
from treatyflow.bundle.load import Sink, import_bundle, import_path
from treatyflow.bundle.verify import Bundle, read_bundle

__all__ = [
    "CASE_FIELDS",
    "DEFINITION_FIELDS",
    "EVENT_FIELDS",
    "FORMAT",
    "MAX_LINE",
    "MAX_PROBLEMS",
    "SIGNATURE_FIELDS",
    "Bundle",
    "Sink",
    "_line",
    "definition_hash",
    "export_bundle",
    "heads_digest",
    "import_bundle",
    "import_path",
    "read_bundle",
]
