"""workflow lint (#17): every problem at once, root causes first, "did you mean", and YAML's
yes/no refused where a boolean is expected (docs/definitions.md, "YAML rules")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from treatyflow.catalog import lint_paths, load_catalog
from treatyflow.definitions.problems import did_you_mean, known_keys
from treatyflow.definitions.procedure import Procedure
from treatyflow.definitions.treaty import Treaty
from treatyflow.errors import InvalidWorkflow

Cli = Callable[..., Result]

SHIPPED = Path(__file__).resolve().parents[1] / "workflows"

#: A procedure with a misspelt key, a misspelt destination and a misspelt guard fact.
MISTAKES = """\
id: xyz
title: Example with mistakes
country: LTU
actions: [withdrawal]
include: [international-withdrawal]
initial: considering
states:
  - id: considering
    title: Under consideration
transitions:
  - trigger: notify
    source: considering
    dest: notifed
    gaurds:
      - fact: armed_conflict
        equals: false
  - trigger: wait
    source: considering
    dest: considering
    guards:
      - fact: armed_conflit
        equals: false
"""


def _write(tmp_path: Path, text: str, name: str = "xyz.yaml") -> Path:
    folder = tmp_path / "procedures"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_every_problem_at_once_root_causes_first(tmp_path: Path) -> None:
    """A misspelt key does not hide the rest of the file: the key, then the misspelt names
    with their suggestions, then what follows from them (unreachable states), in that order."""
    path = _write(tmp_path, MISTAKES)
    problems = [(p.line, p.message) for p in lint_paths([path], [SHIPPED])]
    assert problems == [
        (14, "unknown key 'transitions.0.gaurds'; did you mean 'guards'?"),
        (13, "transition 'notify' to unknown state 'notifed'; did you mean 'notified'?"),
        (
            21,
            "guard on undeclared fact 'armed_conflit' (declare it under 'facts'); "
            "did you mean 'armed_conflict'?",
        ),
        (1, "state 'notified' cannot be reached from 'considering'"),
        (1, "state 'effective' cannot be reached from 'considering'"),
        (1, "state 'revoked' cannot be reached from 'considering'"),
    ]


def test_cli_prints_root_causes_before_consequences(cli: Cli, tmp_path: Path) -> None:
    """The command prints them in the same order, and counts them all."""
    path = _write(tmp_path, MISTAKES)
    result = cli("workflow", "lint", str(path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].endswith("did you mean 'guards'?")
    assert lines[-1].endswith("state 'revoked' cannot be reached from 'considering'")
    assert "6 problem(s)" in result.stderr


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n"])
def test_yaml_yes_no_is_refused_for_a_boolean(tmp_path: Path, word: str) -> None:
    """`final: yes` is text (YAML rules), so the boolean field refuses it, saying what to
    write, instead of reading it as true."""
    text = MISTAKES.split("transitions:")[0].replace(
        "    title: Under consideration\n",
        f"    title: Under consideration\n  - id: done\n    title: Done\n    final: {word}\n",
    )
    path = _write(tmp_path, text)
    messages = [p.message for p in lint_paths([path], [SHIPPED])]
    assert (
        f"states.1.final: Input should be a valid boolean (write true or false; {word!r} is "
        "text here)"
    ) in messages
    with pytest.raises(InvalidWorkflow):
        load_catalog([SHIPPED, tmp_path])


def test_true_is_still_a_boolean(tmp_path: Path) -> None:
    """`final: true` is accepted, and the state is final (no 'no way out' problem)."""
    text = MISTAKES.split("transitions:")[0].replace(
        "    title: Under consideration\n",
        "    title: Under consideration\n  - id: done\n    title: Done\n    final: true\n",
    )
    path = _write(tmp_path, text)
    messages = [p.message for p in lint_paths([path], [SHIPPED])]
    assert not any("'done'" in m and "way out" in m for m in messages)
    assert not any("boolean" in m for m in messages)


def test_a_missing_required_key_is_reported_alone(tmp_path: Path) -> None:
    """A file that cannot be repaired (its id is missing) still gives its own problem."""
    path = _write(tmp_path, MISTAKES.replace("id: xyz\n", ""))
    messages = [p.message for p in lint_paths([path], [SHIPPED])]
    assert messages[0] == "id: Field required"


def test_treaty_clause_fact_suggestion(tmp_path: Path) -> None:
    """A treaty clause reading a misspelt fact gets the declared fact suggested."""
    source = (SHIPPED / "treaties" / "ottawa.yaml").read_text()
    assert "postpone_while: armed_conflict" in source
    (tmp_path / "treaties").mkdir()
    path = tmp_path / "treaties" / "ottawa.yaml"
    path.write_text(
        source.replace("postpone_while: armed_conflict", "postpone_while: armed_conflit")
    )
    messages = [p.message for p in lint_paths([path], [SHIPPED])]
    assert (
        "clause reads undeclared fact 'armed_conflit'; did you mean 'armed_conflict'?" in messages
    )


def test_did_you_mean_needs_a_close_match() -> None:
    """Suggestions only for close names: 'colour' is not offered 'country'."""
    assert did_you_mean("notifed", ["notified", "effective"]) == "; did you mean 'notified'?"
    assert did_you_mean("colour", ["country", "title"]) == ""
    assert did_you_mean(3, ["x"]) == ""


def test_known_keys_follow_the_models() -> None:
    """The keys offered are the model's own, through lists and mappings, aliases included."""
    assert "guards" in known_keys(Procedure, ("transitions", 0))
    assert "final" in known_keys(Procedure, ("states", 2))
    assert "postpone_while" in known_keys(Treaty, ("actions", "withdrawal"))
    assert known_keys(Procedure, ("no-such-key",)) == []
