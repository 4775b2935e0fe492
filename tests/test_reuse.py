"""Data people can reuse (#17): the matrix as CSV and Markdown, Mermaid diagrams, and the
evidence level a source gets from its kind."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

import pytest
from click.testing import Result

from treatyflow.evidence import EvidenceLevel, Source, default_level
from treatyflow.values import parse_source

Cli = Callable[..., Result]

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture
def matrix_cli(cli: Cli) -> Cli:
    """Two cases: one notified on a press report only, one with an imprecise date."""
    for args in (
        (
            "case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1",
            "--at", "notified", "--on", "2025-06-27", "--source", "LRT, 27 Jun 2025",
        ),
        (
            "case", "open", "--country", "EST", "--treaty", "ottawa", "--id", "EST-1",
            "--at", "notified", "--on", "2025-06", "--note", "UNCERTAIN: the day is not known",
        ),
    ):  # fmt: skip
        result = cli(*args)
        assert result.exit_code == 0, result.output
    return cli


def test_matrix_csv_dates_are_plain_iso_dates(matrix_cli: Cli) -> None:
    """Every date column holds a plain ISO date (or nothing); the footnotes are in the
    '<milestone> notes' column beside it, and an expected date in its own column."""
    text = matrix_cli("report", "matrix", "--format", "csv", "--as-of", "2025-07-01").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    head = list(rows[0])
    assert head[:3] == ["Case", "Country", "Action"]
    assert head[3:] == ["Notified", "Notified notes", "Effective", "Effective notes",
                        "Effective expected"]  # fmt: skip
    by_case = {r["Case"]: r for r in rows}
    for row in rows:
        for column in ("Notified", "Effective", "Effective expected"):
            assert row[column] == "" or DAY.match(row[column]), (column, row[column])
    assert by_case["LTU-1"]["Notified"] == "2025-06-27"
    assert "reported by the press only (LRT, 27 Jun 2025)" in by_case["LTU-1"]["Notified notes"]
    assert "[" not in by_case["LTU-1"]["Notified"]
    assert by_case["LTU-1"]["Effective expected"] == "2025-12-27"
    est = by_case["EST-1"]
    assert DAY.match(est["Notified"])
    notes = est["Notified notes"].split("\n")
    assert notes[0] == "date known only as 2025-06"
    assert "EST-1 #1: UNCERTAIN: the day is not known" in notes


def test_matrix_md_escapes_footnote_markers_like_the_portfolio(matrix_cli: Cli) -> None:
    """matrix.md writes its footnote markers as \\[n\\] (text, not a link reference), the
    same lines as the portfolio's matrix section."""
    md = matrix_cli("report", "matrix", "--format", "md", "--as-of", "2025-07-01").stdout
    assert "2025-06-27\\[2\\]" in md
    assert re.search(r"\d\[\d+\]", md) is None
    portfolio = matrix_cli("report", "portfolio", "--format", "md", "--as-of", "2025-07-01")
    ltu = next(line for line in md.splitlines() if line.startswith("| LTU-1 |"))
    assert ltu in portfolio.stdout.splitlines()


def test_mermaid_has_a_title_and_tells_visited_from_current(cli: Cli) -> None:
    """The diagram opens with front matter holding `title:`; with --case, the states the
    case went through are class `visited` and the one it is in is class `current`."""
    opened = cli(
        "case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1",
        "--procedure", "generic", "--at", "notified", "--on", "2025-06-27",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert cli("tick", "--as-of", "2025-12-27").exit_code == 0
    result = cli("workflow", "diagram", "generic", "--case", "LTU-1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "---"
    assert lines[1].startswith("title: ")
    title = json.loads(lines[1].removeprefix("title: "))
    shown = json.loads(cli("workflow", "show", "generic", "--json").stdout)
    assert title == shown["title"]
    assert lines[2] == "---"
    assert lines[3] == "stateDiagram-v2"
    assert any(line.startswith("  classDef visited ") for line in lines)
    assert any(line.startswith("  classDef current ") for line in lines)
    assert "  class notified visited" in lines
    assert "  class effective current" in lines
    assert "  class effective visited" not in lines


def test_mermaid_without_a_case_marks_nothing(cli: Cli) -> None:
    """Without --case no state is given a class (the classDefs are still declared)."""
    text = cli("workflow", "diagram", "generic").stdout
    assert not [line for line in text.splitlines() if line.startswith("  class ")]
    assert "  effective --> [*]" in text.splitlines()


@pytest.mark.parametrize(
    ("kind", "level"),
    [
        ("note-verbale", "official"),
        ("note verbale", "official"),
        ("Note_Verbale", "official"),
        ("decree", "official"),
        ("depositary-notification", "official"),
        ("gazette", "official"),
        ("press-report", "reported"),
        ("commentary", "reported"),
        (None, "reported"),
    ],
)
def test_default_level_follows_the_kind(kind: str | None, level: str) -> None:
    """A source that does not state its level gets it from its kind."""
    assert default_level(kind) is EvidenceLevel(level)
    fields = {"citation": "C.N.123.2025"} | ({"kind": kind} if kind else {})
    assert Source.model_validate(fields).level is EvidenceLevel(level)


def test_an_explicit_level_wins_over_the_kind() -> None:
    """A decree reported by the press stays `reported` when the source says so."""
    source = parse_source("Decree No. 441/2025, as reported; kind=decree; level=reported")
    assert source.level is EvidenceLevel.REPORTED
    assert parse_source("Decree No. 441/2025", kind="decree").level is EvidenceLevel.OFFICIAL


def test_a_note_verbale_is_not_reported_by_the_press(cli: Cli) -> None:
    """A step cited only by a note verbale gets no 'reported by the press only' footnote."""
    result = cli(
        "case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1",
        "--at", "notified", "--on", "2025-06-27",
        "--source", "Note verbale No. 7/2025 to the Secretary-General; kind=note-verbale",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    history = json.loads(cli("case", "history", "LTU-1", "--json").stdout)
    assert history[0]["sources"][0]["level"] == "official"
    matrix = json.loads(cli("report", "matrix", "--json").stdout)
    assert matrix["footnotes"] == []
