"""Many transitions in one process: ``advance_many`` (#19).

Each request is one :func:`treatyflow.app.writes.advance`, in a transaction of its own (a
refused step changes nothing and the next one runs), with every check a single ``advance``
makes. What each request asks for is read from a mapping with the keys of ``case advance``'s
options (or from a JSON object, one per line, as ``case advance-many`` reads them); a
malformed request is reported as such and does not stop the others.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from treatyflow.app import writes
from treatyflow.app.core import Core
from treatyflow.errors import InvalidInput, TreatyflowError
from treatyflow.evidence import Source
from treatyflow.legal.dates import LegalDate
from treatyflow.results import AdvanceOutcome

#: Exit status of ``case advance`` when the step is refused or fails.
CODE_REFUSED = 1
#: Exit status of ``case advance`` on a usage error (what a malformed request is).
CODE_MALFORMED = 2


@dataclass(frozen=True)
class AdvanceRequest:
    """One step of :meth:`treatyflow.Workspace.advance_many`: the arguments of
    :meth:`treatyflow.Workspace.advance` (and the options of ``case advance``)."""

    case: str
    trigger: str
    on: dt.date | str | LegalDate
    """A legal date as ``on=`` of ``advance`` takes it (``"2025-06-27"``, ``"<=2025-12-01"``,
    ``"2025-05-12..2025-05-16"``, ``"2025-07"``)."""
    sources: tuple[Source | Mapping[str, Any] | str, ...] = ()
    source_level: str | None = None
    """The evidence level of the text sources that do not give one (``--source-level``)."""
    source_kind: str | None = None
    """The kind of evidence of the text sources that do not give one (``--source-kind``)."""
    note: str | None = None
    out_of_procedure: str | None = None
    to: str | None = None
    backdate: str | None = None
    actor: str | None = None

    @classmethod
    def from_mapping(cls, item: Mapping[str, Any]) -> AdvanceRequest:
        """A request from a mapping of ``case advance``'s options (``case``, ``trigger``,
        ``on``, ``sources``, ``source_level``, ``source_kind``, ``note``,
        ``out_of_procedure``, ``to``, ``backdate``, ``actor``).

        Raises:
            InvalidInput: a key is missing or unknown, or a value has the wrong type.
        """
        unknown = sorted(str(k) for k in item if k not in _KEYS)
        if unknown:
            raise InvalidInput(
                unknown[0],
                item[unknown[0]],
                f"unknown key {unknown[0]!r} (the keys are: {', '.join(_KEYS)}).",
            )
        for key in ("case", "trigger", "on"):
            if item.get(key) is None:
                raise InvalidInput(key, None, f"the key {key!r} is required.")
        values: dict[str, Any] = {}
        for key, types in _KEYS.items():
            value = item.get(key)
            if value is None:
                continue
            if not isinstance(value, types) or isinstance(value, bool):
                want = "a list" if key == "sources" else "text"
                raise InvalidInput(key, value, f"{key!r} must be {want}, not {_kind(value)}.")
            values[key] = value
        level = values.get("source_level")
        if level is not None and level not in LEVELS:
            raise InvalidInput(
                "source_level", level, f"'source_level' is one of {', '.join(LEVELS)}."
            )
        sources = values.pop("sources", ())
        for source in sources:
            if not isinstance(source, str | Mapping | Source):
                raise InvalidInput(
                    "sources",
                    source,
                    f"a source is text or an object of source fields, not {_kind(source)}.",
                )
        return cls(sources=tuple(sources), **values)


#: Evidence levels a request's ``source_level`` may name (``--source-level``'s choices).
LEVELS = ("reported", "official", "confirmed")

#: The keys a request may have, and the types of their values.
_KEYS: dict[str, type | tuple[type, ...]] = {
    "case": str,
    "trigger": str,
    "on": (str, dt.date, LegalDate),
    "sources": (list, tuple),
    "source_level": str,
    "source_kind": str,
    "note": str,
    "out_of_procedure": str,
    "to": str,
    "backdate": str,
    "actor": str,
}


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", bool: "true/false", int: "a number"}
    return names.get(type(value), type(value).__name__)


def decode_line(text: str | bytes) -> dict[str, Any]:
    """One line of JSON: an object (of ``case advance``'s options).

    Raises:
        InvalidInput: the line is not UTF-8 text, not JSON, or not an object.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("line", text, "the line is not UTF-8 text.") from None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = (
            f"{exc.msg} at column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else "too deeply nested"
        )
        raise InvalidInput("line", text, f"the line is not JSON ({reason}).") from None
    if not isinstance(value, dict):
        raise InvalidInput("line", text, f"the line is {_kind(value)}, not a JSON object.")
    return value


def advance_many(
    core: Core,
    items: Iterable[AdvanceRequest | Mapping[str, Any] | str | bytes],
    *,
    who: Callable[[str | None], str],
    legal: Callable[[Any], LegalDate],
    sources: Callable[[Iterable[Any]], list[Source]],
) -> Iterator[AdvanceOutcome]:
    """Advance each item in a transaction of its own; one outcome per item, in order.

    An item is a request, a mapping of its fields, or a line of JSON (text, or UTF-8 bytes);
    a blank line is skipped, but counted: ``line`` is the item's position from 1. ``who``,
    ``legal`` and ``sources`` are the workspace's own conversions (actor, legal date,
    sources).
    """
    for line, item in enumerate(items, start=1):
        if isinstance(item, str | bytes) and not item.strip():
            continue
        case: str | None = None
        try:
            if isinstance(item, str | bytes):
                item = decode_line(item)
            if isinstance(item, Mapping) and isinstance(item.get("case"), str):
                case = item["case"]
            request = _request(item)
        except InvalidInput as exc:
            yield _failed(line, case, exc, CODE_MALFORMED)
            continue
        case = request.case
        try:
            record, ctx = writes.advance(
                core,
                request.case,
                request.trigger,
                on=(when := legal(request.on)).latest,
                occurred=when,
                actor=who(request.actor),
                sources=sources(_texts(request)),
                note=request.note,
                out_of_procedure=request.out_of_procedure,
                to=request.to,
                backdate=request.backdate,
                view=False,
            )
        except TreatyflowError as exc:
            yield _failed(line, case, exc, CODE_REFUSED)
            continue
        written = ctx.written
        assert written is not None  # an advance always appends its event
        yield AdvanceOutcome(
            line=line,
            case=record.id,
            ok=True,
            state=record.state,
            version=record.version,
            seq=written.seq,
            kind=str(written.kind),
        )


def _request(item: Any) -> AdvanceRequest:
    if isinstance(item, AdvanceRequest):
        return item
    if isinstance(item, Mapping):
        return AdvanceRequest.from_mapping(item)
    raise InvalidInput(
        "item", item, f"a request is a mapping or a line of JSON, not {_kind(item)}."
    )


def _texts(request: AdvanceRequest) -> Sequence[Any]:
    """The request's sources, text ones read with its default level and kind."""
    if request.source_level is None and request.source_kind is None:
        return request.sources
    from treatyflow.values import parse_source

    return [
        parse_source(s, level=request.source_level, kind=request.source_kind)
        if isinstance(s, str)
        else s
        for s in request.sources
    ]


def _failed(line: int, case: str | None, exc: TreatyflowError, code: int) -> AdvanceOutcome:
    return AdvanceOutcome(
        line=line,
        case=case,
        ok=False,
        error=" ".join(str(exc).split()),
        error_type=type(exc).__name__,
        code=code,
    )
