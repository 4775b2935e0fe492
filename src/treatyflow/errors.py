"""The exception tree: everything treatyflow raises on purpose.

::

    TreatyflowError                   base; `cli` maps it to "Error: ..." and exit 1
    ├── DefinitionError
    │   ├── WorkflowSyntaxError       .path .line           (YAML that cannot be read)
    │   └── InvalidWorkflow           .problems             (all problems at once, file:line)
    │       └── InvalidCaseFile       .problems             (a case file, docs/case-files.md)
    ├── NotFound
    │   ├── CaseNotFound              .case_id
    │   ├── TreatyNotFound            .treaty_id
    │   ├── ProcedureNotFound         .procedure_id
    │   └── DocumentNotFound          .sha256              (no attached document with it)
    ├── InvalidInput                  .field .value        (bad date, country, fact, ...)
    │   ├── ClockDueFirst             .case_id .clock .due_on .on
    │   └── DocumentTooLarge          .size .limit         (case attach)
    ├── CaseExists                    .case_id
    ├── TransitionNotAllowed          .case_id .trigger .state .allowed
    ├── GuardsNotMet                  .case_id .trigger .failures
    ├── EvidenceMissing               .case_id .trigger .missing
    ├── OutOfOrder                    .case_id .on .last_on
    ├── NoticeTooEarly                .case_id .problems
    ├── StateUnmapped                 .case_id .states .choices  (a migration needs a map)
    ├── CaseFileConflict              .path .case_id .step .line .seq .differences
    ├── RetractionRefused             .case_id .seq .dependents
    ├── BundleInvalid                 .problems
    ├── ReportExists                  .path
    ├── KeyFileError                  .path                (a key file unreadable or not Ed25519)
    ├── NotAuthorised                 .who                 (registry, roles, review: refused)
    │   ├── SignatureRequired                              (team mode: a write without a key)
    │   ├── ActorMismatch             .actor .name         (the actor is not the key's name)
    │   └── SelfApproval              .case_id .seq        (four eyes: not the proposer)
    └── StoreError                    driver errors, re-raised ``from`` the original
        ├── DocumentCorrupt           .sha256              (stored bytes no longer re-hash)
        ├── ConcurrentUpdate          .case_id
        ├── StoreBusy                 (a transient conflict; retried before it is raised)
        └── StoreUnavailable
            └── DatabaseNotInitialised .where     (no file, or no treatyflow tables)
The library raises and never prints. Messages are one sentence about the data and name no
command-line option; the CLI adds its hints ("use --force", "run 'treatyflow tick'") at its
boundary (``treatyflow.cli.errors``) and maps every class to exit code 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


class TreatyflowError(Exception):
    """Base class of every error treatyflow raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in a definition file, located by file and line."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class DefinitionError(TreatyflowError):
    """A treaty or procedure definition is unreadable or inconsistent."""


class WorkflowSyntaxError(DefinitionError):
    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path, self.line = path, line
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {message}")


class InvalidWorkflow(DefinitionError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "no details"
        more = len(self.problems) - 1
        suffix = f" (and {more} more)" if more > 0 else ""
        super().__init__(f"invalid workflow definitions: {first}{suffix}")


class InvalidCaseFile(InvalidWorkflow):
    """A case file (docs/case-files.md) does not validate: every problem, with file:line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(problems)
        first = self.problems[0] if self.problems else "no details"
        more = len(self.problems) - 1
        shown = "; ".join(str(p) for p in self.problems[:3])
        suffix = f" (and {more - 2} more)" if more > 2 else ""
        self.args = (f"invalid case file: {shown if more else first}{suffix}.",)


class NotFound(TreatyflowError):
    """Something named on the command line does not exist."""


class CaseNotFound(NotFound):
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"no case {case_id!r}.")


class TreatyNotFound(NotFound):
    def __init__(self, treaty_id: str, known: Sequence[str] = ()) -> None:
        self.treaty_id = treaty_id
        hint = _did_you_mean(treaty_id, known)
        super().__init__(f"no treaty {treaty_id!r}{hint}.")


class ProcedureNotFound(NotFound):
    def __init__(self, procedure_id: str, known: Sequence[str] = (), why: str = "") -> None:
        self.procedure_id = procedure_id
        hint = _did_you_mean(procedure_id, known)
        detail = f" ({why})" if why else ""
        super().__init__(f"no procedure {procedure_id!r}{detail}{hint}.")


class DocumentNotFound(NotFound):
    """No document with this digest is attached in the database."""

    def __init__(self, sha256: str) -> None:
        self.sha256 = sha256
        super().__init__(f"no document {sha256} is attached in this database.")


class InvalidInput(TreatyflowError):
    """A value given by the user is not acceptable."""

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field, self.value = field, value
        super().__init__(message)


class ClockDueFirst(InvalidInput):
    """A step is dated on or after a clock came due: in law the clock fired first."""

    def __init__(self, case_id: str, clock: str, due_on: dt.date, on: dt.date) -> None:
        self.case_id, self.clock, self.due_on, self.on = case_id, clock, due_on, on
        super().__init__(
            "on",
            on,
            f"the clock {clock!r} of case {case_id!r} came due on {due_on.isoformat()}, on "
            f"or before {on.isoformat()}, and has not fired (tick).",
        )


class DocumentTooLarge(InvalidInput):
    """A file to attach is larger than the documents' size limit."""

    def __init__(self, name: str, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(
            "file",
            name,
            f"{name!r} is larger than the limit of {limit:,} bytes for an attached document.",
        )


class CaseExists(TreatyflowError):
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"a case {case_id!r} already exists.")


class TransitionNotAllowed(TreatyflowError):
    def __init__(self, case_id: str, trigger: str, state: str, allowed: Sequence[str]) -> None:
        self.case_id, self.trigger, self.state = case_id, trigger, state
        self.allowed = list(allowed)
        options = ", ".join(repr(a) for a in self.allowed) or "none (the case is closed)"
        super().__init__(
            f"can't {trigger!r} case {case_id!r} in state {state!r}; allowed triggers: {options}."
        )


class GuardsNotMet(TreatyflowError):
    def __init__(self, case_id: str, trigger: str, failures: Sequence[str]) -> None:
        self.case_id, self.trigger = case_id, trigger
        self.failures = list(failures)
        super().__init__(_end(f"can't {trigger!r} case {case_id!r}: {'; '.join(self.failures)}"))


class EvidenceMissing(TreatyflowError):
    def __init__(self, case_id: str, trigger: str, missing: Sequence[str]) -> None:
        self.case_id, self.trigger = case_id, trigger
        self.missing = list(missing)
        super().__init__(
            _end(f"can't {trigger!r} case {case_id!r} without evidence: {'; '.join(self.missing)}")
        )


class OutOfOrder(TreatyflowError):
    def __init__(self, case_id: str, on: dt.date, last_on: dt.date) -> None:
        self.case_id, self.on, self.last_on = case_id, on, last_on
        super().__init__(
            f"{on.isoformat()} is before the last legal date of case {case_id!r} "
            f"({last_on.isoformat()})."
        )


class NoticeTooEarly(TreatyflowError):
    def __init__(self, case_id: str, problems: Sequence[str]) -> None:
        self.case_id = case_id
        self.problems = list(problems)
        super().__init__(_end(f"case {case_id!r}: {'; '.join(self.problems)}"))


class StateUnmapped(TreatyflowError):
    """A case moving to a new definition version has been in states the new version lacks:
    each needs a counterpart named in the migration's state map."""

    def __init__(
        self, case_id: str, procedure: str, states: Sequence[str], choices: Sequence[str]
    ) -> None:
        self.case_id, self.procedure = case_id, procedure
        self.states, self.choices = list(states), list(choices)
        names = ", ".join(repr(s) for s in self.states)
        super().__init__(
            f"case {case_id!r} has been in {names}, which the new version of procedure "
            f"{procedure!r} does not have; map each to one of its states "
            f"({', '.join(self.choices)})."
        )


class CaseFileConflict(TreatyflowError):
    """A case file disagrees with the case's log before the file's last step: importing it
    would rewrite history, so nothing is written.

    ``step`` is 0 for the case header, else the 1-based position in ``events``; ``seq`` the
    log's event it was compared with (None when the log has no more events); ``differences``
    are (field, in the log, in the file) triples, as text.
    """

    def __init__(
        self,
        path: str,
        case_id: str,
        step: int,
        line: int | None,
        seq: int | None,
        differences: Sequence[tuple[str, str, str]],
    ) -> None:
        self.path, self.case_id, self.step, self.line, self.seq = path, case_id, step, line, seq
        self.differences = list(differences)
        where = "the case header" if step == 0 else f"step {step}"
        at = [] if step == 0 else [f"events[{step - 1}]"]
        if line is not None:
            at.append(f"line {line}")
        if seq is not None:
            at.append(f"the log's seq {seq}")
        located = f" ({', '.join(at)})" if at else ""
        what = "; ".join(
            f"{field}: {old} in the log, {new} in the file" for field, old, new in differences
        )
        super().__init__(_end(f"{path} differs from case {case_id!r} at {where}{located}: {what}"))


class RetractionRefused(TreatyflowError):
    """An event cannot be retracted: later steps depend on it, or it is not a step a
    retraction can take back (the opening, a clock firing, a correction, a retraction).
    ``dependents`` are the later events (as ``seq trigger``) that rely on it."""

    def __init__(
        self, case_id: str, seq: int, reason: str, dependents: Sequence[str] = ()
    ) -> None:
        self.case_id, self.seq, self.reason = case_id, seq, reason
        self.dependents = list(dependents)
        super().__init__(_end(f"can't retract event {seq} of case {case_id!r}: {reason}"))


class BundleInvalid(TreatyflowError):
    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "unknown problem"
        super().__init__(f"the bundle does not verify: {first}")


class ReportExists(TreatyflowError):
    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} exists.")


class KeyFileError(TreatyflowError):
    """A private or public key cannot be read, or is not an Ed25519 key."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)


class NotAuthorised(TreatyflowError):
    """The key registry, a role or the review rule refuses a change (nothing is written)."""

    def __init__(self, who: str | None, message: str) -> None:
        self.who = who
        super().__init__(message)


class SignatureRequired(NotAuthorised):
    """The database requires signed writes and the change has no registered key."""

    def __init__(self) -> None:
        super().__init__(
            None, "this database requires every change to be signed by a registered key."
        )


class ActorMismatch(NotAuthorised):
    """A signed change names an actor other than the key's registered name."""

    def __init__(self, actor: str, name: str) -> None:
        self.actor, self.name = actor, name
        super().__init__(
            name,
            f"the key is registered to {name!r}; a change signed with it cannot be recorded "
            f"as {actor!r}.",
        )


class SelfApproval(NotAuthorised):
    """Four eyes: the proposer of a step cannot approve it."""

    def __init__(self, who: str, case_id: str, seq: int) -> None:
        self.case_id, self.seq = case_id, seq
        super().__init__(
            who,
            f"{who!r} proposed step {seq} of case {case_id!r} and cannot approve it; "
            "another reviewer must.",
        )


class StoreError(TreatyflowError):
    """The database refused or failed an operation."""


class DocumentCorrupt(StoreError):
    """A stored document's bytes no longer hash to its digest (changed outside treatyflow)."""

    def __init__(self, sha256: str, computed: str) -> None:
        self.sha256, self.computed = sha256, computed
        super().__init__(
            f"the stored bytes of document {sha256} hash to {computed}: they were changed "
            "outside treatyflow - restore them from a backup or a verified bundle."
        )


class RowUnreadable(StoreError):
    """A database row holds a value treatyflow never writes (a date that is no date, JSON that
    does not parse, text that is not UTF-8): it was changed outside treatyflow."""

    def __init__(self, what: str, why: str) -> None:
        self.what, self.why = what, why
        super().__init__(
            f"{what} cannot be read ({why}): it was changed outside treatyflow; "
            "run treatyflow verify to see what else was, and restore it from a backup or a "
            "verified bundle."
        )


class ConcurrentUpdate(StoreError):
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id!r} was changed by someone else at the same time.")


class StoreBusy(StoreError):
    """A transient conflict: SQLite busy/locked, PostgreSQL 40001/40P01. Retried."""


class StoreUnavailable(StoreError):
    """The database cannot be opened or reached."""


class DatabaseNotInitialised(StoreUnavailable):
    """There is no database there yet, or it has no treatyflow tables (create it first)."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        super().__init__(message)


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _end(sentence: str) -> str:
    """The sentence with a full stop, unless it already ends with one."""
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."
