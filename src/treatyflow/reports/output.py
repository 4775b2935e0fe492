"""Writing report files safely: atomic (temporary file, then rename), owner-only by default."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from treatyflow.errors import ReportExists


def write_private(
    path: Path, text: str | bytes, *, force: bool = False, mode: int = 0o600
) -> None:
    """Write ``text`` to ``path`` atomically; refuse to overwrite without ``force``."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    with private_file(path, force=force, mode=mode) as handle:
        handle.write(data)


@contextlib.contextmanager
def private_file(path: Path, *, force: bool = False, mode: int = 0o600) -> Iterator[IO[bytes]]:
    """A binary file to write ``path`` through: a temporary file in the same directory,
    synced and renamed over ``path`` when the block ends without error, removed if not.
    Refuses to overwrite an existing ``path`` without ``force``."""
    if path.exists() and not force:
        raise ReportExists(str(path))
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_output_path(path: Path, *, option: str = "-o") -> Path:
    """Refuse a relative ``path`` that leads outside the current directory (through ``..``
    or a symbolic link), a missing directory, or a directory; an absolute path is the user's
    explicit choice."""
    from treatyflow.errors import InvalidInput

    if not path.is_absolute():
        cwd = Path.cwd().resolve()
        target = (cwd / path).resolve()
        if not target.is_relative_to(cwd):
            raise InvalidInput(
                option,
                str(path),
                f"{option} {str(path)!r} leads outside the current directory (through '..' "
                "or a symbolic link); give an absolute path to write there.",
            )
    if path.is_dir():
        raise InvalidInput(option, str(path), f"{option} {str(path)!r} is a directory.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidInput(
            option, str(path), f"{option}: the directory {str(parent)!r} does not exist."
        )
    return path


def parse_mode(text: str | None, *, option: str = "--mode") -> int:
    """A file mode written in octal (``600``, ``0640``, ``0o644``); default owner-only."""
    from treatyflow.errors import InvalidInput

    if text is None:
        return 0o600
    raw = text.strip().lower().removeprefix("0o")
    try:
        mode = int(raw, 8)
    except ValueError:
        mode = -1
    if not raw or not 0 <= mode <= 0o777:
        raise InvalidInput(
            option, text, f"{option} {text!r} is not an octal file mode like 600 or 0640."
        )
    return mode
