"""Every command on both backends, and no password from a database URL in any output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from treatyflow.cli import main
from treatyflow.redaction import redact, redact_url

BOGUS = "postgresql+psycopg://u:s3cretPW@127.0.0.1:1/x"


def _run(db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args])


def _ok(db: str, *args: str) -> Result:
    result = _run(db, *args)
    assert result.exit_code == 0, (args, result.output)
    return result


def test_every_command_works_on_the_backend(db_url: str, tmp_path: Path) -> None:
    """The contract scenario and every other database command run on SQLite and PostgreSQL."""
    _ok(db_url, "init")
    _ok(db_url, "case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1",
        "--at", "notified", "--on", "2025-06-27")  # fmt: skip
    _ok(db_url, "case", "open", "--country", "EST", "--treaty", "ottawa", "--id", "EST-1",
        "--at", "notified", "--on", "2025-06-27")  # fmt: skip
    shown = json.loads(_ok(db_url, "case", "show", "LTU-1", "--json").stdout)
    assert (shown["state"], shown["effective_on"]) == ("notified", "2025-12-27")
    _ok(db_url, "case", "set-fact", "LTU-1", "armed_conflict=false", "--on", "2025-07-01")
    _ok(db_url, "case", "note", "LTU-1", "seen in the UN depositary notification")
    _ok(db_url, "case", "advance", "EST-1", "revoke", "--on", "2025-07-02")
    assert "0 clock(s)" in _ok(db_url, "tick", "--as-of", "2025-12-26").stdout
    _ok(db_url, "tick", "--as-of", "2025-12-27")
    history = json.loads(_ok(db_url, "case", "history", "LTU-1", "--json").stdout)
    assert [e["kind"] for e in history][-1] == "take-effect"
    assert {c["id"] for c in json.loads(_ok(db_url, "case", "list", "--json").stdout)} == {
        "LTU-1",
        "EST-1",
    }
    json.loads(_ok(db_url, "pending", "--json").stdout)
    json.loads(_ok(db_url, "conformance", "--json").stdout)
    _ok(db_url, "report", "matrix", "--format", "csv")
    _ok(db_url, "report", "case", "LTU-1", "--format", "md")
    _ok(db_url, "calendar", "--as-of", "2025-07-01", "-o", str(tmp_path / "cal.ics"))
    _ok(db_url, "export", "-o", str(tmp_path / "b.jsonl"))
    _ok(db_url, "checkpoint", "-o", str(tmp_path / "cp.json"))
    _ok(db_url, "verify", "--checkpoint", str(tmp_path / "cp.json"))
    _ok(db_url, "doctor")
    assert json.loads(_ok(db_url, "verify", "--json").stdout)["ok"] is True


@pytest.mark.parametrize(
    "args",
    [
        ["init"],
        ["verify"],
        ["case", "list"],
        ["db", "current"],
        ["export", "-o", "{tmp}/b.jsonl"],
        ["checkpoint", "-o", "{tmp}/cp.json"],
        ["pending", "--json"],
        ["doctor"],
    ],
    ids=lambda a: "-".join(a[:2]),
)
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_password_never_shown(args: list[str], debug: bool, tmp_path: Path) -> None:
    """An unreachable database fails with exit 1 and never prints the URL's password."""
    argv = ["--db", BOGUS, *(["--debug"] if debug else []), *args]
    result = CliRunner().invoke(main, [a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert result.exit_code == 1, result.output
    assert "s3cretPW" not in result.stdout
    assert "s3cretPW" not in result.stderr
    assert "Error:" in result.stderr or "FAIL" in result.stdout  # doctor reports on stdout


def test_password_never_shown_by_a_real_process() -> None:
    """The installed program, run with --debug, keeps the password out of stderr."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "treatyflow", "--db", BOGUS, "--debug", "case", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr
    assert "s3cretPW" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("postgresql+psycopg://u:s3cretPW@host/db", "s3cretPW"),
        ("postgresql+psycopg://u:p@ss-word@host/db", "ss-word"),
        ("postgresql+psycopg://:s3cretPW@host/db", "s3cretPW"),
        ("error on 'postgresql://u:s3cretPW@h:5/d' (refused)", "s3cretPW"),
        ("host=h user=u password=s3cretPW dbname=d", "s3cretPW"),
    ],
)
def test_redaction_hides_the_password(text: str, hidden: str) -> None:
    """redact_url hides passwords in URLs, including ones containing '@', and password=."""
    assert hidden not in redact_url(text)
    assert "***" in redact_url(text)


def test_redaction_hides_a_literal_password() -> None:
    """redact also hides the --db URL's password wherever else it appears."""
    db = "postgresql+psycopg://u:p%40ssW0rd@host/db"
    assert "p@ssW0rd" not in redact("the server said p@ssW0rd is wrong", db)
    assert redact("sqlite:///plain.db", "plain.db") == "sqlite:///plain.db"


def test_postgresql_scheme_means_psycopg3(db_url: str) -> None:
    """A plain postgresql:// URL is opened with psycopg 3 (the driver treatyflow ships)."""
    from treatyflow.store import open_store

    if db_url.startswith("sqlite"):
        pytest.skip("the postgresql:// alias concerns PostgreSQL URLs only")
    store = open_store(db_url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        assert store.engine.dialect.driver == "psycopg"
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        store.engine.dispose()
