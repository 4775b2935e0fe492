"""Every file treatyflow writes goes through one safe-output routine (issue #18, items 7-9):
atomic (a failure leaves the previous file), owner-only whatever the umask, never through a
symbolic link, never over a special file, the same rules for ``..`` everywhere, and no
temporary file left behind."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from treatyflow.errors import InvalidInput
from treatyflow.reports.output import check_output_path

Cli = Callable[..., Result]

#: Each command that writes a file, with its -o (the path is appended).
WRITERS = {
    "checkpoint": ("checkpoint", "-o"),
    "export": ("export", "-o"),
    "report": ("report", "case", "LTU-1", "-o"),
    "calendar": ("calendar", "-o"),
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_files_are_owner_only_whatever_the_umask(
    cli: Cli, populated: Path, tmp_path: Path, umask_000: None, writer: str
) -> None:
    """Under umask 000 every file written is 0600 (a bundle or checkpoint was 0666)."""
    target = tmp_path / f"out-{writer}"
    result = cli(*WRITERS[writer], str(target))
    assert result.exit_code == 0, result.output
    assert _mode(target) == 0o600
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("writer", ["checkpoint", "export"])
def test_a_failed_write_keeps_the_previous_file(
    cli: Cli, populated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    """Disk full at the end of the write (fsync fails): one-line error, the previous file
    is intact and was never truncated meanwhile, no temporary file is left."""
    target = tmp_path / "previous"
    target.write_bytes(b"the previous good file\n")
    seen: list[bytes] = []

    def full(fd: int) -> None:
        seen.append(target.read_bytes())  # what a SIGKILL at this moment would leave
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = cli(*WRITERS[writer], str(target), "--force")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error:") and "No space left" in result.stderr
    assert "Traceback" not in result.output
    assert seen and set(seen) == {b"the previous good file\n"}
    assert target.read_bytes() == b"the previous good file\n"
    assert _leftovers(tmp_path) == []


def test_checkpoint_is_written_atomically(
    cli: Cli, populated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rename failing (a crash before it) leaves the previous checkpoint, not a new
    partial one: the checkpoint is never written in place."""
    target = tmp_path / "heads.json"
    assert cli("checkpoint", "-o", str(target)).exit_code == 0
    good = target.read_bytes()
    cli("case", "note", "G1", "a new event")

    def crash(src: str, dst: str) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "replace", crash)
    result = cli("checkpoint", "-o", str(target), "--force")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert target.read_bytes() == good
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_symbolic_link_is_never_written_through(
    cli: Cli, populated: Path, tmp_path: Path, writer: str
) -> None:
    """-o naming a symbolic link (with --force): refused, the link and its target unchanged."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    link = tmp_path / "link"
    link.symlink_to(victim)
    result = cli(*WRITERS[writer], str(link), "--force")
    assert result.exit_code == 1, result.output
    assert "symbolic link" in result.stderr
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert link.is_symlink()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("writer", ["export", "report", "calendar"])
def test_a_special_file_is_never_replaced(
    cli: Cli, populated: Path, tmp_path: Path, writer: str
) -> None:
    """-o naming a FIFO (with --force): refused; the FIFO is still a FIFO."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = cli(*WRITERS[writer], str(fifo), "--force")
    assert result.exit_code == 1, result.output
    assert "not a regular file" in result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def _run(cwd: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TREATYFLOW_ACTOR": "analyst"}
    env.pop("TREATYFLOW_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "treatyflow", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_checkpoint_into_a_fifo_is_refused_without_hanging(
    populated: Path, tmp_path: Path
) -> None:
    """checkpoint -o FIFO used to block forever opening it for writing."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = _run(tmp_path, "--db", str(populated), "checkpoint", "-o", str(fifo), "--force")
    assert result.returncode == 1, result.stderr
    assert "not a regular file" in result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_device_nodes_are_refused() -> None:
    """/dev/null (a character device) is never an output file, even with --force."""
    with pytest.raises(InvalidInput, match="not a regular file"):
        check_output_path(Path("/dev/null"))


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_dotdot_follows_the_same_rule_everywhere(
    cli: Cli,
    populated: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    writer: str,
) -> None:
    """A relative -o leading outside the current directory through '..' is refused by
    every writer (export and checkpoint accepted it); an absolute path is the user's
    choice."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = cli(*WRITERS[writer], "../escape")
    assert result.exit_code == 1, result.output
    assert "leads outside the current directory" in result.stderr
    assert not (tmp_path / "escape").exists()
    assert cli(*WRITERS[writer], str(tmp_path / "chosen")).exit_code == 0
    assert (tmp_path / "chosen").is_file()


def test_checkpoint_output_is_the_checkpoint(cli: Cli, populated: Path, tmp_path: Path) -> None:
    """The file written through the routine is the checkpoint, byte for byte, and verifies."""
    target = tmp_path / "heads.json"
    assert cli("checkpoint", "-o", str(target)).exit_code == 0
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["count"] == 2
    assert cli("verify", "--checkpoint", str(target)).exit_code == 0
