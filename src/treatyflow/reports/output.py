"""Writing files safely: the one routine every file treatyflow writes goes through.

Reports, calendars, bundles (``export``) and checkpoints are all written by
:func:`private_file` (or :func:`write_private`), with the same rules everywhere:

- **atomic**: the data goes to a temporary file in the target's directory, which is
  flushed, ``fsync``-ed and renamed over the target only when everything was written; on
  any failure (an error, disk full, Ctrl-C) the temporary file is removed and the target is
  left as it was;
- **owner-only**: the file is created 0600 (or ``mode``) with ``fchmod``, whatever the umask;
- **no symbolic links**: a target that is a symbolic link is refused (never followed, never
  replaced), and a relative path may not lead outside the current directory, through
  ``..`` or through a link (:func:`check_output_path`); an absolute path is the user's
  explicit choice;
- **no special files**: a target that exists and is not a regular file (a directory, a
  device node such as ``/dev/null``, a FIFO, a socket) is refused, even with ``--force``;
- an existing regular file is replaced only with ``force``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from treatyflow.errors import InvalidInput, ReportExists


def write_private(
    path: Path,
    text: str | bytes,
    *,
    force: bool = False,
    mode: int = 0o600,
    option: str = "-o",
) -> None:
    """Write ``text`` to ``path`` atomically; refuse to overwrite without ``force``."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    with private_file(path, force=force, mode=mode, option=option) as handle:
        handle.write(data)


@contextlib.contextmanager
def private_file(
    path: Path, *, force: bool = False, mode: int = 0o600, option: str = "-o"
) -> Iterator[IO[bytes]]:
    """A binary file to write ``path`` through: a temporary file in the same directory,
    synced and renamed over ``path`` when the block ends without error, removed if not.

    Refuses (:class:`~treatyflow.errors.InvalidInput`) what :func:`check_output_path`
    refuses, and an existing ``path`` without ``force``
    (:class:`~treatyflow.errors.ReportExists`). A failure to write is an ``InvalidInput``
    naming the file (the target is then unchanged and no temporary file is left).
    """
    check_output_path(path, option=option)
    if _lstat(path, option) is not None and not force:
        raise ReportExists(str(path))
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _cannot_write(path, exc, option) from None
    try:
        os.fchmod(fd, mode)  # mkstemp gives 0600; fchmod sets ``mode`` whatever the umask
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # the target may have been swapped for a link or a device since it was checked
        _check_target(path, option)
        os.replace(tmp, path)
        _sync_directory(directory)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc, option) from None
        raise


def _cannot_write(path: Path, exc: OSError, option: str) -> InvalidInput:
    reason = exc.strerror or str(exc)
    return InvalidInput(option, str(path), f"cannot write {path}: {reason}.")


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (best effort: not every file system can sync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _lstat(path: Path, option: str) -> os.stat_result | None:
    """``lstat`` of ``path`` (None when nothing is there); other errors are one sentence."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InvalidInput(option, str(path), f"{option} {str(path)!r}: {reason}.") from None


def _check_target(path: Path, option: str) -> None:
    """Refuse a target that is a symbolic link, a directory or any other special file."""
    info = _lstat(path, option)
    if info is None or stat.S_ISREG(info.st_mode):
        return
    shown = repr(str(path))
    if stat.S_ISLNK(info.st_mode):
        raise InvalidInput(
            option,
            str(path),
            f"{option} {shown} is a symbolic link; treatyflow never writes through a link "
            "(give the path of the file itself).",
        )
    if stat.S_ISDIR(info.st_mode):
        raise InvalidInput(option, str(path), f"{option} {shown} is a directory.")
    raise InvalidInput(
        option,
        str(path),
        f"{option} {shown} is not a regular file (a device, FIFO or socket); "
        "treatyflow writes only regular files.",
    )


def check_output_path(path: Path, *, option: str = "-o") -> Path:
    """Refuse an output path treatyflow must not write: a symbolic link, a directory, a
    special file (device node, FIFO, socket), a relative ``path`` that leads outside the
    current directory (through ``..`` or a symbolic link), a missing directory. An absolute
    path is the user's explicit choice (``..`` in it is allowed)."""
    if not str(path) or not path.name:
        raise InvalidInput(option, str(path), f"{option} needs a file name.")
    _check_target(path, option)
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
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidInput(
            option, str(path), f"{option}: the directory {str(parent)!r} does not exist."
        )
    return path


def parse_mode(text: str | None, *, option: str = "--mode") -> int:
    """A file mode written in octal (``600``, ``0640``, ``0o644``); default owner-only."""
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
