"""What a change does on its hot path, made cheaper in #19, still does the same."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

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
