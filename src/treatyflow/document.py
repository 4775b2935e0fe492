"""A definition file as treatyflow reads it: its bytes, and once parsed, its data and lines.

Kept apart from :mod:`treatyflow.loader` (the YAML parser) so that reading a file and using
a parsed document, from :mod:`treatyflow.parsecache` for instance, does not import yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from treatyflow.errors import WorkflowSyntaxError

#: The largest definition file treatyflow reads.
MAX_BYTES = 1_000_000

Path_ = tuple[str | int, ...]
LineMap = dict[Path_, int]


class Document:
    """A parsed YAML file: its data, and the line of every key and list item."""

    def __init__(self, path: str, data: Any, lines: LineMap) -> None:
        self.path = path
        self.data = data
        self.lines = lines

    def line_of(self, where: Path_) -> int | None:
        """The line of the deepest known key on ``where``'s path (1-based)."""
        for end in range(len(where), -1, -1):
            line = self.lines.get(tuple(where[:end]))
            if line is not None:
                return line
        return None


def read_definition(path: Path) -> bytes:
    """The bytes of a definition file (at most ``MAX_BYTES + 1`` of them, so that the parser
    can say it is too long); WorkflowSyntaxError naming the file if it cannot be read."""
    name = str(path)
    if not name.isprintable():  # a NUL or a control character: never printed as it is
        name = ascii(name)[1:-1]
    try:
        if not path.is_file():  # a FIFO would block, /dev/zero would never end
            raise WorkflowSyntaxError(name, None, "not a regular file")
        with path.open("rb") as handle:
            return handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise WorkflowSyntaxError(name, None, f"cannot read the file ({exc.strerror})") from exc
    except ValueError as exc:  # a NUL byte or an unencodable character in the name
        raise WorkflowSyntaxError(name, None, "not a file name that can be opened") from exc
