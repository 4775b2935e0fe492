"""The public Python API: :func:`open` a database and work with its cases.

::

    import treatyflow
    with treatyflow.open("t.db", actor="analyst", create=True) as ws:
        case = ws.open_case(country="LTU", treaty="ottawa", at="notified", on="2025-06-27")
        case.effective_on            # datetime.date(2025, 12, 27)

Every method is one call of the app layer: a change is one database transaction (nothing is
written when it fails), a read is one consistent snapshot. Results are typed
(:mod:`treatyflow.results`); their ``to_dict()`` is exactly what the CLI prints with
``--json``. Errors are :class:`treatyflow.TreatyflowError` subclasses carrying their data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from treatyflow.app.arguments import DateLike, SourceLike
from treatyflow.app.core import Core
from treatyflow.app.workspace_base import WorkspaceBase, default_actor
from treatyflow.app.workspace_documents import WorkspaceDocuments
from treatyflow.app.workspace_integrity import WorkspaceIntegrity
from treatyflow.app.workspace_reads import WorkspaceReads
from treatyflow.app.workspace_reports import WorkspaceReports
from treatyflow.app.workspace_trust import WorkspaceTrust
from treatyflow.app.workspace_versions import WorkspaceVersions
from treatyflow.app.workspace_writes import WorkspaceWrites
from treatyflow.catalog import Catalog
from treatyflow.errors import InvalidInput
from treatyflow.store.sql import Store

if TYPE_CHECKING:
    from treatyflow.app.casefiles import Loaded
    from treatyflow.catalogcache import PlainCatalog
    from treatyflow.keys import Signer
    from treatyflow.results import BundleResult, CaseFileImport

__all__ = [
    "DateLike",
    "SourceLike",
    "Workspace",
    "default_actor",
    "generate_key",
    "load_key",
    "open",
    "verify_bundle",
    "workflow_dirs",
]


def open(
    db: str | os.PathLike[str],
    *,
    actor: str | None = None,
    workflows: str | os.PathLike[str] | None = None,
    create: bool = False,
    key: str | os.PathLike[str] | None = None,
) -> Workspace:
    """Open the treatyflow database ``db``: a SQLite file path, ``":memory:"``, or an
    SQLAlchemy URL (``sqlite:///t.db``, ``postgresql+psycopg://...``).

    Args:
        actor: who records the changes made through this workspace (default: the
            ``TREATYFLOW_ACTOR`` environment variable, else the login name). ``system`` is
            reserved for the clocks ``tick`` fires.
        workflows: a directory of extra definitions (``treaties/``, ``procedures/``) that
            add to, or override by id, the shipped ones.
        create: create the database if it does not exist and bring its schema up to date
            (like ``treatyflow init``). Without it the database must exist.
        key: an Ed25519 private key file (OpenSSH format; default: the ``TREATYFLOW_KEY``
            environment variable; ``""``: none) that signs every event written through
            this workspace; the actor is then the key's registered name (docs/trust.md).

    Raises:
        DatabaseNotInitialised: there is no database there (and ``create`` is false).
        InvalidInput: ``workflows`` is not a directory.
        KeyFileError: ``key`` is not a readable Ed25519 private key.
    """
    from treatyflow.store import open_store

    dirs = workflow_dirs(workflows)
    if key is None:
        key = os.environ.get("TREATYFLOW_KEY")
    signer = load_key(key) if key else None
    store = open_store(os.fspath(db), create=create)
    try:
        if create:
            from treatyflow.store import migrate  # Alembic: loaded only to change the schema

            migrate.upgrade(store)
    except BaseException:
        store.engine.dispose()
        raise
    core = Core(store, lambda: _load_catalog(dirs), plain=lambda: _load_plain(dirs))
    return Workspace(core, actor=actor, key=signer)


def load_key(path: str | os.PathLike[str]) -> Signer:
    """The Ed25519 private key at ``path`` (OpenSSH format), to sign with."""
    from treatyflow.keys import load_signer

    return load_signer(path)


def generate_key(path: str | os.PathLike[str], *, force: bool = False) -> str:
    """Write a new Ed25519 private key to ``path`` (mode 0600; ``path.pub`` beside it; a
    missing directory is made, mode 0700) and return its public key in OpenSSH format
    (``ssh-ed25519 AAAA...``).

    Raises:
        ReportExists: ``path`` or ``path.pub`` exists (and ``force`` is false).
    """
    from treatyflow.keys import generate

    return generate(Path(path), force=force).openssh


def workflow_dirs(extra: str | os.PathLike[str] | None) -> list[Path]:
    """The shipped definitions' directory, and ``extra`` after it (it overrides by id)."""
    from treatyflow.catalog import shipped_workflows

    dirs = [shipped_workflows()]
    if extra is not None:
        if not os.path.isdir(extra):  # unlike Path.is_dir, never raises (a name too long)
            raise InvalidInput(
                "workflows", os.fspath(extra), f"{os.fspath(extra)!r} is not a directory."
            )
        dirs.append(Path(extra))
    return dirs


def _load_catalog(dirs: Sequence[Path]) -> Catalog:
    from treatyflow.catalog import load_catalog

    return load_catalog(dirs)


def _load_plain(dirs: Sequence[Path]) -> PlainCatalog | None:
    from treatyflow.catalog import load_plain_catalog

    return load_plain_catalog(dirs)


def verify_bundle(
    path: str | os.PathLike[str], *, checkpoint: str | os.PathLike[str] | None = None
) -> BundleResult:
    """Check an exported bundle offline (no database needed); ``.ok`` and ``.problems``."""
    from treatyflow.app import bundles

    return bundles.verify_bundle(
        Path(path), checkpoint=None if checkpoint is None else Path(checkpoint)
    )


class Workspace(
    WorkspaceWrites,
    WorkspaceDocuments,
    WorkspaceVersions,
    WorkspaceReads,
    WorkspaceReports,
    WorkspaceIntegrity,
    WorkspaceTrust,
    WorkspaceBase,
):
    """One database and the definitions its cases run under.

    Use it as a context manager (or call :meth:`close`) so its connections are released.
    ``actor`` is who records the changes; each write also takes ``actor=`` for one call.
    With ``key`` (a :class:`treatyflow.keys.Signer`, see :func:`load_key`) every event is
    signed and the actor is the key's registered name; an ``actor`` that differs is refused.
    """

    # The methods are grouped by capability, one mixin module each (app/workspace_writes.py,
    # _documents, _versions, _reads, _reports, _integrity, _trust; the shared state and _who in
    # app/workspace_base.py). Here: the lifetime, and the case files, which replay a file
    # through the other methods.

    # ------------------------------------------------------------------ lifetime
    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections (SQLite checkpoints its WAL)."""
        self._core.store.engine.dispose()

    @property
    def store(self) -> Store:
        """The store underneath (for tools of treatyflow's own, e.g. ``doctor``)."""
        return self._core.store

    @property
    def catalog(self) -> Catalog:
        """The treaty and procedure definitions (loaded on first use)."""
        return self._core.catalog

    def load_case_file(self, path: str | os.PathLike[str]) -> Loaded:
        """Replay a case file (the format of ``examples/ottawa-2025``) into a new case, in
        one transaction; :meth:`import_case_file` also accepts a case that exists."""
        from treatyflow.app.casefiles import replay  # reads YAML: loaded only when used

        return replay(self, Path(path))

    def import_case_file(
        self, path: str | os.PathLike[str], *, actor: str | None = None
    ) -> CaseFileImport:
        """Import a case file (docs/case-files.md) in one transaction: the whole case or
        nothing. Idempotent: a case the log already holds step for step adds nothing; a
        file with new steps after those the log holds adds only them.

        Raises:
            CaseFileConflict: the log and the file differ before the file's last step (the
                first differing step is named, with each field's two values).
            InvalidWorkflow: the file is not a valid case file (file:line).
        """
        return self.import_case_files([path], actor=actor)[0]

    def import_case_files(
        self, paths: Iterable[str | os.PathLike[str]], *, actor: str | None = None
    ) -> list[CaseFileImport]:
        """:meth:`import_case_file` for each of ``paths``, all in one transaction (every
        file imported, or none)."""
        from treatyflow.app.casefiles import import_files  # reads YAML: loaded when used

        before, self.actor = self.actor, actor or self.actor
        try:
            return import_files(self, self._core, [Path(p) for p in paths])
        finally:
            self.actor = before
