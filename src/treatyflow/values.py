"""Parsing what users type: legal dates, timestamps, fact values, sources, country codes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from treatyflow.definitions.basics import FactType, FactValue
from treatyflow.errors import InvalidInput
from treatyflow.events import SYSTEM_ACTOR
from treatyflow.evidence_levels import EvidenceLevel
from treatyflow.legal.dates import LegalDate, parse_legal_date

if TYPE_CHECKING:  # the models (and pydantic) are imported where a source is parsed
    from treatyflow.definitions.treaty import FactSpec, Treaty
    from treatyflow.evidence import Source

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FACT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TEXT = 10_000
#: The longest case id (and actor).
MAX_ID = 200
#: The most sources one event may cite (``--source`` given more often is refused).
MAX_SOURCES = 50
#: What free text may not hold: C0 controls but tab and newline (so CR too), DEL, the C1
#: controls (U+0080-U+009F: an 8-bit terminal reads U+009B as CSI, the start of an escape
#: sequence) and lone surrogates (how Python holds argv bytes that are not UTF-8).
_CONTROL_OR_SURROGATE = re.compile("[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\ud800-\\udfff]")


def parse_date(text: str, field: str = "--on") -> dt.date:
    """An ISO 8601 calendar date (``2025-06-27``)."""
    value = (text or "").strip()
    if not _DATE.match(value):
        raise InvalidInput(
            field, text, f"{field} {text!r} is not an ISO 8601 date like 2025-06-27."
        )
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, text, f"{field} {text!r} is not a real calendar date.") from None


def parse_on(text: str, field: str = "--on") -> LegalDate:
    """A legal date that may be imprecise: a day, ``<=DAY``, ``DAY..DAY`` or ``YYYY-MM``."""
    try:
        return parse_legal_date(text)
    except ValueError as exc:
        prefix = f"{field} " if field.startswith("-") else ""  # an option names itself
        raise InvalidInput(field, text, f"{prefix}{exc}") from None


def parse_timestamp(text: str, field: str = "--known-at") -> str:
    """A UTC timestamp, normalised to the stored form (``2025-06-27T14:03:11.000000Z``)."""
    value = (text or "").strip()
    try:
        if _DATE.match(value):
            moment = dt.datetime.fromisoformat(value + "T23:59:59.999999+00:00")
        else:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            field, text, f"{field} {text!r} is not a timestamp like 2025-06-27T14:03:11Z."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_text(text: str | None, field: str, limit: int = MAX_TEXT) -> str | None:
    """Refuse oversized text and control characters (C0 but tab and newline, DEL, C1:
    carriage return included) and lone surrogates."""
    if text is None:
        return None
    if len(text) > limit:
        raise InvalidInput(
            field, text[:40], f"{field} is {len(text):,} characters; the limit is {limit:,}."
        )
    if _CONTROL_OR_SURROGATE.search(text):
        raise InvalidInput(
            field, text[:40], f"{field} contains control characters or undecodable bytes."
        )
    return text


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


_SURROGATE = re.compile("[\\ud800-\\udfff]")


#: Characters a case id may not hold, by Unicode general category: controls (Cc: C0, DEL,
#: C1, CR, LF, tab), format characters (Cf: the invisible ones such as U+200B ZERO WIDTH
#: SPACE and U+FEFF, and the bidirectional controls U+202A-U+202E, U+2066-U+2069,
#: U+200E/U+200F), surrogates (Cs), private use (Co), unassigned code points (Cn), and the
#: line and paragraph separators (Zl, Zp).
_ID_REFUSED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def check_case_id(text: str, field: str = "--id") -> str:
    """A case id as it is stored: in Unicode NFC, 1 to MAX_ID characters, no surrounding
    white space, and no control, invisible (format), bidirectional-control, surrogate,
    private-use, unassigned or line-separator character (so that no two ids that look the
    same differ, and no id can rewrite the terminal it is printed on). Returns the
    normalised id."""
    import unicodedata

    if not isinstance(text, str):
        raise InvalidInput(field, text, f"{field} must be text.")
    if _has_surrogate(text):
        raise InvalidInput(field, text[:40], f"{field} contains undecodable bytes.")
    value = unicodedata.normalize("NFC", text)
    if not value.strip() or value != value.strip():
        raise InvalidInput(
            field, text[:40], f"{field} must be non-empty text without surrounding spaces."
        )
    if len(value) > MAX_ID:
        raise InvalidInput(
            field, text[:40], f"{field} is {len(value):,} characters; the limit is {MAX_ID:,}."
        )
    for ch in value:
        if unicodedata.category(ch) in _ID_REFUSED:
            raise InvalidInput(
                field,
                printable(text[:40]),
                f"{field} '{printable(value)}' contains U+{ord(ch):04X} "
                f"({unicodedata.name(ch, 'a control or invisible character')}); a case id may "
                "not hold control, invisible or bidirectional-control characters.",
            )
    return value


#: What :func:`printable` escapes: C0 (but tab and, optionally, newline), DEL, C1, the
#: invisible and bidirectional format characters, line and paragraph separators, lone
#: surrogates.
_UNPRINTABLE_REST = (
    "\\x0b-\\x1f\\x7f-\\x9f\\xad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e"
    "\\u2060-\\u206f\\ufeff\\ufff9-\\ufffb\\ud800-\\udfff"
)
_UNPRINTABLE = re.compile("[\\x00-\\x08\\x0a" + _UNPRINTABLE_REST + "]")
_UNPRINTABLE_NL = re.compile("[\\x00-\\x08" + _UNPRINTABLE_REST + "]")


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` safe to print on a terminal: every control character (C0 but tab, DEL,
    C1; a newline too unless ``keep_newlines``), invisible or bidirectional-control
    character and lone surrogate written as a visible escape (``\\x1b``, ``\\u202e``), so
    that stored text can neither send escape sequences (clear the screen, set the title,
    fake a prompt) nor reorder or hide what is shown. A backslash is left as it is."""
    pattern = _UNPRINTABLE_NL if keep_newlines else _UNPRINTABLE
    if text.isascii() and text.isprintable():
        return text
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def check_sources(sources: Sequence[Any], field: str = "--source") -> None:
    """Refuse more than MAX_SOURCES sources on one event."""
    if len(sources) > MAX_SOURCES:
        raise InvalidInput(
            field,
            len(sources),
            f"{len(sources)} sources on one event; the limit is {MAX_SOURCES}.",
        )


def check_actor(actor: str) -> str:
    """Who records a change: non-empty text, never the clock's reserved actor ``system``."""
    value = (actor or "").strip()
    if not value:
        raise InvalidInput("actor", actor, "the actor must not be empty.")
    if value.casefold() == SYSTEM_ACTOR:
        raise InvalidInput(
            "actor",
            actor,
            f"the actor {SYSTEM_ACTOR!r} is reserved for the clocks that tick fires.",
        )
    checked = check_text(value, "actor", 200)
    assert checked is not None
    return checked


def check_country(code: str) -> str:
    """A party code: an ISO 3166-1 alpha-3 State code or a known organisation (``EUU``)."""
    from treatyflow.parties import ORGANIZATIONS, find_party

    value = (code or "").strip().upper()
    found = find_party(value)
    if found is None:
        hint = ""
        if len(value) == 2 and value.isalpha():
            import pycountry  # only to suggest a code: an error is no hot path

            two = pycountry.countries.get(alpha_2=value)
            if two is not None:
                hint = f" (did you mean {two.alpha_3!r} for {two.name}?)"
            elif value == "EU":
                hint = " (did you mean 'EUU' for the European Union?)"
        known = ", ".join(f"{p.code} ({p.name})" for p in ORGANIZATIONS.values())
        raise InvalidInput(
            "country",
            code,
            f"the country {code!r} is not an ISO 3166-1 alpha-3 code like LTU or POL, nor an "
            f"organisation code ({known}){hint}.",
        )
    return found.code


def check_party_admitted(treaty: Treaty, code: str) -> None:
    """Refuse a party whose kind the treaty does not admit (a State-only treaty and the EU)."""
    from treatyflow.parties import find_party

    party = find_party(code)
    if party is None or party.kind in treaty.parties:
        return
    kinds = " and ".join(k.value for k in treaty.parties)
    raise InvalidInput(
        "country",
        code,
        f"{party.name} ({party.code}) is a {party.kind.value}; the treaty {treaty.id!r} "
        f"admits only parties of kind {kinds}.",
    )


def parse_fact_value(name: str, text: str, spec: FactSpec | None) -> FactValue:
    """A fact value from its text: true/false, an ISO date, a number, or text."""
    raw = (text or "").strip()
    kind = spec.type if spec else _guess_type(raw)
    if kind is FactType.BOOLEAN:
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise InvalidInput(name, text, f"fact {name!r} is true or false, not {text!r}.")
    if kind is FactType.DATE:
        return parse_date(raw, f"fact {name!r}")
    if kind is FactType.NUMBER:
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise InvalidInput(name, text, f"fact {name!r} is a number, not {text!r}.") from None
        if not number.is_finite():
            raise InvalidInput(name, text, f"fact {name!r} must be a finite number.")
        return int(number) if number == number.to_integral_value() else str(number)
    checked = check_text(raw, f"fact {name!r}", 2000)
    assert checked is not None
    return checked


def _guess_type(raw: str) -> FactType:
    if raw.lower() in ("true", "false"):
        return FactType.BOOLEAN
    if _DATE.match(raw):
        return FactType.DATE
    try:
        Decimal(raw)
        return FactType.NUMBER
    except InvalidOperation:
        return FactType.TEXT


def parse_fact(name: str, value: object, specs: Mapping[str, FactSpec]) -> tuple[str, FactValue]:
    """(name, value) checked against the declared facts: ``value`` is text as typed
    (``"true"``, ``"2025-06-27"``) or a typed value (``True``, a ``date``, a number)."""
    if not isinstance(name, str) or not _FACT_NAME.match(name):
        raise InvalidInput("fact", name, f"{name!r} is not a fact name (lower case, digits, _).")
    text = f"{name}={value}"
    if name not in specs:
        import difflib

        close = difflib.get_close_matches(name, list(specs), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(specs)) or "none"
        raise InvalidInput(
            "fact", text, f"unknown fact {name!r} for this case (known: {known}).{hint}"
        )
    return name, parse_fact_value(name, _fact_text(name, value, specs[name]), specs[name])


def _fact_text(name: str, value: object, spec: FactSpec) -> str:
    """A typed fact value as the text :func:`parse_fact_value` reads (which checks it)."""
    if isinstance(value, str):
        return value
    if spec.type is FactType.TEXT:
        raise InvalidInput(name, value, f"fact {name!r} is text, not {value!r}.")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        raise InvalidInput(name, value, f"fact {name!r} takes a date, not a date and time.")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise InvalidInput(name, value, f"fact {name!r} cannot be {type(value).__name__} {value!r}.")


def fact_to_json(value: FactValue) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return value


def fact_from_json(value: Any, spec: FactSpec | None) -> FactValue:
    if spec is not None and spec.type is FactType.DATE and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value  # type: ignore[no-any-return]


_FIELD = re.compile(
    r"^\s*(citation|url|date|level|kind|reference|ref|document)\s*=", re.IGNORECASE
)


def parse_source(text: str, *, level: str | None = None, kind: str | None = None) -> Source:
    """A source from ``--source``: a citation, optionally with ``key=value`` fields.

    ``"Decree No. 441/2025"``, ``"Decree No. 441/2025; level=official; kind=decree"`` or
    ``"citation=Decree No. 441/2025; url=https://...; date=2025-06-29; ref=441/2025"``.
    Segments separated by ``;`` that start with a known key are fields; the others form
    the citation (a URL in it is picked up when no ``url=`` is given). ``document=DIGEST``
    cites a document attached to the database (``sha256:`` and 64 hex digits, or the hex
    digits alone); with no citation text the document's file name becomes the citation.
    """
    raw = check_text(text, "--source", 4000) or ""
    fields: dict[str, Any] = {}
    plain: list[str] = []
    for part in raw.split(";"):
        match = _FIELD.match(part)
        if match is None:
            if part.strip():
                plain.append(part.strip())
            continue
        key = match.group(1).lower()
        fields["reference" if key == "ref" else key] = part[match.end() :].strip()
    if "document" in fields:
        fields["document"] = document_digest(fields["document"], "--source document")
        if not plain and "citation" not in fields:
            fields["citation"] = fields["document"]  # the app layer puts the file name here
    if plain:
        if "citation" in fields:
            raise InvalidInput(
                "--source", text, "--source has both citation= and plain citation text."
            )
        fields["citation"] = "; ".join(plain)
    if not fields.get("citation"):
        raise InvalidInput("--source", text, f"--source {text!r} has no citation text.")
    if "url" not in fields:
        found = re.search(r"https?://\S+", fields.get("citation", ""))
        if found:
            fields["url"] = found.group(0).rstrip(").,;")
    if level and "level" not in fields:
        fields["level"] = level
    if kind and "kind" not in fields:
        fields["kind"] = kind
    if "date" in fields:
        fields["date"] = parse_date(fields["date"], "--source date")
    if "level" in fields and fields["level"] not in {lv.value for lv in EvidenceLevel}:
        raise InvalidInput(
            "--source",
            text,
            f"evidence level {fields['level']!r} is not reported, official or confirmed.",
        )
    from pydantic import ValidationError

    from treatyflow.evidence import EventSource

    try:
        return EventSource.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput("--source", text, f"--source: {first['msg']}.") from None


_HEX_DIGEST = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")


def document_digest(text: str, field: str = "DIGEST") -> str:
    """A document's digest in its one stored form, ``sha256:`` and 64 lowercase hex digits,
    from that form or the hex digits alone (any case)."""
    match = _HEX_DIGEST.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        shown = printable(str(text))[:80]
        raise InvalidInput(
            field, text, f"{shown!r} is not a SHA-256 digest (sha256: and 64 hex digits)."
        )
    return "sha256:" + match.group(1).lower()


def source_json(source: Source) -> dict[str, Any]:
    return source.model_dump(mode="json", exclude_none=True)
