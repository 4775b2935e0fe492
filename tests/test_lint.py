"""Whole-set lint: every rule, located by file:line; the shipped definitions are clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from treatyflow.catalog import lint_paths, load_catalog
from treatyflow.errors import InvalidWorkflow

Cli = Callable[..., Result]

INVALID = Path(__file__).parent / "workflows" / "invalid"
SHIPPED = Path(__file__).resolve().parents[1] / "workflows"
SHIPPED_FILES = sorted(SHIPPED.glob("*/*.yaml"))

RULES = [
    pytest.param(
        "unknown-state.yaml",
        [(17, "transition 'wander' to unknown state 'nowhere'")],
        id="unknown-state",
    ),
    pytest.param(
        "unreachable-state.yaml",
        [(11, "state 'island' cannot be reached from 'considering'")],
        id="unreachable-state",
    ),
    pytest.param(
        "dead-end.yaml",
        [(11, "state 'stuck' is not final and has no way out")],
        id="non-final-dead-end",
    ),
    pytest.param(
        "duplicate-trigger.yaml",
        [(15, "trigger 'notify' is declared twice from state 'considering'")],
        id="duplicate-trigger",
    ),
    pytest.param(
        "undeclared-guard-fact.yaml",
        [(16, "guard on undeclared fact 'moon_phase' (declare it under 'facts')")],
        id="guard-on-undeclared-fact",
    ),
    pytest.param(
        "missing-international-states.yaml",
        [
            (
                5,
                f"a withdrawal procedure needs the international state {state!r} "
                "(include 'international-withdrawal')",
            )
            for state in ("notified", "effective", "revoked")
        ],
        id="withdrawal-without-international-states",
    ),
    pytest.param(
        "unknown-include.yaml",
        [(8, "includes unknown part 'no-such-part'")],
        id="unknown-include",
    ),
    pytest.param(
        "include-cycle.yaml",
        [(6, "include cycle: lint-include-cycle -> lint-include-cycle")],
        id="include-cycle",
    ),
    pytest.param(
        "unknown-key.yaml",
        [(4, "unknown key 'colour'"), (12, "unknown key 'states.0.mood'")],
        id="unknown-keys",
    ),
    pytest.param(
        "python-tag.yaml",
        [(3, "the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed")],
        id="python-tag",
    ),
    pytest.param("duplicate-key.yaml", [(4, "the key 'title' appears twice")], id="duplicate-key"),
    pytest.param(
        "party-kind.yaml",
        [
            (
                18,
                "'EUU' is a regional-economic-integration-organization, a kind of party the "
                "treaty does not admit (see 'parties')",
            ),
            (18, "'XXX' is not a known party code"),
        ],
        id="party-kind-not-admitted",  # (#14)
    ),
    pytest.param(
        "review-on-clock.yaml",
        [
            (
                23,
                "transition 'lapse' is fired by a clock; 'roles' and 'review' apply only "
                "to an analyst's step",
            )
        ],
        id="review-on-a-clock-step",
    ),
]


@pytest.mark.parametrize(("name", "expected"), RULES)
def test_lint_rule(name: str, expected: list[tuple[int, str]]) -> None:
    """Each invalid fixture yields exactly its expected problems, at the expected lines."""
    path = INVALID / name
    problems = lint_paths([path], [SHIPPED])
    assert sorted((str(path), line, msg) for line, msg in expected) == sorted(
        (p.path, p.line, p.message) for p in problems
    )


def test_every_invalid_fixture_has_a_rule_test() -> None:
    """Every file under tests/workflows/invalid/ is covered by test_lint_rule."""
    covered = {str(p.values[0]) for p in RULES}
    assert sorted(p.name for p in INVALID.glob("*.yaml")) == sorted(covered)


@pytest.mark.parametrize(
    "path", SHIPPED_FILES, ids=[f"{p.parent.name}/{p.name}" for p in SHIPPED_FILES]
)
def test_shipped_file_lints_clean(path: Path) -> None:
    """Every shipped definition file lints with zero problems."""
    assert lint_paths([path], [SHIPPED]) == []


def test_shipped_catalogue_lints_clean() -> None:
    """The shipped catalogue as a whole has zero problems."""
    assert load_catalog([SHIPPED], strict=False).problems == []


def test_lint_cli_lists_file_and_line(cli: Cli) -> None:
    """workflow lint BADFILE exits 1 and prints each problem as file:line: message, in order."""
    path = INVALID / "unknown-key.yaml"
    result = cli("workflow", "lint", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:4: unknown key 'colour'",
        f"{path}:12: unknown key 'states.0.mood'",
    ]
    assert "2 problem(s)" in result.stderr


def test_lint_cli_several_files(cli: Cli) -> None:
    """workflow lint with several files lists the problems of all of them."""
    files = [INVALID / "dead-end.yaml", INVALID / "unknown-state.yaml"]
    result = cli("workflow", "lint", *map(str, files))
    assert result.exit_code == 1
    assert {f"{files[0]}:11", f"{files[1]}:17"} == {
        line.split(": ")[0] for line in result.stdout.splitlines()
    }


def test_lint_cli_json(cli: Cli) -> None:
    """workflow lint --json reports the problems as one document and exits 1."""
    import json

    path = INVALID / "dead-end.yaml"
    result = cli("workflow", "lint", str(path), "--json")
    assert result.exit_code == 1
    assert {
        "ok": False,
        "problems": [
            {
                "path": str(path),
                "line": 11,
                "message": "state 'stuck' is not final and has no way out",
            }
        ],
    } == json.loads(result.stdout)


def test_lint_cli_directory_with_workflows_layout(cli: Cli, tmp_path: Path) -> None:
    """A workflows directory (procedures/) is linted with the shipped definitions."""
    (tmp_path / "procedures").mkdir()
    bad = tmp_path / "procedures" / "dead-end.yaml"
    bad.write_text((INVALID / "dead-end.yaml").read_text())
    result = cli("workflow", "lint", str(tmp_path))
    assert result.exit_code == 1
    assert [
        f"{bad}:11: state 'stuck' is not final and has no way out"
    ] == result.stdout.splitlines()


def test_invalid_extra_workflows_refuse_every_command(cli: Cli, tmp_path: Path) -> None:
    """An invalid --workflows directory is a one-line domain error for a normal command."""
    (tmp_path / "procedures").mkdir()
    (tmp_path / "procedures" / "dead-end.yaml").write_text((INVALID / "dead-end.yaml").read_text())
    result = cli("workflow", "list", workflows=tmp_path)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid workflow definitions: ")
    assert "dead-end.yaml:11" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_strict_load_raises_every_problem(tmp_path: Path) -> None:
    """A strict load raises InvalidWorkflow carrying every problem at once."""
    (tmp_path / "procedures").mkdir()
    for name in ("dead-end.yaml", "unknown-state.yaml"):
        (tmp_path / "procedures" / name).write_text((INVALID / name).read_text())
    with pytest.raises(InvalidWorkflow) as info:
        load_catalog([SHIPPED, tmp_path])
    assert len(info.value.problems) == 2
    assert "and 1 more" in str(info.value)
