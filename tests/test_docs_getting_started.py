"""docs/getting-started.md runs as written: every ``sh`` block's commands run in order in one
directory, and the ``text`` block after one is exactly what they printed (stdout, then
stderr, command by command). Content hashes and schema revisions are left out of the
comparison: they change with the definitions and the migrations, and the page says so."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from treatyflow.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"

_BLOCK = re.compile(r"^(?:<!-- [^\n]*?: ([^\n]*) -->\n)?```(sh|text)\n(.*?)^```", re.S | re.M)


def _normal(text: str) -> str:
    text = re.sub(r"sha256:[0-9a-f]{12,64}", "sha256:<hash>", text)
    return re.sub(r"revision \d{4}_\d+", "revision <head>", text)


def _commands(body: str) -> list[tuple[str, str | None]]:
    """The block's commands, continuation lines joined; a ``cat > FILE <<'EOF'`` here-document
    becomes ("cat > FILE", its text)."""
    lines = body.replace("\\\n", " ").splitlines()
    out: list[tuple[str, str | None]] = []
    while lines:
        line = lines.pop(0).strip()
        heredoc = re.fullmatch(r"cat > (\S+) <<'EOF'", line)
        if heredoc:
            end = lines.index("EOF")
            out.append((f"cat > {heredoc.group(1)}", "\n".join(lines[:end]) + "\n"))
            del lines[: end + 1]
        elif line:
            out.append((line, None))
    return out


def test_the_getting_started_walkthrough_runs_and_prints_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command of docs/getting-started.md runs; each output block is what it printed."""
    monkeypatch.chdir(tmp_path)
    env: dict[str, str] = {}
    printed: str | None = None
    checked = 0
    for terminal, kind, body in _BLOCK.findall(DOC.read_text(encoding="utf-8")):
        if kind == "text":
            if printed is not None:
                assert _normal(printed) == _normal(body), (
                    f"docs/getting-started.md shows\n{body}\nbut the commands printed\n{printed}"
                )
                checked += 1
            printed = None
            continue
        if "make " in body:  # the quickstart: make demo / make test, not run here
            continue
        printed = ""
        block_env = dict(env, **dict(v.split("=", 1) for v in terminal.split()))
        for command, text in _commands(body):
            if command.startswith("export "):
                env.update(v.split("=", 1) for v in shlex.split(command)[1:])
                block_env.update(env)
            elif command.startswith("cat > "):
                Path(command.removeprefix("cat > ")).write_text(text or "", encoding="utf-8")
            else:
                words = shlex.split(command, comments=True)
                assert words[0] == "treatyflow", command
                result = CliRunner().invoke(main, words[1:], env=block_env)
                assert result.exception is None or isinstance(result.exception, SystemExit)
                printed += result.stdout + result.stderr
    assert checked >= 8
