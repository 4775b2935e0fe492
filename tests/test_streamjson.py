"""Streamed JSON documents are byte-identical to json.dumps(indent=2) of the same value."""

from __future__ import annotations

import datetime as dt
import enum
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treatyflow.streamjson import Obj, Spool, dumps_at, write_document

scalars = st.none() | st.booleans() | st.integers() | st.text()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def reference(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@given(values, st.integers(min_value=0, max_value=4))
def test_dumps_at_is_the_nested_form(value: Any, depth: int) -> None:
    wrapped: Any = value
    for _ in range(depth):
        wrapped = [wrapped]
    expected = json.dumps(wrapped, indent=2, ensure_ascii=False)
    # the innermost value sits after depth "[\n" + padding openings
    inner = dumps_at(value, depth)
    assert inner in expected
    if depth == 0:
        assert inner == expected


@given(
    st.dictionaries(st.text(), values, max_size=3),
    st.lists(values, max_size=6),
    st.lists(values, max_size=6),
    st.lists(values, max_size=3),
)
def test_document_with_spools_matches_json_dumps(
    head: dict[str, Any], items: list[Any], rows: list[Any], tail: list[Any]
) -> None:
    doc = {**{f"h{k}": v for k, v in head.items()}, "matrix": {"cols": tail, "rows": rows}}
    doc["items"] = items
    with Spool(2) as spool, Spool(3) as row_spool:
        for item in items:
            spool.add(item)
        for row in rows:
            row_spool.add(row)
        fields: list[tuple[str, Any]] = [(f"h{k}", v) for k, v in head.items()]
        fields.append(("matrix", Obj([("cols", tail), ("rows", row_spool)])))
        fields.append(("items", spool))
        out = io.BytesIO()
        write_document(out, fields)
    assert out.getvalue() == reference(doc)


@given(st.lists(st.tuples(st.integers(0, 5), st.text(max_size=3)), max_size=20))
def test_keyed_spool_writes_in_stable_key_order(pairs: list[tuple[int, str]]) -> None:
    expected = sorted(pairs, key=lambda p: p[0])  # stable, like list.sort
    with Spool(2) as spool:
        for key, text in pairs:
            spool.add([key, text], key=key)
        out = io.BytesIO()
        write_document(out, [("cases", spool)])
        assert spool.ordered_keys() == [k for k, _ in expected]
    assert out.getvalue() == reference({"cases": [list(p) for p in expected]})


def test_empty_document_and_empty_spool() -> None:
    out = io.BytesIO()
    write_document(out, [])
    assert out.getvalue() == reference({})
    with Spool(2) as spool:
        out = io.BytesIO()
        write_document(out, [("cases", spool), ("nested", Obj([]))])
    assert out.getvalue() == reference({"cases": [], "nested": {}})


#: Everything json writes: big integers, floats (NaN, infinities), text with escapes and
#: any character, tuples, dates (``default=str``), and keys json converts (int, float,
#: bool, None).
rich_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=2**70)
    | st.floats()
    | st.text()
    | st.text(alphabet='"\\\n\t\x00\u2028é𝄞,: []{}')
    | st.dates()
)
rich_values = st.recursive(
    rich_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
        | st.dictionaries(
            st.integers() | st.floats() | st.booleans() | st.none() | st.text(max_size=3),
            inner,
            max_size=3,
        )
    ),
    max_leaves=20,
)


@given(rich_values, st.integers(min_value=0, max_value=40))
def test_dumps_at_writes_what_json_dumps_writes(value: Any, depth: int) -> None:
    """The C-encoder path for flat containers gives json's own indented text, at any
    depth (the cached indentation grows past the first 32 levels)."""
    expected = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    assert dumps_at(value, depth) == expected.replace("\n", "\n" + "  " * depth)


class _Level(enum.IntEnum):
    LOW = 1


class _Name(str):
    pass


odd_scalars = (
    scalars
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([_Level.LOW, _Name("named"), dt.date(2025, 6, 27), Decimal("1.5")])
)
odd_keys = st.text() | st.integers() | st.booleans() | st.none() | st.floats()
odd_values = st.recursive(
    odd_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(), inner, max_size=4)
        | st.dictionaries(odd_keys, inner, max_size=2)
    ),
    max_leaves=12,
)


@given(odd_values, st.integers(min_value=0, max_value=4))
def test_dumps_at_writes_what_json_dumps_writes_for_any_value(value: Any, depth: int) -> None:
    """Floats (NaN and infinities too), tuples, keys that are not text, an IntEnum, a str
    subclass, a date (``default=str``), a Decimal: the same bytes as ``json.dumps``."""
    expected = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    assert dumps_at(value, depth) == expected.replace("\n", "\n" + "  " * depth)


def test_plain_values_are_written_without_the_json_module(monkeypatch: Any) -> None:
    """A document's usual item (dicts, lists, text, numbers, booleans, null) is written by
    the fast writer, not by ``json.dumps``'s pure-Python indenting encoder."""
    item = {"id": "LTU-1", "n": 3, "ok": True, "none": None, "x": 1.5, "steps": [{"a": []}, {}]}
    expected = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n    ")

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("json.dumps was called")

    monkeypatch.setattr(json, "dumps", refuse)
    assert dumps_at(item, 2) == expected


def test_a_value_that_holds_itself_gets_the_json_modules_error() -> None:
    """The fast writer gives up (RecursionError) and ``json.dumps`` says what is wrong."""
    value: list[Any] = []
    value.append(value)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_at(value, 1)
