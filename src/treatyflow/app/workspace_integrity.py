"""The :class:`~treatyflow.app.workspace.Workspace`'s integrity: verify the hash chains, write
checkpoints, export and import verifiable bundles.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from treatyflow.app.workspace_base import WorkspaceBase

if TYPE_CHECKING:
    from treatyflow.results import BundleResult, CheckpointResult, VerifyResult


class WorkspaceIntegrity(WorkspaceBase):
    """Hash chains checked, checkpoints and bundles."""

    def verify(self, *, checkpoint: str | os.PathLike[str] | None = None) -> VerifyResult:
        """Check every case's hash chain (``.ok``, ``.problems`` naming case and first bad
        seq); with ``checkpoint``, also that nothing it recorded was truncated or rewritten."""
        from treatyflow.app import integrity

        path = None if checkpoint is None else Path(checkpoint)
        return integrity.verify(self._core, checkpoint=path)

    def checkpoint(self, path: str | os.PathLike[str], *, force: bool = False) -> CheckpointResult:
        """Write every case's chain head and a digest over them to ``path``, to keep
        elsewhere (``verify(checkpoint=path)`` checks against it later)."""
        from treatyflow.app import integrity
        from treatyflow.results import CheckpointResult

        doc = integrity.write_checkpoint(self._core, Path(path), force=force)
        return CheckpointResult(
            checkpoint=os.fspath(path), cases=doc["count"], digest=doc["digest"]
        )

    def export(self, path: str | os.PathLike[str], *, force: bool = False) -> BundleResult:
        """Write the whole database as a verifiable JSON Lines bundle (atomically)."""
        from treatyflow.app import bundles

        return bundles.export(self._core, Path(path), force=force)

    def import_bundle(self, path: str | os.PathLike[str]) -> BundleResult:
        """Load a bundle into this (empty) database; refuses one that does not verify."""
        from treatyflow.app import bundles

        return bundles.import_(self._core, Path(path))
