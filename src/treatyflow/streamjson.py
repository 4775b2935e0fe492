"""Large JSON documents written piece by piece, byte-identical to ``json.dumps(indent=2)``.

``pending --json`` and ``report portfolio --format json`` over 100,000 cases are documents
of hundreds of megabytes. Building them as one Python value costs gigabytes of memory, so
they are written as they are computed: each list item is encoded as soon as it exists and
kept in a temporary file (a :class:`Spool`), and :func:`write_document` assembles the
document from its small fields and its spools at the end. Nothing but sort keys stays in
memory, and the bytes are exactly what ``json.dumps(doc, indent=2, ensure_ascii=False)``
gives for the same document (tests/test_streamjson.py checks that).

The trick: with ``indent=2`` a value nested ``depth`` levels deep is its own
``json.dumps(indent=2)`` with every line break followed by ``2 * depth`` more spaces (JSON
strings never hold a literal line break: ``json`` writes ``\\n``). Each item is encoded
by a writer of those bytes three times as fast as ``json.dumps(indent=2)`` (below).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import IO, Any

INDENT = 2


def dumps_at(value: Any, depth: int) -> str:
    """``value`` as ``json.dumps(..., indent=2, default=str)`` would write it ``depth``
    levels deep."""
    try:
        text = _indented(value, "\n" + " " * (INDENT * depth))
    except RecursionError:  # (a value nested too deep, or one that holds itself)
        text = None
    if text is not None:
        return text
    text = json.dumps(value, indent=INDENT, ensure_ascii=False, default=str)
    return text.replace("\n", "\n" + " " * (INDENT * depth)) if depth else text


# ``json.dumps`` with an indent runs the json module's pure-Python encoder (its C encoder
# has no indent), one generator step per token: three times the time of the function below,
# which writes the same bytes for the values a document holds (a dict with str keys, a list
# or tuple, a str, an int, a float, True, False, None, each of exactly that type) and gives
# up (None) on anything else, which ``json.dumps`` then writes (``default=str`` included).
_quote = encode_basestring
_int_text = int.__repr__
_float_text = float.__repr__
_INFINITY = float("inf")


def _indented(value: Any, pad: str) -> str | None:
    """``value`` as ``json.dumps(indent=2, ensure_ascii=False)`` writes it, with every line
    break followed by the spaces of ``pad`` (a line break and spaces); None when ``value``
    holds anything but the plain JSON types."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return _int_text(value)
    if kind is float:
        if value != value:
            return "NaN"
        if value == _INFINITY:
            return "Infinity"
        if value == -_INFINITY:
            return "-Infinity"
        return _float_text(value)
    inner = pad + "  "
    parts: list[str] = []
    add = parts.append
    if kind is dict:
        if not value:
            return "{}"
        for key, item in value.items():
            if type(key) is not str:
                return None
            if type(item) is str:
                add(_quote(key) + ": " + _quote(item))
                continue
            text = _indented(item, inner)
            if text is None:
                return None
            add(_quote(key) + ": " + text)
        return "{" + inner + ("," + inner).join(parts) + pad + "}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        for item in value:
            if type(item) is str:
                add(_quote(item))
                continue
            text = _indented(item, inner)
            if text is None:
                return None
            add(text)
        return "[" + inner + ("," + inner).join(parts) + pad + "]"
    return None


class Spool:
    """The items of one JSON list, encoded as they are added and kept in a temporary file.

    ``depth`` is the nesting level of the list's items (the top-level object's fields are at
    depth 1). With ``key``, :meth:`write_to` writes the items in key order (a stable sort,
    like ``list.sort``); only the keys and file offsets stay in memory.
    """

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.count = 0
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="treatyflow-spool-")  # noqa: SIM115
        self._index: list[tuple[Any, int, int]] = []
        self._keyed = False

    def add(self, value: Any, key: Any = None) -> None:
        data = dumps_at(value, self.depth).encode("utf-8")
        offset = self._file.tell()
        self._file.write(data)
        if key is not None:
            self._keyed = True
        self._index.append((key, offset, len(data)))
        self.count += 1

    def ordered_keys(self) -> list[Any]:
        """The items' keys, in the order :meth:`write_to` writes them."""
        return [key for key, _, _ in self._ordered()]

    def _ordered(self) -> list[tuple[Any, int, int]]:
        if not self._keyed:
            return self._index
        return sorted(self._index, key=lambda entry: entry[0])

    def write_to(self, out: IO[bytes]) -> None:
        """Write the list (``[`` ... ``]``) to ``out``; its own indentation is ``depth - 1``."""
        if not self.count:
            out.write(b"[]")
            return
        pad = b"\n" + b" " * (INDENT * self.depth)
        out.write(b"[")
        self._file.flush()
        for n, (_, offset, length) in enumerate(self._ordered()):
            self._file.seek(offset)
            out.write(pad if n == 0 else b"," + pad)
            out.write(self._file.read(length))
        out.write(b"\n" + b" " * (INDENT * (self.depth - 1)) + b"]")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Obj:
    """A JSON object of the document whose fields may be spools: ``(key, value)`` pairs."""

    fields: list[tuple[str, Any]]


def write_document(out: IO[bytes], fields: Iterable[tuple[str, Any]], depth: int = 0) -> None:
    """Write the object ``fields`` (values: plain JSON values, :class:`Spool` or :class:`Obj`)
    at ``depth``; a top-level document ends with a line break, like ``click.echo``."""
    items = list(fields)
    if not items:
        out.write(b"{}")
    else:
        pad = b"\n" + b" " * (INDENT * (depth + 1))
        out.write(b"{")
        for n, (key, value) in enumerate(items):
            out.write(
                (pad if n == 0 else b"," + pad)
                + json.dumps(key, ensure_ascii=False).encode("utf-8")
                + b": "
            )
            if isinstance(value, Spool):
                value.write_to(out)
            elif isinstance(value, Obj):
                write_document(out, value.fields, depth + 1)
            else:
                out.write(dumps_at(value, depth + 1).encode("utf-8"))
        out.write(b"\n" + b" " * (INDENT * depth) + b"}")
    if depth == 0:
        out.write(b"\n")
