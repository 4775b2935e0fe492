"""Documentation tests: generated files are current, and every command, error and event is
documented (datasette's habit)."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from treatyflow import docgen, errors
from treatyflow.events import EventKind
from treatyflow.loader import load_file

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
WORKFLOWS = ROOT / "workflows"
STALE = "{} is stale; run `make docs` (python -m treatyflow.docgen) and commit the result."


def _read(path: Path) -> str:
    """The file's text; a missing file fails the test by name (it is not read as empty)."""
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing; run `make docs` or restore it."
    return path.read_text(encoding="utf-8")


def test_cli_reference_is_current() -> None:
    """docs/cli-reference.md is exactly what docgen generates from the click commands."""
    expected = docgen.cli_reference()
    assert _read(DOCS / "cli-reference.md") == expected, STALE.format("docs/cli-reference.md")


@pytest.mark.parametrize("rel", sorted(docgen.schemas()))
def test_schema_file_is_current(rel: str) -> None:
    """Each shipped JSON Schema is exactly what docgen generates from the pydantic models."""
    assert _read(ROOT / rel) == docgen.schemas()[rel], STALE.format(rel)


@pytest.mark.parametrize("path", docgen.command_paths())
def test_command_is_in_cli_reference(path: str) -> None:
    """Every command in the click tree has a heading in docs/cli-reference.md."""
    headings = re.findall(r"^#{2,3} `([^`]+)`$", _read(DOCS / "cli-reference.md"), re.M)
    assert path in headings, f"{path!r} is missing from docs/cli-reference.md; run `make docs`."


def _error_classes() -> list[str]:
    return sorted(
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj)
        and issubclass(obj, Exception)
        and obj.__module__ == errors.__name__
    )


@pytest.mark.parametrize("name", _error_classes())
def test_error_class_is_documented(name: str) -> None:
    """Every exception class in treatyflow.errors has a heading in docs/errors.md."""
    headings = re.findall(r"^#{2,4} `([A-Za-z]+)`", _read(DOCS / "errors.md"), re.M)
    assert name in headings, f"docs/errors.md has no '### `{name}`' section."


@pytest.mark.parametrize("kind", [k.value for k in EventKind])
def test_event_kind_is_described(kind: str) -> None:
    """Every EventKind value has a described row in the events table of docs/concepts.md."""
    rows = re.findall(r"^\| `([a-z-]+)` \| \S", _read(DOCS / "concepts.md"), re.M)
    assert kind in rows, f"docs/concepts.md has no '| `{kind}` | ...' row."


def _definition_files() -> list[Path]:
    return sorted(
        p for sub in ("treaties", "procedures") for p in (WORKFLOWS / sub).glob("*.y*ml")
    )


def _as_json(value: Any) -> Any:
    """YAML data as an editor sees it: dates (which the loader parses) become ISO strings."""
    return json.loads(
        json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, dt.date) else v)
    )


@pytest.mark.parametrize("path", _definition_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_definition_file_validates_against_shipped_schema(path: Path) -> None:
    """Every shipped definition file validates against the shipped JSON Schema of its kind."""
    kind = "treaty" if path.parent.name == "treaties" else "procedure"
    data = _as_json(load_file(path).data)
    schema = json.loads(_read(WORKFLOWS / "schema" / f"{kind}.schema.json"))
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)
    ]
    assert not problems, f"{path.name} does not validate against {kind}.schema.json: {problems}"


# ---------------------------------------------------------------------------- references
def _markdown_files() -> list[Path]:
    return sorted([*DOCS.rglob("*.md"), *ROOT.glob("*.md")])


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link in a Markdown page points at a file that exists."""
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", _read(page))
    dangling = [t for t in links if not re.match(r"[a-z]+:", t) and not (page.parent / t).exists()]
    assert dangling == [], f"{page.relative_to(ROOT)} links to missing files: {dangling}"


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation but ``-`` and ``_``
    dropped, spaces to ``-``; headings inside code blocks do not count."""
    text = re.sub(r"^```.*?^```", "", _read(page), flags=re.S | re.M)
    headings = re.findall(r"^#{1,6} (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_link_anchors_resolve(page: Path) -> None:
    """Every ``page.md#anchor`` link (and ``#anchor`` in the same page) names a heading there."""
    links = re.findall(r"\]\(([^)#\s]*\.md|)#([^)\s]+)\)", _read(page))
    dangling = [
        f"{target}#{anchor}"
        for target, anchor in links
        if (page.parent / target if target else page).is_file()
        and anchor not in _anchors(page.parent / target if target else page)
    ]
    assert dangling == [], f"{page.relative_to(ROOT)} links to missing headings: {dangling}"


def test_docs_paths_mentioned_anywhere_exist() -> None:
    """A docs/ path named in the code, the Makefile, the tests or the pages exists."""
    texts = [*_markdown_files(), ROOT / "Makefile", *(ROOT / "src").rglob("*.py")]
    texts += (ROOT / "tests").rglob("*.py")
    missing = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in texts
        for name in re.findall(r"(?<![\w/.])(docs/[\w./*{},-]*\w)", _read(path))
        if not list(ROOT.glob(name)) and not (ROOT / name).exists()
    )
    assert missing == []


def test_makefile_docs_target_names_what_docgen_writes() -> None:
    """The Makefile's comment on `make docs` names exactly the files docgen generates."""
    makefile = _read(ROOT / "Makefile")
    comment = re.search(r"((?:^## .*\n)+)docs:", makefile, re.M)
    assert comment is not None, "the docs target has no ## comment"
    text = " ".join(line.removeprefix("## ") for line in comment.group(1).splitlines())
    named = set(re.findall(r"[\w/-]+/[\w{},.-]+\.(?:md|json)", text))
    expanded = set()
    for name in named:
        brace = re.search(r"\{([^}]*)\}", name)
        options = brace.group(1).split(",") if brace else [""]
        expanded |= {name.replace(brace.group(0), o) if brace else name for o in options}
    assert expanded == set(docgen.generated())
