"""Writing report files safely: atomic (temporary file, then rename), owner-only by default."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from treatyflow.errors import ReportExists


def write_private(
    path: Path, text: str | bytes, *, force: bool = False, mode: int = 0o600
) -> None:
    """Write ``text`` to ``path`` atomically; refuse to overwrite without ``force``."""
    if path.exists() and not force:
        raise ReportExists(str(path))
    data = text.encode("utf-8") if isinstance(text, str) else text
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
