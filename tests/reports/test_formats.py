"""What each report format says: header, clocks, timeline, corrections, pending, integrity."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest
from _reportdata import Run, Tags, build

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2025-12-31"


def report(run: Run, *args: str) -> str:
    return run("report", *args, "--as-of", AS_OF).stdout


def head_of(run: Run, case_id: str) -> str:
    return str(json.loads(run("case", "history", case_id, "--json").stdout)[-1]["hash"])


def test_reports_show_the_party_name_beside_the_code(run: Run) -> None:
    """Markdown, HTML and JSON reports name the party, not only its code (#14)."""
    assert "- **Country:** LTU (Lithuania)" in report(run, "case", "LTU-1")
    assert "<dd>Lithuania (LTU)</dd>" in report(run, "case", "LTU-1", "--format", "html")
    data = json.loads(report(run, "portfolio", "--format", "json"))
    assert {r["country"]: r["country_name"] for r in data["summary"]}["EST"] == "Estonia"
    assert {c["id"]: c["country_name"] for c in data["cases"]}["LTU-1"] == "Lithuania"
    assert "| LTU-1 | LTU (Lithuania) |" in report(run, "portfolio")


def test_markdown_case_has_header_clocks_timeline_pending_and_integrity(run: Run) -> None:
    """The Markdown case report has the header, the clock with its basis, every event with its
    sources, the pending steps and an integrity statement naming the chain head."""
    text = report(run, "case", "LTU-1")
    assert text.startswith("# Case report: LTU-1\n")
    assert "- **Country:** LTU" in text
    assert "- **Action:** withdrawal" in text
    assert "(`ltu`), `sha256:" in text
    assert "(`effective`), final" in text
    assert "out of procedure: no; contested: no; month-end review:" in text
    assert "| effect | satisfied" in text and "2025-12-27 (effective)" in text
    assert "APMBC Art. 20(3)" in text
    assert "1. **2025-06-27** — opened at notified" in text
    assert "by analyst" in text and "by system" in text
    assert (
        "[Depositary notification C.N.123.2025](https://treaties.un.org/doc/CN.123.2025)" in text
    )
    assert "source \\[official\\]" in text
    assert "note: Instrument received by the Secretary\\-General." not in text  # no over-escaping
    assert "note: Instrument received by the Secretary-General." in text
    assert "Nothing: the case is in a final state." in text
    assert (
        "Verified: the 3 recorded event(s) form an unbroken hash chain. "
        f"Chain head: `{head_of(run, 'LTU-1')}`." in text
    )


def test_markdown_pending_names_who_must_act(run: Run) -> None:
    """An open case lists its next step with the institution that must act, and its clock."""
    text = report(run, "case", "POL-1")
    assert "who acts: Council of Ministers; ready" in text
    text = report(run, "case", '<script>alert(1)</script>"><img src=x onerror=alert(1)>')
    assert "system (treatyflow tick): waiting 2026-01-10" in text


def test_correction_shows_old_and_new_value(run: Run) -> None:
    """A corrected event shows its recorded and corrected dates; the correction shows both."""
    text = report(run, "case", "EST-1")
    assert "**2025-06-27 (recorded as 2025-06-26, corrected by #2)**" in text
    assert "legal date of #1 corrected: 2025-06-26 → 2025-06-27" in text
    assert (
        "correction: old value 2025-06-26, new value 2025-06-27; "
        "clock dates before: effect 2025-12-26" in text
    )
    data = json.loads(report(run, "case", "EST-1", "--format", "json"))
    first, corr = data["cases"][0]["timeline"][:2]
    assert (first["occurred_on"], first["legal_date"], first["corrected_by"]) == (
        "2025-06-26",
        "2025-06-27",
        [2],
    )
    assert corr["correction"] == {
        "target_seq": 1,
        "old": "2025-06-26",
        "new": "2025-06-27",
        "due_before": {"effect": "2025-12-26"},
    }


def test_portfolio_has_summary_matrix_and_every_case(run: Run) -> None:
    """The portfolio report has a summary row and a matrix row per case, then each case."""
    text = report(run, "portfolio")
    assert "## Summary" in text and "## Country-by-step matrix" in text
    assert "| LTU-1 | LTU (Lithuania) | ottawa | withdrawal | effective | – | 2025-12-27 |" in text
    assert "| Case | Country | Action | Notified | Effective |" in text
    for case in ("## EST-1", "## LTU-1", "## POL-1"):
        assert case in text
    assert "Audit log: the hash chains of all 4 case(s) (9 events) verify." in text


def test_portfolio_filters_by_country_treaty_and_state(run: Run) -> None:
    """--country, --treaty and --state select the cases; the filters are stated."""
    data = json.loads(report(run, "portfolio", "--country", "ltu", "--format", "json"))
    assert [c["id"] for c in data["cases"]] == ["LTU-1"]
    assert data["filters"] == {"country": "LTU"}
    data = json.loads(report(run, "portfolio", "--state", "effective", "--format", "json"))
    assert [c["id"] for c in data["cases"]] == ["EST-1", "LTU-1"]
    data = json.loads(report(run, "portfolio", "--treaty", "ccm", "--format", "json"))
    assert data["cases"] == [] and data["summary"] == []


def test_as_of_hides_later_events_but_integrity_covers_all(run: Run) -> None:
    """--as-of shows the case as it stood then; the chain statement still covers every
    recorded event and says how many are shown."""
    args = ("report", "case", "LTU-1", "--as-of", "2025-07-01", "--format", "json")
    data = json.loads(run(*args).stdout)
    case = data["cases"][0]
    assert case["state"] == "notified"
    assert [e["seq"] for e in case["timeline"]] == [1]
    assert case["integrity"]["events"] == 3 and case["integrity"]["shown"] == 1
    assert case["integrity"]["verified"] is True
    assert case["next_date"] == "2025-12-27"


def test_known_at_uses_only_what_was_recorded_by_then(run: Run) -> None:
    """--known-at drops events recorded later, from the timeline and from the chain count."""
    history = json.loads(run("case", "history", "LTU-1", "--json").stdout)
    data = json.loads(
        run(
            "report",
            "case",
            "LTU-1",
            "--as-of",
            AS_OF,
            "--known-at",
            history[0]["recorded_at"],
            "--format",
            "json",
        ).stdout
    )
    case = data["cases"][0]
    assert data["known_at"] is not None
    assert [e["seq"] for e in case["timeline"]] == [1]
    assert case["integrity"]["events"] == 1
    assert case["integrity"]["head"] == history[0]["hash"]


@pytest.mark.parametrize("kind", ["case", "portfolio"])
def test_json_validates_against_the_documented_schema(run: Run, kind: str) -> None:
    """JSON output of both report kinds validates against docs/report-schema.json."""
    schema = json.loads((ROOT / "docs" / "report-schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    args = ["case", "LTU-1", "EST-1", "POL-1"] if kind == "case" else ["portfolio"]
    data = json.loads(report(run, *args, "--format", "json"))
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data["schema"] == "treatyflow.report/1"
    assert data["kind"] == kind


def test_csv_has_one_row_per_event(run: Run) -> None:
    """The CSV has a header and one row per event, with legal date, actor and hash."""
    text = report(run, "case", "LTU-1", "EST-1", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["case"], r["seq"], r["kind"]) for r in rows] == [
        ("LTU-1", "1", "open"),
        ("LTU-1", "2", "note"),
        ("LTU-1", "3", "take-effect"),
        ("EST-1", "1", "open"),
        ("EST-1", "2", "correct"),
        ("EST-1", "3", "take-effect"),
    ]
    assert rows[0]["legal_date"] == "2025-06-27" and rows[0]["actor"] == "analyst"
    assert rows[0]["sources"].startswith(
        "Depositary notification C.N.123.2025 [official] https://"
    )
    assert (
        rows[3]["legal_date"] == "2025-06-27" and rows[3]["legal_date_as_recorded"] == "2025-06-26"
    )
    assert all(r["hash"].startswith("sha256:") and r["chain_verified"] == "yes" for r in rows)


def test_html_case_has_header_svgs_timeline_and_integrity(run: Run) -> None:
    """The HTML report has the header, both inline SVGs with the path highlighted, the event
    table with links, the pending table and the integrity statement."""
    html = report(run, "case", "LTU-1", "--format", "html")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 2
    assert '<g class="node current final">' in html
    assert '<g class="node visited">' in html
    assert '<g class="edge taken">' in html
    assert 'class="marker ev-take-effect"' in html
    assert (
        '<a href="https://treaties.un.org/doc/CN.123.2025" rel="noopener noreferrer nofollow">'
        in html
    )
    assert "APMBC Art. 20(3)" in html
    assert f'Chain head: <code class="hash">{head_of(run, "LTU-1")}</code>' in html
    assert "&#10003; Verified: the 3 recorded event(s)" in html


def test_html_is_self_contained(run: Run) -> None:
    """The HTML loads nothing: no script, stylesheet link, image, frame or src attribute, no
    url() in its style; a CSP forbids every load; a print stylesheet breaks pages per case."""
    html = report(run, "portfolio", "--format", "html")
    page = Tags(html)
    assert not page.names & {"script", "link", "img", "iframe", "object", "embed", "base"}
    assert "src" not in page.attributes
    assert "url(" not in page.style and "@import" not in page.style
    assert all(h.startswith(("#", "https://", "http://")) for h in page.values("href"))
    assert any("default-src 'none'" in v for v in page.values("content"))
    assert "@media print" in page.style and "page-break-before: always" in page.style


def test_tampered_event_is_reported_with_its_seq(tmp_path: Path) -> None:
    """An event edited behind treatyflow's back makes the report say NOT verified, with the
    first bad sequence number, in every format."""
    db = tmp_path / "t.db"
    run = build(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE events SET note = 'edited' WHERE case_id = 'LTU-1' AND seq = 2")
    md = run("report", "case", "LTU-1", "--as-of", AS_OF).stdout
    assert "**NOT verified:** the chain breaks at event #2" in md
    data = json.loads(run("report", "portfolio", "--as-of", AS_OF, "--format", "json").stdout)
    assert data["integrity"]["failed"] == [
        {"case": "LTU-1", "seq": 2, "reason": "its content does not match its hash"}
    ]
    html = run("report", "case", "LTU-1", "--as-of", AS_OF, "--format", "html").stdout
    assert "NOT verified: the chain breaks at event #2" in html
    csv_text = run("report", "case", "LTU-1", "--as-of", AS_OF, "--format", "csv").stdout
    assert csv_text.splitlines()[1].endswith(",no")


def test_unknown_case_is_an_error(run: Run) -> None:
    """A case id that does not exist exits 1 with an Error: line and prints no report."""
    result = run("report", "case", "NOPE", ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no case 'NOPE'")
    assert result.stdout == ""


@pytest.mark.parametrize("fmt", ["md", "html", "json", "csv"])
def test_same_database_same_options_same_bytes(run: Run, fmt: str) -> None:
    """Two runs with the same --as-of give byte-identical output (no wall-clock time)."""
    first = report(run, "portfolio", "--format", fmt)
    second = report(run, "portfolio", "--format", fmt)
    assert first == second
    assert "Generated at" not in first and '"generated_at": null' in report(
        run, "case", "LTU-1", "--format", "json"
    )


def test_stamp_adds_the_generation_time(run: Run) -> None:
    """--stamp records when the report was generated (and only then)."""
    data = json.loads(report(run, "case", "LTU-1", "--format", "json", "--stamp"))
    assert data["generated_at"] is not None and data["generated_at"].endswith("Z")
    plain = json.loads(report(run, "case", "LTU-1", "--format", "json"))
    assert plain["generated_at"] is None
