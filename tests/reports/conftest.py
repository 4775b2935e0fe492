"""Fixtures for the report tests: the report database, a runner bound to it, Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from _reportdata import Run, _runner, build


@pytest.fixture(scope="module")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with LTU-1 (effective), EST-1 (corrected), POL-1 (domestic steps pending)
    and a FIN case whose id, actor, note and sources are script-injection payloads."""
    db = tmp_path_factory.mktemp("reports") / "reports.db"
    build(db)
    return db


@pytest.fixture
def run(report_db: Path) -> Run:
    """Run ``treatyflow --db REPORT_DB ARGS...``; asserts exit 0 unless ``ok=False``."""
    return _runner(report_db)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The headless Chromium binary; installs Debian's package once if it is missing."""
    found = _find_chromium()
    if found is None and shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            subprocess.run(
                ["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=300
            )
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "chromium"],
                check=False,
                capture_output=True,
                timeout=600,
                env=env,
            )
        except (OSError, subprocess.TimeoutExpired):
            pass
        found = _find_chromium()
    if found is None:
        pytest.skip("headless Chromium is not installed and 'apt-get install chromium' failed")
    return found


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None
