"""Secure defaults: private database files, safe YAML, HTML autoescape, bandit rules, and
database passwords that never reach the screen."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import string
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treatyflow.cli import main

SRC = Path(__file__).resolve().parents[2] / "src" / "treatyflow"


def _python_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


# ---------------------------------------------------------------------------- file modes
PERMS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.umask(int(sys.argv[2], 8))
    from click.testing import CliRunner
    from treatyflow.cli import main
    from treatyflow.store import open_store

    db = sys.argv[1]
    runner = CliRunner(env={"TREATYFLOW_ACTOR": "analyst"})
    for argv in (["init"], ["case", "open", "--country", "LTU", "--treaty", "ottawa",
                            "--at", "notified", "--on", "2025-06-27"]):
        result = runner.invoke(main, ["--db", db, *argv])
        assert result.exit_code == 0, result.output
    path = db.removeprefix("sqlite:///")
    store = open_store(db)
    modes = {}
    with store.write() as conn:  # while a writer is connected the -wal and -shm exist
        conn.exec_driver_sql("UPDATE cases SET updated_at = updated_at")
        for suffix in ("", "-wal", "-shm"):
            modes[suffix or "db"] = oct(os.stat(path + suffix).st_mode & 0o777)
    store.engine.dispose()
    print(json.dumps(modes))
    """
)


@pytest.mark.parametrize("umask", ["000", "022", "002"])
@pytest.mark.parametrize("form", ["path", "url"])
def test_database_files_are_private_whatever_the_umask(
    tmp_path: Path, umask: str, form: str
) -> None:
    """The database and its -wal/-shm are created 0600 under any umask, path or URL."""
    path = tmp_path / "private.db"
    db = str(path) if form == "path" else f"sqlite:///{path}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TREATYFLOW_")}
    proc = subprocess.run(
        [sys.executable, "-c", PERMS_SCRIPT, db, umask],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    modes = json.loads(proc.stdout.strip().splitlines()[-1])
    assert modes == {"db": "0o600", "-wal": "0o600", "-shm": "0o600"}


# ---------------------------------------------------------------------------- YAML
UNSAFE_YAML = re.compile(
    r"yaml\.(load|load_all|unsafe_load|unsafe_load_all|full_load|full_load_all)\s*\("
    r"|Loader\s*=\s*yaml\.(Loader|FullLoader|UnsafeLoader)"
    r"|yaml\.(UnsafeLoader|FullLoader)\b"
    r"|\byaml\.Loader\b"
)


def test_yaml_is_read_only_through_the_safe_loader() -> None:
    """No source file calls an unsafe YAML loader; loader.py's _Loader is a safe one."""
    from treatyflow import loader

    offenders = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in _python_files()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if UNSAFE_YAML.search(line)
    ]
    assert offenders == []
    # SafeLoader or libyaml's CSafeLoader: either way the safe constructor, never a full one
    assert issubclass(loader._Loader, yaml.constructor.SafeConstructor)
    assert not issubclass(loader._Loader, yaml.constructor.FullConstructor)


def test_only_the_loader_imports_yaml() -> None:
    """Definitions are parsed in one place: loader.py is the only module importing yaml."""
    importers = []
    for path in _python_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "yaml" or n.startswith("yaml.") for n in names):
                importers.append(path.relative_to(SRC).as_posix())
    assert set(importers) == {"loader.py"}


# ---------------------------------------------------------------------------- HTML
def _jinja_environments() -> Iterator[tuple[str, ast.Call]]:
    for path in _python_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("Environment", "Template", "from_string"):
                yield f"{path.relative_to(SRC)}:{node.lineno}", node


def test_every_jinja_environment_autoescapes() -> None:
    """Every jinja2.Environment in src/ is built with autoescape on (no bare Template)."""
    seen = []
    for where, call in _jinja_environments():
        name = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        if name == "from_string":
            continue  # a method of an Environment checked here
        keywords = {k.arg: k.value for k in call.keywords}
        assert "autoescape" in keywords, f"{where}: no autoescape"
        value = keywords["autoescape"]
        assert not (isinstance(value, ast.Constant) and not value.value), f"{where}: off"
        seen.append(where)
    # The walk must find the reports' environment, or it checked nothing; and that
    # environment (the one the shipped templates load from) must really escape.
    assert any(where.startswith("reports/html.py:") for where in seen), seen
    from treatyflow.reports import html

    env = html.environment()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    assert env.autoescape is True  # for every template, not a per-extension choice
    assert {"case.html.j2", "report.html.j2"} <= set(env.list_templates())


# ---------------------------------------------------------------------------- bandit
def test_bandit_rules_pass_on_src() -> None:
    """ruff's bandit rules (S: no SQL from strings, no shell...) pass on src/ as in make check."""
    # Run with the project's own configuration (pyproject.toml selects S and its ignores).
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff (a dev dependency, make install) is not installed"
    root = SRC.parents[1]
    proc = subprocess.run(
        [ruff, "check", "--no-cache", "--output-format", "json", "--exit-zero", "src"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert proc.returncode == 0, proc.stderr
    found = [
        f"{d['filename']}:{d['location']['row']}: {d['code']} {d['message']}"
        for d in json.loads(proc.stdout)
        if re.fullmatch(r"S\d+", str(d.get("code") or ""))
    ]
    assert found == []
    config = (root / "pyproject.toml").read_text()
    assert re.search(r'select = \[[^\]]*"S"', config), "bandit rules (S) are not selected"


# ---------------------------------------------------------------------------- passwords
def _every_command(group: click.Group) -> list[list[str]]:
    """One command line per command, with placeholder arguments and required options."""
    lines: list[list[str]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)  # list_commands/get_command: the root group is lazy
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*path, name])
            return
        argv = list(path)
        for param in cmd.params:
            if isinstance(param, click.Argument) and param.required:
                argv.append("1" if isinstance(param.type, click.types.IntParamType) else "X1")
            elif isinstance(param, click.Option) and param.required:
                argv += [param.opts[0], "out.txt" if "-o" in param.opts else "2025-07-01"]
        lines.append(argv)

    walk(group, [])
    return lines


COMMANDS = _every_command(main)
assert len(COMMANDS) > 20, "the command walk found too few commands"
URL_SAFE = string.ascii_letters + string.digits + "-._~"


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _check_passwords(password: str, via_env: bool, debug: bool) -> None:
    def run(secret: str, command: list[str]) -> tuple[list[str], Any]:
        url = f"postgresql+psycopg://user:{secret}@127.0.0.1:1/x"
        runner = CliRunner(env={"TREATYFLOW_DB": url} if via_env else {})
        argv = (["--debug"] if debug else []) + ([] if via_env else ["--db", url]) + command
        return argv, runner.invoke(main, argv)

    for command in COMMANDS:
        argv, result = run(password, command)
        shown = f"{argv}: {result.output}"
        assert result.exit_code in (0, 1, 2), shown
        if not debug:
            assert "Traceback" not in result.output, shown
        for stream in ("stdout", "stderr"):
            text = getattr(result, stream)
            if password in text:  # a word like 'Procedur' may occur anyway: compare
                other = "0" * len(password) if set(password) != {"0"} else "1" * len(password)
                _, baseline = run(other, command)
                assert text.count(password) == getattr(baseline, stream).count(password), shown


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    password=st.text(URL_SAFE, min_size=12, max_size=40),
    via_env=st.booleans(),
    debug=st.booleans(),
)
def test_database_password_is_never_printed(
    in_tmp: Path, password: str, via_env: bool, debug: bool
) -> None:
    """A PostgreSQL password never appears in any command's output, with or without --debug."""
    _check_passwords(password, via_env, debug)


@pytest.mark.slow
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    password=st.text(URL_SAFE, min_size=8, max_size=80),
    via_env=st.booleans(),
    debug=st.booleans(),
)
def test_database_password_is_never_printed_long(
    in_tmp: Path, password: str, via_env: bool, debug: bool
) -> None:
    """Many random passwords never appear in any command's output."""
    _check_passwords(password, via_env, debug)


@pytest.mark.parametrize("debug", [False, True])
def test_password_is_redacted_in_the_named_commands(in_tmp: Path, debug: bool) -> None:
    """init, case list, pending, verify and doctor on an unreachable server hide the password."""
    password = "s3cr3t-Pa55.w0rd~x"
    url = f"postgresql+psycopg://user:{password}@127.0.0.1:1/x"
    runner = CliRunner()
    for command in (["init"], ["case", "list"], ["pending"], ["verify"], ["doctor"]):
        argv = ["--debug"] if debug else []
        result = runner.invoke(main, [*argv, "--db", url, *command])
        assert result.exit_code == 1, result.output
        assert password not in result.output
        assert "user:***@127.0.0.1" in result.output
