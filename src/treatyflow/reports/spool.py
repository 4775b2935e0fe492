"""The pieces a report written case by case is made of: spools and a text sink.

A portfolio report starts with what is known only at the end (the number of cases, the
failed chains, the matrix columns and footnotes), so the streamed writers
(:mod:`treatyflow.reports.stream`) keep each case's model, summary row and matrix row in a
temporary file (an :class:`ObjectSpool`) as the cases are read, then hand the renderers a
report whose lists are those spools: the renderers iterate them one item at a time, exactly
as they iterate the lists of an in-memory report, so the bytes are the same.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any


class ObjectSpool:
    """A list kept in a temporary file: :meth:`add` appends, iterating reads the items back
    in order, one at a time (several iterations may run, even interleaved).

    Items are pickled: they come back exactly as they were (tuples stay tuples), and only
    the file this process wrote and nobody else can open (an unlinked temporary file) is
    ever unpickled.
    """

    def __init__(self) -> None:
        self.count = 0
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="treatyflow-spool-")  # noqa: SIM115

    def add(self, value: Any) -> None:
        self._file.seek(0, 2)
        pickle.dump(value, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Any]:
        self._file.flush()
        position = 0
        for _ in range(self.count):
            self._file.seek(position)
            item = pickle.load(self._file)  # noqa: S301 (our own temporary file)
            position = self._file.tell()
            yield item

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ObjectSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TextOut:
    """Text written to a binary stream as UTF-8, in blocks of about ``size`` characters."""

    def __init__(self, out: IO[bytes], size: int = 1 << 16) -> None:
        self._out = out
        self._size = size
        self._parts: list[str] = []
        self._length = 0

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)
        if self._length >= self._size:
            self.flush()

    def write_all(self, chunks: Iterable[str]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if self._parts:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
            self._length = 0


def write_lines(sink: TextOut, lines: Iterable[str]) -> None:
    """Write ``"\\n".join(lines).rstrip("\\n") + "\\n"`` without holding the text: the
    trailing line breaks written so far are held back until more text follows."""
    held = ""
    first = True
    for line in lines:
        chunk = line if first else "\n" + line
        first = False
        body = chunk.rstrip("\n")
        if body:
            sink.write(held + body)
            held = chunk[len(body) :]
        else:
            held += chunk
    sink.write("\n")
