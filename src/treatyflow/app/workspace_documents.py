"""The :class:`~treatyflow.app.workspace.Workspace`'s documents: attach a file to a case's log
and read it back, checked (docs/documents.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from treatyflow.app.arguments import DateLike, SourceLike, as_legal, as_sources
from treatyflow.app.workspace_base import WorkspaceBase
from treatyflow.errors import InvalidInput

if TYPE_CHECKING:
    from treatyflow.results import Attached


class WorkspaceDocuments(WorkspaceBase):
    """Documents kept with a case's log."""

    def attach(
        self,
        case_id: str,
        file: str | os.PathLike[str] | bytes,
        *,
        name: str | None = None,
        kind: str | None = None,
        level: str | None = None,
        on: DateLike | None = None,
        note: str | None = None,
        sources: Iterable[SourceLike] = (),
        actor: str | None = None,
    ) -> Attached:
        """Keep a document with the case's log: the bytes of ``file`` (a path, or the bytes
        themselves with ``name``) are stored once under their SHA-256 digest, and an
        ``attach`` event dated ``on`` (default today) cites that digest, so it is under the
        hash chain. ``kind`` and ``level`` say what evidence it is, as a source's do.

        Later events may cite it: a source ``{"citation": ..., "document": "sha256:..."}``
        (or ``"...; document=sha256:..."`` as text). The size limit is 10 MiB
        (``TREATYFLOW_MAX_DOCUMENT_BYTES`` may lower it); see docs/documents.md.

        Raises:
            DocumentTooLarge, InvalidInput (unreadable file, no name, bad level),
            CaseNotFound, ConcurrentUpdate.
        """
        from treatyflow.app import documents
        from treatyflow.results import Attached

        if isinstance(file, bytes | bytearray | memoryview):
            if name is None:
                raise InvalidInput("name", None, "attaching bytes needs a file name.")
            content = bytes(file)
        else:
            path = Path(file)
            content = documents.read_file(path, documents.size_limit())
            name = path.name if name is None else name
        when = as_legal(on, "on")
        record, ctx, info, stored = documents.attach(
            self._core,
            case_id,
            content,
            name=name,
            actor=self._who(actor),
            on=None if when is None else when.latest,
            occurred=when,
            kind=kind,
            level=level,
            note=note,
            sources=as_sources(sources),
        )
        return Attached(case=self._after(record, ctx), document=info, stored=stored)

    def document(self, digest: str) -> bytes:
        """The bytes of the attached document ``digest`` (``sha256:...`` or the 64 hex
        digits), checked against the digest.

        Raises:
            DocumentNotFound, DocumentCorrupt (the stored bytes were changed), InvalidInput.
        """
        from treatyflow.app import documents

        return documents.read(self._core, digest)
