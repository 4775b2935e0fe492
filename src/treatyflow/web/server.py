"""Serving the web view with uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from treatyflow.app.workspace import Workspace


def run(ws: Workspace, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve ``ws`` on ``host``:``port`` until interrupted (Ctrl+C)."""
    import uvicorn

    from treatyflow.web.app import create_app

    config = uvicorn.Config(
        create_app(ws),
        host=host,
        port=port,
        log_level="info",
        server_header=False,
        proxy_headers=False,
        lifespan="off",
    )
    uvicorn.Server(config).run()
