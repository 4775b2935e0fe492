"""What every command shares: options from the root group and lazily opened services."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from treatyflow.catalog import Catalog
    from treatyflow.service import Service
    from treatyflow.store import Store


class AppContext:
    """The root group's options, and the catalogue, store and service opened on first use."""

    def __init__(self, db: str, workflows: str | None, debug: bool) -> None:
        self.db = db
        self.workflows = workflows
        self.debug = debug
        self._catalog: Any = None
        self._store: Any = None
        self._service: Any = None

    def catalog(self) -> Catalog:
        if self._catalog is None:
            from treatyflow.catalog import load_catalog

            self._catalog = load_catalog(self.workflow_dirs())
        return self._catalog  # type: ignore[no-any-return]

    def workflow_dirs(self) -> list[Path]:
        from treatyflow.catalog import shipped_workflows

        dirs = [shipped_workflows()]
        if self.workflows:
            extra = Path(self.workflows)
            if not os.path.isdir(extra):  # unlike Path.is_dir, never raises (a name too long)
                from treatyflow.errors import InvalidInput

                raise InvalidInput(
                    "--workflows",
                    self.workflows,
                    f"--workflows {self.workflows!r} is not a directory.",
                )
            dirs.append(extra)
        return dirs

    def store(self, *, create: bool = False) -> Store:
        if self._store is None:
            from treatyflow.store import open_store

            self._store = open_store(self.db, create=create)
        return self._store  # type: ignore[no-any-return]

    def service(self) -> Service:
        if self._service is None:
            from treatyflow.service import Service

            self._service = Service(self.store(), self.catalog)
        return self._service  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._store is not None:
            self._store.engine.dispose()


def default_actor() -> str:
    env = os.environ.get("TREATYFLOW_ACTOR")
    if env:
        return env
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
