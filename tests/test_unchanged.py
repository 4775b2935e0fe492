"""A command that fails changes nothing in the database (contract: "Invocation")."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Cli = Callable[..., Result]

#: A procedure whose only step needs a decree at level official with a reference number.
EVIDENCE_PROCEDURE = """\
id: needs-evidence
title: A procedure with an evidence requirement
country: generic
actions: [withdrawal]
include: [international-withdrawal]
initial: considering
states:
  - id: considering
    title: Considering
transitions:
  - trigger: notify
    source: considering
    dest: notified
    evidence:
      - kind: decree
        min_level: official
        reference: true
"""


def fingerprint(path: Path) -> tuple[list[str], str]:
    """The database's full SQL dump and the SHA-256 of its file after a WAL checkpoint.

    treatyflow runs SQLite in WAL mode, so committed pages may sit in ``PATH-wal`` rather
    than in the main file; ``PRAGMA wal_checkpoint(TRUNCATE)`` copies them into the main file
    and empties the WAL, after which the main file's bytes are the whole database. A rolled
    back transaction writes no WAL frames, so a failed command leaves the checkpointed file
    byte-for-byte identical. The SQL dump is compared too: it shows *what* changed if the
    hashes ever differ.
    """
    conn = sqlite3.connect(path)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        dump = list(conn.iterdump())
    finally:
        conn.close()
    return dump, hashlib.sha256(path.read_bytes()).hexdigest()


POPULATE = (
    "case open --country POL --treaty ottawa --procedure generic --id G1 --on 2025-01-10",
    "case note G1 'a note' --on 2025-03-01",
    "case open --country LTU --treaty ottawa --id L1 --at submitted --on 2025-02-01",
    "case open --country FIN --treaty ottawa --procedure generic --id N1 --at notified"
    " --on 2025-01-15",
    "case open --country USA --treaty paris --procedure generic --id US1 --at decided"
    " --on 2019-01-01 --fact entry_into_force_for_party=2016-11-04",
    "case open --country EST --treaty ottawa --procedure needs-evidence --id E1 --on 2025-01-01",
)


@pytest.fixture(scope="module")
def workflows_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A --workflows directory adding the procedure 'needs-evidence'."""
    extra = tmp_path_factory.mktemp("extra")
    (extra / "procedures").mkdir()
    (extra / "procedures" / "needs-evidence.yaml").write_text(EVIDENCE_PROCEDURE)
    return extra


@pytest.fixture
def db(tmp_path: Path, prepared: Callable[..., Path], workflows_dir: Path) -> Path:
    """A copy of a database with cases G1 (generic, considering, last date 2025-03-01), L1
    (ltu, submitted), N1 (notified 2025-01-15), US1 (paris, decided), E1 (needs-evidence)."""
    path = tmp_path / "treatyflow.db"
    shutil.copyfile(prepared(*POPULATE, workflows=workflows_dir), path)
    return path


CASES = [
    pytest.param(
        ("case", "advance", "NOPE", "decide", "--on", "2025-04-01"),
        "CaseNotFound",
        id="case-not-found",
    ),
    pytest.param(("case", "note", "NOPE", "x"), "CaseNotFound", id="case-not-found-note"),
    pytest.param(
        ("case", "set-fact", "NOPE", "armed_conflict=true", "--on", "2025-04-01"),
        "CaseNotFound",
        id="case-not-found-set-fact",
    ),
    pytest.param(
        ("case", "open", "--country", "POL", "--treaty", "nope"),
        "TreatyNotFound",
        id="treaty-not-found",
    ),
    pytest.param(
        ("case", "open", "--country", "POL", "--treaty", "ottawa", "--procedure", "nope"),
        "ProcedureNotFound",
        id="procedure-not-found",
    ),
    pytest.param(
        (
            "case",
            "open",
            "--country",
            "POL",
            "--treaty",
            "ottawa",
            "--procedure",
            "generic",
            "--action",
            "suspension",
        ),
        "InvalidInput",
        id="invalid-action",
    ),
    pytest.param(
        ("case", "open", "--country", "XXX", "--treaty", "ottawa"),
        "InvalidInput",
        id="invalid-country",
    ),
    pytest.param(
        ("case", "open", "--country", "POL", "--treaty", "ottawa", "--on", "2025-02-30"),
        "InvalidInput",
        id="invalid-date",
    ),
    pytest.param(
        ("case", "open", "--country", "POL", "--treaty", "ottawa", "--at", "nowhere"),
        "InvalidInput",
        id="invalid-at",
    ),
    pytest.param(
        ("case", "open", "--country", "POL", "--treaty", "ottawa", "--fact", "nope=1"),
        "InvalidInput",
        id="invalid-fact-name",
    ),
    pytest.param(
        ("case", "set-fact", "G1", "armed_conflict=maybe", "--on", "2025-04-01"),
        "InvalidInput",
        id="invalid-fact-value",
    ),
    pytest.param(("case", "note", "G1", " "), "InvalidInput", id="invalid-empty-note"),
    pytest.param(
        ("case", "note", "G1", "x", "--actor", " "), "InvalidInput", id="invalid-empty-actor"
    ),
    pytest.param(
        ("case", "note", "G1", "x", "--source", "level=secret"),
        "InvalidInput",
        id="invalid-source",
    ),
    pytest.param(
        ("case", "advance", "N1", "take-effect", "--on", "2025-02-01"),
        "InvalidInput",
        id="invalid-clock-trigger",
    ),
    pytest.param(
        ("case", "advance", "N1", "revoke", "--on", "2025-08-01"),
        "ClockDueFirst",  # an InvalidInput subclass
        id="invalid-clock-came-due",
    ),
    pytest.param(
        ("case", "open", "--country", "POL", "--treaty", "ottawa", "--id", "G1"),
        "CaseExists",
        id="case-exists",
    ),
    pytest.param(
        ("case", "advance", "G1", "revoke", "--on", "2025-04-01"),
        "TransitionNotAllowed",
        id="transition-not-allowed",
    ),
    pytest.param(
        ("case", "advance", "L1", "adopt-law", "--on", "2025-04-01"),
        "GuardsNotMet",
        id="guards-not-met",
    ),
    pytest.param(
        (
            "case",
            "advance",
            "E1",
            "notify",
            "--on",
            "2025-04-01",
            "--source",
            "A decree",
            "--source-kind",
            "decree",
        ),
        "EvidenceMissing",
        id="evidence-missing",
    ),
    pytest.param(
        ("case", "advance", "G1", "decide", "--on", "2025-02-01"),
        "OutOfOrder",
        id="out-of-order-advance",
    ),
    pytest.param(
        ("case", "set-fact", "G1", "armed_conflict=true", "--on", "2025-02-01"),
        "OutOfOrder",
        id="out-of-order-set-fact",
    ),
    pytest.param(
        ("case", "advance", "US1", "notify", "--on", "2019-11-03"),
        "NoticeTooEarly",
        id="notice-too-early",
    ),
]


@pytest.mark.parametrize(("args", "error"), CASES)
def test_failed_command_leaves_the_database_unchanged(
    cli: Cli, db: Path, workflows_dir: Path, args: tuple[str, ...], error: str
) -> None:
    """A command refused with a domain error leaves the database byte-for-byte unchanged."""
    before = fingerprint(db)
    # --debug prints the traceback, whose last line names the error class raised: this
    # proves which refusal the command exercised.
    result = cli("--debug", *args, workflows=workflows_dir)
    assert result.exit_code == 1, result.output
    raised = [ln for ln in result.stderr.splitlines() if ln.startswith("treatyflow.errors.")]
    assert f"treatyflow.errors.{error}" == raised[-1].split(":")[0]
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    after = fingerprint(db)
    assert before[0] == after[0]
    assert before[1] == after[1]


def test_a_successful_command_does_change_the_fingerprint(cli: Cli, db: Path) -> None:
    """The fingerprint notices a change (so the tests above are not vacuous)."""
    before = fingerprint(db)
    assert cli("case", "note", "G1", "another", "--on", "2025-03-02").exit_code == 0
    assert before[1] != fingerprint(db)[1]
