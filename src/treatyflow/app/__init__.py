"""The one app layer: every read and change of cases, behind :class:`Workspace`.

Modules by capability: ``core`` (unit of work, pinned definitions, retries), ``writes``
(open, advance, set a fact, note, record, correct), ``clocks`` (tick), ``queries`` and
``views`` (a case, its history, the list, pending), ``integrity`` (verify, checkpoints),
``conformance``, ``reports`` (report assembly), ``bundles`` (export, import),
``casefiles`` (case files replayed) and ``workspace`` (the public facade; its methods in
the ``workspace_*`` mixins, its arguments parsed by ``arguments``). The CLI and
any other front end call :class:`Workspace`, never the store.
"""

from treatyflow.app.workspace import Workspace, open, verify_bundle

__all__ = ["Workspace", "open", "verify_bundle"]
