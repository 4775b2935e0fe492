"""``treatyflow doctor``: a healthy database passes; each kind of damage is named with its fix."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from treatyflow.doctor import CHECKS, run_checks

Cli = Callable[..., Result]
SHIPPED = Path(__file__).resolve().parents[2] / "workflows"
TODAY = dt.date.today()
RECENT = (TODAY - dt.timedelta(days=3)).isoformat()  # a six-month clock is still running
LONG_AGO = (TODAY - dt.timedelta(days=400)).isoformat()  # its six months are over


def _open(cli: Cli, case_id: str, on: str, *extra: str) -> None:
    result = cli(
        "case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", case_id,
        "--at", "notified", "--on", on, *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _doctor(cli: Cli, **kwargs: Any) -> tuple[int, dict[str, Any], str]:
    as_json = cli("doctor", "--json", **kwargs)
    text = cli("doctor", **kwargs)
    for result in (as_json, text):
        assert "Traceback" not in result.output and "internal error" not in result.output
    assert as_json.exit_code == text.exit_code
    return text.exit_code, json.loads(as_json.stdout), text.stdout


def _failed(doc: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f["check"] == check and not f["ok"]]


@pytest.fixture
def healthy(cli: Cli, db: Path) -> Path:
    """A database with a running clock (LTU-1) and a case with no clock yet (G1)."""
    db.chmod(0o600)  # as 'treatyflow init' creates it (the shared fixture copies a template)
    _open(cli, "LTU-1", RECENT)
    result = cli("case", "open", "--country", "POL", "--treaty", "ottawa", "--id", "G1")
    assert result.exit_code == 0, result.output
    return db


def test_healthy_database_passes(cli: Cli, healthy: Path) -> None:
    """On a healthy database doctor exits 0 and every check reports ok."""
    code, doc, text = _doctor(cli)
    assert code == 0, text
    assert doc["ok"] is True and doc["problems"] == 0
    assert [f["check"] for f in doc["findings"]] == list(CHECKS)
    for finding in doc["findings"]:
        assert set(finding) >= {"check", "ok", "problem", "fix_command"}
        assert finding["ok"] and finding["problem"] is None and finding["fix_command"] is None
    assert "No problems found." in text
    assert len(text.splitlines()) <= 24  # one screen


def test_edited_event_row_is_named(cli: Cli, healthy: Path) -> None:
    """An event row edited with SQL makes doctor exit 1 naming the case and the first bad seq."""
    cli("case", "note", "LTU-1", "received", "--on", RECENT)
    with contextlib.closing(sqlite3.connect(healthy)) as conn, conn:
        conn.execute("UPDATE events SET note = 'forged' WHERE case_id = 'LTU-1' AND seq = 2")
    code, doc, text = _doctor(cli)
    assert code == 1
    [finding] = _failed(doc, "chain")
    assert "case 'LTU-1': first bad event is seq 2" in finding["problem"]
    assert finding["fix_command"]
    assert "FAIL  chain" in text


def test_world_readable_database_is_named(cli: Cli, healthy: Path) -> None:
    """A database file readable by others makes doctor exit 1 with the chmod that fixes it."""
    os.chmod(healthy, 0o644)
    code, doc, _ = _doctor(cli)
    assert code == 1
    [finding] = _failed(doc, "permissions")
    assert "0644" in finding["problem"]
    assert finding["fix_command"] == f"chmod 600 {healthy}"


def test_world_readable_wal_is_named(healthy: Path) -> None:
    """A -wal file readable by others is named too (checked before SQLite opens the files)."""
    wal = Path(f"{healthy}-wal")
    wal.write_bytes(b"")
    os.chmod(wal, 0o640)
    findings = [f for f in run_checks(str(healthy), [SHIPPED]) if not f.ok]
    assert [f.check for f in findings] == ["permissions"]
    assert str(wal) in str(findings[0].problem)
    assert findings[0].fix_command == f"chmod 600 {wal}"


def test_due_clock_not_ticked_is_named(cli: Cli, healthy: Path) -> None:
    """A clock that came due without tick makes doctor exit 1 and suggest 'treatyflow tick'."""
    _open(cli, "OLD-1", LONG_AGO)
    code, doc, _ = _doctor(cli)
    assert code == 1
    [finding] = _failed(doc, "clocks")
    assert "OLD-1" in finding["problem"]
    assert finding["fix_command"].startswith("treatyflow tick")
    assert cli("tick").exit_code == 0
    assert _doctor(cli)[0] == 0


def test_changed_procedure_is_named(cli: Cli, healthy: Path, tmp_path: Path) -> None:
    """A procedure edited (via --workflows) after a case opened under it is named."""
    procedures = tmp_path / "wf" / "procedures"
    procedures.mkdir(parents=True)
    text = (SHIPPED / "procedures" / "ltu.yaml").read_text()
    assert "\ntitle: " in text
    edited = text.replace("\ntitle: ", "\ntitle: Edited - ", 1)
    (procedures / "ltu.yaml").write_text(edited)
    code, doc, _ = _doctor(cli, workflows=tmp_path / "wf")
    assert code == 1
    [finding] = _failed(doc, "definitions")
    assert "'ltu'" in finding["problem"] and "LTU-1" in finding["problem"]
    assert finding["fix_command"] == "treatyflow workflow diff ltu"
    assert _doctor(cli)[0] == 0  # the shipped definitions: nothing changed


def test_every_problem_at_once_is_named(cli: Cli, healthy: Path, tmp_path: Path) -> None:
    """An edited row, chmod 644, an unticked clock and an edited procedure: four findings."""
    _open(cli, "OLD-1", LONG_AGO)
    with contextlib.closing(sqlite3.connect(healthy)) as conn, conn:
        conn.execute("UPDATE events SET actor = 'mallory' WHERE case_id = 'G1' AND seq = 1")
    os.chmod(healthy, 0o644)
    procedures = tmp_path / "wf" / "procedures"
    procedures.mkdir(parents=True)
    text = (SHIPPED / "procedures" / "ltu.yaml").read_text()
    (procedures / "ltu.yaml").write_text(text.replace("\ntitle: ", "\ntitle: Edited ", 1))
    code, doc, text_out = _doctor(cli, workflows=tmp_path / "wf")
    assert code == 1
    failing = {f["check"] for f in doc["findings"] if not f["ok"]}
    assert failing == {"chain", "permissions", "clocks", "definitions"}
    assert doc["problems"] == 4
    assert text_out.count("fix: ") == 4


def test_missing_database_is_named(tmp_path: Path) -> None:
    """No database file: doctor exits 1 and says to run init."""
    missing = tmp_path / "nothing-here.db"
    findings = run_checks(str(missing), [SHIPPED])
    assert [(f.check, f.ok) for f in findings] == [("database", False)]
    assert findings[0].fix_command == f"treatyflow --db {missing} init"


def test_unmigrated_database_is_named(tmp_path: Path) -> None:
    """An empty SQLite file has pending migrations; doctor says to run init."""
    path = tmp_path / "empty.db"
    path.touch(mode=0o600)
    findings = run_checks(str(path), [SHIPPED])
    [finding] = [f for f in findings if not f.ok]
    assert finding.check == "migrations" and "init" in str(finding.fix_command)


def test_unknown_schema_revision_is_named(cli: Cli, healthy: Path) -> None:
    """A schema revision this treatyflow does not know (a newer one) is named."""
    with contextlib.closing(sqlite3.connect(healthy)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    code, doc, _ = _doctor(cli)
    assert code == 1
    [finding] = _failed(doc, "migrations")
    assert "9999_future" in finding["problem"]


def test_corrupt_pages_are_named_without_a_crash(cli: Cli, healthy: Path) -> None:
    """Garbage over the database's pages: doctor exits 1 naming the damage, no traceback."""
    conn = sqlite3.connect(healthy)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(healthy, "r+b") as handle:
        for page in range(1, pages):  # every b-tree page header but the first page's
            handle.seek(page * size)
            handle.write(b"\xde\xad\xbe\xef" * 4)
    code, doc, text = _doctor(cli)
    assert code == 1, text
    problems = " ".join(f["problem"] for f in doc["findings"] if not f["ok"])
    assert "integrity_check" in problems or "malformed" in problems


def test_garbage_file_is_named(tmp_path: Path) -> None:
    """A file that is not a database at all: one finding, with a restore as the fix."""
    path = tmp_path / "junk.db"
    path.write_bytes(os.urandom(8192))
    path.chmod(0o600)
    findings = run_checks(str(path), [SHIPPED])
    [finding] = [f for f in findings if not f.ok]
    assert finding.check == "database" and "not a database" in str(finding.problem)


def test_invalid_workflows_are_named(cli: Cli, healthy: Path, tmp_path: Path) -> None:
    """Definitions that do not load are a catalog finding with 'workflow lint' as the fix."""
    treaties = tmp_path / "wf" / "treaties"
    treaties.mkdir(parents=True)
    (treaties / "bad.yaml").write_text("id: [unclosed\n")
    code, doc, _ = _doctor(cli, workflows=tmp_path / "wf")
    assert code == 1
    [finding] = _failed(doc, "catalog")
    assert "bad.yaml" in finding["problem"]
    assert finding["fix_command"].startswith("treatyflow workflow lint")


def test_doctor_never_writes(cli: Cli, healthy: Path, dump: Callable[[Path], str]) -> None:
    """doctor reads only: every row is the same after it runs, even on a damaged database."""
    with contextlib.closing(sqlite3.connect(healthy)) as conn, conn:
        conn.execute("UPDATE events SET note = 'forged' WHERE case_id = 'G1'")
    before = dump(healthy)
    assert _doctor(cli)[0] == 1
    assert dump(healthy) == before


def test_postgres_url_without_server_is_named(tmp_path: Path) -> None:
    """An unreachable PostgreSQL server: one database finding, the password hidden."""
    findings = run_checks("postgresql+psycopg://u:hunter2hunter2@127.0.0.1:1/x", [SHIPPED])
    [finding] = findings
    assert finding.check == "database" and not finding.ok
    assert "hunter2hunter2" not in str(finding.problem) + str(finding.fix_command)
    assert str(finding.fix_command).startswith("pg_isready")
