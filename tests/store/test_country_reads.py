"""`report portfolio --country X` reads only X's cases and their events (#19), on SQLite and
PostgreSQL, and its output is what reading everything and filtering gave."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import treatyflow.store.sql as sql

DAY = dt.date(2025, 6, 27)


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The case id of every event row the store turns into an Event from now on."""
    read: list[str] = []
    original = sql._event_from_tuple

    def spy(row: Any) -> Any:
        ev = original(row)
        read.append(ev.case_id)
        return ev

    monkeypatch.setattr(sql, "_event_from_tuple", spy)
    return read


def _every_country(monkeypatch: pytest.MonkeyPatch, store: Any) -> None:
    """The store as it was before: the countries are not passed to the database."""
    for name in ("case_ids", "iter_cases", "events_by_case"):
        method = getattr(store, name)
        monkeypatch.setattr(store, name, lambda conn, *, countries=(), m=method: m(conn))


def test_report_by_country_reads_only_that_country(
    svc: Any, mstore: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n, country in enumerate(["LTU", "LVA", "LTU", "EST", "LVA"]):
        svc.open_case(country=country, treaty="ottawa", actor="a", id=f"C-{n}", on=DAY)
        svc.note(f"C-{n}", "a note", on=DAY, actor="a")
    options: dict[str, Any] = {"country": ["LTU"], "as_of": DAY, "generated_at": "2025-07-01"}
    read = _spy(monkeypatch)
    for fmt in ("json", "md", "csv"):
        del read[:]
        mine = svc.report("portfolio", fmt, **options)
        assert set(read) == {"C-0", "C-2"}  # the other countries' events are never read
        with monkeypatch.context() as before:
            _every_country(before, mstore)
            del read[:]
            everything = svc.report("portfolio", fmt, **options)
            assert set(read) == {f"C-{n}" for n in range(5)}  # the spy sees every read
        assert mine == everything
    assert '"C-0"' in svc.report("portfolio", "json", **options)


def test_several_countries_and_none(svc: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Repeated --country reads each named country; no --country reads every case."""
    for n, country in enumerate(["LTU", "LVA", "EST"]):
        svc.open_case(country=country, treaty="ottawa", actor="a", id=f"C-{n}", on=DAY)
    read = _spy(monkeypatch)
    svc.report("portfolio", "json", country=["LTU", "EST"], as_of=DAY)
    assert set(read) == {"C-0", "C-2"}
    del read[:]
    svc.report("portfolio", "json", as_of=DAY)
    assert set(read) == {"C-0", "C-1", "C-2"}
