"""``treatyflow --help`` stays light: no SQLAlchemy, SQLModel or pydantic is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("sqlalchemy", "sqlmodel", "pydantic")

PROBE = """\
import json, sys
from treatyflow.cli import main
try:
    main(["--help"])
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sqlalchemy", "sqlmodel", "pydantic"})
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TREATYFLOW_")}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def imported_modules(stderr: str) -> set[str]:
    """Top-level packages named in ``-X importtime`` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name.split(".")[0])
    return names


def test_help_in_process_imports_nothing_heavy() -> None:
    """Importing the CLI and printing --help leaves sqlalchemy, sqlmodel, pydantic unloaded."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=_env(), check=False
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}
    assert "Usage:" in proc.stdout


def test_console_script_help_imports_nothing_heavy() -> None:
    """The installed console script's --help imports none of the heavy packages."""
    script = Path(sys.executable).with_name("treatyflow")
    assert script.exists(), f"no console script next to {sys.executable}; run make install"
    env = _env()
    env["PYTHONPROFILEIMPORTTIME"] = "1"
    proc = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    modules = imported_modules(proc.stderr)
    assert "treatyflow" in modules  # the probe works: the CLI itself was imported
    assert set() == modules & set(HEAVY)
    # pathlib (with urllib.parse and ipaddress, ~7 ms here) is not needed to print help;
    # the bench's cli_help budget is 20 ms over `import click` in all
    assert "pathlib" not in modules


def test_python_m_help_imports_nothing_heavy() -> None:
    """python -m treatyflow --help imports none of the heavy packages either."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "treatyflow", "--help"],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    modules = imported_modules(proc.stderr)
    assert "click" in modules
    assert set() == modules & set(HEAVY)


def test_a_real_command_does_import_them(tmp_path: Path) -> None:
    """The import probe is not vacuous: a command that opens the database imports sqlalchemy."""
    env = _env()
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "treatyflow",
            "--db",
            str(tmp_path / "t.db"),
            "init",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sqlalchemy" in imported_modules(proc.stderr)


def test_lazy_command_table_matches_the_commands() -> None:
    """Each entry of the lazy command table names its command and repeats its own help."""
    import click

    from treatyflow.cli import COMMANDS, main

    ctx = click.Context(main)
    for name, (_module, _attr, text) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
        first = " ".join((command.help or "").split("\n\n")[0].split())
        assert first == text, name


def test_help_imports_no_command_module() -> None:
    """`treatyflow --help` lists every command without importing any command module."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from treatyflow.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('treatyflow.cli.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "['treatyflow.cli.context']"


def test_case_show_loads_only_what_a_read_needs(tmp_path: Path) -> None:
    """A read such as `case show` imports no capability it does not use: no bundles,
    checkpoints, key registry or cryptography, no report renderers, no definition migrations
    (each is imported by the Workspace method that needs it; start-up is the cost of every
    command, docs/performance.md)."""
    db = tmp_path / "t.db"
    code = (
        "import sys, treatyflow, datetime\n"
        f"with treatyflow.open({str(db)!r}, actor='a', create=True) as ws:\n"
        "    ws.open_case(country='LTU', treaty='ottawa', id='LTU-1', at='notified',\n"
        "                 on=datetime.date(2025, 6, 27))\n"
        "print('ok')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), capture_output=True)
    probe = (
        "import sys\n"
        "from treatyflow.cli import main\n"
        "try:\n"
        f"    main(['--db', {str(db)!r}, 'case', 'show', 'LTU-1', '--json'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(sorted(m for m in sys.modules if m.startswith(('treatyflow.', 'cryptography'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=_env(), check=True
    )
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1].replace("'", '"')))
    assert "treatyflow.app.queries" in loaded  # the probe did run the read
    unwanted = {
        "cryptography",
        "treatyflow.keys",
        "treatyflow.registry",
        "treatyflow.bundle",
        "treatyflow.checkpoint",
        "treatyflow.app.bundles",
        "treatyflow.app.versions",
        "treatyflow.app.reports",
        "treatyflow.app.integrity",
        "treatyflow.app.trust",
        "treatyflow.app.conformance",
        "treatyflow.reports.matrix",
        "treatyflow.app.search",
        "treatyflow.results.integrity",
        "treatyflow.results.versions",
        "treatyflow.results.search",
        "treatyflow.results.changes",
        "treatyflow.results.calendar",
        "treatyflow.results.conformance",
    }
    assert loaded & unwanted == set()


def test_workspace_search_defaults_are_the_search_modules() -> None:
    """The Workspace spells its search limits out (so it need not import the search module
    to be defined); they are the search module's defaults."""
    import inspect

    from treatyflow.app import search
    from treatyflow.app.workspace import Workspace

    assert inspect.signature(Workspace.search).parameters["limit"].default == search.DEFAULT_LIMIT
    since = inspect.signature(Workspace.recorded_since).parameters["limit"].default
    assert since == search.DEFAULT_CHANGES
