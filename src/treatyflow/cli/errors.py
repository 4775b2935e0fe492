"""The CLI's side of errors: the library's message, plus the hint a command-line user needs.

The library's messages speak of data (cases, triggers, dates) and name no option; here each
error class gets the options and commands that resolve it, the way click and httpx add
their words at the boundary. Every :class:`TreatyflowError` exits with code 1.
"""

from __future__ import annotations

from treatyflow import errors as e

#: API parameter -> the option that sets it on the command line.
OPTIONS = {
    "actor": "--actor",
    "as": "--as",
    "public_key": "PUBKEY_OR_FILE",
    "role": "--role",
    "action": "--action",
    "at": "--at",
    "as_of": "--as-of",
    "backdate": "--backdate",
    "by": "--by",
    "checkpoint": "--checkpoint",
    "country": "--country",
    "db": "--db",
    "format": "--format",
    "group_by": "--by",
    "id": "--id",
    "kind": "--kind",
    "level": "--level",
    "name": "--name",
    "known_at": "--known-at",
    "map": "--map",
    "note": "--note",
    "on": "--on",
    "output": "-o",
    "procedure": "--procedure",
    "reason": "--reason",
    "sources": "--source",
    "to": "--to",
    "workflows": "--workflows",
}

OUT_OF_PROCEDURE = "--out-of-procedure REASON"


def hint(exc: e.TreatyflowError) -> str:
    """What to do about ``exc`` on the command line ("" when the message says it all)."""
    if isinstance(exc, e.ClockDueFirst):
        return f"run 'treatyflow tick --as-of {exc.on.isoformat()}' first."
    if isinstance(exc, e.CaseNotFound):
        return "'treatyflow case list' shows the cases."
    if isinstance(exc, e.TreatyNotFound | e.ProcedureNotFound):
        return "'treatyflow workflow list' shows the treaties and procedures."
    if isinstance(exc, e.DocumentNotFound):
        return "'treatyflow case show CASE_ID' lists a case's documents."
    if isinstance(exc, e.CaseExists):
        return "choose another --id."
    if isinstance(exc, e.GuardsNotMet):
        return f"record the fact with 'case set-fact', or use {OUT_OF_PROCEDURE}."
    if isinstance(exc, e.EvidenceMissing):
        return f"add --source with --source-level/--source-kind, or use {OUT_OF_PROCEDURE}."
    if isinstance(exc, e.NoticeTooEarly):
        return f"to record it anyway use {OUT_OF_PROCEDURE}."
    if isinstance(exc, e.OutOfOrder):
        return "to record it deliberately add --backdate REASON."
    if isinstance(exc, e.StateUnmapped):
        return f"add --map {exc.states[0]}=NEW_STATE for each."
    if isinstance(exc, e.SignatureRequired):
        return "sign it with --key FILE (or TREATYFLOW_KEY)."
    if isinstance(exc, e.ActorMismatch):
        return "leave out --actor (and TREATYFLOW_ACTOR) when signing."
    if isinstance(exc, e.KeyFileError):
        return "'treatyflow keys generate -o FILE' writes a new key."
    if isinstance(exc, e.ReportExists):
        return "use --force to overwrite it."
    if isinstance(exc, e.InvalidCaseFile):
        return ""
    if isinstance(exc, e.InvalidWorkflow) and len(exc.problems) > 1:
        return "'treatyflow workflow lint' lists them all."
    if isinstance(exc, e.DatabaseNotInitialised):
        return "run 'treatyflow init' to create it."
    if isinstance(exc, e.ConcurrentUpdate | e.StoreBusy) or "duplicate write" in str(exc):
        return "run the command again."
    if isinstance(exc, e.InvalidInput) and exc.field == "trigger" and "(tick)" in str(exc):
        return "run 'treatyflow tick' to fire it."
    if isinstance(exc, e.InvalidInput):
        option = OPTIONS.get(exc.field)
        return f"(option {option})" if option and option not in str(exc) else ""
    return ""


def message(exc: e.TreatyflowError) -> str:
    """The one-line message the CLI prints after ``Error:``."""
    text = " ".join(str(exc).split())
    extra = hint(exc)
    if not extra:
        return text
    if extra.startswith("("):
        return f"{text.rstrip('.')} {extra}."
    return f"{text.rstrip('.')}; {extra}"
