"""The command line against the outside contract (shared/contract.md)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from treatyflow.cli import main

Cli = Callable[..., Result]


def one_json(result: Result) -> Any:
    """The single JSON document on stdout (json.loads refuses trailing data)."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_domain_error(result: Result, *fragments: str) -> str:
    """Exit 1, stderr is exactly one line starting 'Error: ', no traceback; returns it."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.fixture
def generic_case(db: Path, prepared: Callable[..., Path]) -> str:
    """A POL/ottawa case G1 under the generic procedure, opened on 2025-01-10."""
    command = "case open --country POL --treaty ottawa --procedure generic --id G1 --on 2025-01-10"
    shutil.copyfile(prepared(command), db)
    return "G1"


# ------------------------------------------------------------------------------ init
def test_init_is_idempotent(runner: CliRunner, tmp_path: Path) -> None:
    """Running init twice creates the database once and then reports it up to date."""
    path = tmp_path / "new.db"
    first = runner.invoke(main, ["--db", str(path), "init"])
    second = runner.invoke(main, ["--db", str(path), "init"])
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert "upgraded from empty" in first.stdout
    assert "up to date" in second.stdout


def test_init_accepts_a_sqlite_url(runner: CliRunner, tmp_path: Path) -> None:
    """--db takes an SQLAlchemy sqlite:/// URL as well as a path."""
    path = tmp_path / "url.db"
    result = runner.invoke(main, ["--db", f"sqlite:///{path}", "init"])
    assert result.exit_code == 0, result.output
    assert path.exists()


def test_commands_without_a_database_ask_for_init(runner: CliRunner, tmp_path: Path) -> None:
    """A read command on a missing database fails with a hint to run init."""
    result = runner.invoke(main, ["--db", str(tmp_path / "missing.db"), "case", "list"])
    assert_domain_error(result, "treatyflow init")
    assert not (tmp_path / "missing.db").exists()


# ------------------------------------------------------------------------------ workflow
def test_workflow_list_json_names_every_shipped_treaty(cli: Cli) -> None:
    """workflow list --json lists every treaty id the contract says is shipped."""
    doc = one_json(cli("workflow", "list", "--json"))
    expected = {
        "ottawa",
        "ccm",
        "rome-statute",
        "paris",
        "kyoto",
        "npt",
        "inf",
        "open-skies",
        "cfe",
        "icsid",
        "ect",
        "unesco",
        "icrw",
        "istanbul",
        "achr",
        "who",
    }
    assert expected <= {t["id"] for t in doc["treaties"]}
    assert {"generic", "ltu"} <= {p["id"] for p in doc["procedures"]}


def test_workflow_list_prints_a_table(cli: Cli) -> None:
    """workflow list without --json prints the treaties and procedures as text."""
    result = cli("workflow", "list")
    assert result.exit_code == 0
    assert "ottawa" in result.stdout
    assert "generic" in result.stdout


@pytest.mark.parametrize(("ident", "kind"), [("ottawa", "treaty"), ("generic", "procedure")])
def test_workflow_show_json(cli: Cli, ident: str, kind: str) -> None:
    """workflow show ID --json prints one document describing the treaty or procedure."""
    doc = one_json(cli("workflow", "show", ident, "--json"))
    assert (ident, kind) == (doc["id"], doc["kind"])
    assert doc["hash"].startswith("sha256:")


def test_workflow_show_composes_parts(cli: Cli) -> None:
    """A procedure is shown with its included part's states merged in."""
    doc = one_json(cli("workflow", "show", "generic", "--json"))
    assert {"considering", "notified", "effective", "revoked"} <= {s["id"] for s in doc["states"]}


def test_workflow_show_text(cli: Cli) -> None:
    """workflow show without --json prints the procedure's states and transitions."""
    result = cli("workflow", "show", "generic")
    assert result.exit_code == 0
    assert "considering" in result.stdout
    assert "take-effect" in result.stdout


def test_workflow_show_unknown_id(cli: Cli) -> None:
    """workflow show of an unknown id is a domain error listing the known ids."""
    assert_domain_error(cli("workflow", "show", "nope"), "'nope'", "ottawa")


def test_workflow_lint_shipped_is_clean(cli: Cli) -> None:
    """workflow lint on the shipped definitions exits 0."""
    result = cli("workflow", "lint")
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout


def test_workflow_lint_json(cli: Cli) -> None:
    """workflow lint --json prints one document with ok and the problems."""
    assert one_json(cli("workflow", "lint", "--json")) == {"ok": True, "problems": []}


def test_workflow_diagram_mermaid(cli: Cli) -> None:
    """The default diagram is a Mermaid state diagram with every transition."""
    result = cli("workflow", "diagram", "generic")
    assert result.exit_code == 0, result.output
    assert "stateDiagram-v2" in result.stdout
    assert "notified --> effective: take-effect" in result.stdout
    assert "[*] --> considering" in result.stdout


def test_workflow_diagram_dot(cli: Cli) -> None:
    """--format dot prints a Graphviz digraph."""
    result = cli("workflow", "diagram", "generic", "--format", "dot")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('digraph "generic" {')
    assert '"notified" -> "revoked" [label="revoke"];' in result.stdout
    assert result.stdout.rstrip().endswith("}")


def test_workflow_diagram_unknown_procedure(cli: Cli) -> None:
    """Drawing an unknown procedure is a domain error."""
    assert_domain_error(cli("workflow", "diagram", "nope"), "no procedure 'nope'")


# ------------------------------------------------------------------------------ case
def test_case_open_prints_the_id(cli: Cli) -> None:
    """case open prints the new case id, derived from country, treaty and year."""
    result = cli("case", "open", "--country", "LTU", "--treaty", "ottawa", "--on", "2025-01-02")
    assert result.exit_code == 0, result.output
    assert result.stdout == "LTU-ottawa-2025\n"


def test_case_open_twice_gets_a_fresh_id(cli: Cli) -> None:
    """A second case for the same country, treaty and year gets a suffixed id."""
    args = ("case", "open", "--country", "LTU", "--treaty", "ottawa", "--on", "2025-01-02")
    cli(*args)
    assert cli(*args).stdout == "LTU-ottawa-2025-2\n"


def test_case_open_json_is_the_show_document(cli: Cli) -> None:
    """case open --json prints the same document as case show --json."""
    opened = one_json(
        cli("case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "L", "--json")
    )
    shown = one_json(cli("case", "show", "L", "--json"))
    assert shown == opened


def test_case_open_defaults_to_the_country_procedure(cli: Cli) -> None:
    """--procedure defaults to the country's own procedure, else generic."""
    ltu = one_json(cli("case", "open", "--country", "LTU", "--treaty", "ottawa", "--json"))
    bra = one_json(cli("case", "open", "--country", "BRA", "--treaty", "ottawa", "--json"))
    assert (ltu["procedure"], bra["procedure"]) == ("ltu", "generic")


def test_case_open_with_facts(cli: Cli) -> None:
    """--fact sets a fact from the --on date."""
    doc = one_json(
        cli(
            "case",
            "open",
            "--country",
            "LTU",
            "--treaty",
            "ottawa",
            "--at",
            "notified",
            "--on",
            "2025-06-27",
            "--fact",
            "armed_conflict=true",
            "--json",
        )
    )
    assert doc["facts"]["armed_conflict"] is True
    assert doc["effective_on"] is None
    assert doc["clocks"][0]["status"] == "suspended"


def test_case_show_json_has_the_contract_keys(cli: Cli, generic_case: str) -> None:
    """case show --json carries at least the keys the contract lists."""
    doc = one_json(cli("case", "show", generic_case, "--json"))
    keys = {
        "id",
        "country",
        "treaty",
        "procedure",
        "procedure_hash",
        "action",
        "state",
        "version",
        "allowed",
        "facts",
        "effective_on",
        "clocks",
    }
    assert keys <= set(doc)
    assert (
        doc["id"],
        doc["country"],
        doc["treaty"],
        doc["procedure"],
    ) == ("G1", "POL", "ottawa", "generic")
    assert (doc["state"], doc["version"], doc["action"]) == ("considering", 1, "withdrawal")
    assert doc["allowed"] == ["decide", "notify", "abandon"]


def test_case_show_text(cli: Cli, generic_case: str) -> None:
    """case show without --json prints the state and next steps as text."""
    result = cli("case", "show", generic_case)
    assert result.exit_code == 0, result.output
    assert "considering" in result.stdout
    assert "decide" in result.stdout


def test_case_advance_moves_the_case(cli: Cli, generic_case: str) -> None:
    """case advance fires a trigger and reports the new state and version."""
    result = cli("case", "advance", generic_case, "decide", "--on", "2025-02-01")
    assert result.exit_code == 0, result.output
    assert result.stdout == "G1: decided (version 2)\n"


def test_case_advance_json(cli: Cli, generic_case: str) -> None:
    """case advance --json prints the case document after the step."""
    doc = one_json(cli("case", "advance", generic_case, "notify", "--on", "2025-02-03", "--json"))
    assert (doc["state"], doc["version"], doc["effective_on"]) == ("notified", 2, "2025-08-03")


def test_case_set_fact(cli: Cli, generic_case: str) -> None:
    """case set-fact records a fact value and bumps the version."""
    doc = one_json(
        cli(
            "case",
            "set-fact",
            generic_case,
            "armed_conflict=true",
            "--on",
            "2025-02-01",
            "--json",
        )
    )
    assert (doc["facts"]["armed_conflict"], doc["version"]) == (True, 2)


def test_case_note_with_sources(cli: Cli, generic_case: str) -> None:
    """case note adds a note event carrying its sources."""
    result = cli(
        "case",
        "note",
        generic_case,
        "Press reports a draft law",
        "--on",
        "2025-01-11",
        "--source",
        "Daily News https://example.org/a",
    )
    assert result.exit_code == 0, result.output
    events = one_json(cli("case", "history", generic_case, "--json"))
    assert [e["kind"] for e in events] == ["open", "note"]
    assert events[1]["note"] == "Press reports a draft law"
    assert events[1]["sources"][0]["url"] == "https://example.org/a"


def test_case_history_json_has_the_contract_keys(cli: Cli, generic_case: str) -> None:
    """case history --json lists events oldest first with the contract's keys."""
    cli("case", "advance", generic_case, "decide", "--on", "2025-02-01")
    events = one_json(cli("case", "history", generic_case, "--json"))
    keys = {
        "seq",
        "kind",
        "trigger",
        "from_state",
        "to_state",
        "occurred_on",
        "recorded_at",
        "actor",
        "sources",
        "note",
        "prev_hash",
        "hash",
    }
    assert all(keys <= set(e) for e in events)
    assert [e["seq"] for e in events] == [1, 2]
    assert events[1]["prev_hash"] == events[0]["hash"]
    assert (
        events[1]["trigger"],
        events[1]["from_state"],
        events[1]["to_state"],
        events[1]["actor"],
    ) == ("decide", "considering", "decided", "analyst")
    assert events[1]["recorded_at"].endswith("Z")


def test_case_history_text(cli: Cli, generic_case: str) -> None:
    """case history without --json prints one row per event."""
    result = cli("case", "history", generic_case)
    assert result.exit_code == 0, result.output
    assert "opened at considering" in result.stdout


def test_case_list(cli: Cli, generic_case: str) -> None:
    """case list --json lists every case with its state and version."""
    cases = one_json(cli("case", "list", "--json"))
    assert [(c["id"], c["state"], c["version"]) for c in cases] == [("G1", "considering", 1)]
    assert "G1" in cli("case", "list").stdout


def test_actor_option_is_recorded(cli: Cli, generic_case: str) -> None:
    """--actor overrides TREATYFLOW_ACTOR in the log."""
    cli("case", "note", generic_case, "n", "--actor", "someone-else")
    events = one_json(cli("case", "history", generic_case, "--json"))
    assert [e["actor"] for e in events] == ["analyst", "someone-else"]


# ------------------------------------------------------------------------------ pending, tick
def test_pending_json(cli: Cli, generic_case: str) -> None:
    """pending --json lists the open cases with their next steps."""
    doc = one_json(cli("pending", "--as-of", "2025-03-01", "--json"))
    assert doc["as_of"] == "2025-03-01"
    assert [c["id"] for c in doc["cases"]] == ["G1"]
    assert [s["trigger"] for s in doc["cases"][0]["steps"]] == ["decide", "notify", "abandon"]


def test_pending_text_and_empty(cli: Cli) -> None:
    """pending with no open cases says nothing is pending."""
    result = cli("pending", "--as-of", "2025-03-01")
    assert result.exit_code == 0
    assert result.stdout == "Nothing pending as of 2025-03-01.\n"


def test_tick_is_idempotent(cli: Cli) -> None:
    """Running tick twice fires a due clock once."""
    cli(
        "case",
        "open",
        "--country",
        "LTU",
        "--treaty",
        "ottawa",
        "--id",
        "L",
        "--at",
        "notified",
        "--on",
        "2025-06-27",
    )
    first = one_json(cli("tick", "--as-of", "2026-01-01", "--json"))
    second = one_json(cli("tick", "--as-of", "2026-01-01", "--json"))
    assert [(f["case"], f["on"], f["to_state"]) for f in first["fired"]] == [
        ("L", "2025-12-27", "effective")
    ]
    assert second["fired"] == []
    assert one_json(cli("case", "show", "L", "--json"))["version"] == 2


def test_verify_json_ok(cli: Cli, generic_case: str) -> None:
    """verify --json reports ok with the number of cases."""
    assert one_json(cli("verify", "--json")) == {"ok": True, "cases": 1, "problems": []}


# ------------------------------------------------------------------------------ scenario
def test_contract_scenario(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract's scenario works exactly as written, including tamper detection."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TREATYFLOW_DB", "t.db")
    monkeypatch.setenv("TREATYFLOW_ACTOR", "analyst")

    def run(*args: str) -> Result:
        return runner.invoke(main, list(args))

    assert run("init").exit_code == 0
    opened = run(
        "case",
        "open",
        "--country",
        "LTU",
        "--treaty",
        "ottawa",
        "--id",
        "LTU-1",
        "--at",
        "notified",
        "--on",
        "2025-06-27",
    )
    assert opened.stdout == "LTU-1\n"
    shown = one_json(run("case", "show", "LTU-1", "--json"))
    assert (shown["state"], shown["effective_on"]) == ("notified", "2025-12-27")

    early = run("tick", "--as-of", "2025-12-26")
    assert early.exit_code == 0
    assert one_json(run("case", "show", "LTU-1", "--json"))["state"] == "notified"
    assert "0 clock(s) fired" in early.stdout

    due = run("tick", "--as-of", "2025-12-27")
    assert due.exit_code == 0
    assert "LTU-1" in due.stdout
    shown = one_json(run("case", "show", "LTU-1", "--json"))
    assert (shown["state"], shown["effective_on"]) == ("effective", "2025-12-27")

    history = one_json(run("case", "history", "LTU-1", "--json"))
    assert [(e["kind"], e["from_state"], e["to_state"], e["actor"]) for e in history] == [
        ("open", None, "notified", "analyst"),
        ("take-effect", "notified", "effective", "system"),
    ]
    assert history[1]["occurred_on"] == "2025-12-27"

    assert run("verify").exit_code == 0

    with sqlite3.connect(tmp_path / "t.db") as conn:
        conn.execute("UPDATE events SET note = 'edited' WHERE case_id = 'LTU-1' AND seq = 2")
    conn.close()
    tampered = run("verify")
    assert tampered.exit_code == 1
    assert "'LTU-1'" in tampered.stdout
    assert "seq 2" in tampered.stdout


# ------------------------------------------------------------------------------ python -m
def test_python_m_treatyflow_help() -> None:
    """python -m treatyflow --help is the same program and exits 0."""
    proc = subprocess.run(
        [sys.executable, "-m", "treatyflow", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: ")
    assert {"init", "workflow", "case", "pending", "tick", "verify"} <= {
        line.split()[0]
        for line in proc.stdout.splitlines()
        if line.startswith("  ") and line.strip()
    }


def test_version_option(runner: CliRunner) -> None:
    """--version prints the program name and version."""
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("treatyflow, version ")


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        pytest.param(
            ("case", "open", "--country", "XXX", "--treaty", "ottawa"),
            ("'XXX' is not an ISO 3166-1 alpha-3", "(option --country)"),
            id="wrong-country",
        ),
        pytest.param(
            ("case", "open", "--country", "LT", "--treaty", "ottawa"),
            ("did you mean 'LTU'",),
            id="alpha-2-country",
        ),
        pytest.param(
            ("case", "open", "--country", "LTU", "--treaty", "ottwa"),
            ("no treaty 'ottwa'", "did you mean 'ottawa'"),
            id="unknown-treaty",
        ),
        pytest.param(
            ("case", "open", "--country", "LTU", "--treaty", "ottawa", "--procedure", "nope"),
            ("no procedure 'nope'",),
            id="unknown-procedure",
        ),
        pytest.param(
            ("case", "open", "--country", "LTU", "--treaty", "ottawa", "--at", "nowhere"),
            ("'nowhere' is not a state", "(option --at)"),
            id="unknown-at-state",
        ),
        pytest.param(
            ("case", "open", "--country", "LTU", "--treaty", "ottawa", "--on", "2025-02-30"),
            ("'2025-02-30'", "not a real calendar date"),
            id="date-feb-30",
        ),
        pytest.param(
            ("case", "open", "--country", "LTU", "--treaty", "ottawa", "--on", "31/12/2025"),
            ("'31/12/2025'", "ISO 8601"),
            id="date-dmy",
        ),
        pytest.param(
            ("case", "open", "--country", "LTU", "--treaty", "ottawa", "--on", ""),
            ("--on ''", "ISO 8601"),
            id="date-empty",
        ),
        pytest.param(
            ("case", "open", "--country", "LTU", "--treaty", "ottawa", "--fact", "nope=1"),
            ("unknown fact 'nope'",),
            id="unknown-fact",
        ),
        pytest.param(("case", "show", "NOPE"), ("no case 'NOPE'",), id="show-unknown-case"),
        pytest.param(("case", "history", "NOPE"), ("no case 'NOPE'",), id="history-unknown-case"),
        pytest.param(
            ("case", "advance", "NOPE", "decide", "--on", "2025-02-01"),
            ("no case 'NOPE'",),
            id="advance-unknown-case",
        ),
        pytest.param(
            ("case", "note", "NOPE", "text"), ("no case 'NOPE'",), id="note-unknown-case"
        ),
        pytest.param(
            ("case", "advance", "G1", "fly", "--on", "2025-02-01"),
            ("can't 'fly' case 'G1'", "'decide', 'notify', 'abandon'"),
            id="unknown-trigger",
        ),
        pytest.param(
            ("case", "advance", "G1", "revoke", "--on", "2025-02-01"),
            ("can't 'revoke'", "in state 'considering'", "'decide', 'notify', 'abandon'"),
            id="trigger-not-from-this-state",
        ),
        pytest.param(
            ("case", "advance", "G1", "decide", "--on", "2025-01-09"),
            ("before the last legal date", "2025-01-10", "--backdate"),
            id="advance-before-last-date",
        ),
        pytest.param(
            ("case", "set-fact", "G1", "armed_conflict=true", "--on", "2025-01-01"),
            ("--backdate",),
            id="set-fact-before-last-date",
        ),
        pytest.param(
            ("case", "set-fact", "G1", "armed_conflict=maybe", "--on", "2025-02-01"),
            ("true or false", "'maybe'"),
            id="bad-fact-value",
        ),
        pytest.param(
            ("case", "set-fact", "G1", "armed_conflict", "--on", "2025-02-01"),
            ("NAME=VALUE",),
            id="fact-without-value",
        ),
        pytest.param(("case", "note", "G1", "  "), ("the note is empty",), id="empty-note"),
        pytest.param(
            ("case", "open", "--country", "POL", "--treaty", "ottawa", "--id", "G1"),
            ("a case 'G1' already exists",),
            id="case-exists",
        ),
        pytest.param(("pending", "--as-of", "tomorrow"), ("--as-of",), id="pending-bad-date"),
        pytest.param(("tick", "--as-of", "2025-13-01"), ("--as-of",), id="tick-bad-date"),
    ],
)
def test_domain_errors_are_one_line(
    cli: Cli, generic_case: str, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    """A domain error prints 'Error: ' and one actionable line on stderr, exit 1."""
    assert_domain_error(cli(*args), *fragments)


def test_clock_trigger_is_refused_naming_tick(cli: Cli, generic_case: str) -> None:
    """An analyst cannot fire a clock's transition; the error points to tick."""
    cli("case", "advance", generic_case, "notify", "--on", "2025-02-01")
    assert_domain_error(
        cli("case", "advance", generic_case, "take-effect", "--on", "2025-02-02"),
        "treatyflow tick",
    )


def test_advance_past_a_due_clock_asks_for_tick(cli: Cli, generic_case: str) -> None:
    """Advancing on a date after a clock came due asks to tick first."""
    cli("case", "advance", generic_case, "notify", "--on", "2025-02-01")
    assert_domain_error(
        cli("case", "advance", generic_case, "revoke", "--on", "2025-09-01"),
        "tick --as-of 2025-09-01",
    )


def test_debug_shows_a_traceback(cli: Cli) -> None:
    """--debug adds the traceback to a domain error."""
    result = cli("--debug", "case", "show", "NOPE")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "Error: no case 'NOPE'" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("case", "advance", "G1", "decide"), id="missing-on"),
        pytest.param(("case", "open", "--country", "LTU"), id="missing-treaty"),
        pytest.param(("case", "frobnicate"), id="unknown-command"),
        pytest.param(("case", "list", "--bogus"), id="unknown-option"),
        pytest.param(("workflow", "diagram", "generic", "--format", "png"), id="bad-choice"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: tuple[str, ...]) -> None:
    """A usage error is click's: exit status 2 and a usage message."""
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_read_command_takes_json() -> None:
    """Every command except those that only write or set up takes --json (the contract)."""
    import click as _click

    # serve prints no document: it is a server, whose JSON is under /api/ (tests/web)
    writes_only = {"init", "demo", "calendar", "db upgrade", "serve"}
    missing = []

    def walk(cmd: _click.Command, path: list[str]) -> None:
        if isinstance(cmd, _click.Group):
            ctx = _click.Context(cmd)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*path, name])
            return
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        if "--json" not in opts and " ".join(path) not in writes_only:
            missing.append(" ".join(path))

    walk(main, [])
    assert missing == []


def test_diagram_and_report_take_json(cli: Cli, generic_case: str) -> None:
    """workflow diagram --json and report case --json print one JSON document."""
    diagram = json.loads(cli("workflow", "diagram", "generic", "--json").stdout)
    assert diagram["procedure"] == "generic" and "stateDiagram-v2" in diagram["diagram"]
    report = json.loads(cli("report", "case", generic_case, "--json").stdout)
    assert report["schema"] == "treatyflow.report/1"
