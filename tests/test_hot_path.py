"""What a change does on its hot path, made cheaper in #19, still does the same."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from treatyflow.events import recorded_text, utc_now
from treatyflow.store import open_store


@given(st.datetimes(min_value=dt.datetime(1000, 1, 1), timezones=st.just(dt.UTC)))
def test_recorded_text_is_the_strftime_text(moment: dt.datetime) -> None:
    assert recorded_text(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_whole_second_keeps_its_microseconds() -> None:
    moment = dt.datetime(2025, 5, 1, 9, 30, tzinfo=dt.UTC)
    assert recorded_text(moment) == "2025-05-01T09:30:00.000000Z"


def test_utc_now_is_recorded_text_of_now() -> None:
    before = dt.datetime.now(dt.UTC)
    text = utc_now()
    after = dt.datetime.now(dt.UTC)
    parsed = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    assert before <= parsed <= after
    assert recorded_text(parsed) == text


def test_a_batch_belongs_to_its_own_thread(db: Path) -> None:
    # (each thread's connection is a class attribute's None until set: no AttributeError)
    store = open_store(str(db))
    seen: dict[str, object] = {}

    def other() -> None:
        seen["in_batch"] = store.in_batch
        with store.read() as conn:
            seen["same"] = conn is outer

    with store.batch() as outer:
        assert store.in_batch
        with store.read() as inner:
            assert inner is outer  # this thread's reads join its batch
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
    assert seen == {"in_batch": False, "same": False}
    assert not store.in_batch
    store.engine.dispose()


def test_a_change_raises_nothing_it_drops_but_its_transaction_generators_end(ws: Any) -> None:
    # A Python-level exception raised and caught on the hot path (an unfinished generator
    # closed by GeneratorExit, an AttributeError from __getattr__) costs ~0.5 us each; the
    # two transaction generators' StopIteration (contextlib ending them) are the only ones.
    ws.open_case(country="FRA", treaty="ottawa", id="FRA-1", on="2025-06-01")
    ws.advance("FRA-1", "decide", on="2025-06-02")  # the first change imports what it needs
    raised: list[str] = []

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if event == "exception":
            raised.append(f"{arg[0].__name__} in {frame.f_code.co_name}")
        return tracer

    sys.settrace(tracer)
    try:
        ws.advance("FRA-1", "notify", on="2025-06-27")
    finally:
        sys.settrace(None)
    assert [r for r in raised if not r.startswith("StopIteration in __exit__")] == []
    assert len(raised) == 2


def test_only_the_states_clocks_start_at_get_their_legal_date(monkeypatch: Any) -> None:
    import treatyflow.projection as projection
    from treatyflow.catalog import load_catalog, shipped_workflows

    catalog = load_catalog([shipped_workflows()])
    procedure, treaty = catalog.procedure("est"), catalog.treaty("ottawa")
    starts = {spec.starts_at for spec in procedure.clocks}
    tally = projection.Tally()
    day = dt.date(2025, 6, 1)
    for state in ("drafted", "decided", *sorted(starts), "elsewhere"):
        tally.entered[state] = day
        tally.entered_range[state] = (day, None)
    calls: list[dt.date] = []
    real = projection.occurred_of

    def counting(on: dt.date, data: Any) -> Any:
        calls.append(on)
        return real(on, data)

    monkeypatch.setattr(projection, "occurred_of", counting)
    state = projection.evaluate(
        tally,
        procedure=procedure,
        treaty=treaty,
        action="withdrawal",
        country="EST",
        as_of=day,
    )
    assert len(calls) == len(starts)
    assert [c.started_on for c in state.clocks[: len(procedure.clocks)]] == [day] * len(
        procedure.clocks
    )
