"""Fixtures of the web view's tests: the demo database, a hostile one, a test client, and a
live server (uvicorn on a free loopback port) for the browser tests."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _webdata import HOSTILE, TODAY


def workspace(path: Path, catalog: Any) -> Any:
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace
    from treatyflow.store import open_store

    return Workspace(Core(open_store(str(path)), catalog, today=lambda: TODAY), actor="analyst")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory, catalog: Any) -> Path:
    """The 2025 Ottawa example (``load_example``), not ticked."""
    import treatyflow
    from treatyflow.app.demo import load_example

    path = tmp_path_factory.mktemp("web") / "demo.db"
    with treatyflow.open(path, create=True, actor="analyst") as ws:
        load_example(ws, "ottawa-2025")
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    shutil.copyfile(demo_template, path)
    return path


@pytest.fixture
def demo_ws(demo_db: Path, catalog: Any) -> Iterator[Any]:
    ws = workspace(demo_db, catalog)
    yield ws
    ws.close()


@pytest.fixture
def client(demo_ws: Any) -> Any:
    from starlette.testclient import TestClient

    from treatyflow.web.app import create_app

    with TestClient(create_app(demo_ws), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def hostile_ws(tmp_path: Path, catalog: Any) -> Iterator[Any]:
    """A case whose note and source are script-injection payloads (and a searchable word)."""
    import treatyflow

    path = tmp_path / "hostile.db"
    treatyflow.open(path, create=True).close()
    ws = workspace(path, catalog)
    ws.open_case(
        country="FIN",
        treaty="ottawa",
        id="FIN-1",
        at="notified",
        on="2025-06-27",
        note=f"zyzzyva {HOSTILE}",
        sources=[{"citation": f"zyzzyva {HOSTILE}", "url": "https://example.org/?q=<b>"}],
    )
    yield ws
    ws.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(demo_ws: Any) -> Iterator[str]:
    """The web view of the demo served by uvicorn on 127.0.0.1 (a free port) in a thread of
    this process; stopped after the test."""
    import uvicorn

    from treatyflow.web.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(demo_ws), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive()
