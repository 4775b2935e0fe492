"""The HTML report in a real browser (headless Chromium): it loads without console errors,
hostile text stays text in the DOM, and a screenshot shows the timeline and the diagram.

Set ``TREATYFLOW_UPDATE_SCREENSHOT=1`` to refresh ``docs/img/report-case.png`` from the run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _reportdata import HOSTILE, HOSTILE_ID, Run, Tags, _runner

ROOT = Path(__file__).resolve().parents[2]
DOC_SHOT = ROOT / "docs" / "img" / "report-case.png"
PNG = b"\x89PNG\r\n\x1a\n"


def chromium_run(
    binary: str, page: Path, tmp: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on ``page`` offline, with console messages logged to stderr."""
    profile = tmp / f"profile-{len(list(tmp.iterdir()))}"
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-extensions",
        "--no-first-run",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_errors(stderr: str) -> list[str]:
    """Lines where the page logged to the console or threw (Chromium's CONSOLE log lines)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.browser
def test_console_errors_are_detected(chromium: str, tmp_path: Path) -> None:
    """The console check itself works: a page that throws is caught (so a pass means
    something)."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><title>x</title><script>console.error('boom'); undefined_fn();</script>",
        encoding="utf-8",
    )
    result = chromium_run(chromium, page, tmp_path, "--dump-dom")
    assert console_errors(result.stderr), result.stderr[-2000:]


@pytest.mark.browser
def test_hostile_report_is_inert_in_chromium(run: Run, chromium: str, tmp_path: Path) -> None:
    """Rendered by Chromium, the portfolio with payloads in a case id, actor, note and source
    has no script element or event-handler attribute, shows the payloads as text, and logs
    no console error."""
    page = tmp_path / "hostile.html"
    run("report", "portfolio", "--as-of", "2025-12-31", "--format", "html", "-o", str(page))
    result = chromium_run(chromium, page, tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_errors(result.stderr) == []
    dom = Tags(result.stdout)
    assert "body" in dom.names and "svg" in dom.names
    assert not dom.names & {"script", "img", "iframe"}
    assert not [a for a in dom.attributes if a.startswith("on")]
    assert not [h for h in dom.values("href") if h.lower().startswith("javascript")]
    text = "".join(dom.text)
    assert HOSTILE_ID in text and HOSTILE in text


@pytest.mark.browser
def test_case_report_screenshot(chromium: str, tmp_path: Path) -> None:
    """A demo case's HTML report loads cleanly and screenshots to a PNG (kept as
    docs/img/report-case.png when TREATYFLOW_UPDATE_SCREENSHOT=1)."""
    run = _runner(tmp_path / "demo.db")
    run("demo", "--out", str(tmp_path / "reports"), "--as-of", "2026-03-01")
    page = tmp_path / "reports" / "case-LTU-ottawa-2025.html"
    assert page.is_file()
    dom = chromium_run(chromium, page, tmp_path, "--dump-dom")
    assert console_errors(dom.stderr) == []
    assert re.search(r'class="node current final"', dom.stdout)
    shot = tmp_path / "report-case.png"
    result = chromium_run(
        chromium, page, tmp_path, f"--screenshot={shot}", "--window-size=1200,1500"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_errors(result.stderr) == []
    data = shot.read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000  # a real picture, not a blank page
    if os.environ.get("TREATYFLOW_UPDATE_SCREENSHOT") == "1":
        DOC_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOC_SHOT)


def test_docs_screenshot_is_committed_and_small() -> None:
    """docs/img/report-case.png exists, is a PNG and stays under 300 KB."""
    data = DOC_SHOT.read_bytes()
    assert data.startswith(PNG)
    assert len(data) < 300_000
