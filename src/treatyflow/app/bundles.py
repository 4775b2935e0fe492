"""Bundles: the whole database as one self-describing, verifiable JSON Lines file.

``export`` writes it; ``import_bundle`` loads one into an empty database, refusing one that
does not verify; :func:`verify_bundle` checks a file offline, with no database at all.
The file format and its checks live in :mod:`treatyflow.bundle`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from treatyflow import checkpoint as checkpoints
from treatyflow.app import projections
from treatyflow.app.core import Core
from treatyflow.bundle import (
    CASE_FIELDS,
    export_bundle,
    heads_digest,
    import_path,
    read_bundle,
)
from treatyflow.errors import StoreError, TreatyflowError
from treatyflow.events import Event, EventKind
from treatyflow.projection import Tally, select
from treatyflow.results import BundleResult
from treatyflow.store import projections as rows
from treatyflow.store.prepared import PROJECTION_COLUMNS
from treatyflow.store.sql import CaseRecord


def export(core: Core, path: Path, *, force: bool = False) -> BundleResult:
    """Write the whole database to ``path`` (atomically). Refuses (StoreError, nothing
    written) a database whose attached documents are missing or changed: the bundle would
    not verify."""
    from treatyflow.app.documents import document_faults

    faults = document_faults(core)
    if faults:
        more = f" (and {len(faults) - 1} more)" if len(faults) > 1 else ""
        raise StoreError(f"nothing exported: {faults[0]}{more}.")
    trailer = export_bundle(core.store, path, force=force)
    details = {k: v for k, v in trailer.items() if k != "type"}
    return BundleResult(
        bundle=str(path),
        counts=trailer["counts"],
        heads_digest=trailer["heads_digest"],
        details=details,
    )


def import_(core: Core, path: Path) -> BundleResult:
    """Verify the bundle at ``path`` and load it into the (empty) database in one pass and
    one transaction, in bounded memory; a bundle that does not verify is refused
    (BundleInvalid) and nothing is written."""
    # The bundle carries no projection: each case's row is tallied from its events as they
    # stream in, and written with them in the import's transaction.
    _bundle, result = import_path(core.store, path, projector=Projector(core))
    return BundleResult(
        bundle=str(path),
        counts=result["imported"],
        heads_digest=result["heads_digest"],
        details=result,
    )


@contextlib.contextmanager
def undone_on_failure(db: str, close: Callable[[], None]) -> Iterator[None]:
    """Around an import into ``db`` (opened, created and migrated inside the block): when
    the import fails - a bundle that does not verify, an interruption - and ``db`` named no
    database before, the database it created is removed again (``close`` first releases
    its connections). A refused bundle so leaves nothing behind, though the bundle is read
    once, checked as it is loaded."""
    from treatyflow.store import migrate

    was_blank = migrate.blank(db)
    try:
        yield
    except BaseException:
        if was_blank:
            close()
            with contextlib.suppress(OSError, TreatyflowError):  # the import's error stands
                migrate.discard(db)
        raise


def verify_bundle(path: Path, *, checkpoint: Path | None = None) -> BundleResult:
    """Check the bundle at ``path`` offline (and, with ``checkpoint``, against it)."""
    heads = checkpoints.load_checkpoint(checkpoint) if checkpoint is not None else None
    bundle = read_bundle(path, hashes=heads is not None)
    problems = list(bundle.problems)
    if heads is not None and bundle.ok:
        current = {c: (v, h) for c, v, h in bundle.heads()}
        problems += [str(f) for f in checkpoints.compare(heads, current, bundle.event_hash_at)]
    details = bundle.summary()
    details["ok"], details["problems"] = not problems, problems
    if heads is not None:
        details["checkpoint"] = {"path": str(checkpoint), "cases": len(heads)}
    return BundleResult(
        bundle=str(path),
        counts=bundle.counts(),
        heads_digest=heads_digest(bundle.heads()) if bundle.case_heads else None,
        problems=tuple(problems),
        details=details,
    )


class Projector:
    """The case projection row of each case an import loads (:mod:`treatyflow.app.projections`),
    from its verified event lines: what ``db reproject`` would write, without reading the
    log back (:class:`treatyflow.bundle.load.Projector`)."""

    table = "case_projections"
    columns = PROJECTION_COLUMNS

    def __init__(self, core: Core) -> None:
        self.core = core
        self.available: bool | None = None

    def __call__(
        self, conn: Any, case: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
    ) -> tuple[Any, ...] | None:
        if self.available is None:
            self.available = rows.available(self.core.store, conn)
        if not self.available:  # a schema without the table (never at head): no row
            return None
        record = CaseRecord(**{k: case[k] for k in CASE_FIELDS})
        log = [_event(e) for e in events]
        defs = self.core.definitions_for(conn, record)
        row = projections.row_for(self.core, record, defs, Tally.of(select(log)))
        values = rows.values(row)
        return tuple(values[c] for c in self.columns)


_KINDS = {str(kind): kind for kind in EventKind}


def _event(e: Mapping[str, Any]) -> Event:
    """The event of a verified bundle line (as the store would read it back)."""
    return Event(
        e["case_id"],
        e["seq"],
        _KINDS.get(e["kind"]) or EventKind(e["kind"]),
        dt.date.fromisoformat(e["occurred_on"]),
        e["recorded_at"],
        e["actor"],
        e["trigger"],
        e["from_state"],
        e["to_state"],
        tuple(e["sources"]),
        e["note"],
        e["data"],
        e["prev_hash"],
        e["hash"],
        e.get("signature"),
        e.get("key"),
    )
