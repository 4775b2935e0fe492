"""Bundles: the whole database as one self-describing, verifiable JSON Lines file.

``export`` writes it; ``import_bundle`` loads one into an empty database, refusing one that
does not verify; :func:`verify_bundle` checks a file offline, with no database at all.
The file format and its checks live in :mod:`treatyflow.bundle`.
"""

from __future__ import annotations

from pathlib import Path

from treatyflow import checkpoint as checkpoints
from treatyflow.app import projections
from treatyflow.app.core import Core
from treatyflow.bundle import export_bundle, heads_digest, import_path, read_bundle
from treatyflow.errors import StoreError
from treatyflow.results import BundleResult


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
    _bundle, result = import_path(core.store, path)
    projections.rebuild(core)  # the bundle carries no projection: computed from the log
    return BundleResult(
        bundle=str(path),
        counts=result["imported"],
        heads_digest=result["heads_digest"],
        details=result,
    )


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
