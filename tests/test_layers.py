"""The architecture's import rules: each I/O library has one home; the domain core has none."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "treatyflow"

#: Modules of the domain core: pure, no I/O libraries.
CORE = [
    "definitions",
    "legal",
    "evidence.py",
    "events.py",
    "chain.py",
    "projection.py",
    "values.py",
    "errors.py",
    "redaction.py",
]

#: Library → where it may be imported (paths relative to the package).
HOMES = {
    "click": ("cli/", "docgen.py"),
    "rich": ("cli/",),
    "yaml": ("loader.py",),
    "transitions": ("engine.py",),
    "sqlalchemy": ("store/",),
    "sqlmodel": ("store/",),
    "alembic": ("store/",),
    "jinja2": ("reports/",),
    "icalendar": ("reports/",),
    "starlette": ("web/",),
    "uvicorn": ("web/",),
    "cryptography": ("keys.py",),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("library", sorted(HOMES))
def test_each_io_library_is_imported_only_in_its_home(library: str) -> None:
    """click, rich, yaml, transitions, SQLAlchemy, Jinja2 ... are each imported in one place."""
    offenders = [
        _relative(p)
        for p in _modules()
        if library in _imports(p) and not _relative(p).startswith(HOMES[library])
    ]
    assert offenders == []


def test_domain_core_imports_no_io_library() -> None:
    """The domain core (definitions, legal time, events, chain, projection) stays pure."""
    banned = set(HOMES)
    offenders = {}
    for path in _modules():
        rel = _relative(path)
        if any(rel == c or rel.startswith(c + "/") for c in CORE):
            bad = _imports(path) & banned
            if bad:
                offenders[rel] = sorted(bad)
    assert offenders == {}


def test_domain_core_does_not_import_outer_layers() -> None:
    """The core never imports the app layer, the store, the CLI or the reports."""
    outer = ("treatyflow.app", "treatyflow.store", "treatyflow.cli", "treatyflow.reports")
    offenders = []
    for path in _modules():
        rel = _relative(path)
        if not any(rel == c or rel.startswith(c + "/") for c in CORE):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(outer):
                offenders.append(f"{rel}: {node.module}")
    assert offenders == []


def test_renderers_never_open_the_database() -> None:
    """Reports receive data: nothing under reports/ imports the store, the app layer or the
    CLI."""
    offenders = []
    for path in (PACKAGE / "reports").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith(
                    ("treatyflow.store", "treatyflow.app", "treatyflow.cli", "sqlalchemy")
                )
            ):
                offenders.append(f"{_relative(path)}: {node.module}")
    assert offenders == []


def test_the_web_view_calls_the_workspace_never_the_store() -> None:
    """Nothing under web/ imports the store or SQLAlchemy: pages go through the Workspace."""
    offenders = [
        f"{_relative(path)}: {module}"
        for path in (PACKAGE / "web").rglob("*.py")
        for module in sorted(_imported_modules(path))
        if module.startswith(("treatyflow.store", "sqlalchemy", "treatyflow.app.core"))
    ]
    assert offenders == []


def _imported_modules(path: Path) -> set[str]:
    """Every treatyflow module a file imports (absolute imports, at any depth)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    ("layer", "banned"),
    [
        ("store", ("treatyflow.app", "treatyflow.cli", "treatyflow.web")),
        ("app", ("treatyflow.cli", "treatyflow.web")),
    ],
)
def test_inner_layers_never_import_outer_ones(layer: str, banned: tuple[str, ...]) -> None:
    """The store never imports the app layer or the CLI; the app layer never imports the CLI."""
    offenders = [
        f"{_relative(path)}: {module}"
        for path in (PACKAGE / layer).rglob("*.py")
        for module in sorted(_imported_modules(path))
        if module.startswith(banned)
    ]
    assert offenders == []
