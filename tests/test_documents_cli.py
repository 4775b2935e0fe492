"""``treatyflow case attach`` and ``case document`` (#17) on the command line."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import treatyflow

Cli = Callable[..., Result]

CONTENT = b"Note verbale No. 12/2025 to the Secretary-General\n"
DIGEST = "sha256:" + hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def opened(cli: Cli, tmp_path: Path) -> Path:
    result = cli("case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1",
                 "--at", "notified", "--on", "2025-06-27")  # fmt: skip
    assert result.exit_code == 0, result.output
    path = tmp_path / "note-verbale.pdf"
    path.write_bytes(CONTENT)
    return path


def test_attach_then_document_gives_the_same_bytes(cli: Cli, opened: Path, db: Path) -> None:
    options = ["--kind", "note-verbale", "--level", "official", "--on", "2025-06-28"]
    result = cli("case", "attach", "LTU-1", str(opened), *options, "--note", "received", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["stored"] is True
    assert doc["document"] == {
        "sha256": DIGEST,
        "name": "note-verbale.pdf",
        "size": len(CONTENT),
        "media_type": "application/pdf",
        "kind": "note-verbale",
        "level": "official",
        "seq": 2,
        "occurred_on": "2025-06-28",
    }
    with treatyflow.open(db) as ws:  # the API's typed result is the CLI's JSON
        assert ws.case("LTU-1").to_dict() == doc["case"]
    out = opened.parent / "back.pdf"
    result = cli("case", "document", DIGEST, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == CONTENT
    refused = cli("case", "document", DIGEST, "-o", str(out))
    assert refused.exit_code == 1
    assert refused.stderr == f"Error: {out} exists; use --force to overwrite it.\n"
    out.write_bytes(b"old")
    assert cli("case", "document", DIGEST[7:], "-o", str(out), "--force").exit_code == 0
    assert out.read_bytes() == CONTENT
    piped = cli("case", "document", DIGEST, "-o", "-")
    assert piped.stdout_bytes == CONTENT


def test_history_and_show_name_the_document(cli: Cli, opened: Path) -> None:
    assert cli("case", "attach", "LTU-1", str(opened), "--on", "2025-06-28").exit_code == 0
    history = cli("case", "history", "LTU-1").stdout
    assert f"attached note-verbale.pdf ({DIGEST[:19]})" in history
    show = cli("case", "show", "LTU-1").stdout
    assert f"note-verbale.pdf ({DIGEST[:19]}, event 2)" in show
    report = cli("case", "show", "LTU-1", "--json").stdout
    assert [d["seq"] for d in json.loads(report)["documents"]] == [2]
    markdown = cli("report", "case", "LTU-1", "--format", "md").stdout
    assert f"document attached: note-verbale.pdf ({DIGEST[:19]})" in markdown


def test_a_file_over_the_limit_is_refused_in_one_sentence(
    cli: Cli, opened: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREATYFLOW_MAX_DOCUMENT_BYTES", "10")
    result = cli("case", "attach", "LTU-1", str(opened))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: '{opened}' is larger than the limit of 10 bytes for an attached document.\n"
    )
    assert json.loads(cli("case", "show", "LTU-1", "--json").stdout)["version"] == 1


def test_unknown_case_digest_and_file(cli: Cli, opened: Path, tmp_path: Path) -> None:
    result = cli("case", "attach", "NOPE", str(opened))
    assert result.exit_code == 1 and result.stderr.startswith("Error: no case 'NOPE'")
    result = cli("case", "attach", "LTU-1", str(tmp_path / "missing.pdf"))
    assert result.exit_code == 1 and "cannot read" in result.stderr
    result = cli("case", "document", "sha256:" + "0" * 64, "-o", str(tmp_path / "x"))
    assert result.exit_code == 1
    assert "lists a case's documents" in result.stderr
    assert not (tmp_path / "x").exists()
    result = cli("case", "document", "abc", "-o", str(tmp_path / "x"))
    assert result.exit_code == 1 and "is not a SHA-256 digest" in result.stderr


def test_a_source_cites_the_document(cli: Cli, opened: Path) -> None:
    assert cli("case", "attach", "LTU-1", str(opened), "--on", "2025-06-28").exit_code == 0
    result = cli("case", "note", "LTU-1", "the note verbale", "--on", "2025-06-29",
                 "--source", f"document={DIGEST}; level=official")  # fmt: skip
    assert result.exit_code == 0, result.output
    events = json.loads(cli("case", "history", "LTU-1", "--json").stdout)
    assert events[-1]["sources"] == [
        {"citation": "note-verbale.pdf", "document": DIGEST, "level": "official"}
    ]


def test_verify_exits_1_naming_case_seq_and_digest(cli: Cli, opened: Path, db: Path) -> None:
    assert cli("case", "attach", "LTU-1", str(opened), "--on", "2025-06-28").exit_code == 0
    assert cli("verify").exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE documents SET content = ?", (b"edited",))
    result = cli("verify")
    assert result.exit_code == 1
    assert f"case 'LTU-1': first bad event is seq 2 (document {DIGEST} changed" in result.stdout


def test_a_tampered_bundle_is_refused_by_import(cli: Cli, opened: Path, tmp_path: Path) -> None:
    assert cli("case", "attach", "LTU-1", str(opened), "--on", "2025-06-28").exit_code == 0
    bundle = tmp_path / "b.jsonl"
    result = cli("export", "-o", str(bundle))
    assert result.exit_code == 0 and ", 1 document(s) to" in result.stdout
    text = bundle.read_text(encoding="utf-8")
    import base64

    old = base64.b64encode(CONTENT).decode()
    new = base64.b64encode(CONTENT.replace(b"12/2025", b"13/2025")).decode()
    bundle.write_text(text.replace(old, new), encoding="utf-8")
    checked = cli("verify", "--bundle", str(bundle))
    assert checked.exit_code == 1
    assert f"document {DIGEST}: its content hashes to" in checked.stdout
    from click.testing import CliRunner

    from treatyflow.cli import main

    other = tmp_path / "other.db"
    result = CliRunner().invoke(main, ["--db", str(other), "import", str(bundle)])
    assert result.exit_code == 1 and result.stderr.startswith("Error: the bundle does not verify")


def test_without_level_the_level_follows_the_kind(cli: Cli, opened: Path) -> None:
    """A note verbale attached without --level is official, as any source of that kind is;
    a document of no official kind is reported; --level still wins (#17 item 8)."""
    levels = []
    for options in (["--kind", "note-verbale"], ["--kind", "press-article"], []):
        result = cli("case", "attach", "LTU-1", str(opened), *options, "--json")
        assert result.exit_code == 0, result.output
        levels.append(json.loads(result.stdout)["document"]["level"])
    result = cli("case", "attach", "LTU-1", str(opened), "--kind", "decree", "--level",
                 "confirmed", "--json")  # fmt: skip
    levels.append(json.loads(result.stdout)["document"]["level"])
    assert levels == ["official", "reported", "reported", "confirmed"]
