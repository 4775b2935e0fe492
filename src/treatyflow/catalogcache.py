"""Validated catalogues, kept between commands and found again by every file's content.

Loading the catalogue validates every definition file with the pydantic models, lints the
whole set and hashes what cases are pinned to. In a fresh process the models' validators
and serialisers are built first (the models are ``defer_build``: about 25 ms of a command's
start-up), so a command such as ``case show`` paid that on every run for definitions that
had not changed. Here the outcome of a strict load that found no problem is kept: the
validated treaties and procedures and the content hash of every treaty and whole
procedure, one cache file per list of definition directories.

An entry is used only for exactly what it was made from. It is keyed by the SHA-256 of
the bytes of every definition file (with its directory, kind and name, in load order, so
an override by a later directory is part of the key), by the parser's identity
(:func:`treatyflow.parsecache.parser_identity`: treatyflow's version, the loader, PyYAML)
and by the SHA-256 of the source of every module that decides validation, composition,
lint and hashing, with pydantic's and pydantic-core's versions: an edited file, another
treatyflow or another pydantic makes it stale and the catalogue is loaded, linted and hashed
as before (and the entry rewritten). The file follows the parse cache's rules (where it
lives, ``TREATYFLOW_NO_CACHE``, owner-only, read only if nobody else may write it, written
atomically) and is read with an unpickler that refuses every class but the definitions'
own models and enumerations and the ``datetime`` types, so a planted file cannot run code.
A stored case's pinned snapshot is never taken from here: it is read from the database and
re-hashed as before.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treatyflow import parsecache
from treatyflow.document import read_definition

if TYPE_CHECKING:
    from treatyflow.catalog import Catalog

#: Bumped when the cache file's layout changes.
FORMAT = 1

#: The modules whose source decides what a definition file validates to, how procedures
#: compose, what lint finds and what is hashed.
_MODULES = (
    "treatyflow.catalog",
    "treatyflow.catalogcache",
    "treatyflow.definitions.basics",
    "treatyflow.definitions.factories",
    "treatyflow.definitions.lint",
    "treatyflow.definitions.plain",
    "treatyflow.definitions.problems",
    "treatyflow.definitions.procedure",
    "treatyflow.definitions.treaty",
    "treatyflow.evidence",
    "treatyflow.evidence_levels",
    "treatyflow.parties",
)

_models_identity: str | None = None


def identity() -> str:
    """The parser's identity, the models' sources and pydantic's versions, as one digest."""
    global _models_identity
    if _models_identity is None:
        import pydantic_core
        from pydantic.version import VERSION

        parts = [str(FORMAT), VERSION, pydantic_core.__version__]
        for name in _MODULES:
            try:
                parts.append(hashlib.sha256(_source_file(name).read_bytes()).hexdigest())
            except OSError:
                parts.append(f"{name}:unreadable")
        _models_identity = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return hashlib.sha256(
        f"{parsecache.parser_identity()}\0{_models_identity}".encode()
    ).hexdigest()


def _source_file(module: str) -> Path:
    """The source file of one of treatyflow's modules, found without importing it (a read
    with a cached catalogue imports neither the models nor the lint, and their sources are
    part of the key all the same)."""
    package = Path(__file__).parent
    return package.joinpath(*module.split(".")[1:]).with_suffix(".py")


def files_key(listing: Sequence[tuple[Path, Sequence[tuple[str, Path]]]]) -> str | None:
    """The key of the catalogue the files of ``listing`` (each directory with its
    (kind, path) files in load order) make: None when one cannot be read (then the
    catalogue is loaded as before, which reports it)."""
    h = hashlib.sha256(identity().encode())
    for directory, files in listing:
        h.update(b"\1" + str(directory.resolve()).encode("utf-8", "surrogateescape"))
        for kind, path in files:
            try:
                raw = read_definition(path)
            except Exception:
                return None
            h.update(f"\2{kind}\0{path.name}\0".encode("utf-8", "surrogateescape"))
            h.update(hashlib.sha256(raw).digest())
    return h.hexdigest()


def _path(directories: Sequence[Path]) -> Path | None:
    where = parsecache.cache_dir()
    if where is None:
        return None
    names = "\0".join(str(d.resolve()) for d in directories)
    digest = hashlib.sha256(names.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return where / f"catalog-{digest}.pickle"


def _write_entry(path: Path, key: str, treaties: Any, procedures: Any, hashes: Any) -> None:
    """Keep ``treaties``, ``procedures`` and ``hashes`` under ``key`` in the cache file
    ``path``: pickled, written owner-only through a temporary file and a rename by
    :func:`treatyflow.parsecache.write_atomically` (a reader sees the old file or the new
    one; a write that fails leaves the old file, no partial one, and is not an error)."""
    content = {"key": key, "treaties": treaties, "procedures": procedures, "hashes": hashes}
    parsecache.write_atomically(path, pickle.dumps(content, protocol=pickle.HIGHEST_PROTOCOL))


def _read_entry(
    path: Path, unpickler: type[pickle.Unpickler], key: str
) -> tuple[Any, Any, Any] | None:
    """The treaties, procedures and hashes :func:`_write_entry` kept in ``path`` under
    ``key`` (their types unchecked: the caller checks them), or None: no file, one others
    may write (:func:`treatyflow.parsecache.read_private`), a damaged one, one holding a
    class ``unpickler`` refuses, or one made under another key."""
    raw = parsecache.read_private(path)
    if raw is None:
        return None
    try:
        content = unpickler(io.BytesIO(raw)).load()
    except Exception:  # a damaged or planted file: load the definitions instead
        return None
    if not isinstance(content, dict) or content.get("key") != key:
        return None
    return content.get("treaties"), content.get("procedures"), content.get("hashes")


def load(directories: Sequence[Path], key: str) -> Catalog | None:
    """The catalogue cached under ``key``, or None (no entry, a stale one, a damaged or
    foreign file)."""
    path = _path(directories)
    entry = None if path is None else _read_entry(path, _Unpickler, key)
    if entry is None:
        return None
    from treatyflow.catalog import Catalog
    from treatyflow.definitions.procedure import Procedure
    from treatyflow.definitions.treaty import Treaty

    treaties, procedures, hashes = entry
    if not (_all(treaties, Treaty) and _all(procedures, Procedure) and isinstance(hashes, dict)):
        return None
    assert isinstance(treaties, dict) and isinstance(procedures, dict)
    catalog = Catalog(treaties=treaties, procedures=procedures)
    for (kind, ident), digest in hashes.items():
        catalog.known_hash(kind, ident, digest)
    return catalog


def _all(items: Any, model: type) -> bool:
    return isinstance(items, dict) and all(
        isinstance(k, str) and isinstance(v, model) for k, v in items.items()
    )


def save(directories: Sequence[Path], key: str, catalog: Catalog) -> None:
    """Keep ``catalog`` (strictly loaded, without problems) under ``key``."""
    path = _path(directories)
    if path is None:
        return
    hashes = {("treaty", tid): catalog.treaty_hash(tid) for tid in catalog.treaties}
    hashes.update(
        {("procedure", pid): catalog.procedure_hash(pid) for pid in catalog.whole_procedures()}
    )
    _write_entry(path, key, catalog.treaties, catalog.procedures, hashes)
    _save_plain(path, key, catalog, hashes)


def _plain_path(path: Path) -> Path:
    """The twins' file beside the models' (``catalog-X.pickle`` -> ``plain-X.pickle``)."""
    return path.with_name("plain-" + path.name.removeprefix("catalog-"))


def _save_plain(
    path: Path, key: str, catalog: Catalog, hashes: dict[tuple[str, str], str]
) -> None:
    """Keep the treaties and composed whole procedures of ``catalog`` as plain twins
    (:mod:`treatyflow.definitions.plain`), with their content hashes, for reads."""
    from treatyflow.definitions.plain import twin

    try:
        treaties = {tid: twin(model) for tid, model in catalog.treaties.items()}
        procedures = {pid: twin(catalog.procedure(pid)) for pid in catalog.whole_procedures()}
    except TypeError:  # a model without a twin: reads load the catalogue instead
        return
    _write_entry(_plain_path(path), key, treaties, procedures, hashes)


class PlainCatalog:
    """The current treaties and whole procedures as plain twins, and their content hashes:
    what a read needs of the catalogue (``Core.definitions_for_reading``)."""

    def __init__(
        self,
        treaties: dict[str, Any],
        procedures: dict[str, Any],
        hashes: dict[tuple[str, str], str],
    ) -> None:
        self.treaties = treaties
        self.procedures = procedures
        self.hashes = hashes

    def current_hash(self, kind: str, ident: str) -> str | None:
        """The content hash of the treaty or whole procedure ``ident`` as the definitions
        have it now; None if they do not define it."""
        return self.hashes.get((kind, ident))

    def definition(self, kind: str, ident: str, digest: str) -> Any:
        """The twin of the current treaty or whole procedure ``ident`` if its content hash
        is ``digest``; else None."""
        if self.hashes.get((kind, ident)) != digest:
            return None
        return (self.procedures if kind == "procedure" else self.treaties).get(ident)


def load_plain(directories: Sequence[Path], key: str) -> PlainCatalog | None:
    """The plain twins cached under ``key``, or None (no entry, a stale one, a damaged or
    foreign file). Imports no model and no pydantic."""
    path = _path(directories)
    entry = None if path is None else _read_entry(_plain_path(path), _PlainUnpickler, key)
    if entry is None:
        return None
    from treatyflow.definitions import plain

    treaties, procedures, hashes = entry
    if not (
        _all(treaties, plain.Treaty)
        and _all(procedures, plain.Procedure)
        and isinstance(hashes, dict)
        and all(
            isinstance(k, tuple) and len(k) == 2 and isinstance(v, str) for k, v in hashes.items()
        )
    ):
        return None
    assert isinstance(treaties, dict) and isinstance(procedures, dict)
    return PlainCatalog(treaties, procedures, hashes)


#: Modules whose models and enumerations a cached catalogue may hold.
_DEFINITION_MODULES = (
    "treatyflow.definitions.basics",
    "treatyflow.definitions.procedure",
    "treatyflow.definitions.treaty",
    "treatyflow.evidence",
    "treatyflow.evidence_levels",
    "treatyflow.parties",
)

#: Modules whose enumerations the plain twins may hold (none of them imports pydantic).
_PLAIN_ENUM_MODULES = (
    "treatyflow.definitions.basics",
    "treatyflow.evidence_levels",
    "treatyflow.parties",
)


class _Unpickler(pickle.Unpickler):
    """Plain data, ``datetime`` values, and the definitions' own models and enumerations:
    any other class or function is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in parsecache.ALLOWED:
            return parsecache.ALLOWED[(module, name)]
        if module in _DEFINITION_MODULES:
            from pydantic import BaseModel

            value = getattr(sys.modules.get(module), name, None)
            if isinstance(value, type) and (
                (issubclass(value, BaseModel) and value.__module__ == module)
                or (issubclass(value, Enum) and value.__module__ == module)
            ):
                return value
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed")


class _PlainUnpickler(pickle.Unpickler):
    """Plain data, ``datetime`` values, the twins of :mod:`treatyflow.definitions.plain` and
    the enumerations they hold: any other class or function is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in parsecache.ALLOWED:
            return parsecache.ALLOWED[(module, name)]
        value: Any = None
        if module == "treatyflow.definitions.plain":
            from treatyflow.definitions import plain

            value = plain.TWINS.get(name)
        elif module in _PLAIN_ENUM_MODULES:
            import importlib

            candidate = getattr(importlib.import_module(module), name, None)
            if (
                isinstance(candidate, type)
                and issubclass(candidate, Enum)
                and candidate.__module__ == module
            ):
                value = candidate
        if value is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed")
        return value
