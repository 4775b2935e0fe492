"""Loading a bundle into an empty database in one pass (``treatyflow import``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from treatyflow import bundle_documents
from treatyflow.bundle.format import (
    _FACTS_ENCODE,
    CASE_FIELDS,
    DEFINITION_FIELDS,
    EVENT_FIELDS,
    SIGNATURE_FIELDS,
    _json_text,
    _seq,
    heads_digest,
)
from treatyflow.bundle.lines import _open_regular
from treatyflow.bundle.verify import Bundle, _Reader
from treatyflow.errors import BundleInvalid, InvalidInput, StoreError
from treatyflow.registry import (
    ENTRY_FIELDS,
)

if TYPE_CHECKING:
    from treatyflow.store.sql import Store


#: What import adds for each case whose events verified: called with the connection, the
#: case row (every column of :data:`CASE_FIELDS`, ``facts`` as an object) and its event
#: lines in seq order; returns the values of ``columns`` of one row of ``table``, written
#: in the same transaction with the case's rows (the app layer's case projection, #19).
class Projector(Protocol):
    table: str
    columns: tuple[str, ...]

    def __call__(
        self, conn: Any, case: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
    ) -> tuple[Any, ...] | None: ...


class Sink:
    """Where a verifying read puts each row once it has checked it: inserted in batches of
    :data:`treatyflow.store.sql.BATCH_SIZE`, tables in foreign-key order, on one
    connection (one transaction, which the caller rolls back when any problem is found);
    with a ``projector``, one more row per case, from its verified events."""

    COLUMNS: Mapping[str, tuple[str, ...]] = {
        "definitions": DEFINITION_FIELDS,
        "registry": ENTRY_FIELDS,
        "cases": CASE_FIELDS,
        "events": EVENT_FIELDS + SIGNATURE_FIELDS,
    }

    def __init__(self, store: Store, conn: Any, projector: Projector | None = None) -> None:
        from treatyflow.store.sql import BATCH_SIZE

        self.store, self.conn, self.size = store, conn, BATCH_SIZE
        self.columns = dict(self.COLUMNS)
        if projector is not None:
            self.columns[projector.table] = projector.columns
        self.projector = projector
        self.batches: dict[str, list[tuple[Any, ...]]] = {t: [] for t in self.columns}
        self.registry_written = False

    def row(self, table: str, row: tuple[Any, ...]) -> None:
        batch = self.batches[table]
        batch.append(row)
        if len(batch) >= self.size:
            self.flush()

    def definition(self, d: Mapping[str, Any]) -> None:
        self.row("definitions", tuple(d[k] for k in DEFINITION_FIELDS))

    def registry(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """The key registry's entries (once, before the first case), by seq."""
        if entries and not self.registry_written:
            self.registry_written = True
            for r in sorted(entries, key=_seq):
                self.row("registry", _registry_row(r))

    def case(self, case: Mapping[str, Any], registry: Sequence[Mapping[str, Any]]) -> None:
        if self.projector is not None and self.batches["definitions"]:
            # what the projector reads of the definitions is in the database first
            self.registry(registry)
            self.flush()
        self.registry(registry)
        self.row("cases", _case_row(case))

    def events(
        self, case_id: str, case: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """A case's events, verified (and its projection row, with a projector)."""
        for e in rows:
            self.row("events", _event_row(e))
        if self.projector is not None:
            values = self.projector(self.conn, case, rows)
            if values is not None:
                self.row(self.projector.table, values)

    def document(self, obj: Mapping[str, Any]) -> None:
        """Insert a document line that verified (its bytes decoded again: one at a time)."""
        from treatyflow.store import documents

        row = documents.DocumentRow(
            obj["sha256"],
            obj["size"],
            obj["media_type"],
            obj["name"],
            obj["stored_at"],
            bundle_documents.decode(obj),
        )
        documents.insert(self.conn, row)

    def flush(self) -> None:
        for table, batch in self.batches.items():  # in foreign-key order
            if batch:
                self.store.bulk_insert(self.conn, table, self.columns[table], batch)
                batch.clear()


def import_path(
    store: Store, path: Path, *, projector: Projector | None = None
) -> tuple[Bundle, dict[str, Any]]:
    """Verify the bundle at ``path`` and load it into an empty database in ONE pass and one
    transaction: each row is inserted (in batches) as soon as it has been checked, and the
    transaction is rolled back - nothing written - when any problem is found anywhere in
    the file, the trailer's included (:class:`~treatyflow.errors.BundleInvalid`).

    Memory is that of :func:`read_bundle` without the event hashes (a compact copy of each
    case row, one case's events, one batch of rows), however many events the file holds.
    A ``projector`` adds a row per case, computed from its events as they stream in.
    """
    from treatyflow.store import migrate

    bundle = Bundle(path=str(path))
    try:  # a file that cannot be opened is refused before the database is touched
        _open_regular(path).close()
    except InvalidInput as exc:
        raise BundleInvalid([str(exc)]) from None
    _refuse_non_empty(store)
    migrate.upgrade(store)
    with store.write() as conn:
        _refuse_non_empty(store, conn)
        sink = Sink(store, conn, projector)
        _Reader(bundle, sink=sink, keep_hashes=False).read(path)
        if not bundle.ok:
            raise BundleInvalid(bundle.problems)  # rolls the transaction back
        sink.registry(bundle.registry)  # a registry and no case: not written yet
        sink.flush()
        heads = store.heads(conn)
        if sorted(heads) != bundle.heads():
            raise StoreError("the imported chain heads differ from the bundle's; nothing written.")
    return bundle, {"imported": bundle.counts(), "heads_digest": heads_digest(heads)}


def import_bundle(store: Store, bundle: Bundle) -> dict[str, Any]:
    """Load the file of a bundle :func:`read_bundle` verified into an empty database, in one
    transaction (read and checked again as it is loaded: the file must be the one that
    verified, or StoreError is raised and nothing is written)."""
    if not bundle.ok:
        raise BundleInvalid(bundle.problems)
    loaded, result = import_path(store, Path(bundle.path))
    if loaded.body_digest != bundle.body_digest:  # pragma: no cover - a race with an editor
        raise StoreError(
            f"{bundle.path} changed while it was being imported; nothing written - "
            "import it again."
        )
    return result


def _refuse_non_empty(store: Store, conn: Any = None) -> None:
    from treatyflow.redaction import redact
    from treatyflow.store.sql import table_names

    if conn is None:
        if "cases" not in table_names(store):
            return
        with store.read() as c:
            counts = store.counts(c)
            keys = store.registry_count(c) if "registry" in table_names(store) else 0
    else:
        counts = store.counts(conn)
        keys = store.registry_count(conn)
    if counts["cases"] or counts["events"] or keys:
        raise InvalidInput(
            "--db",
            redact(store.url, store.url),
            f"the database {redact(store.url, store.url)} is not empty "
            f"({counts['cases']} case(s), {counts['events']} event(s), {keys} key "
            "registry entries); "
            "import into a new, empty database.",
        )


def _registry_row(r: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(_json_text(r[k]) if k == "data" else r[k] for k in ENTRY_FIELDS)


def _case_row(c: Mapping[str, Any]) -> tuple[Any, ...]:
    """CASE_FIELDS' values, ``facts`` as the JSON text the store keeps."""
    return (
        c["id"],
        c["country"],
        c["treaty"],
        c["procedure"],
        c["procedure_hash"],
        c["treaty_hash"],
        c["action"],
        c["state"],
        c["version"],
        c["head_hash"],
        c["opened_on"],
        c["last_on"],
        _FACTS_ENCODE(c["facts"]),
        c["created_at"],
        c["updated_at"],
    )


def _event_row(obj: Mapping[str, Any]) -> tuple[Any, ...]:
    """EVENT_FIELDS' and SIGNATURE_FIELDS' values, ``sources`` and ``data`` as the store's
    JSON text (no dict per row, one encoder for all values)."""
    return (
        obj["case_id"],
        obj["seq"],
        obj["kind"],
        obj["trigger"],
        obj["from_state"],
        obj["to_state"],
        obj["occurred_on"],
        obj["recorded_at"],
        obj["actor"],
        _json_text(obj["sources"]),
        obj["note"],
        _json_text(obj["data"]),
        obj["prev_hash"],
        obj["hash"],
        obj.get("signature"),
        obj.get("key"),
    )
