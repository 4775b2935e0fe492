"""The fast pass's canonical text, rebuilt from stored columns (#19): byte for byte what
``chain.event_hash`` hashes, for any value the store writes, and never a text the exact check
would not hash for stored JSON it would not have written."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treatyflow.chain import canonical_json
from treatyflow.events import HASHED_FIELDS, Event, EventKind
from treatyflow.store import canontext
from treatyflow.store.sql import _loads, event_row

# Text with everything JSON must escape, NFC or not, and what a naive splice gets wrong.
chars = st.characters(codec="utf-8") | st.sampled_from(
    [
        '"',
        "\\",
        "\n",
        "\x00",
        "\x1f",
        "\x7f",
        "\u2028",
        "\u0301",
        "e",
        ": ",
        ", ",
        '": "',
        "\U0001f600",
    ]
)
texts = st.lists(chars, max_size=10).map("".join)
nfc_texts = texts.map(lambda s: unicodedata.normalize("NFC", s))
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)


def _columns(ev: Event) -> dict[str, Any]:
    row = event_row(ev)
    return {k: row[k] for k in HASHED_FIELDS}


def _exact(columns: dict[str, Any]) -> bytes | None:
    """What the exact check hashes for these stored columns (None: it finds no canonical
    JSON; the event can never verify)."""
    fields = dict(
        columns, data=_loads(columns["data"], {}), sources=_loads(columns["sources"], [])
    )
    try:
        return canonical_json(fields)
    except (TypeError, ValueError, RecursionError):
        return None


def _event(**kw: Any) -> Event:
    base: dict[str, Any] = {
        "case_id": "LTU-1",
        "seq": 3,
        "kind": EventKind.NOTE,
        "occurred_on": dt.date(2025, 1, 2),
        "recorded_at": "2025-01-02T00:00:00.000000Z",
        "actor": "analyst",
        "prev_hash": "sha256:" + "ab" * 32,
    }
    base.update(kw)
    return Event(**base)


@settings(max_examples=400, deadline=None)
@given(
    note=st.none() | texts,
    actor=texts,
    trigger=st.none() | texts,
    to_state=st.none() | texts,
    data=st.dictionaries(texts, values, max_size=4),
    sources=st.lists(st.dictionaries(texts, values, max_size=3), max_size=3),
    seq=st.integers(1, 2**62),
)
def test_the_text_is_the_canonical_json_of_any_event(
    note: str | None,
    actor: str,
    trigger: str | None,
    to_state: str | None,
    data: dict[str, Any],
    sources: list[dict[str, Any]],
    seq: int,
) -> None:
    """Control characters, quotes, backslashes, separators inside strings, combining marks
    (NFC or not), big integers, nesting: the text is exactly what event_hash hashes, or None
    (the exact check decides)."""
    ev = _event(
        note=note,
        actor=actor,
        trigger=trigger,
        to_state=to_state,
        data=data,
        sources=tuple(sources),
        seq=seq,
        case_id='C-\u00e9\u2028"\\',
    )
    columns = _columns(ev)
    text = canontext.event_text(**columns)
    exact = canonical_json(ev.hashed_fields())
    assert text is None or text.encode("utf-8") == exact
    if text is None:  # only when the event's JSON is not NFC as a whole (before normalising)
        plain = json.dumps(
            ev.hashed_fields(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        assert not unicodedata.is_normalized("NFC", plain)


def _render(value: Any, how: dict[str, Any]) -> str:
    return json.dumps(value, **how)


renderings = st.fixed_dictionaries(
    {
        "sort_keys": st.booleans(),
        "ensure_ascii": st.booleans(),
        "separators": st.sampled_from([(", ", ": "), (",", ":"), (" ,", " : "), (",  ", ":")]),
    }
)


@settings(max_examples=400, deadline=None)
@given(value=st.dictionaries(texts, values, max_size=4), how=renderings, edit=st.integers(0, 5))
def test_stored_json_the_store_would_not_write_is_never_spliced_wrongly(
    value: dict[str, Any], how: dict[str, Any], edit: int
) -> None:
    """Stored JSON in any spelling (unsorted, escaped, other separators, a key twice, a
    float, minus zero): the text is None or exactly what the exact check hashes."""
    text = _render(value, how)
    if edit == 1 and value:  # a key twice, the last copy the hashed value
        key = sorted(value)[0]
        text = "{" + json.dumps(key) + ': "forged", ' + text[1:]
    elif edit == 2:
        text = text[:-1] + (', "n": 1.5}' if value else '"n": 1.5}')
    elif edit == 3:
        text = text[:-1] + (', "n": -0}' if value else '"n": -0}')
    elif edit == 4:
        text = text.replace('"', '"\\u0078', 1)
    for column in ("data", "sources"):
        columns = _columns(_event())
        columns[column] = text if column == "data" else "[" + text + "]"
        got = canontext.event_text(**columns)
        if got is not None:
            assert got.encode("utf-8") == _exact(columns)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ('{"a": "x", "b": "y"}', '{"a": "x", "a": "y"}'),  # the same shape, a key twice
        ('{"a": "x", "b": "y"}', '{"b": "x", "a": "y"}'),  # the same shape, keys out of order
        ('[{"citation": "x", "level": "y"}]', '[{"citation": "x", "citation": "y"}]'),
        ('{"a": 1}', '{"a": 1.0}'),
        ('{"a": "x"}', '{"a": "\\u0078"}'),
        ('{"a": "x"}', '{"a": "\\/"}'),
    ],
)
def test_a_known_shape_does_not_vouch_for_other_keys(first: str, second: str) -> None:
    """A shape checked once is remembered with its keys: a text of the same shape with a key
    twice, or keys out of order, is checked again (and refused), never spliced."""
    assert canontext.json_text(first) == json.dumps(
        json.loads(first), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert canontext.json_text(second) is None


def test_realistic_events_are_rebuilt_without_decoding() -> None:
    """Citations with quotes, non-ASCII notes, nested facts and numbers: the fast way (no
    exact fallback) gives the exact bytes."""
    ev = _event(
        note="Seimo nutarimas — „Dėl sutarties“\nsecond line\t(tab)",
        sources=(
            {"citation": 'Official Journal "L 123", p. 4: art. 5', "level": "official"},
            {"citation": "C:\\treaties\\ottawa", "url": "https://example.org/a?b=c&d=e"},
        ),
        data={"case": {"country": "LTU", "n": 12345678901234}, "flags": ["a", "b"], "ok": True},
    )
    columns = _columns(ev)
    for column in ("data", "sources"):
        assert canontext.json_text(columns[column]) is not None
    text = canontext.event_text(**columns)
    assert text is not None and text.encode("utf-8") == canonical_json(ev.hashed_fields())


@pytest.mark.parametrize(
    ("column", "value"),
    [("seq", 3.0), ("seq", True), ("actor", 5), ("note", b"x"), ("kind", None), ("data", None)],
)
def test_a_column_of_another_type_is_left_to_the_exact_check(column: str, value: Any) -> None:
    columns = _columns(_event())
    columns[column] = value
    text = canontext.event_text(**columns)
    assert text is None or text.encode("utf-8") == _exact(columns)


@pytest.mark.parametrize("column", ["actor", "kind", "case_id", "occurred_on", "recorded_at"])
def test_a_null_in_a_required_column_is_left_to_the_exact_check(column: str) -> None:
    """The memory of quoted values never writes ``null`` for a column the store always fills:
    with one of them NULL (only an edit outside treatyflow), the exact check decides."""
    columns = _columns(_event())
    assert canontext.event_text(**columns) is not None  # the values are remembered now
    columns[column] = None
    assert canontext.event_text(**columns) is None


def test_repeated_data_is_rebuilt_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A log repeats a few ``data`` texts (most events' data is one of a handful): each is
    rebuilt once and then remembered, with the same bytes as the exact check's."""
    columns = _columns(_event(data={"by": "MFA", "type": "statement"}))
    canontext._datas.clear()
    calls: list[Any] = []
    real = canontext.json_text
    monkeypatch.setattr(canontext, "json_text", lambda text: calls.append(text) or real(text))
    texts = {canontext.event_text(**columns) for _ in range(3)}
    assert texts == {_exact(columns).decode("utf-8")}  # type: ignore[union-attr]
    assert calls.count(columns["data"]) == 1
    assert calls.count(columns["sources"]) == 3  # (sources differ event by event: no memory)


def test_the_memories_are_bounded_and_stay_right(monkeypatch: pytest.MonkeyPatch) -> None:
    """More distinct actors and data texts than the memories hold: they are cleared, never
    larger than MAX_MEMO, and every text is still the exact one."""
    monkeypatch.setattr(canontext, "MAX_MEMO", 8)
    for i in range(30):
        columns = _columns(_event(actor=f"analyst-{i % 12}", data={"n": i % 11}))
        assert canontext.event_text(**columns) == _exact(columns).decode("utf-8")  # type: ignore[union-attr]
        assert len(canontext._quoted) <= 8 and len(canontext._datas) <= 8


def test_alternating_case_ids_are_each_quoted_as_their_own() -> None:
    """The last case id's quoting is remembered; another case's event never gets it."""
    for case_id in ("LTU-1", "LVA-1", "LTU-1", 'C-"\u00e9', "LTU-1"):
        columns = _columns(_event(case_id=case_id))
        assert canontext.event_text(**columns) == _exact(columns).decode("utf-8")  # type: ignore[union-attr]
