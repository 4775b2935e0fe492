"""What the public API's arguments accept, turned into the values the app layer takes.

Legal dates (a ``date``, its ISO text, or a range when only that is known), record times
(UTC timestamps or dates) and sources (a :class:`Source`, a mapping of its fields, or text as
``--source`` takes it); a value that is none of these raises :class:`InvalidInput` naming the
argument.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from treatyflow.errors import InvalidInput
from treatyflow.legal.dates import LegalDate

if TYPE_CHECKING:
    from treatyflow.evidence import Source

#: A legal date: a ``datetime.date`` or its ISO 8601 text (``"2025-06-27"``). Where a step is
#: dated (``on=`` of the writes but ``correct``), text may also give a range when only that is
#: known: ``"<=2025-12-01"`` (on or before), ``"2025-05-12..2025-05-16"`` or ``"2025-07"``.
DateLike = dt.date | str

#: A source: a :class:`Source`, its fields as a mapping, or text as ``--source`` takes it
#: (``"Decree No. 441/2025; level=official; kind=decree"``).
SourceLike: TypeAlias = "Source | Mapping[str, Any] | str"


def as_date(value: DateLike | None, field: str) -> dt.date | None:
    """A legal date from a date or its ISO text; None stays None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        raise InvalidInput(field, value, f"{field} is a legal date (a date), not a date and time.")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        from treatyflow.values import parse_date

        return parse_date(value, field)
    raise InvalidInput(field, value, f"{field} must be a date, not {type(value).__name__}.")


def as_legal(value: DateLike | LegalDate | None, field: str) -> LegalDate | None:
    """The legal date of a step: a day (a ``date`` or ``"2025-06-27"``), or a day known only
    within a range: ``"<=2025-12-01"`` (on or before), ``"2025-05-12..2025-05-16"`` (between)
    or ``"2025-07"`` (a month)."""
    if value is None or isinstance(value, LegalDate):
        return value
    if isinstance(value, str):
        from treatyflow.values import parse_on

        return parse_on(value, field)
    day = as_date(value, field)
    assert day is not None
    return LegalDate.day(day)


def required_legal(value: DateLike | LegalDate, field: str) -> LegalDate:
    when = as_legal(value, field)
    if when is None:
        raise InvalidInput(field, value, f"{field} (a legal date) is required.")
    return when


def required_date(value: DateLike, field: str) -> dt.date:
    day = as_date(value, field)
    if day is None:
        raise InvalidInput(field, value, f"{field} (a legal date) is required.")
    return day


def as_stamp(value: str | dt.datetime | None) -> str | None:
    """A record time (UTC) in its stored form, from ISO text or an aware datetime."""
    if value is None:
        return None
    from treatyflow.values import parse_timestamp

    text = value.isoformat() if isinstance(value, dt.datetime) else value
    return parse_timestamp(text, "known_at")


def as_bound(value: str | dt.date | dt.datetime, field: str, *, start: bool) -> str:
    """A record time from a timestamp or a date (a date is its first or last instant)."""
    from treatyflow.values import parse_timestamp

    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InvalidInput(field, value, f"{field} must be an aware (UTC) datetime.")
        return parse_timestamp(value.isoformat(), field)
    if isinstance(value, dt.date):
        value = value.isoformat()
    if not isinstance(value, str):
        raise InvalidInput(field, value, f"{field} must be a timestamp or a date.")
    text = value.strip()
    if start and len(text) == 10:
        from treatyflow.values import parse_date

        return f"{parse_date(text, field).isoformat()}T00:00:00.000000Z"
    return parse_timestamp(text, field)


def as_sources(sources: Iterable[SourceLike]) -> list[Source]:
    from treatyflow.evidence import Source
    from treatyflow.values import parse_source

    out: list[Source] = []
    for s in sources:
        if isinstance(s, Source):
            out.append(s)
        elif isinstance(s, str):
            out.append(parse_source(s))
        elif isinstance(s, Mapping):
            out.append(source_from_mapping(s))
        else:
            raise InvalidInput("sources", s, f"a source cannot be {type(s).__name__} {s!r}.")
    return out


def source_from_mapping(fields: Mapping[str, Any]) -> Source:
    from pydantic import ValidationError

    from treatyflow.evidence import EventSource
    from treatyflow.values import document_digest

    data = dict(fields)
    if isinstance(data.get("document"), str):
        # the digest in its one stored form; a citation of the document alone gets its name
        data["document"] = document_digest(data["document"], "sources")
        data.setdefault("citation", data["document"])
    try:
        return EventSource.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "source"
        raise InvalidInput("sources", dict(fields), f"source {where}: {first['msg']}.") from None
