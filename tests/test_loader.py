"""Reading definition YAML safely: strings stay strings, unsafe or hostile input is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from treatyflow.catalog import load_catalog
from treatyflow.errors import WorkflowSyntaxError
from treatyflow.loader import MAX_BYTES, MAX_DEPTH, load_bytes, load_file

INVALID = Path(__file__).parent / "workflows" / "invalid"
SHIPPED = Path(__file__).resolve().parents[1] / "workflows"


def test_yaml_11_booleans_stay_strings() -> None:
    """on/off/yes/no/y/n (YAML 1.1 booleans) are read as strings, keys and values alike."""
    doc = load_bytes(b"on: no\noff: yes\nitems: [y, n, On, NO, Yes]\n", "t.yaml")
    assert doc.data == {"on": "no", "off": "yes", "items": ["y", "n", "On", "NO", "Yes"]}


def test_true_and_false_are_booleans() -> None:
    """Only true/false (any case) are booleans."""
    doc = load_bytes(b"a: true\nb: False\nc: TRUE\n", "t.yaml")
    assert doc.data == {"a": True, "b": False, "c": True}


def test_boolean_and_null_keys_become_their_text() -> None:
    """A key written true or ~ is kept as the text written, not as a bool or None."""
    doc = load_bytes(b"true: 1\n~: 2\n", "t.yaml")
    assert doc.data == {"true": 1, "~": 2}


def test_state_called_on_survives_a_whole_catalogue(tmp_path: Path) -> None:
    """A procedure with states 'on' and 'no' and a trigger 'yes' loads with those names."""
    procs = tmp_path / "procedures"
    procs.mkdir()
    (procs / "yaml11.yaml").write_text(
        "id: yaml11\ntitle: YAML 1.1 words\ncountry: generic\nactions: [withdrawal]\n"
        "include: [international-withdrawal]\ninitial: on\n"
        "states:\n  - id: on\n    title: On\n  - id: no\n    title: No\n"
        "transitions:\n  - trigger: yes\n    source: on\n    dest: no\n"
        "  - trigger: notify\n    source: no\n    dest: notified\n"
    )
    catalog = load_catalog([SHIPPED, tmp_path])
    proc = catalog.procedure("yaml11")
    assert proc.initial == "on"
    assert proc.state_ids[:2] == ["on", "no"]
    assert (
        proc.transitions[0].trigger,
        proc.transitions[0].source,
        proc.transitions[0].dest,
    ) == ("yes", "on", "no")


def test_lines_are_recorded_for_keys_and_items() -> None:
    """Every key and list item has its 1-based line."""
    doc = load_bytes(b"a: 1\nb:\n  - x\n  - c: 2\n", "t.yaml")
    assert (
        doc.line_of(("a",)),
        doc.line_of(("b",)),
        doc.line_of(("b", 0)),
        doc.line_of(("b", 1)),
        doc.line_of(("b", 1, "c")),
    ) == (1, 2, 3, 4, 4)
    assert doc.line_of(("b", 1, "c", "missing")) == 4


def test_python_tag_is_refused_naming_the_file() -> None:
    """!!python/object/apply is refused (never constructed), naming the file and line."""
    path = INVALID / "python-tag.yaml"
    with pytest.raises(WorkflowSyntaxError, match="python/object/apply") as info:
        load_file(path)
    assert (str(path), 3) == (info.value.path, info.value.line)
    assert str(info.value).startswith(f"{path}:3: ")


@pytest.mark.parametrize(
    "text",
    [b"a: !!binary aGVsbG8=\n", b"a: !!set {x, y}\n", b"a: !custom x\n", b"!!omap [a: 1]\n"],
    ids=["binary", "set", "local-tag", "omap"],
)
def test_non_core_tags_are_refused(text: bytes) -> None:
    """Any tag beyond the core schema is refused."""
    with pytest.raises(WorkflowSyntaxError, match="is not allowed"):
        load_bytes(text, "t.yaml")


def test_explicit_core_tags_are_fine() -> None:
    """An explicit core tag (!!str) is accepted."""
    assert load_bytes(b"a: !!str 12\n", "t.yaml").data == {"a": "12"}


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    """A 'billion laughs' alias bomb is refused instead of being expanded."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(WorkflowSyntaxError, match="alias bomb") as info:
        load_file(path)
    assert str(path) == info.value.path


def test_non_utf8_is_refused_naming_the_byte(tmp_path: Path) -> None:
    """A file that is not UTF-8 is refused, naming the file and the offending byte."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: café\n".encode("latin-1"))
    with pytest.raises(WorkflowSyntaxError, match="not UTF-8") as info:
        load_file(path)
    assert str(path) == info.value.path
    assert "byte 7" in str(info.value)


def test_duplicate_keys_are_refused_with_line() -> None:
    """A key that appears twice in a mapping is an error at the second occurrence."""
    path = INVALID / "duplicate-key.yaml"
    with pytest.raises(WorkflowSyntaxError, match="the key 'title' appears twice") as info:
        load_file(path)
    assert info.value.line == 4


def test_invalid_yaml_names_the_line() -> None:
    """A YAML syntax error names the line."""
    with pytest.raises(WorkflowSyntaxError, match="not valid YAML") as info:
        load_bytes(b"a: 1\nb: [unclosed\nc: 2\n", "t.yaml")
    assert info.value.line is not None


def test_empty_file_is_refused() -> None:
    """An empty file is an error, not an empty definition."""
    with pytest.raises(WorkflowSyntaxError, match="empty"):
        load_bytes(b"# only a comment\n", "t.yaml")


def test_multiple_documents_are_refused() -> None:
    """A file holds one document."""
    with pytest.raises(WorkflowSyntaxError):
        load_bytes(b"a: 1\n---\nb: 2\n", "t.yaml")


def test_oversized_file_is_refused() -> None:
    """A file larger than MAX_BYTES is refused before parsing."""
    with pytest.raises(WorkflowSyntaxError, match="1,000,000 bytes"):
        load_bytes(b"#" * (MAX_BYTES + 1), "t.yaml")


def test_deep_nesting_is_refused() -> None:
    """Nesting deeper than MAX_DEPTH is refused."""
    text = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    with pytest.raises(WorkflowSyntaxError, match="nested deeper"):
        load_bytes(text.encode(), "t.yaml")


def test_missing_file_is_reported() -> None:
    """An unreadable file is a WorkflowSyntaxError naming it."""
    path = INVALID / "does-not-exist.yaml"
    with pytest.raises(WorkflowSyntaxError) as info:
        load_file(path)
    assert info.value.path == str(path)
