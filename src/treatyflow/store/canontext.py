"""An event's canonical JSON rebuilt from its stored columns, without decoding its JSON.

:func:`treatyflow.chain.event_hash` hashes the canonical JSON of an event's hashed fields.
``verify`` must know that hash for every event. Decoding the stored ``sources`` and ``data``
text and encoding the whole event again costs about five times as much as reading the row;
this module writes the same bytes from the columns as they are, at a fraction of that:

- a text column is quoted by the JSON encoder's own string quoting (``null`` for NULL);
- a stored JSON column (``sources``, ``data``; the store writes them sorted, with ``", "``
  and ``": "`` between items) is cut at its quotes. The pieces outside the strings are its
  *shape* (brackets, separators, numbers, ``true``/``false``/``null``), checked once per
  shape and key set by the exact decoder and encoder, and kept with the same pieces as the
  canonical encoder writes them. The strings are copied as they stand.

:func:`event_text` returns the canonical text only when it can prove that it *is*
:func:`treatyflow.chain.canonical_json` of the fields the exact check decodes (with the
store's strict decoder: a key twice is unreadable), and None otherwise: then the caller
must check the event the exact way. What it proves, for a stored JSON column:

- the text is a ``str`` with only printable characters (no raw control character, which
  JSON forbids, nor a NUL), and no backslash but the escapes ``\\"`` and ``\\\\``, which the
  canonical encoder writes the same way. So every other quote opens or closes a string, and
  each string's content is written by the canonical encoder exactly as it stands;
- the shape, with those strings (keys kept, values replaced by ``"x"``), is decoded by the
  strict decoder (unique keys; no float, ``NaN`` or exponent) and re-encoded by the
  store's encoder to the very same text: keys sorted, numbers canonical integers,
  separators the store's. Its canonical pieces then come from the canonical encoder.

What a log repeats is remembered (bounded): the quoted text of the columns with few distinct
values and the canonical text of each distinct ``data`` text; only a ``str`` is remembered, so
a NULL where the store always writes text, or a value of another type, is never vouched for.

And for the whole event: every text column a ``str``, ``seq`` an ``int``, and the result
ASCII or already in Unicode NFC. (A string inside NFC text is NFC: the characters around it
in the JSON text, a quote or the ASCII of an escape, never compose with what they touch
across a quote, so a composition or a mis-ordered mark inside a string would remain one in
the whole text. The check may refuse text whose strings are each NFC; never the reverse.)
"""

from __future__ import annotations

import json
import operator
import unicodedata
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

from treatyflow.chain import canonical_json

#: The JSON encoder's own string quoting (its C function): what the canonical encoder
#: (``ensure_ascii=False``) writes for a ``str``.
_quote: Callable[[str], str] = encode_basestring

_STORE = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

#: Shapes seen (the pieces of stored JSON text outside its strings), at most this many.
MAX_SHAPES = 50_000


class _Shape:
    """What is known of one shape: where its keys are, its canonical outer pieces (None if
    the shape is not the store's JSON), and the key tuples already checked for it."""

    __slots__ = ("canonical", "keys", "keysets")

    def __init__(self, keys: Callable[[list[str]], Any] | None) -> None:
        self.keys = keys
        self.canonical: list[str] | None = None
        self.keysets: set[Any] = set()


_shapes: dict[tuple[str, ...], _Shape] = {}


def _no_float(text: str) -> Any:
    raise ValueError(f"not an integer: {text}")


def _strict_decoder() -> json.JSONDecoder:
    from treatyflow.store.sql import _unique_keys

    return json.JSONDecoder(
        object_pairs_hook=_unique_keys, parse_float=_no_float, parse_constant=_no_float
    )


_DECODER: json.JSONDecoder | None = None


def _key_positions(parts: list[str]) -> list[int]:
    """The indexes of the keys among the pieces (a string followed by ``": "``)."""
    return [i for i in range(1, len(parts) - 1, 2) if parts[i + 1].startswith(": ")]


def _check(shape: _Shape, parts: list[str]) -> bool:
    """Whether ``parts`` (keys kept, values as ``x``) is the store's text of its own value;
    on the first success remember the shape's canonical outer pieces."""
    global _DECODER
    if _DECODER is None:
        _DECODER = _strict_decoder()
    keys = set(_key_positions(parts))
    sample = [p if i % 2 == 0 or i in keys else "x" for i, p in enumerate(parts)]
    text = '"'.join(sample)
    try:
        value = _DECODER.decode(text)
        if _STORE.encode(value) != text:
            return False
        canonical = _CANONICAL.encode(value).split('"')
    except (ValueError, TypeError, RecursionError):
        return False
    if len(canonical) != len(parts):  # pragma: no cover - a key with a quote is refused above
        return False
    outer = canonical[0::2]
    if shape.canonical is None:
        shape.canonical = outer
    return shape.canonical == outer


def _new_shape(outer: tuple[str, ...], parts: list[str]) -> _Shape:
    positions = _key_positions(parts)
    getter: Callable[[list[str]], Any] | None
    if not positions:
        getter = None
    elif len(positions) == 1:
        getter = operator.itemgetter(positions[0])
    else:
        getter = operator.itemgetter(*positions)
    shape = _Shape(getter)
    if len(_shapes) >= MAX_SHAPES:
        _shapes.clear()
    _shapes[outer] = shape
    return shape


def json_text(text: Any) -> str | None:
    """The canonical JSON of a stored ``sources`` or ``data`` text, if it can be copied from
    the text (see the module's docstring); None when only the exact way can tell."""
    if text == "[]" or text == "{}":
        return text  # type: ignore[no-any-return]
    if type(text) is not str or not text.isprintable():  # (a raw control character, a NUL)
        return None
    escaped = "\\" in text
    if escaped:
        text = text.replace("\\\\", "\x01").replace('\\"', "\x02")
        if "\\" in text:
            return None
    parts = text.split('"')
    outer = tuple(parts[0::2])
    shape = _shapes.get(outer)
    if shape is None:
        shape = _new_shape(outer, parts)
    if shape.keys is None:
        if shape.canonical is None and not _check(shape, parts):
            return None
    else:
        keyset = shape.keys(parts)
        if keyset not in shape.keysets:
            if not _check(shape, parts):  # (a key with an escape: raw \x01 or \x02, refused)
                return None
            shape.keysets.add(keyset)
    if shape.canonical is None:  # pragma: no cover - set by every successful check
        return None
    parts[0::2] = shape.canonical
    out = '"'.join(parts)
    if escaped:
        out = out.replace("\x02", '\\"').replace("\x01", "\\\\")
    return out


def exact_json_text(text: Any, default: Any) -> str | None:
    """The canonical JSON the exact check hashes for a stored JSON column (the store's
    strict reading, normalised), or None where it finds none (a float, too deep)."""
    from treatyflow.store.sql import _loads

    try:
        return canonical_json(_loads(text, default)).decode("utf-8")
    except (ValueError, TypeError, RecursionError):
        return None


#: The event's JSON with its fields in canonical (sorted) order; ``%`` formatting is about
#: three times as fast as ``str.format`` here.
_EVENT = (
    '{"actor":%s,"case_id":%s,"data":%s,"from_state":%s,"kind":%s,"note":%s,'
    '"occurred_on":%s,"prev_hash":%s,"recorded_at":%s,"seq":%d,"sources":%s,'
    '"to_state":%s,"trigger":%s}'
)
_is_nfc = unicodedata.is_normalized

#: Memories of what a log repeats, each cleared when it holds this many entries: the quoted
#: text of the columns with few distinct values (actor, kind, the states, the trigger),
#: and the canonical text of a stored ``data`` text (most events' data is one of a few).
#: Both hold only what :func:`json_text` and the quoting gave for a ``str``: a pure
#: function of the text, so a remembered answer is the answer.
MAX_MEMO = 4_096
_quoted: dict[Any, str] = {}
_datas: dict[Any, str] = {}
#: The last case id quoted (a log is read case by case): one (id, quoted text) pair,
#: replaced whole, so that a thread never reads one case's id with another's text.
_last_case: list[tuple[Any, str]] = [("", '""')]


def _quote_memo(value: Any) -> str:
    """The quoted text of a ``str`` column with few distinct values; raises ``TypeError``
    for anything else (None included: NULL is the caller's to write)."""
    text = _quote(value)  # (TypeError for anything but a str)
    if len(_quoted) >= MAX_MEMO:
        _quoted.clear()
    _quoted[value] = text
    return text


def _data_text(data: Any) -> str | None:
    """The canonical text of a stored ``data`` column, or None (see :func:`json_text`)."""
    text = json_text(data)
    if text is None:
        return exact_json_text(data, {})
    if len(_datas) >= MAX_MEMO:
        _datas.clear()
    _datas[data] = text
    return text


def event_text(
    actor: Any,
    case_id: Any,
    data: Any,
    from_state: Any,
    kind: Any,
    note: Any,
    occurred_on: Any,
    prev_hash: Any,
    recorded_at: Any,
    seq: Any,
    sources: Any,
    to_state: Any,
    trigger: Any,
) -> str | None:
    """The canonical JSON of an event's hashed fields, from its stored columns (``sources``
    and ``data`` as stored text), or None when it is not certain to be exactly what
    :func:`treatyflow.chain.event_hash` hashes for them."""
    if type(seq) is not int:
        return None
    q = _quote
    quoted = _quoted
    try:
        # (a dict's get finds only a value equal to a remembered str: that str's quoting)
        d = _datas.get(data) if type(data) is str else None
        if d is None:
            d = _data_text(data)
            if d is None:
                return None
        s = json_text(sources)
        if s is None:
            s = exact_json_text(sources, [])
            if s is None:
                return None
        last_id, qc = _last_case[0]
        if case_id != last_id or type(case_id) is not str:
            qc = q(case_id)
            _last_case[0] = (case_id, qc)
        text: str = _EVENT % (
            quoted.get(actor) or _quote_memo(actor),
            qc,
            d,
            "null" if from_state is None else quoted.get(from_state) or _quote_memo(from_state),
            quoted.get(kind) or _quote_memo(kind),
            "null" if note is None else q(note),
            q(occurred_on),
            "null" if prev_hash is None else q(prev_hash),
            q(recorded_at),
            seq,
            s,
            "null" if to_state is None else quoted.get(to_state) or _quote_memo(to_state),
            "null" if trigger is None else quoted.get(trigger) or _quote_memo(trigger),
        )
    except TypeError:  # a column of another type (only an edit outside treatyflow)
        return None
    if text.isascii() or _is_nfc("NFC", text):
        return text
    return None
