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

from treatyflow.errors import WorkflowSyntaxError

MAX_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000

Path_ = tuple[str | int, ...]
LineMap = dict[Path_, int]

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


class _Loader(yaml.SafeLoader):
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


def load_file(path: Path) -> Document:
    """Read and parse one definition file; raise WorkflowSyntaxError naming the file."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WorkflowSyntaxError(name, None, f"cannot read the file ({exc.strerror})") from exc
    return load_bytes(raw, name)


def load_bytes(raw: bytes, name: str) -> Document:
    if len(raw) > MAX_BYTES:
        raise WorkflowSyntaxError(
            name, None, f"the file is {len(raw):,} bytes; definitions are limited to {MAX_BYTES:,}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WorkflowSyntaxError(
            name, None, f"the file is not UTF-8 (byte {exc.start} cannot be decoded)"
        ) from exc
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise WorkflowSyntaxError(name, line, f"not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise WorkflowSyntaxError(name, None, f"not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
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


def _scalar(loader: _Loader, node: yaml.Node, name: str) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise WorkflowSyntaxError(
            name, node.start_mark.line + 1, f"cannot read the value {node.value!r} ({exc})"
        ) from exc
