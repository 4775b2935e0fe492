"""Schema problems in words a definition's author can act on: "did you mean" suggestions for
misspelt keys and names, and a best-effort repair so the whole-set checks still run on a
file with a schema problem (``workflow lint`` lists every problem at once).

Pure: pydantic models and plain data in, strings and data out.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError


def did_you_mean(word: object, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""`` when none is close."""
    if not isinstance(word, str):
        return ""
    found = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.7)
    return f"; did you mean {found[0]!r}?" if found else ""


def _inner(annotation: Any) -> tuple[type[BaseModel] | None, int]:
    """The model an annotation holds, and how many container levels (list index, dict key)
    stand between the field and that model in an error's location."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation, 0
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _inner(args[0])
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            model, depth = _inner(arg)
            if model is not None:
                return model, depth
        return None, 0
    if origin in (list, tuple, set, frozenset, Sequence) and args:
        model, depth = _inner(args[0])
        return model, depth + 1
    if origin in (dict, Mapping) and len(args) == 2:
        model, depth = _inner(args[1])
        return model, depth + 1
    return None, 0


def known_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys allowed in the mapping at ``loc`` of a ``model`` document ([] if unknown)."""
    current: type[BaseModel] | None = model
    skip = 0
    for part in loc:
        if skip:
            skip -= 1
            continue
        if current is None or not isinstance(part, str):
            return []
        fields = {(f.alias or name): f for name, f in current.model_fields.items()}
        if part not in fields:
            if part == current.__name__ or part.startswith("function-"):
                continue  # a union member's tag in pydantic's location, not a key
            return []
        current, skip = _inner(fields[part].annotation)
    if current is None:
        return []
    return [(f.alias or name) for name, f in current.model_fields.items()]


def schema_message(model: type[BaseModel], error: Mapping[str, Any]) -> str:
    """One pydantic error as a lint message: the key path, what is wrong, and a suggestion."""
    loc = tuple(error["loc"])
    where = ".".join(str(p) for p in loc if not str(p).startswith("function-"))
    if error["type"] == "extra_forbidden":
        return f"unknown key {where!r}" + did_you_mean(loc[-1], known_keys(model, loc[:-1]))
    text = f"{where}: {error['msg']}" if where else str(error["msg"])
    if error["type"] == "bool_type" and isinstance(error.get("input"), str):
        # The YAML rules keep yes/no/on/off as text (docs/definitions.md, "YAML rules").
        text += f" (write true or false; {error['input']!r} is text here)"
    return text


def repaired(model: type[BaseModel], data: Any, errors: Sequence[Mapping[str, Any]]) -> Any:
    """The model built from ``data`` without the keys the ``errors`` point at, or None.

    Only optional keys can be dropped; a document that still fails (a required key
    missing or wrong) gives None. The result serves the whole-set checks of a lint run,
    never a case: the file's own problems are reported either way.
    """
    doc = copy.deepcopy(data)
    for _ in range(3):
        for error in errors:
            if not _drop(doc, tuple(error["loc"])):
                return None
        try:
            return model.model_validate(doc)
        except ValidationError as exc:
            errors = exc.errors()
    return None


def _drop(doc: Any, loc: tuple[Any, ...]) -> bool:
    path = [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    if not path or not isinstance(path[-1], str):
        return False
    node = doc
    for part in path[:-1]:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        else:
            return False
    if not isinstance(node, dict) or path[-1] not in node:
        return False
    del node[path[-1]]
    return True
