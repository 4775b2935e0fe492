"""The :class:`~treatyflow.app.workspace.Workspace`'s definition versions: what changed between
the versions cases run on, and migrations of running cases to the current ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from treatyflow.app.workspace_base import WorkspaceBase

if TYPE_CHECKING:
    from treatyflow.results import DefinitionDiff, MigrationResult


class WorkspaceVersions(WorkspaceBase):
    """Definition diffs and migrations."""

    def workflow_diff(self, ident: str) -> DefinitionDiff:
        """The versions of the treaty or procedure ``ident`` that cases run (or ran) on, what
        changed from each to the current definitions (states, transitions, guards, evidence
        rules, clocks, clause fields) and the cases pinned to each.

        Raises:
            NotFound (no such treaty or procedure, current or stored), InvalidInput (a part).
        """
        from treatyflow.app import versions

        return versions.diff(self._core, ident)

    def migrate(
        self,
        case_ids: Sequence[str] = (),
        *,
        all: bool = False,
        to: str = "current",
        map: Mapping[str, str] | None = None,
        dry_run: bool = False,
        actor: str | None = None,
    ) -> MigrationResult:
        """Move ``case_ids`` (or, with ``all``, every case not on the current definitions)
        to the current versions of their procedure and treaty.

        Per case the result says what changes: state, ``effective_on``, the clocks whose
        dates move, guards that no longer hold, evidence the new rules find missing. A state
        the case has been in that the new procedure lacks must be mapped (``map={OLD: NEW}``).
        Unless ``dry_run``, each case gets one ``migrated`` event (old and new hashes, the map
        and the plan) in a transaction of its own and is re-pinned; a read ``known_at`` a time
        before the migration still gives the old dates. Nothing is written if any case cannot
        be planned. (Team mode review: see the hook in ``treatyflow.app.versions``.)

        Raises:
            StateUnmapped, InvalidInput (an unknown state in ``map``, no cases named),
            CaseNotFound, ProcedureNotFound, TreatyNotFound, ConcurrentUpdate.
        """
        from treatyflow.app import versions

        return versions.migrate(
            self._core,
            case_ids,
            all_cases=all,
            to=to,
            mapping=map,
            dry_run=dry_run,
            actor=self._who(actor),
        )
