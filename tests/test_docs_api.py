"""docs/api.md runs as written: every ``python`` block executes in order, and the ``text``
block after one is exactly what it printed."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"

_BLOCK = re.compile(r"^```(python|text)\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def test_the_api_walkthrough_runs_and_prints_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each code block of docs/api.md runs; each output block is its block's output."""
    monkeypatch.chdir(tmp_path)
    blocks = _blocks()
    assert sum(1 for kind, _ in blocks if kind == "python") >= 8
    namespace: dict[str, object] = {}
    printed = ""
    checked = 0
    for kind, body in blocks:
        if kind == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(body, str(DOC), "exec"), namespace)
            printed = out.getvalue()
        else:
            assert printed == body, f"docs/api.md shows\n{body}\nbut the code printed\n{printed}"
            printed = ""
            checked += 1
    assert checked >= 8


def _public_names() -> list[str]:
    import treatyflow

    errors = {
        name
        for name in treatyflow.__all__
        if isinstance(getattr(treatyflow, name), type)
        and issubclass(getattr(treatyflow, name), treatyflow.TreatyflowError)
    }
    return [name for name in treatyflow.__all__ if name not in errors]


@pytest.mark.parametrize("name", _public_names())
def test_every_public_name_is_in_the_api_page(name: str) -> None:
    """Each name of ``treatyflow.__all__`` (errors aside: docs/errors.md has a section for
    each, tests/test_docs.py checks it) is named in docs/api.md, in code."""
    assert re.search(rf"`{re.escape(name)}\b", DOC.read_text(encoding="utf-8")), (
        f"docs/api.md does not name `{name}`; add it to 'Every public name'."
    )


def _workspace_methods() -> list[str]:
    import treatyflow

    return sorted(n for n in vars(treatyflow.Workspace) if not n.startswith("_"))


@pytest.mark.parametrize("method", _workspace_methods())
def test_every_workspace_method_is_in_the_api_page(method: str) -> None:
    """Each public method of ``Workspace`` is named in docs/api.md, in code (a method with
    its parenthesis, a property by its name)."""
    import treatyflow

    call = "" if isinstance(vars(treatyflow.Workspace)[method], property) else r"\("
    pattern = rf"`(?:\w+\.)?{re.escape(method)}{call}"
    assert re.search(pattern, DOC.read_text(encoding="utf-8")), (
        f"docs/api.md does not describe Workspace.{method}()."
    )
