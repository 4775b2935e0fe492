"""Case files: YAML data replayed through the workspace."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from treatyflow import casefile
from treatyflow.app import casefiles
from treatyflow.errors import InvalidWorkflow

GOOD = """\
case:
  id: FRA-ottawa-x
  country: FRA
  treaty: ottawa
  opened_on: 2025-03-01
  sources: [{citation: "A note verbale"}]
events:
  - advance: decide
    on: 2025-04-01
    sources: [{citation: "Decree", level: official, kind: decree}]
  - set-fact: {armed_conflict: false}
    on: 2025-04-02
    sources: [{citation: "Assessment"}]
  - record: statement
    on: 2025-04-03
    by: FRA
    sources: [{citation: "Press release"}]
  - note: "Checked the gazette."
    on: 2025-04-04
    sources: [{citation: "Journal officiel"}]
  - advance: notify
    on: 2025-05-02
    sources: [{citation: "C.N. notification", level: official}]
"""


def test_a_case_file_replays_every_step(ws: Any, tmp_path: Path) -> None:
    """Each step of a case file becomes one event, in order, with its sources."""
    path = tmp_path / "fra.yaml"
    path.write_text(GOOD, encoding="utf-8")
    ws.actor = "loader"
    loaded = casefiles.replay(ws, path)
    assert (loaded.case_id, loaded.events) == ("FRA-ottawa-x", 6)
    kinds = [e.to_dict()["kind"] for e in ws.history("FRA-ottawa-x")]
    assert kinds == ["open", "advance", "set-fact", "record", "note", "advance"]
    assert ws.case("FRA-ottawa-x").to_dict()["effective_on"] == "2025-11-02"


def test_a_step_without_a_source_is_refused_with_its_line(tmp_path: Path) -> None:
    """A case-file step with no source is an error naming the file and line."""
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace('    sources: [{citation: "Assessment"}]\n', ""), "utf-8")
    with pytest.raises(InvalidWorkflow) as info:
        casefile.read(path)
    problem = info.value.problems[0]
    assert (str(path), 11) == (problem.path, problem.line)  # the step that lacks it
    assert "sources" in problem.message


@pytest.mark.parametrize(
    ("step", "key"),
    [
        ("  - advance: decide\n    by: FRA\n", "'by' belongs to a record step"),
        ("  - note: text\n    by: FRA\n", "'by' belongs to a record step"),
        ("  - record: statement\n    to: notified\n", "'to' belongs to an advance step"),
        ("  - note: x\n    out_of_procedure: why\n", "'out_of_procedure' belongs to an advance"),
    ],
    ids=["by-on-advance", "by-on-note", "to-on-record", "reason-on-note"],
)
def test_a_key_the_step_does_not_read_is_refused(tmp_path: Path, step: str, key: str) -> None:
    """A key another kind of step reads is an error with its line, not silently ignored."""
    path = tmp_path / "misplaced.yaml"
    text = GOOD + step + "    on: 2025-05-03\n    sources: [{citation: X}]\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidWorkflow) as info:
        casefile.read(path)
    (problem,) = info.value.problems
    assert key in problem.message
    assert problem.line == GOOD.count("\n") + 1


def test_shipped_examples_all_parse() -> None:
    """Every shipped example case file is valid."""
    files = sorted((casefile.examples_dir() / "ottawa-2025").glob("*.yaml"))
    assert len(files) == 6
    for path in files:
        assert casefile.read(path).events


def test_the_example_in_docs_replays_as_documented(ws: Any, tmp_path: Path) -> None:
    """docs/case-files.md's example is a valid case file with the events and date it states."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "case-files.md").read_text("utf-8")
    (example,) = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    path = tmp_path / "doc.yaml"
    path.write_text(example, encoding="utf-8")
    loaded = casefiles.replay(ws, path)
    kinds = [e.to_dict()["kind"] for e in ws.history(loaded.case_id)]
    assert kinds == ["open", "advance", "set-fact", "record", "note", "advance"]
    assert "six events (`open`, `advance`, `set-fact`, `record`, `note`, `advance`)" in doc
    assert ws.case(loaded.case_id).to_dict()["effective_on"] == "2025-11-02"
    assert "effect date of 2 Nov 2025" in doc
