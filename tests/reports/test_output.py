"""Writing reports: stdout by default, -o atomically and owner-only, --force, --mode, paths."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from _reportdata import Run

from treatyflow.errors import InvalidInput, ReportExists
from treatyflow.reports.output import check_output_path, parse_mode, write_private

ARGS = ("report", "case", "LTU-1", "--as-of", "2025-12-31")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_o_writes_the_file_owner_only(run: Run, tmp_path: Path) -> None:
    """-o writes the report (same bytes as stdout) with mode 0600 and prints nothing on stdout."""
    target = tmp_path / "ltu.md"
    result = run(*ARGS, "-o", str(target))
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == run(*ARGS).stdout
    assert mode_of(target) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_existing_file_needs_force(run: Run, tmp_path: Path) -> None:
    """Without --force an existing file is refused (exit 1, unchanged); --force replaces it."""
    target = tmp_path / "ltu.md"
    target.write_text("keep me", encoding="utf-8")
    result = run(*ARGS, "-o", str(target), ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error:") and "--force" in result.stderr
    assert target.read_text(encoding="utf-8") == "keep me"
    run(*ARGS, "-o", str(target), "--force")
    assert target.read_text(encoding="utf-8").startswith("# Case report: LTU-1")


def test_mode_option_sets_the_file_mode(run: Run, tmp_path: Path) -> None:
    """--mode 640 gives the file mode 0640; a bad mode is a usage error that writes nothing."""
    target = tmp_path / "ltu.html"
    run(*ARGS, "--format", "html", "-o", str(target), "--mode", "640")
    assert mode_of(target) == 0o640
    bad = run(*ARGS, "-o", str(tmp_path / "x.md"), "--mode", "999", ok=False)
    assert bad.exit_code == 1 and "octal file mode" in bad.stderr
    assert not (tmp_path / "x.md").exists()


def test_relative_path_may_not_escape_the_current_directory(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative -o through '..' or a symlink out of the current directory is refused."""
    work = tmp_path / "work"
    outside = tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    (work / "link").symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(work)
    for path in ("../escape.md", "link/escape.md"):
        result = run(*ARGS, "-o", path, ok=False)
        assert result.exit_code == 1
        assert "leads outside the current directory" in result.stderr
    assert list(outside.iterdir()) == []
    run(*ARGS, "-o", "inside.md")
    run(*ARGS, "-o", str(outside / "chosen.md"))  # an absolute path is the user's choice
    assert (work / "inside.md").is_file() and (outside / "chosen.md").is_file()


def test_missing_directory_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    """-o into a directory that does not exist says so (exit 1)."""
    result = run(*ARGS, "-o", str(tmp_path / "nope" / "x.md"), ok=False)
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_output_helpers(tmp_path: Path) -> None:
    """write_private refuses to overwrite; parse_mode reads octal; check_output_path refuses
    a directory."""
    target = tmp_path / "a.txt"
    write_private(target, b"one")
    with pytest.raises(ReportExists):
        write_private(target, b"two")
    assert target.read_bytes() == b"one"
    assert (
        parse_mode(None) == 0o600 and parse_mode("0o644") == 0o644 and parse_mode("0640") == 0o640
    )
    with pytest.raises(InvalidInput):
        parse_mode("rw-r--r--")
    with pytest.raises(InvalidInput):
        check_output_path(tmp_path)


def test_no_progress_output_when_piped(run: Run) -> None:
    """A portfolio report piped (not a terminal) writes nothing but the report: no progress bar."""
    result = run("report", "portfolio", "--as-of", "2025-12-31")
    assert result.stderr == ""
    assert result.stdout.startswith("# Portfolio report")


def test_progress_bar_shows_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal (stderr is a tty) the progress bar is a live rich Progress; otherwise none."""
    import sys

    from treatyflow.cli.output import progress_bar

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert progress_bar(10, "x").progress is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    bar = progress_bar(10, "x")
    assert bar.progress is not None
    with bar as advance:
        for _ in range(10):
            advance()
    assert bar.progress.tasks[0].completed == 10
    assert os.environ.get("TREATYFLOW_ACTOR") == "analyst"
