"""A case row's identity is bound to its log (#18 item 2): rewriting the country, treaty,
action, procedure, pinned hashes, opening day or facts of a case row makes verify fail,
naming the case, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import treatyflow
from treatyflow.identity import expected_row, identity_fault

#: A value taken from another case's row (a pin whose snapshot is stored, so that only the
#: identity check can tell it is not this case's).
OTHER = "other:"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "id.db")
    else:
        yield request.getfixturevalue("postgres_url")


def _make(url: str) -> None:
    with treatyflow.open(url, actor="analyst", create=True) as ws:
        ws.open_case(
            country="LTU",
            treaty="ottawa",
            id="LTU-1",
            at="notified",
            on="2025-06-27",
            facts={"armed_conflict": False},
        )
        ws.set_fact("LTU-1", "armed_conflict", True, on="2025-07-01")
        ws.open_case(country="EST", treaty="ottawa", id="EST-1", at="notified", on="2025-06-27")
        ws.open_case(country="ESP", treaty="ect", id="ESP-1", at="notified", on="2024-04-16")


def _other(url: str, column: str) -> Any:
    """``column`` of the case row ESP-1 (another procedure and treaty)."""
    with treatyflow.open(url) as ws:
        return ws.history("ESP-1")[0].data["case"][column]


def _update(url: str, column: str, value: Any) -> None:
    from treatyflow.store.sql import to_url

    engine = sa.create_engine(to_url(url))
    with engine.begin() as conn:
        conn.execute(
            sa.text(f'UPDATE cases SET "{column}" = :v WHERE id = :id'),
            {"v": value, "id": "LTU-1"},
        )
    engine.dispose()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("country", "EST"),
        ("treaty", "ccm"),
        ("action", "suspension"),
        ("procedure", "est"),
        ("procedure_hash", OTHER),
        ("treaty_hash", OTHER),
        ("opened_on", "2025-01-01"),
        ("facts", json.dumps({"armed_conflict": False})),
    ],
)
def test_rewriting_a_case_row_column_fails_verify(url: str, column: str, value: Any) -> None:
    """Each identity column rewritten with SQL is caught, naming the case and the column."""
    _make(url)
    with treatyflow.open(url) as ws:
        assert ws.verify().ok
    if value == OTHER:
        value = _other(url, column)
    _update(url, column, value)
    with treatyflow.open(url) as ws:
        result = ws.verify()
    assert not result.ok
    (fault,) = result.problems
    assert (fault.case_id, fault.seq) == ("LTU-1", 1)
    assert column in fault.reason


def test_the_opening_event_records_the_identity(tmp_path: Path) -> None:
    with treatyflow.open(tmp_path / "o.db", actor="analyst", create=True) as ws:
        view = ws.open_case(country="LTU", treaty="ottawa", id="L", at="notified", on="2025-06-27")
        first = ws.history("L")[0]
    assert first.data["case"] == {
        "country": "LTU",
        "treaty": "ottawa",
        "action": "withdrawal",
        "procedure": view.procedure,
        "procedure_hash": view.procedure_hash,
        "treaty_hash": first.data["case"]["treaty_hash"],
    }


def test_a_first_round_log_checks_what_it_can() -> None:
    """A log opened before identities were recorded checks its opening day and facts only."""
    events = [
        {"seq": 1, "kind": "open", "occurred_on": "2025-06-27", "data": {"facts": {"x": 1}}},
        {"seq": 2, "kind": "set-fact", "occurred_on": "2025-07-01", "data": {"facts": {"x": 2}}},
    ]
    assert expected_row(events) == {"opened_on": "2025-06-27", "facts": {"x": 2}}
    row = {"country": "ANY", "opened_on": "2025-06-27", "facts": {"x": 2}}
    assert identity_fault(row, events) is None
    assert identity_fault({**row, "facts": {"x": 1}}, events) is not None


def test_a_later_event_may_re_pin_the_case() -> None:
    """An event carrying new pins (a definition migration) moves what the row must hold."""
    case = {
        "country": "LTU",
        "treaty": "t",
        "action": "withdrawal",
        "procedure": "p",
        "procedure_hash": "h1",
        "treaty_hash": "t1",
    }
    events = [
        {"seq": 1, "kind": "open", "occurred_on": "2025-06-27", "data": {"case": case}},
        {
            "seq": 2,
            "kind": "migrated",
            "occurred_on": "2025-07-01",
            "data": {"to": {"procedure": "h2", "treaty": "t1"}},
        },
    ]
    row = {**case, "procedure_hash": "h2", "opened_on": "2025-06-27", "facts": {}}
    assert identity_fault(row, events) is None
    assert "procedure_hash" in str(identity_fault({**row, "procedure_hash": "h1"}, events))
