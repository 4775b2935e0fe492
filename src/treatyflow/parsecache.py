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
owner-only; it is read only if it is the user's own and nobody else may write it, and with
an unpickler that refuses every class but the ``datetime`` types a YAML document can hold,
so a planted cache file cannot run code. A new treatyflow, an edited loader or another
PyYAML makes every entry stale (:func:`parser_identity`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from treatyflow.document import Document

#: Bumped when the cache file's layout changes.
FORMAT = 2


@functools.cache
def parser_identity() -> str:
    """What else decides a parse besides the bytes: treatyflow's version, the loader's own
    source (its rules and limits), and the PyYAML installed (its files' sizes and times, read
    without importing it). A change to any of them makes every cached document stale."""
    import importlib.util

    from treatyflow import __version__

    parts = [__version__, str(FORMAT)]
    loader = Path(__file__).with_name("loader.py")
    with contextlib.suppress(OSError):
        parts.append(hashlib.sha256(loader.read_bytes()).hexdigest())
    spec = importlib.util.find_spec("yaml")
    for place in spec.submodule_search_locations or [] if spec else []:
        with contextlib.suppress(OSError):
            for entry in sorted(os.scandir(place), key=lambda e: e.name):
                if entry.name.endswith((".py", ".so", ".pyd")):
                    info = entry.stat()
                    parts.append(f"{entry.name}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


ALLOWED = {
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
            return ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed") from None


def _private(info: os.stat_result) -> bool:
    """Only a file of this user's that nobody else may write is read (a shared cache
    directory must not let another user plant definitions)."""
    getuid = getattr(os, "getuid", None)
    if getuid is not None and info.st_uid != getuid():
        return False
    return not info.st_mode & 0o022


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
        raw = read_private(self.path)
        if raw is None:
            return {}
        try:
            content = _Unpickler(io.BytesIO(raw)).load()
        except Exception:  # a damaged or planted file: parse instead
            return {}
        if not isinstance(content, dict) or content.get("parser") != parser_identity():
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
            {"parser": parser_identity(), "documents": self._used},
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        write_atomically(self.path, data)
        self._dirty = False


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` written to ``path`` in the cache directory (made owner-only) through a
    temporary file and a rename, so a reader sees the old file or the new one. Errors are
    ignored: a cache that cannot be written is simply not used."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def read_private(path: Path) -> bytes | None:
    """The bytes of a cache file that is this user's own and nobody else may write; None
    when it is missing, unreadable or foreign."""
    try:
        with path.open("rb") as handle:
            if not _private(os.fstat(handle.fileno())):
                return None
            return handle.read()
    except OSError:
        return None
