"""Reading a bundle's lines: a regular file only, at most MAX_LINE bytes a line, streamed."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from treatyflow.errors import InvalidInput

#: The longest line read (a definition snapshot or a case's facts are far smaller); a longer
#: one ends the reading with a problem, so ``/dev/zero``-like input cannot exhaust memory.
MAX_LINE = 16 * 1024 * 1024


def _open_regular(path: Path) -> Any:
    """A binary file object of the regular file at ``path``; InvalidInput otherwise (a
    FIFO, ``/dev/zero``, a directory are refused without reading them)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InvalidInput("BUNDLE", str(path), f"cannot read {path}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidInput(
                "BUNDLE",
                str(path),
                f"{path} is not a regular file (a directory, device, FIFO or socket)",
            )
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _lines(handle: Any, problems: list[str]) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each line, at most MAX_LINE bytes each."""
    number = 0
    while True:
        data = handle.readline(MAX_LINE + 1)
        if not data:
            return
        number += 1
        if len(data) > MAX_LINE:
            problems.append(
                f"line {number}: longer than {MAX_LINE:,} bytes (not a bundle line); "
                "reading stopped there"
            )
            return
        yield number, data


def _objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The JSON object of each line of a bundle that verified (for the second reading)."""
    with _open_regular(path) as handle:
        for number, data in _lines(handle, []):
            yield number, json.loads(data)
