"""Typed results of the public API.

Every read and write of :class:`treatyflow.Workspace` returns one of these frozen
dataclasses: dates are :class:`datetime.date`, facts are typed values (``bool``, ``date``,
``int``, ``float``, ``str``), lists are tuples. Each has ``to_dict()``, which returns exactly
the JSON document the command line prints with ``--json`` for the same read (the CLI prints
nothing else), so a notebook can go straight to ``pandas.DataFrame([r.to_dict() for r in
...])``.

Two result types come from the domain core and are re-exported as they are:
:class:`treatyflow.legal.clocks.Clock` (a clause's clock) and :class:`treatyflow.events.Event`
(one event of a case's log); both have ``to_dict()`` too.

The types live in one module per capability (``treatyflow.results.cases``, ``.integrity``,
``.conformance``, ``.versions``, ``.search``, ``.changes``, ``.calendar``) and are imported
from here on first use: a command pays for the result types it returns, not for all of them
(each frozen dataclass costs about a millisecond to create at import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from treatyflow.results.calendar import CalendarItem, CalendarList
    from treatyflow.results.cases import (
        Attached,
        CaseSummary,
        CaseView,
        DocumentInfo,
        Fired,
        PendingItem,
        PendingList,
        Review,
        Step,
        TickFailure,
        TickResult,
    )
    from treatyflow.results.changes import CaseChange, CaseFileImport, Changes, FieldChange
    from treatyflow.results.conformance import CaseConformance, Deviation
    from treatyflow.results.integrity import BundleResult, CheckpointResult, KeyInfo, VerifyResult
    from treatyflow.results.search import RecordedEvent, RecordedSince, SearchHit, SearchResult
    from treatyflow.results.versions import (
        CaseMigration,
        ClockChange,
        DefinitionChange,
        DefinitionDiff,
        DefinitionVersion,
        EvidenceGap,
        GuardLost,
        MigrationResult,
    )

#: Where each result type is defined.
_HOME = {
    "Attached": "cases",
    "BundleResult": "integrity",
    "CalendarItem": "calendar",
    "CalendarList": "calendar",
    "CaseChange": "changes",
    "CaseConformance": "conformance",
    "CaseFileImport": "changes",
    "CaseMigration": "versions",
    "CaseSummary": "cases",
    "CaseView": "cases",
    "Changes": "changes",
    "CheckpointResult": "integrity",
    "ClockChange": "versions",
    "DefinitionChange": "versions",
    "DefinitionDiff": "versions",
    "DefinitionVersion": "versions",
    "Deviation": "conformance",
    "DocumentInfo": "cases",
    "EvidenceGap": "versions",
    "FieldChange": "changes",
    "Fired": "cases",
    "GuardLost": "versions",
    "KeyInfo": "integrity",
    "MigrationResult": "versions",
    "PendingItem": "cases",
    "PendingList": "cases",
    "RecordedEvent": "search",
    "RecordedSince": "search",
    "Review": "cases",
    "SearchHit": "search",
    "SearchResult": "search",
    "Step": "cases",
    "TickFailure": "cases",
    "TickResult": "cases",
    "VerifyResult": "integrity",
}

__all__ = [
    "Attached",
    "BundleResult",
    "CalendarItem",
    "CalendarList",
    "CaseChange",
    "CaseConformance",
    "CaseFileImport",
    "CaseMigration",
    "CaseSummary",
    "CaseView",
    "Changes",
    "CheckpointResult",
    "ClockChange",
    "DefinitionChange",
    "DefinitionDiff",
    "DefinitionVersion",
    "Deviation",
    "DocumentInfo",
    "EvidenceGap",
    "FieldChange",
    "Fired",
    "GuardLost",
    "KeyInfo",
    "MigrationResult",
    "PendingItem",
    "PendingList",
    "RecordedEvent",
    "RecordedSince",
    "Review",
    "SearchHit",
    "SearchResult",
    "Step",
    "TickFailure",
    "TickResult",
    "VerifyResult",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
