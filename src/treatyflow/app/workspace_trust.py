"""The :class:`~treatyflow.app.workspace.Workspace`'s trust (docs/trust.md): four-eyes review of
proposed steps, the key registry, team mode, PostgreSQL grants.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from treatyflow.app.workspace_base import WorkspaceBase

if TYPE_CHECKING:
    from treatyflow.results import CaseView, KeyInfo


class WorkspaceTrust(WorkspaceBase):
    """Review, keys, signatures and grants."""

    def approve(self, case_id: str, seq: int, *, note: str | None = None) -> CaseView:
        """Approve the proposed step ``seq`` (four eyes): applied with the proposal's legal
        date. Needs a reviewer's key that did not propose it.

        Raises:
            SelfApproval, NotAuthorised, InvalidInput (no open proposal ``seq``).
        """
        from treatyflow.app import amendments

        record, ctx = amendments.approve(
            self._core, case_id, seq, actor=self._who(None), note=note
        )
        return self._after(record, ctx)

    def reject(self, case_id: str, seq: int, *, reason: str) -> CaseView:
        """Reject the proposed step ``seq`` (a reviewer, or its proposer withdrawing it)."""
        from treatyflow.app import amendments

        record, ctx = amendments.reject(
            self._core, case_id, seq, actor=self._who(None), reason=reason
        )
        return self._after(record, ctx)

    def list_keys(self) -> list[KeyInfo]:
        """Every key of the registry (retired ones too), oldest first."""
        from treatyflow.app import trust

        return trust.keys(self._core)

    def add_key(
        self, name: str, public_key: str | os.PathLike[str], *, roles: Sequence[str] = ()
    ) -> KeyInfo:
        """Register ``public_key`` (an OpenSSH line, or a file holding one) under ``name``
        with ``roles`` (``analyst`` by default; ``reviewer``, ``admin``). The first key may
        be added by anyone; every later change needs this workspace's key to be an admin's.
        """
        from treatyflow.app import trust

        return trust.add_key(self._core, name, os.fspath(public_key), roles)

    def retire_key(self, name: str) -> KeyInfo:
        """Retire ``name``'s key (admin): it signs nothing new; its old signatures hold."""
        from treatyflow.app import trust

        return trust.retire_key(self._core, name)

    def require_signatures(self, on: bool = True) -> bool:
        """Turn team mode on or off (admin): when on, every write needs a registered key
        and review-required steps become proposals."""
        from treatyflow.app import trust

        return trust.set_require_signatures(self._core, on)

    def signatures_required(self) -> bool:
        """Whether the database requires signed writes now."""
        from treatyflow.app import trust

        return trust.require_signatures(self._core)

    def grant(self, role: str, *, as_: str) -> dict[str, Any]:
        """PostgreSQL: give the login ``role`` the privileges of ``as_`` (``analyst``,
        ``reviewer`` or ``admin``) through a group role; none may rewrite the log."""
        from treatyflow.app import trust

        return trust.grant(self._core, role, as_)
