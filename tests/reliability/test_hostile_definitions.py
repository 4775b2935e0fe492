"""Malformed and hostile definition files are refused, naming the file, executing nothing.

Each hostile file is put in ``DIR/treaties/`` (or ``DIR/procedures/``) and used two ways:
``--workflows DIR case open ...`` (refused with one ``Error:`` line naming the file, the
database unchanged) and ``workflow lint PATH`` (exit 1, the file named in the listed
problems). A marker file proves no YAML tag ran code.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treatyflow.errors import WorkflowSyntaxError
from treatyflow.loader import MAX_BYTES, load_bytes

Cli = Callable[..., Result]
Dump = Callable[[Path], str]
MARKER = "PWNED-MARKER"


def _bomb() -> bytes:
    lines = [b'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        refs = ", ".join([f"*{prev}"] * 9)
        lines.append(f"{name}: &{name} [{refs}]".encode())
    return b"\n".join(lines) + b"\n"


def _deep(levels: int) -> bytes:
    return (
        b"".join(b"  " * i + f"k{i}:\n".encode() for i in range(levels)) + b"  " * levels + b"x\n"
    )


def hostile_files(marker: Path) -> dict[str, bytes]:
    """name -> content; every one must be refused."""
    cmd = f"touch {marker}"
    return {
        "python-apply": f'id: x\nname: !!python/object/apply:os.system ["{cmd}"]\n'.encode(),
        "python-new": f'!!python/object/new:os.system ["{cmd}"]\n'.encode(),
        "python-name": b"id: !!python/name:os.system\n",
        "python-module": b"id: !!python/module:os\n",
        "custom-tag": b"id: !shell rm -rf /\n",
        "binary-tag": b"id: !!binary aGVsbG8=\n",
        "set-tag": b"id: x\nactions: !!set {a, b}\n",
        "merge-key": b"base: &b {id: x}\nother:\n  <<: *b\n",
        "alias-bomb": _bomb(),
        "self-alias": b"a: &a [*a]\n",
        "huge": b"id: x\nname: " + b"a" * (2 * 1024 * 1024) + b"\n",
        "deep-100": _deep(100),
        "deep-flow-5000": b"id: " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "wrong-types": b"id: [1, 2]\nname: {a: b}\nactions: 7\n",
        "wrong-dates": b"id: x\nname: x\nadopted_on: 2025-02-30\n",
        "non-utf8": b"id: caf\xe9\nname: \xff\xfe\n",
        "utf16": "id: x\n".encode("utf-16"),
        "empty": b"",
        "only-comment": b"# nothing here\n",
        "a-list": b"- id: x\n",
        "a-scalar": b"just text\n",
        "duplicate-key": b"id: x\nid: y\n",
        "nul-byte": b"id: x\x00\n",
        "escape-codes": b'id: x\nname: "\\e[2J\\e[31mred"\n',
        "lone-surrogate": b'id: x\nname: "\\ud800"\n',
        "two-documents": b"id: x\n---\nid: y\n",
        "tabs": b"id: x\nactions:\n\t- a\n",
        "huge-int": b"id: " + b"9" * 5000 + b"\n",
    }


HOSTILE_NAMES = sorted(hostile_files(Path(MARKER)))


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """Where a YAML tag that ran a command would leave a file."""
    return tmp_path / MARKER


def _one_error_line(result: Result, file_name: str) -> str:
    shown = result.output
    assert result.exit_code == 1, shown
    assert "Traceback" not in shown and "internal error" not in shown, shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), shown
    assert file_name in lines[0], shown
    return lines[0]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_treaty_file_is_refused(
    name: str, cli: Cli, populated: Path, tmp_path: Path, marker: Path, dump: Dump
) -> None:
    """A hostile treaty file is refused by --workflows and lint, naming it; nothing runs."""
    content = hostile_files(marker)[name]
    workflows = tmp_path / "wf"
    (workflows / "treaties").mkdir(parents=True)
    path = workflows / "treaties" / f"{name}.yaml"
    path.write_bytes(content)
    before = dump(populated)

    opened = cli(
        "case", "open", "--country", "LTU", "--treaty", "ottawa", "--on", "2025-07-01",
        workflows=workflows,
    )  # fmt: skip
    _one_error_line(opened, path.name)
    lint = cli("workflow", "lint", str(path))
    assert lint.exit_code == 1, lint.output
    assert "Traceback" not in lint.output and "internal error" not in lint.output
    assert str(path) in lint.output

    assert dump(populated) == before
    assert not marker.exists()


@pytest.mark.parametrize("name", ["python-apply", "alias-bomb", "non-utf8", "wrong-types"])
def test_hostile_procedure_file_is_refused(
    name: str, cli: Cli, populated: Path, tmp_path: Path, marker: Path, dump: Dump
) -> None:
    """A hostile procedure file is refused just as a treaty file is."""
    workflows = tmp_path / "wf"
    (workflows / "procedures").mkdir(parents=True)
    path = workflows / "procedures" / f"{name}.yaml"
    path.write_bytes(hostile_files(marker)[name])
    before = dump(populated)
    opened = cli("case", "open", "--country", "POL", "--treaty", "ottawa", workflows=workflows)
    _one_error_line(opened, path.name)
    assert dump(populated) == before
    assert not marker.exists()


def test_special_files_are_refused_without_reading_them(cli: Cli, tmp_path: Path) -> None:
    """A FIFO, /dev/zero and a directory named *.yaml are refused instead of hanging."""
    workflows = tmp_path / "wf"
    treaties = workflows / "treaties"
    treaties.mkdir(parents=True)
    os.mkfifo(treaties / "fifo.yaml")
    (treaties / "zero.yaml").symlink_to("/dev/zero")
    (treaties / "dir.yaml").mkdir()
    result = cli("workflow", "lint", str(workflows))
    assert result.exit_code == 1
    for name in ("fifo.yaml", "zero.yaml", "dir.yaml"):
        assert f"{name}: not a regular file" in result.output


def test_a_file_just_over_the_limit_is_refused_by_size() -> None:
    """A definition over MAX_BYTES is refused before it is parsed."""
    with pytest.raises(WorkflowSyntaxError, match="limit"):
        load_bytes(b"#" * (MAX_BYTES + 1), "big.yaml")


def test_a_valid_override_is_accepted(cli: Cli, tmp_path: Path) -> None:
    """Control: a valid override in --workflows is accepted, so the refusals above are real."""
    workflows = tmp_path / "wf"
    (workflows / "treaties").mkdir(parents=True)
    shipped = Path(__file__).resolve().parents[2] / "workflows" / "treaties" / "ottawa.yaml"
    shutil.copy(shipped, workflows / "treaties" / "ottawa.yaml")
    result = cli("workflow", "list", workflows=workflows)
    assert result.exit_code == 0, result.output


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_load_or_are_refused(raw: bytes) -> None:
    """Any bytes either load or raise WorkflowSyntaxError naming the file: never another error."""
    try:
        load_bytes(raw, "fuzz.yaml")
    except WorkflowSyntaxError as exc:
        assert str(exc).startswith("fuzz.yaml")


YAML_PIECES = st.sampled_from(
    ["a", ":", " ", "\n", "- ", "[", "]", "{", "}", "&x ", "*x", "!!", "!t ", '"', "'", "\\",
     "#", "|", ">", "---", "...", "? ", ",", "\t", "<<", "%YAML 1.1\n", "\\u", "\\x1b", "é"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(YAML_PIECES, max_size=60).map("".join))
def test_yaml_like_text_loads_or_is_refused(text: str) -> None:
    """YAML-ish text either loads or raises WorkflowSyntaxError naming the file."""
    try:
        load_bytes(text.encode(), "fuzz.yaml")
    except WorkflowSyntaxError as exc:
        assert str(exc).startswith("fuzz.yaml")


@pytest.mark.slow
@settings(max_examples=20_000, deadline=None)
@given(st.one_of(st.binary(max_size=2000), st.lists(YAML_PIECES, max_size=400).map("".join)))
def test_yaml_fuzz_long(data: bytes | str) -> None:
    """Many random byte strings and YAML-ish texts load or are refused cleanly."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        load_bytes(raw, "fuzz.yaml")
    except WorkflowSyntaxError as exc:
        assert str(exc).startswith("fuzz.yaml")
