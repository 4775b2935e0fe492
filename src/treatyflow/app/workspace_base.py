"""What every capability of the :class:`~treatyflow.app.workspace.Workspace` shares: the
``Core`` underneath, who a write is recorded as, and a case's view after a change.

The capabilities are mixins over this base, one module each (``workspace_writes``,
``workspace_reads``, ...); ``workspace.py`` puts them together as the public class.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Any

from treatyflow.app.core import Core
from treatyflow.app.views import case_view
from treatyflow.errors import ActorMismatch

if TYPE_CHECKING:
    from treatyflow.keys import Signer
    from treatyflow.results import CaseView


class WorkspaceBase:
    """The state a :class:`~treatyflow.app.workspace.Workspace` holds (see its docstring)."""

    def __init__(self, core: Core, *, actor: str | None = None, key: Signer | None = None) -> None:
        self._core = core
        self._explicit_actor = actor
        self.actor = actor or default_actor()
        core.signer = key
        self._key_name: str | None = None

    def today(self) -> dt.date:
        """The date reads default to (``as_of``)."""
        return self._core.today()

    def _who(self, actor: str | None) -> str:
        """Who a write is recorded as: with a key, its registered name (an explicit actor
        that differs is refused); without one, ``actor`` or the workspace's."""
        explicit = actor or self._explicit_actor
        if self._core.signer is None:
            return explicit or self.actor
        if self._key_name is None:
            with self._core.store.read() as conn:
                record = self._core.signer_record(self._core.registry(conn))
            assert record is not None
            self._key_name = record.name
        if explicit and explicit != self._key_name:
            raise ActorMismatch(explicit, self._key_name)
        return self._key_name

    def _after(self, record: Any, ctx: Any) -> CaseView:
        return case_view(self._core, record, ctx.defs, ctx.events, as_of=None, known_at=None)


def default_actor() -> str:
    """``TREATYFLOW_ACTOR``, else the login name, else ``unknown``."""
    env = os.environ.get("TREATYFLOW_ACTOR")
    if env:
        return env
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
