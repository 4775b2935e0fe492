"""What a change does on its hot path, made cheaper in #19, still does the same."""

from __future__ import annotations

import threading
from pathlib import Path

from treatyflow.store import open_store


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
