"""A change's copies of its event and case row (#19): ``core._copy`` makes what
``dataclasses.replace`` makes, and the stored JSON texts come from one encoder each, the
text ``json.dumps`` with the same options writes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import fields, replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treatyflow.app.core import _copy, seal
from treatyflow.events import Event, EventKind
from treatyflow.store.records import CaseRecord, event_json_text, event_row, facts_text, tally_text

EVENT = Event(
    case_id="L1",
    seq=2,
    kind=EventKind.ADVANCE,
    occurred_on=dt.date(2025, 5, 1),
    recorded_at="2025-05-01T00:00:00.000000Z",
    actor="analyst",
    trigger="notify",
    from_state="decided",
    to_state="notified",
    sources=({"kind": "note", "ref": "x"},),
    data={"flags": ["a"]},
)
RECORD = CaseRecord(
    "L1", "LTU", "ottawa", "withdrawal", "p", "t", "withdraw", "decided", 1, "h",
    "2025-01-01", "2025-01-01", {"armed_conflict": False}, "c", "u",
)  # fmt: skip


def _as_tuple(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, f.name) for f in fields(obj))


def test_a_copy_is_what_replace_makes() -> None:
    for obj, changes in (
        (EVENT, {"prev_hash": "sha256:" + "0" * 64, "hash": "sha256:" + "1" * 64}),
        (RECORD, {"state": "notified", "version": 2, "head_hash": "x", "updated_at": "v"}),
    ):
        copied, replaced = _copy(obj, **changes), replace(obj, **changes)  # type: ignore[type-var]
        assert type(copied) is type(obj)
        assert _as_tuple(copied) == _as_tuple(replaced) and copied == replaced
        assert copied is not obj and _as_tuple(obj) != _as_tuple(copied)  # the original kept
    with pytest.raises(TypeError, match="no field 'hashh'"):
        _copy(EVENT, hashh="x")
    sealed = seal(EVENT, prev_hash="sha256:" + "0" * 64)
    with pytest.raises(AttributeError):  # still frozen
        sealed.hash = "x"  # type: ignore[misc]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


@given(st.dictionaries(st.text(), _json, max_size=4), st.lists(_json, max_size=3))
def test_the_stored_texts_are_json_dumps_with_the_same_options(
    doc: dict[str, Any], items: list[Any]
) -> None:
    assert facts_text(doc) == json.dumps(doc, sort_keys=True)
    assert event_json_text(doc) == json.dumps(doc, sort_keys=True, ensure_ascii=False)
    assert tally_text(doc) == json.dumps(doc, separators=(",", ":"), sort_keys=True)
    ev = replace(EVENT, sources=tuple({"v": i} for i in items), data=doc)
    row = event_row(ev)
    assert row["sources"] == json.dumps(
        [{"v": i} for i in items], sort_keys=True, ensure_ascii=False
    )
    assert row["data"] == json.dumps(doc, sort_keys=True, ensure_ascii=False)
