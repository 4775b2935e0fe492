"""What every command shares: the root group's options and the workspace opened on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from treatyflow.app.workspace import Workspace
    from treatyflow.catalog import Catalog


class AppContext:
    """The root group's options, and the :class:`Workspace` opened on first use."""

    def __init__(self, db: str, workflows: str | None, debug: bool) -> None:
        self.db = db
        self.workflows = workflows
        self.debug = debug
        self.key: str | None = None
        """``--key`` of the command (set by its option before the workspace is opened)."""
        self._workspace: Any = None
        self._catalog: Any = None

    def workspace(self, *, create: bool = False) -> Workspace:
        """The workspace on ``--db`` (created and migrated first with ``create``)."""
        if self._workspace is None:
            from treatyflow.app.workspace import open as open_workspace

            self._workspace = open_workspace(
                self.db, workflows=self.workflows or None, create=create, key=self.key or ""
            )
        return self._workspace  # type: ignore[no-any-return]

    def catalog(self) -> Catalog:
        """The definitions (shipped, and ``--workflows``), without opening the database."""
        if self._catalog is None:
            from treatyflow.catalog import load_catalog

            self._catalog = load_catalog(self.workflow_dirs())
        return self._catalog  # type: ignore[no-any-return]

    def workflow_dirs(self) -> list[Path]:
        from treatyflow.app.workspace import workflow_dirs

        return workflow_dirs(self.workflows or None)

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()


def default_actor() -> str:
    from treatyflow.app.workspace import default_actor as actor

    return actor()
