"""The web view in a real browser: Debian's Chromium, headless, driven by selenium through
Debian's chromedriver (selenium never downloads a browser or a driver here).

Set ``TREATYFLOW_UPDATE_SCREENSHOT=1`` to refresh ``docs/img/web-dashboard.png`` from the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC_SHOT = ROOT / "docs" / "img" / "web-dashboard.png"
PNG = b"\x89PNG\r\n\x1a\n"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium through chromedriver, with the browser console log kept."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.skip(
            f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"
        )
    os.environ["SE_OFFLINE"] = "true"  # selenium manager must never fetch anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-extensions",
        "--no-first-run",
        "--lang=en-US",
        "--window-size=1200,900",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for_url(driver: Any, part: str) -> None:
    """Wait until the page that a click or a submit started has loaded."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(expected_conditions.url_contains(part))
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.browser
def test_console_check_catches_errors(browser: Any, live_server: str) -> None:
    """The console check works: a missing resource is reported (so a pass means something)."""
    browser.get(live_server + "/static/nope.css")
    assert console_errors(browser)


@pytest.mark.browser
def test_dashboard_loads_without_console_errors(browser: Any, live_server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(live_server + "/?as_of=2026-03-01")
    assert browser.title.startswith("Pending as of 2026-03-01")
    rows = browser.find_elements(By.CSS_SELECTOR, "#pending tbody tr")
    assert len(rows) == 6
    assert browser.find_elements(By.CSS_SELECTOR, ".flag.overdue")
    assert console_errors(browser) == []
    shot = browser.get_screenshot_as_png()
    assert shot.startswith(PNG) and len(shot) > 20_000
    if os.environ.get("TREATYFLOW_UPDATE_SCREENSHOT") == "1":
        DOC_SHOT.write_bytes(shot)


@pytest.mark.browser
def test_case_page_shows_its_diagram(browser: Any, live_server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(live_server + "/cases/LTU-ottawa-2025")
    diagram = browser.find_element(By.CSS_SELECTOR, "figure.diagram svg")
    assert diagram.is_displayed()
    assert diagram.size["width"] > 300 and diagram.size["height"] > 100
    assert browser.find_elements(By.CSS_SELECTOR, "figure.diagram g.node.current")
    assert browser.find_element(By.CSS_SELECTOR, "figure.timeline svg").is_displayed()
    assert console_errors(browser) == []


@pytest.mark.browser
def test_search_finds_riigikogu_in_the_estonian_case(browser: Any, live_server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(live_server + "/")
    box = browser.find_element(By.ID, "nav-q")
    box.send_keys("Riigikogu")
    box.submit()
    wait_for_url(browser, "/search?q=Riigikogu")
    hits = browser.find_elements(By.CSS_SELECTOR, "#hits li")
    assert hits
    assert all(h.find_element(By.TAG_NAME, "a").text.startswith("EST-ottawa-2025 #") for h in hits)
    assert browser.find_element(By.CSS_SELECTOR, "#hits mark").text == "Riigikogu"
    hits[0].find_element(By.TAG_NAME, "a").click()
    wait_for_url(browser, "/cases/EST-ottawa-2025")
    assert console_errors(browser) == []


@pytest.mark.browser
def test_as_of_picker_changes_what_is_pending(browser: Any, live_server: str) -> None:
    from selenium.webdriver.common.by import By

    def states() -> dict[str, str]:
        rows = browser.find_elements(By.CSS_SELECTOR, "#pending tbody tr")
        return {
            r.get_attribute("data-case"): r.find_element(By.CSS_SELECTOR, ".state").text
            for r in rows
        }

    browser.get(live_server + "/?as_of=2025-07-01")
    before = states()
    picker = browser.find_element(By.ID, "as_of")
    picker.send_keys("05012025")  # mm dd yyyy in the en-US date field
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for_url(browser, "as_of=2025-05-01")
    after = states()
    assert before["EST-ottawa-2025"] == "notified"
    assert after["EST-ottawa-2025"] == "in_riigikogu"
    assert console_errors(browser) == []


@pytest.mark.browser
def test_keyboard_reaches_every_link(browser: Any, live_server: str) -> None:
    """Pressing Tab from the top of the dashboard focuses every link on it, in turn."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(live_server + "/")
    links = browser.find_elements(By.TAG_NAME, "a")
    wanted = {a.get_attribute("href") for a in links}
    assert len(wanted) > 8
    reached: set[str] = set()
    for _ in range(len(links) * 3 + 20):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        active = browser.switch_to.active_element
        if active.tag_name == "a":
            reached.add(active.get_attribute("href"))
        if reached >= wanted:
            break
    assert wanted - reached == set()


def test_docs_screenshot_is_committed_and_small() -> None:
    """docs/img/web-dashboard.png exists, is a PNG and stays under 300 KB."""
    data = DOC_SHOT.read_bytes()
    assert data.startswith(PNG)
    assert len(data) < 300_000


def test_the_browser_is_never_downloaded() -> None:
    """The browser tests name Debian's binaries; nothing points selenium at a download."""
    text = Path(__file__).read_text(encoding="utf-8")
    assert "binary_location = str(CHROMIUM)" in text and "Service(str(CHROMEDRIVER))" in text
    assert shutil.which("chromedriver") in (None, str(CHROMEDRIVER))
