"""Case files: YAML data replayed through the workspace."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from treatyflow import casefile
from treatyflow.app import casefiles
from treatyflow.errors import CaseFileConflict, InvalidWorkflow, TransitionNotAllowed

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


# ---------------------------------------------------------------------------- import
def _write(tmp_path: Path, text: str, name: str = "fra.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_creates_the_case_and_reports_what_it_added(ws: Any, tmp_path: Path) -> None:
    """A first import opens the case and records every step; the result says so."""
    result = ws.import_case_file(_write(tmp_path, GOOD))
    assert result.to_dict() == {
        "path": str(tmp_path / "fra.yaml"),
        "case_id": "FRA-ottawa-x",
        "events_added": 6,
        "created": True,
        "unchanged": False,
    }


def test_importing_the_same_file_twice_adds_nothing(ws: Any, tmp_path: Path) -> None:
    """The second import of an unchanged file writes no event and says unchanged."""
    path = _write(tmp_path, GOOD)
    ws.import_case_file(path)
    ws.tick(as_of="2026-01-01")  # clock firings in the log are not steps of the file
    version = ws.case("FRA-ottawa-x").version
    again = ws.import_case_file(path)
    assert (again.unchanged, again.created, again.events_added) == (True, False, 0)
    assert ws.case("FRA-ottawa-x").version == version == 7


def test_a_file_with_new_trailing_steps_adds_only_them(ws: Any, tmp_path: Path) -> None:
    """Steps appended to a file already imported are recorded; the others are not again."""
    ws.import_case_file(_write(tmp_path, GOOD))
    more = GOOD + (
        '  - note: "Effect expected in November."\n'
        "    on: 2025-05-03\n"
        '    sources: [{citation: "Desk note"}]\n'
    )
    result = ws.import_case_file(_write(tmp_path, more))
    assert (result.events_added, result.unchanged) == (1, False)
    history = ws.history("FRA-ottawa-x")
    assert [e.kind.value for e in history][-2:] == ["advance", "note"]
    assert sum(e.note == "Checked the gazette." for e in history) == 1


def test_a_changed_step_is_refused_naming_it(ws: Any, tmp_path: Path) -> None:
    """A step that differs from the log refuses the import: step, line, seq and both values
    are named, and nothing is written."""
    ws.import_case_file(_write(tmp_path, GOOD))
    changed = _write(tmp_path, GOOD.replace("on: 2025-04-02", "on: 2025-04-12"), "b.yaml")
    changed_more = changed.read_text("utf-8") + (
        '  - note: "later"\n    on: 2025-06-01\n    sources: [{citation: "x"}]\n'
    )
    changed.write_text(changed_more, "utf-8")
    with pytest.raises(CaseFileConflict) as info:
        ws.import_case_file(changed)
    err = info.value
    assert (err.step, err.line, err.seq) == (2, 12, 3)  # the line of its `on:`
    assert err.differences == [("on", "'2025-04-02'", "'2025-04-12'")]
    assert str(err) == (
        f"{changed} differs from case 'FRA-ottawa-x' at step 2 (events[1], line 12, "
        "the log's seq 3): on: '2025-04-02' in the log, '2025-04-12' in the file."
    )
    assert ws.case("FRA-ottawa-x").version == 6  # the trailing note was not written


def test_a_long_text_that_differs_late_is_shown_where_it_differs(ws: Any, tmp_path: Path) -> None:
    """Two long notes that share their first 60 characters are not both shown as the same
    clipped prefix: each is shown from shortly before the first character that differs."""
    long_note = "Checked the gazette of the Republic, issue of 4 April 2025, page 12, the decree."
    ws.import_case_file(_write(tmp_path, GOOD.replace("Checked the gazette.", long_note)))
    edited = GOOD.replace("Checked the gazette.", long_note.replace("page 12", "page 13"))
    with pytest.raises(CaseFileConflict) as info:
        ws.import_case_file(_write(tmp_path, edited, "e.yaml"))
    [(field, old, new)] = info.value.differences
    assert field == "note"
    assert old != new
    assert "page 12" in old and "page 13" in new
    assert len(old) <= 62 and len(new) <= 62  # still clipped (60 characters and the quotes)


def test_a_different_kind_of_step_and_a_changed_header_are_named(ws: Any, tmp_path: Path) -> None:
    """A step of another kind is named by both labels; a header difference by its key."""
    ws.import_case_file(_write(tmp_path, GOOD))
    other = GOOD.replace("  - record: statement\n", "  - record: objection\n")
    with pytest.raises(CaseFileConflict) as info:
        ws.import_case_file(_write(tmp_path, other, "o.yaml"))
    assert info.value.differences == [("record", "'statement'", "'objection'")]
    header = GOOD.replace("opened_on: 2025-03-01", "opened_on: 2025-02-01")
    with pytest.raises(CaseFileConflict) as info:
        ws.import_case_file(_write(tmp_path, header, "h.yaml"))
    assert (info.value.step, info.value.line) == (0, 5)
    assert info.value.differences == [("opened_on", "'2025-03-01'", "'2025-02-01'")]
    note_step = GOOD.replace(
        "  - record: statement\n    on: 2025-04-03\n    by: FRA\n",
        '  - note: "x"\n    on: 2025-04-03\n',
    )
    with pytest.raises(CaseFileConflict) as info:
        ws.import_case_file(_write(tmp_path, note_step, "n.yaml"))
    assert info.value.differences == [("step", "'record statement'", "'note x'")]


def test_a_log_with_steps_the_file_lacks_is_refused(ws: Any, tmp_path: Path) -> None:
    """Events recorded after the import that the file does not have refuse a re-import."""
    path = _write(tmp_path, GOOD)
    ws.import_case_file(path)
    ws.note("FRA-ottawa-x", "Added by hand", on="2025-05-05")
    with pytest.raises(CaseFileConflict) as info:
        ws.import_case_file(path)
    assert (info.value.step, info.value.seq) == (6, 7)
    assert info.value.differences == [("step", "'note Added by hand'", "nothing")]


def test_a_failing_step_writes_nothing_of_the_case(ws: Any, tmp_path: Path) -> None:
    """One transaction per file: a step the procedure refuses leaves no case behind."""
    bad = GOOD.replace("advance: notify", "advance: take-off")
    with pytest.raises(TransitionNotAllowed):
        ws.import_case_file(_write(tmp_path, bad))
    assert ws.cases() == []


def test_several_files_are_imported_all_or_none(ws: Any, tmp_path: Path) -> None:
    """Files imported together share one transaction: a bad second file undoes the first."""
    first = _write(tmp_path, GOOD)
    second = _write(
        tmp_path,
        GOOD.replace("FRA-ottawa-x", "FRA-2").replace("advance: notify", "advance: x"),
        "second.yaml",
    )
    with pytest.raises(TransitionNotAllowed):
        ws.import_case_files([first, second])
    assert ws.cases() == []
    done = ws.import_case_files(
        [first, _write(tmp_path, GOOD.replace("FRA-ottawa-x", "F2"), "c.yaml")]
    )
    assert [(r.case_id, r.events_added) for r in done] == [("FRA-ottawa-x", 6), ("F2", 6)]


def test_a_retracted_step_dropped_from_the_file_is_not_a_difference(
    ws: Any, tmp_path: Path
) -> None:
    """The file is compared with the log as it counts: a retracted step is not in it."""
    path = _write(tmp_path, GOOD)
    ws.import_case_file(path)
    ws.retract("FRA-ottawa-x", 5, reason="the note belongs to another case")
    without = GOOD.replace(
        '  - note: "Checked the gazette."\n    on: 2025-04-04\n'
        '    sources: [{citation: "Journal officiel"}]\n',
        "",
    )
    assert ws.import_case_file(_write(tmp_path, without, "w.yaml")).unchanged
    with pytest.raises(CaseFileConflict):
        ws.import_case_file(path)  # the file still has it: the log no longer does


def test_import_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """The one-transaction import works on PostgreSQL: all steps, then nothing again."""
    import treatyflow

    path = _write(tmp_path, GOOD)
    with treatyflow.open(postgres_url, actor="analyst", create=True) as pg:
        assert pg.import_case_file(path).events_added == 6
        assert pg.import_case_file(path).unchanged
        bad = _write(
            tmp_path,
            GOOD.replace("FRA-ottawa-x", "P2").replace("advance: notify", "advance: x"),
            "p.yaml",
        )
        with pytest.raises(TransitionNotAllowed):
            pg.import_case_file(bad)
        assert [c.id for c in pg.cases()] == ["FRA-ottawa-x"]


def test_cli_case_import_prints_what_each_file_added(cli: Any, tmp_path: Path) -> None:
    """`case import` prints one line per file; --json the results; a conflict exits 1."""
    path = _write(tmp_path, GOOD)
    first = cli("case", "import", str(path))
    assert (first.exit_code, first.stdout) == (
        0,
        f"FRA-ottawa-x: 6 event(s) added (new case, {path})\n",
    )
    again = cli("case", "import", str(path), "--json")
    assert json.loads(again.stdout) == {
        "files": [
            {
                "path": str(path),
                "case_id": "FRA-ottawa-x",
                "events_added": 0,
                "created": False,
                "unchanged": True,
            }
        ]
    }
    assert cli("case", "import", str(path)).stdout == f"FRA-ottawa-x: unchanged ({path})\n"
    changed = _write(tmp_path, GOOD.replace("by: FRA", "by: BEL"), "c.yaml")
    refused = cli("case", "import", str(changed))
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"Error: {changed} differs from case 'FRA-ottawa-x'")
    assert "by: 'FRA' in the log, 'BEL' in the file." in refused.stderr


def test_cli_case_import_of_an_unopenable_name_is_a_clear_error(cli: Any) -> None:
    """A file name with a NUL byte is a one-line error, not an internal one."""
    result = cli("case", "import", "bad\x00name.yaml")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: bad\\x00name.yaml: not a regular file\n",
    )


def test_cli_an_invalid_case_file_lists_its_problems(cli: Any, tmp_path: Path) -> None:
    """A case file that does not validate names each problem with file:line; nothing is
    imported."""
    bad = _write(
        tmp_path,
        "case: {id: X, country: FRA, treaty: ottawa, opened_on: 2025-01-01, bogus: 1}\n"
        "events:\n  - note: x\n    on: 2025-01-02\n",
        "bad.yaml",
    )
    result = cli("case", "import", str(bad))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: invalid case file: {bad}:1: case.bogus: Extra inputs are not permitted; "
        f"{bad}:3: events.0.sources: Field required.\n",
    )
    assert cli("case", "list", "--json").stdout.strip() == "[]"
