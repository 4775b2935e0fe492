"""Parsed definition files, kept between commands and found again by their content.

Every command loads the whole catalogue of definitions. Parsing its YAML (with the line of
every key, for lint messages) and importing PyYAML was about 15 ms of the start-up of a
command such as ``case show``. So the parsed documents are kept in one cache file per
definition directory, keyed by the SHA-256 of each file's bytes: an edited file
has another digest and is parsed again; the validation, lint and hashing that follow are
done on every run exactly as before, so a cached document can change nothing but speed.

Where: ``$TREATYFLOW_CACHE_DIR``, else ``$XDG_CACHE_HOME/treatyflow``, else
``~/.cache/treatyflow``; ``TREATYFLOW_NO_CACHE=1`` turns the cache off. A cache that cannot
be read or written is ignored (the files are parsed). The file is written atomically and
owner-only, and read with an unpickler that refuses every class but the ``datetime`` types
a YAML document can hold, so a planted cache file cannot run code; its entries are trusted
as much as the rest of your home directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from treatyflow.document import Document

#: Bumped when the loader's output for the same bytes could change.
FORMAT = 1

_ALLOWED = {
    ("datetime", "date"): dt.date,
    ("datetime", "datetime"): dt.datetime,
    ("datetime", "time"): dt.time,
    ("datetime", "timedelta"): dt.timedelta,
    ("datetime", "timezone"): dt.timezone,
}


class _Unpickler(pickle.Unpickler):
    """Plain data and datetime values only: any other class is refused."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed") from None


def cache_dir() -> Path | None:
    if os.environ.get("TREATYFLOW_NO_CACHE", "").strip() not in ("", "0"):
        return None
    base = os.environ.get("TREATYFLOW_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    home = Path(xdg) if xdg else Path.home() / ".cache"
    return home / "treatyflow"


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class ParseCache:
    """The cached documents of one definition directory (its ``treaties/`` and
    ``procedures/``): one cache file per directory, so the cache grows with the directories
    used, not with the files or the commands run.

    :meth:`get` a document by its file's bytes' digest, :meth:`put` new ones, and
    :meth:`save` at the end: the file is rewritten (with exactly the documents used this
    time) only if something was parsed.
    """

    def __init__(self, directory: Path) -> None:
        where = cache_dir()
        name = str(directory.resolve()).encode("utf-8", "surrogateescape")
        key = hashlib.sha256(name).hexdigest()[:20]
        self.path = where / f"definitions-{key}.pickle" if where else None
        self._old: dict[str, tuple[Any, Any]] = self._read()
        self._used: dict[str, tuple[Any, Any]] = {}
        self._dirty = False

    def _read(self) -> dict[str, tuple[Any, Any]]:
        if self.path is None:
            return {}
        try:
            raw = self.path.read_bytes()
            content = _Unpickler(io.BytesIO(raw)).load()
        except Exception:  # a missing, unreadable or foreign file: parse instead
            return {}
        if not isinstance(content, dict) or content.get("format") != FORMAT:
            return {}
        entries = content.get("documents")
        return entries if isinstance(entries, dict) else {}

    def get(self, key: str, name: str) -> Document | None:
        entry = self._old.get(key)
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict)):
            return None
        self._used[key] = entry
        return Document(name, entry[0], entry[1])

    def put(self, key: str, doc: Document) -> None:
        self._used[key] = (doc.data, doc.lines)
        self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        data = pickle.dumps(
            {"format": FORMAT, "documents": self._used}, protocol=pickle.HIGHEST_PROTOCOL
        )
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".definitions-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, self.path)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        self._dirty = False
