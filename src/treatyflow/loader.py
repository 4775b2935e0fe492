"""YAML definition files → plain data with a line for every key (the only importer of yaml).

Safety: PyYAML's SafeLoader only; any tag beyond the core schema is refused; YAML 1.1
booleans other than true/false stay strings (a state called ``on`` or ``no`` stays a string);
file size, nesting depth and the number of nodes (alias bombs) are bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from treatyflow.document import MAX_BYTES, Document, LineMap, Path_, read_definition
from treatyflow.errors import WorkflowSyntaxError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "Document", "load_bytes", "load_file"]

MAX_DEPTH = 40
MAX_NODES = 200_000

_STANDARD_TAGS = {
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


#: libyaml's parser (about ten times faster) when PyYAML was built with it; the pure-Python
#: SafeLoader otherwise. Both use the same safe constructor and the resolver rules below.
_C_PARSER: bool = bool(getattr(yaml, "__with_libyaml__", False))
_Base: Any = yaml.CSafeLoader if _C_PARSER else yaml.SafeLoader


class _Loader(_Base):  # type: ignore[misc]
    """SafeLoader where only true/false (any case) are booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_file(path: Path) -> Document:
    """Read and parse one definition file; raise WorkflowSyntaxError naming the file."""
    return load_bytes(read_definition(path), str(path))


def load_bytes(raw: bytes, name: str) -> Document:
    if len(raw) > MAX_BYTES:
        raise WorkflowSyntaxError(
            name, None, f"the file is over {MAX_BYTES:,} bytes, the limit for a definition"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WorkflowSyntaxError(
            name, None, f"the file is not UTF-8 (byte {exc.start} cannot be decoded)"
        ) from exc
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader refuses NUL and other control characters here
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise WorkflowSyntaxError(name, line, f"not valid YAML: {exc.problem}") from exc
    except yaml.reader.ReaderError as exc:
        # libyaml counts the position in bytes of the UTF-8 text, PyYAML in characters
        before = raw[: exc.position] if _C_PARSER else text[: exc.position].encode()
        line = before.count(b"\n") + 1
        char = exc.character
        code = ord(char) if isinstance(char, str) else int(char)
        raise WorkflowSyntaxError(
            name, line, f"not valid YAML: the control character U+{code:04X} is not allowed"
        ) from exc
    except yaml.YAMLError as exc:
        raise WorkflowSyntaxError(name, None, f"not valid YAML: {_one_line(str(exc))}") from exc
    except RecursionError as exc:  # PyYAML's composer recurses once per nesting level
        raise WorkflowSyntaxError(name, None, f"nested deeper than {MAX_DEPTH} levels") from exc
    finally:
        if loader is not None:
            loader.dispose()
    assert loader is not None
    if node is None:
        raise WorkflowSyntaxError(name, None, "the file is empty")
    lines: LineMap = {(): node.start_mark.line + 1}
    counter = iter(range(MAX_NODES + 1))
    data = _convert(loader, node, (), lines, name, counter)
    return Document(name, data, lines)


def _convert(
    loader: _Loader,
    node: yaml.Node,
    path: Path_,
    lines: LineMap,
    name: str,
    counter: Iterator[int],
) -> Any:
    line = node.start_mark.line + 1
    if next(counter) >= MAX_NODES:
        raise WorkflowSyntaxError(
            name, line, f"more than {MAX_NODES:,} values (an alias bomb?); refusing to expand"
        )
    if len(path) > MAX_DEPTH:
        raise WorkflowSyntaxError(name, line, f"nested deeper than {MAX_DEPTH} levels")
    if node.tag not in _STANDARD_TAGS:
        raise WorkflowSyntaxError(name, line, f"the tag {node.tag!r} is not allowed")
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise WorkflowSyntaxError(
                    name, key_node.start_mark.line + 1, "a key must be a plain value"
                )
            key = _scalar(loader, key_node, name)
            if isinstance(key, bool) or key is None:
                key = key_node.value
            key = str(key)
            if key in result:
                raise WorkflowSyntaxError(
                    name, key_node.start_mark.line + 1, f"the key {key!r} appears twice"
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _convert(loader, value_node, (*path, key), lines, name, counter)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            items.append(_convert(loader, item, (*path, index), lines, name, counter))
        return items
    return _scalar(loader, node, name)


_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _scalar(loader: _Loader, node: yaml.Node, name: str) -> Any:
    line = node.start_mark.line + 1
    try:
        value = loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        shown = _short(str(node.value))
        raise WorkflowSyntaxError(
            name, line, f"cannot read the value {shown!r} ({_short(_one_line(str(exc)), 120)})"
        ) from exc
    if isinstance(value, str) and _UNPRINTABLE.search(value):
        # "\e[2J" or "\ud800" escapes: terminal control codes or text that is not Unicode
        raise WorkflowSyntaxError(
            name, line, "a control character or a lone surrogate in a string is not allowed"
        )
    return value


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())
