"""Definition versions, their differences, and case migrations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from treatyflow.results._common import iso as _iso


@dataclass(frozen=True)
class DefinitionChange:
    """One difference between two versions of a treaty or procedure."""

    section: str
    """What changed: ``states``, ``transitions``, ``guards``, ``evidence``, ``clocks``,
    ``facts``, ``clause`` (a treaty's clause fields) or ``definition`` (anything else)."""
    path: str
    """Where, e.g. ``actions.withdrawal.period`` or ``states.decided``."""
    change: str
    """``added``, ``removed`` or ``changed``."""
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "path": self.path,
            "change": self.change,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class DefinitionVersion:
    """One stored (or the current) version of a definition and the cases running on it."""

    hash: str
    current: bool
    """It is the version the definitions have now."""
    stored: bool
    """A snapshot of it is in the database (every version a case ever ran on is)."""
    case_ids: tuple[str, ...]
    """The cases pinned to it now."""
    changes: tuple[DefinitionChange, ...]
    """What changed from it to the current version (empty for the current one, or when the
    current definitions no longer have it)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "current": self.current,
            "stored": self.stored,
            "cases": len(self.case_ids),
            "case_ids": list(self.case_ids),
            "changes": [c.to_dict() for c in self.changes],
        }


@dataclass(frozen=True)
class DefinitionDiff:
    """``workflow diff``: a treaty's or procedure's versions, what changed, who runs on each."""

    kind: str
    """``treaty`` or ``procedure``."""
    id: str
    current_hash: str | None
    """None when the definitions no longer have it."""
    versions: tuple[DefinitionVersion, ...]
    """Older versions first (by the time their snapshot was stored), the current one last."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "current_hash": self.current_hash,
            "versions": [v.to_dict() for v in self.versions],
        }


@dataclass(frozen=True)
class ClockChange:
    """A clock whose due date a migration changes."""

    name: str
    before: dt.date | None
    after: dt.date | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "before": _iso(self.before), "after": _iso(self.after)}


@dataclass(frozen=True)
class GuardLost:
    """A step from the case's state that was ready and whose guards no longer hold."""

    trigger: str
    failures: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"trigger": self.trigger, "failures": list(self.failures)}


@dataclass(frozen=True)
class EvidenceGap:
    """A step already taken whose cited sources the new version's evidence rules reject."""

    seq: int
    trigger: str
    missing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "trigger": self.trigger, "missing": list(self.missing)}


@dataclass(frozen=True)
class CaseMigration:
    """What a migration does (or did) to one case: ``case migrate``."""

    id: str
    procedure: str
    treaty: str
    procedure_hash_before: str
    procedure_hash_after: str
    treaty_hash_before: str
    treaty_hash_after: str
    state_before: str
    state_after: str
    map: Mapping[str, str]
    """The states mapped (OLD -> NEW) for this case."""
    effective_on_before: dt.date | None
    effective_on_after: dt.date | None
    clocks: tuple[ClockChange, ...]
    """The clocks whose due dates change."""
    guards_no_longer_holding: tuple[GuardLost, ...]
    evidence_missing: tuple[EvidenceGap, ...]
    changed: bool
    """The case is not on the target versions yet (False: nothing to do)."""
    applied: bool
    """The ``migrated`` event was written (False on a dry run)."""
    seq: int | None
    """The ``migrated`` event's seq once applied."""

    def plan(self) -> dict[str, Any]:
        """The plan as the ``migrated`` event's data keeps it."""
        return {
            "state_before": self.state_before,
            "state_after": self.state_after,
            "effective_on_before": _iso(self.effective_on_before),
            "effective_on_after": _iso(self.effective_on_after),
            "clocks": [c.to_dict() for c in self.clocks],
            "guards_no_longer_holding": [g.to_dict() for g in self.guards_no_longer_holding],
            "evidence_missing": [g.to_dict() for g in self.evidence_missing],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "procedure": self.procedure,
            "treaty": self.treaty,
            "procedure_hash_before": self.procedure_hash_before,
            "procedure_hash_after": self.procedure_hash_after,
            "treaty_hash_before": self.treaty_hash_before,
            "treaty_hash_after": self.treaty_hash_after,
            "map": dict(self.map),
            **self.plan(),
            "changed": self.changed,
            "applied": self.applied,
            "seq": self.seq,
        }


@dataclass(frozen=True)
class MigrationResult:
    """``case migrate``: the plan (and, unless a dry run, the outcome) per case, in id order."""

    dry_run: bool
    cases: tuple[CaseMigration, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "cases": [c.to_dict() for c in self.cases]}
