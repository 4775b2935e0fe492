"""The outcome of each request of a batch of steps (``advance_many``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AdvanceOutcome:
    """What became of one request of ``advance_many`` (one line of ``case advance-many``)."""

    line: int
    """The request's position in the input, from 1 (a line number)."""
    case: str | None
    """The case it names (None when a malformed request names none)."""
    ok: bool
    state: str | None = None
    """The case's state after the step (unchanged when the step awaits review)."""
    version: int | None = None
    seq: int | None = None
    """The sequence number of the event written."""
    kind: str | None = None
    """The event written: ``advance``, or ``propose`` when the step awaits review."""
    error: str | None = None
    """Why nothing was written: one sentence."""
    error_type: str | None = None
    """The error's class (``TransitionNotAllowed``, ``InvalidInput`` ...)."""
    code: int | None = None
    """The exit status ``case advance`` would end with: 1 a refused or failed step, 2 a
    malformed request (a usage error)."""

    def to_dict(self) -> dict[str, Any]:
        if self.ok:
            return {
                "line": self.line,
                "case": self.case,
                "ok": True,
                "state": self.state,
                "version": self.version,
                "seq": self.seq,
                "kind": self.kind,
            }
        return {
            "line": self.line,
            "case": self.case,
            "ok": False,
            "error": self.error,
            "error_type": self.error_type,
            "code": self.code,
        }
