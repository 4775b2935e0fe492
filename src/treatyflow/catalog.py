"""The catalogue of definitions: shipped workflows plus an optional extra directory.

Reads ``treaties/*.yaml`` and ``procedures/*.yaml`` from each directory (a later directory
overrides an earlier one by id), validates every file with the pydantic models, lints the
whole set, and gives each composed procedure a content hash.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treatyflow import catalogcache
from treatyflow.document import Document, read_definition
from treatyflow.errors import (
    DefinitionError,
    InvalidWorkflow,
    Problem,
    ProcedureNotFound,
    TreatyNotFound,
    WorkflowSyntaxError,
)
from treatyflow.parsecache import ParseCache, cache_dir, digest

if TYPE_CHECKING:  # the models (and pydantic) are imported by what loads or checks them
    from pydantic import BaseModel

    from treatyflow.definitions.procedure import Procedure
    from treatyflow.definitions.treaty import Treaty

#: Content hashes known without dumping their model: ``id(model)`` -> (the model, its hash),
#: for the definitions of a catalogue found in :mod:`treatyflow.catalogcache`, whose hashes
#: were computed by :func:`content_hash` when it was stored. A definition is never changed
#: once loaded (the catalogue's own hash caches rely on that too).
_KNOWN: dict[int, tuple[BaseModel, str]] = {}


def shipped_workflows() -> Path:
    """The definitions shipped with treatyflow (installed wheel, or the source checkout)."""
    installed = Path(__file__).parent / "_workflows"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "workflows"


def content_hash(model: BaseModel) -> str:
    """SHA-256 over the canonical JSON of a definition: what a case is pinned to."""
    known = _KNOWN.get(id(model))
    if known is not None and known[0] is model:
        return known[1]
    return _definition_digest(model.model_dump(mode="json"))


def _definition_digest(data: Any) -> str:
    """The one definition hash: SHA-256 over sorted, compact, UTF-8 JSON of ``data``."""
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def snapshot_hash(content: str) -> str:
    """The content hash of a stored definition snapshot (its ``model_dump_json`` text):
    ``content_hash`` of the model it holds, computed from the text alone.

    Parsing the snapshot gives ``model_dump(mode="json")``; that is hashed exactly as
    :func:`content_hash` does (sorted keys, compact, UTF-8). A key that appears twice in an
    object is refused (``ValueError``): the hash would cover one copy and a reader could
    take the other.
    """
    return _definition_digest(json.loads(content, object_pairs_hook=_unique_keys))


def snapshot_problem(digest: str, kind: str, content: Any) -> str | None:
    """Why a stored snapshot cannot be trusted (None when it re-hashes to ``digest`` and
    holds a valid procedure or treaty)."""
    if not isinstance(content, str):
        return "its content is not text"
    try:
        computed = snapshot_hash(content)
    except RecursionError:
        return "its content is nested too deeply"
    except ValueError as exc:
        return f"its content is not JSON ({exc})"
    if computed != digest:
        return f"its content hashes to {computed[:19]}..., not to the hash it is stored under"
    from pydantic import ValidationError

    from treatyflow.definitions.procedure import Procedure
    from treatyflow.definitions.treaty import Treaty

    model: Any = {"procedure": Procedure, "treaty": Treaty}.get(kind)
    if model is None:
        return f"its kind {kind!r} is neither procedure nor treaty"
    try:
        model.model_validate_json(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"its content is not a valid {kind} ({where}: {first['msg']})"
    return None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


@dataclass
class Catalog:
    treaties: dict[str, Treaty] = field(default_factory=dict)
    procedures: dict[str, Procedure] = field(default_factory=dict)
    """Raw procedures and parts, as written."""
    documents: dict[tuple[str, str], Document] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    _hashes: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)
    """Content hashes stored with a cached catalogue: (kind, id) -> hash."""

    # -- lookups ---------------------------------------------------------------------
    def treaty(self, treaty_id: str) -> Treaty:
        try:
            return self.treaties[treaty_id]
        except KeyError:
            raise TreatyNotFound(treaty_id, sorted(self.treaties)) from None

    def procedure(self, procedure_id: str) -> Procedure:
        """The composed procedure (parts merged in)."""
        raw = self.procedures.get(procedure_id)
        if raw is None or raw.part:
            raise ProcedureNotFound(procedure_id, sorted(self.whole_procedures()))
        return self._composed(procedure_id)

    @functools.cache  # noqa: B019 - as _composed: the composed procedure never changes
    def procedure_hash(self, procedure_id: str) -> str:
        """The content hash of the composed procedure (computed once per procedure)."""
        return content_hash(self.procedure(procedure_id))

    @functools.cache  # noqa: B019 - as procedure_hash
    def treaty_hash(self, treaty_id: str) -> str:
        """The content hash of the treaty (computed once per treaty)."""
        return content_hash(self.treaty(treaty_id))

    def whole_procedures(self) -> list[str]:
        return sorted(pid for pid, p in self.procedures.items() if not p.part)

    def default_procedure(self, country: str, action: str, treaty_id: str) -> str:
        """The country's own procedure for the action where one exists, else the generic one."""
        for want_country in (country, "generic"):
            for pid in self.whole_procedures():
                proc = self.procedures[pid]
                if (
                    proc.country == want_country
                    and action in proc.actions
                    and (not proc.treaties or treaty_id in proc.treaties)
                ):
                    return pid
        raise ProcedureNotFound(
            f"{country.lower()}/{action}",
            self.whole_procedures(),
            why=f"no procedure of {country} or generic covers the action {action!r}",
        )

    @functools.cache  # noqa: B019 - the catalogue lives for the process; procedures are few
    def _composed(self, procedure_id: str) -> Procedure:
        parts = {pid: p for pid, p in self.procedures.items() if p.part}
        composed = self.procedures[procedure_id].compose(parts)
        digest = self._hashes.get(("procedure", procedure_id))
        if digest is not None:
            _KNOWN[id(composed)] = (composed, digest)
        return composed

    def __hash__(self) -> int:
        return id(self)

    def known_hash(self, kind: str, ident: str, digest: str) -> None:
        """Record the content hash of treaty or whole procedure ``ident`` (computed when
        this catalogue was cached), so that :func:`content_hash` need not dump it."""
        self._hashes[(kind, ident)] = digest
        if kind == "treaty" and ident in self.treaties:
            model = self.treaties[ident]
            _KNOWN[id(model)] = (model, digest)

    # -- locating problems -----------------------------------------------------------
    def locate(
        self, kind: str, ident: str, where: tuple[str | int, ...]
    ) -> tuple[str, int | None]:
        doc = self.documents.get((kind, ident))
        if doc is None:
            return (f"<{kind} {ident}>", None)
        return (doc.path, doc.line_of(where))


def load_catalog(
    directories: Sequence[Path], *, files: Sequence[Path] = (), strict: bool = True
) -> Catalog:
    """Load every definition under ``directories`` (later ones override by id), then ``files``.

    With ``strict`` an InvalidWorkflow listing every problem is raised; otherwise the
    problems are left on ``Catalog.problems`` for ``workflow lint`` to print. A strict load
    of directories whose files are byte for byte those of a load that found no problem is
    taken from :mod:`treatyflow.catalogcache`.
    """
    listing = [(directory, _definition_files(directory)) for directory in directories]
    key = None
    if strict and not files and cache_dir() is not None:
        key = catalogcache.files_key(listing)
        cached = catalogcache.load(directories, key) if key is not None else None
        if cached is not None:
            return cached
    catalog = Catalog()
    for directory, found in listing:
        cache = ParseCache(directory)
        for kind, path in found:
            _load_one(catalog, kind, path, cache)
        cache.save()
    for path in files:  # files named one by one (being linted, usually): never cached
        _load_one(catalog, _kind_of(path), path, None)
    from treatyflow.definitions.lint import lint  # not needed by a cached catalogue

    # Root causes first: what is wrong in a file itself (YAML, keys, types), then wrong or
    # misspelt names, then what follows from them (unreachable states, no way out).
    roots, consequences = lint(catalog.treaties, catalog.procedures, catalog.locate)
    catalog.problems = [
        *sorted(catalog.problems, key=_where),
        *sorted(roots, key=_where),
        *sorted(consequences, key=_where),
    ]
    if strict and catalog.problems:
        raise InvalidWorkflow(catalog.problems)
    if key is not None:
        catalogcache.save(directories, key, catalog)
    return catalog


def load_plain_catalog(directories: Sequence[Path]) -> catalogcache.PlainCatalog | None:
    """The current treaties and whole procedures as plain twins, from the validated
    catalogue cache, when it holds exactly the definitions under ``directories`` (what
    :func:`load_catalog` would find there); None otherwise (no cache, another set of files,
    ``TREATYFLOW_NO_CACHE``): the caller then loads the catalogue."""
    if cache_dir() is None:
        return None
    listing = [(directory, _definition_files(directory)) for directory in directories]
    key = catalogcache.files_key(listing)
    return catalogcache.load_plain(directories, key) if key is not None else None


def _definition_files(directory: Path) -> list[tuple[str, Path]]:
    """A directory's definition files in load order: treaties, then procedures."""
    return [
        (kind, path)
        for kind, sub in (("treaty", "treaties"), ("procedure", "procedures"))
        for path in _yaml_files(directory / sub)
    ]


def _where(problem: Problem) -> tuple[str, int]:
    return (problem.path, problem.line or 0)


def lint_paths(paths: Iterable[Path], base: Sequence[Path]) -> list[Problem]:
    """Every problem in ``paths`` (files or workflow directories) with the ``base`` catalogue."""
    directories = list(base)
    files: list[Path] = []
    for path in paths:
        (directories if path.is_dir() else files).append(path)
    return load_catalog(directories, files=files, strict=False).problems


def _kind_of(path: Path) -> str:
    if path.parent.name == "procedures":
        return "procedure"
    if path.parent.name == "treaties":
        return "treaty"
    from treatyflow.loader import load_file

    try:
        data = load_file(path).data
    except DefinitionError:
        return "treaty"
    keys = set(data) if isinstance(data, dict) else set()
    return "procedure" if keys & {"states", "transitions", "part", "include"} else "treaty"


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def _parse(path: Path, cache: ParseCache | None) -> Document:
    """The parsed file: from the cache when these exact bytes were parsed before."""
    raw = read_definition(path)
    key = digest(raw) if cache is not None else ""
    doc = cache.get(key, str(path)) if cache is not None else None
    if doc is None:
        from treatyflow.loader import load_bytes  # imports yaml: only when parsing

        doc = load_bytes(raw, str(path))
        if cache is not None:
            cache.put(key, doc)
    return doc


def _load_one(catalog: Catalog, kind: str, path: Path, cache: ParseCache | None) -> None:
    from pydantic import ValidationError

    from treatyflow.definitions.procedure import Procedure
    from treatyflow.definitions.treaty import Treaty

    model: type[BaseModel] = Treaty if kind == "treaty" else Procedure
    try:
        doc = _parse(path, cache)
    except WorkflowSyntaxError as exc:
        catalog.problems.append(Problem(exc.path, exc.line, str(exc).split(": ", 1)[-1]))
        return
    if not isinstance(doc.data, dict):
        catalog.problems.append(Problem(doc.path, 1, f"a {kind} file must be a mapping"))
        return
    try:
        item: Any = model.model_validate(doc.data)
    except ValidationError as exc:
        from treatyflow.definitions.problems import repaired, schema_message

        errors = exc.errors()
        for err in errors:
            loc = tuple(err["loc"])
            catalog.problems.append(
                Problem(doc.path, doc.line_of(loc), schema_message(model, err))
            )
        # Lint the rest of the file as if the offending keys were absent, so every problem
        # shows at once; a strict load has raised on the problems above before any use.
        item = repaired(model, doc.data, errors)
        if item is None:
            return
    registry: dict[str, Any] = catalog.treaties if kind == "treaty" else catalog.procedures
    registry[item.id] = item
    catalog.documents[(kind, item.id)] = doc
