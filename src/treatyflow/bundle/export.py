"""Writing a database out as a bundle (``treatyflow export``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treatyflow import __version__, bundle_documents
from treatyflow.bundle.format import (
    CASE_FIELDS,
    DEFINITION_FIELDS,
    FORMAT,
    _line,
    heads_digest,
)
from treatyflow.errors import ReportExists, StoreError

if TYPE_CHECKING:
    from treatyflow.store.sql import Store


# ====================================================================== export
def export_bundle(store: Store, path: Path, *, force: bool = False) -> dict[str, Any]:
    """Write the whole database to ``path``; returns the trailer.

    The file goes through the safe-output routine
    (:func:`treatyflow.reports.output.private_file`: atomic, owner-only, never through a
    symbolic link or into a special file, no temporary file left on failure). Refuses
    (:class:`~treatyflow.errors.StoreError`, nothing written) a database whose definition
    snapshots do not re-hash or miss one a case was opened under
    (:func:`treatyflow.store.snapshots.definition_faults`): such a bundle would fail its own
    verification.
    """
    from treatyflow.redaction import redact
    from treatyflow.reports.output import check_output_path, private_file
    from treatyflow.store import migrate
    from treatyflow.store.snapshots import definition_faults

    check_output_path(path)
    if path.exists() and not force:
        raise ReportExists(str(path))
    revision = migrate.current(store)
    body = hashlib.sha256()
    with store.read() as conn:
        faults = definition_faults(store, conn)
        if faults:
            more = f" (and {len(faults) - 1} more problem(s))" if len(faults) > 1 else ""
            raise StoreError(
                f"nothing exported: {faults[0]}{more}; 'treatyflow doctor' lists them all."
            )
        with private_file(path, force=force) as out:

            def put(obj: Mapping[str, Any]) -> None:
                data = _line(obj)
                body.update(data)
                out.write(data)

            put(
                {
                    "type": "header",
                    "format": FORMAT,
                    "treatyflow_version": __version__,
                    "exported_at": _utc_now(),
                    "schema_revision": revision,
                    "source": redact(store.url, store.url),
                }
            )
            counts = {"definitions": 0, "cases": 0, "events": 0}
            for d in store.all_definitions(conn):
                put({"type": "definition", **{k: d[k] for k in DEFINITION_FIELDS}})
                counts["definitions"] += 1
            for entry in store.registry_entries(conn):
                put({"type": "registry", **entry.to_dict()})
                counts["registry"] = counts.get("registry", 0) + 1
            for document in _stored_documents(store, conn):
                put(bundle_documents.line(document))
                counts["documents"] = counts.get("documents", 0) + 1
            heads = []
            for record in store.iter_cases(conn):
                row = {k: getattr(record, k) for k in CASE_FIELDS}
                put({"type": "case", **row})
                heads.append((record.id, record.version, record.head_hash))
                counts["cases"] += 1
            for ev in store.event_rows(conn, signed=True):
                put({"type": "event", **ev})
                counts["events"] += 1
            trailer = {
                "type": "trailer",
                "counts": counts,
                "heads": len(heads),
                "heads_digest": heads_digest(heads),
                "body_digest": "sha256:" + body.hexdigest(),
            }
            out.write(_line(trailer))
    return trailer


def _stored_documents(store: Store, conn: Any) -> Iterator[Any]:
    from treatyflow.store import documents
    from treatyflow.store.sql import table_names

    if "documents" in table_names(store):
        yield from documents.iter_all(conn)


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
