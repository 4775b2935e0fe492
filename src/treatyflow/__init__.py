"""treatyflow: a legal-process workflow engine for leaving (or suspending) treaties.

The public Python API::

    import treatyflow
    with treatyflow.open("t.db", actor="analyst", create=True) as ws:
        ws.open_case(country="LTU", treaty="ottawa", at="notified", on="2025-06-27")

Importing the package is cheap (the CLI's ``--help`` imports it): the names below load their
modules on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from treatyflow.app.casefiles import Loaded
    from treatyflow.app.workspace import Workspace, generate_key, load_key, open, verify_bundle
    from treatyflow.chain import ChainFault
    from treatyflow.errors import (
        ActorMismatch,
        BundleInvalid,
        CaseExists,
        CaseFileConflict,
        CaseNotFound,
        ClockDueFirst,
        ConcurrentUpdate,
        DatabaseNotInitialised,
        DefinitionError,
        EvidenceMissing,
        GuardsNotMet,
        InvalidCaseFile,
        InvalidInput,
        InvalidWorkflow,
        KeyFileError,
        NotAuthorised,
        NotFound,
        NoticeTooEarly,
        OutOfOrder,
        ProcedureNotFound,
        ReportExists,
        RetractionRefused,
        SelfApproval,
        SignatureRequired,
        StateUnmapped,
        StoreBusy,
        StoreError,
        StoreUnavailable,
        TransitionNotAllowed,
        TreatyflowError,
        TreatyNotFound,
        WorkflowSyntaxError,
    )
    from treatyflow.events import Event, EventKind
    from treatyflow.evidence import EvidenceLevel, Source
    from treatyflow.legal.clocks import Clock, ClockStatus
    from treatyflow.results import (
        BundleResult,
        CalendarItem,
        CalendarList,
        CaseChange,
        CaseConformance,
        CaseFileImport,
        CaseMigration,
        CaseSummary,
        CaseView,
        Changes,
        CheckpointResult,
        ClockChange,
        DefinitionChange,
        DefinitionDiff,
        DefinitionVersion,
        Deviation,
        EvidenceGap,
        FieldChange,
        Fired,
        GuardLost,
        KeyInfo,
        MigrationResult,
        PendingItem,
        PendingList,
        Review,
        Step,
        TickFailure,
        TickResult,
        VerifyResult,
    )

#: Public name -> the module that defines it (imported on first use).
_HOMES = {
    "open": "treatyflow.app.workspace",
    "verify_bundle": "treatyflow.app.workspace",
    "generate_key": "treatyflow.app.workspace",
    "load_key": "treatyflow.app.workspace",
    "Workspace": "treatyflow.app.workspace",
    "Loaded": "treatyflow.app.casefiles",
    "ChainFault": "treatyflow.chain",
    "Event": "treatyflow.events",
    "EventKind": "treatyflow.events",
    "EvidenceLevel": "treatyflow.evidence",
    "Source": "treatyflow.evidence",
    "Clock": "treatyflow.legal.clocks",
    "ClockStatus": "treatyflow.legal.clocks",
    **dict.fromkeys(
        (
            "BundleResult",
            "CalendarItem",
            "CalendarList",
            "CaseChange",
            "CaseConformance",
            "CaseMigration",
            "CaseFileImport",
            "CaseSummary",
            "CaseView",
            "Changes",
            "CheckpointResult",
            "ClockChange",
            "DefinitionChange",
            "DefinitionDiff",
            "DefinitionVersion",
            "Deviation",
            "EvidenceGap",
            "FieldChange",
            "Fired",
            "GuardLost",
            "KeyInfo",
            "MigrationResult",
            "PendingItem",
            "PendingList",
            "Review",
            "Step",
            "TickFailure",
            "TickResult",
            "VerifyResult",
        ),
        "treatyflow.results",
    ),
    **dict.fromkeys(
        (
            "ActorMismatch",
            "BundleInvalid",
            "CaseExists",
            "CaseFileConflict",
            "CaseNotFound",
            "ClockDueFirst",
            "ConcurrentUpdate",
            "DatabaseNotInitialised",
            "DefinitionError",
            "EvidenceMissing",
            "GuardsNotMet",
            "InvalidCaseFile",
            "InvalidInput",
            "InvalidWorkflow",
            "KeyFileError",
            "NotAuthorised",
            "NotFound",
            "NoticeTooEarly",
            "OutOfOrder",
            "ProcedureNotFound",
            "ReportExists",
            "RetractionRefused",
            "SelfApproval",
            "SignatureRequired",
            "StateUnmapped",
            "StoreBusy",
            "StoreError",
            "StoreUnavailable",
            "TransitionNotAllowed",
            "TreatyflowError",
            "TreatyNotFound",
            "WorkflowSyntaxError",
        ),
        "treatyflow.errors",
    ),
}

__all__ = [
    "ActorMismatch",
    "BundleInvalid",
    "BundleResult",
    "CalendarItem",
    "CalendarList",
    "CaseChange",
    "CaseConformance",
    "CaseExists",
    "CaseFileConflict",
    "CaseFileImport",
    "CaseMigration",
    "CaseNotFound",
    "CaseSummary",
    "CaseView",
    "ChainFault",
    "Changes",
    "CheckpointResult",
    "Clock",
    "ClockChange",
    "ClockDueFirst",
    "ClockStatus",
    "ConcurrentUpdate",
    "DatabaseNotInitialised",
    "DefinitionChange",
    "DefinitionDiff",
    "DefinitionError",
    "DefinitionVersion",
    "Deviation",
    "Event",
    "EventKind",
    "EvidenceGap",
    "EvidenceLevel",
    "EvidenceMissing",
    "FieldChange",
    "Fired",
    "GuardLost",
    "GuardsNotMet",
    "InvalidCaseFile",
    "InvalidInput",
    "InvalidWorkflow",
    "KeyFileError",
    "KeyInfo",
    "Loaded",
    "MigrationResult",
    "NotAuthorised",
    "NotFound",
    "NoticeTooEarly",
    "OutOfOrder",
    "PendingItem",
    "PendingList",
    "ProcedureNotFound",
    "ReportExists",
    "RetractionRefused",
    "Review",
    "SelfApproval",
    "SignatureRequired",
    "Source",
    "StateUnmapped",
    "Step",
    "StoreBusy",
    "StoreError",
    "StoreUnavailable",
    "TickFailure",
    "TickResult",
    "TransitionNotAllowed",
    "TreatyNotFound",
    "TreatyflowError",
    "VerifyResult",
    "WorkflowSyntaxError",
    "Workspace",
    "__version__",
    "generate_key",
    "load_key",
    "open",
    "verify_bundle",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'treatyflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__
