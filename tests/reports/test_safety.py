"""Hostile text in a case id, actor, note or source is inert in every report format."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from typing import Any

from _reportdata import HOSTILE, HOSTILE_ID, IMG, JS, SCRIPT, Run, Tags

from treatyflow.reports import html as html_report
from treatyflow.reports import matrix, render, text

AS_OF = "2025-12-31"


def hostile_report(run: Run, fmt: str, kind: str = "case") -> str:
    args = ["case", HOSTILE_ID] if kind == "case" else ["portfolio"]
    return run("report", *args, "--as-of", AS_OF, "--format", fmt).stdout


def assert_inert_html(html: str) -> Tags:
    page = Tags(html)
    assert "<script" not in html.lower()
    assert not page.names & {"script", "img", "iframe", "object", "embed"}
    assert not [a for a in page.attributes if a.startswith("on")]
    assert not [h for h in page.values("href") if not h.startswith(("#", "http://", "https://"))]
    return page


def test_html_shows_payloads_as_text(run: Run) -> None:
    """The case id, actor, note and source citation render as escaped text, not markup."""
    for kind in ("case", "portfolio"):
        html = hostile_report(run, "html", kind)
        page = assert_inert_html(html)
        shown = "".join(page.text)
        assert HOSTILE_ID in shown  # the case id, as text
        assert shown.count(HOSTILE) >= 2  # the actor, the note and the citation
        assert (
            "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"
            in html
        )


def test_html_link_hrefs_are_escaped_attributes(run: Run) -> None:
    """An http(s) URL carrying a payload stays inside its (escaped) href attribute."""
    page = assert_inert_html(hostile_report(run, "html"))
    assert f"https://example.org/{IMG}" in page.values("href")


def test_html_writes_no_link_for_a_non_http_url(run: Run) -> None:
    """A javascript: URL (e.g. from an imported or hand-edited log) is shown as plain text."""
    data = json.loads(hostile_report(run, "json"))
    forged: dict[str, Any] = copy.deepcopy(data)
    forged["cases"][0]["timeline"][0]["sources"][0]["url"] = JS
    forged["cases"][0]["timeline"][0]["sources"][1]["url"] = " JaVaScRiPt:alert(1)"
    html = render.render(forged, "html")
    page = assert_inert_html(html)
    assert JS in "".join(page.text)
    assert not html_report.is_link(JS) and not html_report.is_link("data:text/html,x")
    assert html_report.is_link("https://example.org/")


def test_html_escapes_definition_text_in_the_diagram(run: Run) -> None:
    """State titles and triggers from a definition file are escaped inside the SVG."""
    data = json.loads(hostile_report(run, "json"))
    graph = data["cases"][0]["procedure_graph"]
    graph["states"][0]["title"] = SCRIPT
    graph["transitions"][0]["trigger"] = IMG
    data["cases"][0]["path"] = [graph["transitions"][0]["from"], graph["transitions"][0]["to"]]
    html = render.render(data, "html")
    assert_inert_html(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markdown_escapes_payloads(run: Run) -> None:
    """Markdown escapes < and > so a renderer shows the payload as text, and links only
    http(s) URLs."""
    md = hostile_report(run, "md")
    assert re.search(r"(?<!\\)[<>]", md) is None  # every < and > is backslash-escaped
    assert "\\<script\\>alert(1)\\</script\\>" in md
    assert "](javascript:" not in md
    assert text.md_link("x", JS) == "x (javascript:alert(1))"
    assert text.md_link("x", 'https://a.example/")x') == "[x](https://a.example/%22%29x)"


def test_json_keeps_payloads_verbatim(run: Run) -> None:
    """JSON carries the text exactly (escaping is the renderer's job, not the data's)."""
    data = json.loads(hostile_report(run, "json"))
    case = data["cases"][0]
    assert case["id"] == HOSTILE_ID
    assert case["timeline"][0]["actor"] == HOSTILE
    assert case["timeline"][0]["note"] == HOSTILE


def test_csv_neutralises_formulas(run: Run) -> None:
    """No CSV cell starts with =, +, - or @ (the formula, the note and the actor are quoted)."""
    rows = list(csv.reader(io.StringIO(hostile_report(run, "csv", "portfolio"))))
    cells = [c for row in rows for c in row]
    assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert "'+SUM(A1:A9)" in cells and "'@admin" in cells
    assert any(c.startswith("'=HYPERLINK") for c in cells)  # kept, behind a quote
    assert matrix.safe_cell("=1+2") == "'=1+2" and matrix.safe_cell("2025-01-01") == "2025-01-01"
