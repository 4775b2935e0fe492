"""Many transitions in one process (#19): ``Workspace.advance_many`` on every backend (a
SQLite file, SQLite ``:memory:``, PostgreSQL) and ``case advance-many`` reading JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import treatyflow
from treatyflow.cli import main

NOTICE = "Note verbale; kind=depositary-notification; level=official"


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite-file":
        yield str(tmp_path / "many.db")
    elif request.param == "sqlite-memory":
        yield ":memory:"
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def ws(target: str) -> Iterator[Any]:
    with treatyflow.open(target, actor="analyst", create=True) as workspace:
        workspace.open_case(
            country="LTU", treaty="ottawa", id="L1", at="law_signed", on="2025-01-10"
        )
        workspace.open_case(
            country="LTU", treaty="ottawa", id="L2", at="notified", on="2025-06-27"
        )
        workspace.open_case(
            country="LTU", treaty="ottawa", id="L3", at="law_signed", on="2025-01-10"
        )
        yield workspace


def test_each_item_is_its_own_transaction_and_failures_do_not_stop_the_rest(ws: Any) -> None:
    """Refused and malformed items write nothing; the items after them still run."""
    items: list[Any] = [
        {"case": "L1", "trigger": "notify", "on": "2025-06-27", "sources": [NOTICE]},
        {"case": "L1", "trigger": "notify", "on": "2025-06-28", "sources": [NOTICE]},
        {"case": "L2", "trigger": "revoke", "on": "2025-01-01"},
        {"case": "NOPE", "trigger": "revoke", "on": "2025-09-01"},
        {"case": "L2", "trigger": "revoke"},
        {"case": "L2", "trigger": "revoke", "on": "2025-09-01", "colour": "red"},
        treatyflow.AdvanceRequest(case="L2", trigger="revoke", on="2025-09-01", note="by note"),
    ]
    outcomes = list(ws.advance_many(items))
    assert all(isinstance(o, treatyflow.AdvanceOutcome) for o in outcomes)
    assert [(o.line, o.case, o.ok, o.code, o.error_type) for o in outcomes] == [
        (1, "L1", True, None, None),
        (2, "L1", False, 1, "TransitionNotAllowed"),
        (3, "L2", False, 1, "OutOfOrder"),
        (4, "NOPE", False, 1, "CaseNotFound"),
        (5, "L2", False, 2, "InvalidInput"),
        (6, "L2", False, 2, "InvalidInput"),
        (7, "L2", True, None, None),
    ]
    assert outcomes[0].to_dict() == {
        "line": 1,
        "case": "L1",
        "ok": True,
        "state": "notified",
        "version": 2,
        "seq": 2,
        "kind": "advance",
    }
    assert outcomes[4].to_dict() == {
        "line": 5,
        "case": "L2",
        "ok": False,
        "error": "the key 'on' is required.",
        "error_type": "InvalidInput",
        "code": 2,
    }
    assert "colour" in str(outcomes[5].error)
    assert (ws.case("L1").version, ws.case("L2").version) == (2, 2)
    assert ws.case("L2").state == "revoked"
    assert ws.history("L2")[-1].note == "by note"
    assert ws.verify().ok


def test_a_step_by_advance_many_is_the_step_advance_writes(ws: Any) -> None:
    """Same checks, same event: only the record time and the hashes differ."""
    ws.advance("L1", "notify", on="2025-06-27", sources=[NOTICE], note="n")
    [outcome] = ws.advance_many(
        [{"case": "L3", "trigger": "notify", "on": "2025-06-27", "sources": [NOTICE], "note": "n"}]
    )
    assert outcome.ok
    one, many = ws.history("L1")[-1].to_dict(), ws.history("L3")[-1].to_dict()
    for key in ("case_id", "recorded_at", "prev_hash", "hash"):
        one.pop(key), many.pop(key)
    assert one == many
    assert ws.case("L3").to_dict()["effective_on"] == ws.case("L1").to_dict()["effective_on"]


def test_sources_take_text_with_default_level_and_kind_or_objects(ws: Any) -> None:
    """``source_level``/``source_kind`` apply to text sources as --source-level/--source-kind
    do; a source object gives its fields; without the evidence the step is refused."""
    outcomes = list(
        ws.advance_many(
            [
                {"case": "L1", "trigger": "notify", "on": "2025-06-27", "sources": ["Note"]},
                {
                    "case": "L1",
                    "trigger": "notify",
                    "on": "2025-06-27",
                    "sources": ["Note verbale"],
                    "source_level": "official",
                    "source_kind": "depositary-notification",
                },
                {
                    "case": "L3",
                    "trigger": "notify",
                    "on": "2025-06-27",
                    "sources": [
                        {
                            "citation": "Note",
                            "level": "official",
                            "kind": "depositary-notification",
                        }
                    ],
                },
                {"case": "L3", "trigger": "x", "on": "2025-06-27", "source_level": "rumour"},
                {"case": "L3", "trigger": "x", "on": "2025-06-27", "sources": [3]},
                {"case": "L3", "trigger": "x", "on": "2025-06-27", "sources": "Note"},
            ]
        )
    )
    assert [(o.ok, o.error_type, o.code) for o in outcomes] == [
        (False, "EvidenceMissing", 1),
        (True, None, None),
        (True, None, None),
        (False, "InvalidInput", 2),
        (False, "InvalidInput", 2),
        (False, "InvalidInput", 2),
    ]
    assert ws.history("L1")[-1].sources[0]["kind"] == "depositary-notification"


def test_lines_of_json_text_or_bytes_blank_lines_skipped_but_counted(ws: Any) -> None:
    lines: list[Any] = [
        '{"case": "L2", "trigger": "revoke", "on": "2025-09-01"}',
        "",
        "not json",
        b'{"case": "L1", "trigger": "notify", "on": "2025-06-27", "sources": ["'
        + b"\xff"
        + b'"]}',
        "[1, 2]",
        '{"case": 7, "trigger": "revoke", "on": "2025-09-01"}',
        42,
    ]
    outcomes = list(ws.advance_many(lines))
    assert [(o.line, o.case, o.ok, o.code) for o in outcomes] == [
        (1, "L2", True, None),
        (3, None, False, 2),
        (4, None, False, 2),
        (5, None, False, 2),
        (6, None, False, 2),
        (7, None, False, 2),
    ]
    assert outcomes[1].error == "the line is not JSON (Expecting value at column 1)."
    assert outcomes[2].error == "the line is not UTF-8 text."
    assert outcomes[3].error == "the line is a list, not a JSON object."
    assert outcomes[4].error == "'case' must be text, not a number."


def test_the_actor_is_the_item_s_else_the_call_s_else_the_workspace_s(ws: Any) -> None:
    list(
        ws.advance_many(
            [
                {"case": "L2", "trigger": "revoke", "on": "2025-09-01", "actor": "bea"},
                {"case": "L1", "trigger": "notify", "on": "2025-06-27", "sources": [NOTICE]},
            ],
            actor="ana",
        )
    )
    list(
        ws.advance_many(
            [{"case": "L3", "trigger": "notify", "on": "2025-06-27", "sources": [NOTICE]}]
        )
    )
    assert [ws.history(c)[-1].actor for c in ("L2", "L1", "L3")] == ["bea", "ana", "analyst"]
    [system] = ws.advance_many(
        [{"case": "L2", "trigger": "x", "on": "2025-09-02", "actor": "system"}]
    )
    assert (system.ok, system.code) == (False, 1) and "reserved" in str(system.error)


@pytest.fixture
def keyfiles(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name in ("alice", "carol"):
        out[name] = tmp_path / f"{name}.key"
        treatyflow.generate_key(out[name])
    return out


@pytest.fixture
def team(target: str, keyfiles: dict[str, Path]) -> str:
    if target == ":memory:":
        pytest.skip("a team database outlives one workspace; :memory: does not")
    with treatyflow.open(target, create=True, key=keyfiles["alice"]) as ws:
        ws.add_key("alice", keyfiles["alice"], roles=["admin", "analyst"])
        ws.add_key("carol", f"{keyfiles['carol']}.pub")
        ws.require_signatures(True)
        ws.open_case(country="LTU", treaty="ottawa", id="L2", at="notified", on="2025-06-27")
        ws.open_case(country="EST", treaty="ottawa", id="E2", at="notified", on="2025-06-27")
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="law_signed", on="2025-01-10")
    return target


def test_signed_writes_are_signed_checked_and_reviewed_per_item(
    team: str, keyfiles: dict[str, Path]
) -> None:
    """With a key every event is signed by it; an actor that is not the key's name is
    refused for that item only; a step that needs review is proposed, not applied; without
    a key, required signatures refuse every item."""
    with treatyflow.open(team, key=keyfiles["carol"]) as ws:
        outcomes = list(
            ws.advance_many(
                [
                    {"case": "L2", "trigger": "revoke", "on": "2025-09-01"},
                    {"case": "E2", "trigger": "revoke", "on": "2025-09-01", "actor": "mallory"},
                    {"case": "L1", "trigger": "notify", "on": "2025-06-27", "sources": [NOTICE]},
                ]
            )
        )
        assert [(o.ok, o.error_type, o.kind) for o in outcomes] == [
            (True, None, "advance"),
            (False, "ActorMismatch", None),
            (True, None, "propose"),
        ]
        assert outcomes[2].state == "law_signed"  # awaiting review
        carol = ws.list_keys()[1].fingerprint
        last = ws.history("L2")[-1]
        assert (last.actor, last.key) == ("carol", carol) and last.signature
        assert ws.verify().ok
    with treatyflow.open(team, key="", actor="carol") as ws:
        [unsigned] = ws.advance_many([{"case": "E2", "trigger": "revoke", "on": "2025-09-01"}])
        assert (unsigned.ok, unsigned.error_type, unsigned.code) == (
            False,
            "SignatureRequired",
            1,
        )
        assert ws.case("E2").version == 1


# ---------------------------------------------------------------------------- the CLI
def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_cli_prints_one_result_line_per_input_line_and_exits_1_on_any_failure(
    runner: CliRunner, db: Path
) -> None:
    base = ["--db", str(db)]
    opened = runner.invoke(
        main,
        [
            *base,
            "case",
            "open",
            "--country",
            "LTU",
            "--treaty",
            "ottawa",
            "--id",
            "L2",
            "--at",
            "notified",
            "--on",
            "2025-06-27",
        ],
    )
    assert opened.exit_code == 0, opened.output
    stdin = "\n".join(
        [
            '{"case": "L2", "trigger": "revoke", "on": "2025-09-01", "note": "revoked"}',
            '{"case": "L2", "trigger": "revoke", "on": "2025-09-02"}',
            "{oops",
            '{"case": "L2"}',
        ]
    )
    result = runner.invoke(main, [*base, "case", "advance-many"], input=stdin)
    assert result.exit_code == 1
    assert result.stderr == "Error: 3 of 4 lines failed (ok: false above).\n"
    lines = _lines(result.stdout)
    assert [(d["line"], d["ok"], d.get("code")) for d in lines] == [
        (1, True, None),
        (2, False, 1),
        (3, False, 2),
        (4, False, 2),
    ]
    assert lines[0] == {
        "line": 1,
        "case": "L2",
        "ok": True,
        "state": "revoked",
        "version": 2,
        "seq": 2,
        "kind": "advance",
    }
    # the single command refuses the same step with the same sentence (plus its hint)
    single = runner.invoke(main, [*base, "case", "advance", "L2", "revoke", "--on", "2025-09-02"])
    assert single.exit_code == lines[1]["code"]
    assert lines[1]["error"].rstrip(".") in single.stderr


def test_cli_reads_a_file_with_actor_and_exits_0_when_all_succeed(
    runner: CliRunner, db: Path, tmp_path: Path
) -> None:
    base = ["--db", str(db)]
    for case_id in ("A1", "A2"):
        runner.invoke(
            main,
            [
                *base,
                "case",
                "open",
                "--country",
                "LTU",
                "--treaty",
                "ottawa",
                "--id",
                case_id,
                "--at",
                "notified",
                "--on",
                "2025-06-27",
            ],
        )
    steps = tmp_path / "steps.jsonl"
    steps.write_text(
        '{"case": "A1", "trigger": "revoke", "on": "2025-09-01"}\n'
        '{"case": "A2", "trigger": "revoke", "on": "2025-09-01", "actor": "bea"}\n',
        encoding="utf-8",
    )
    result = runner.invoke(main, [*base, "case", "advance-many", str(steps), "--actor", "ana"])
    assert result.exit_code == 0, result.output
    assert [d["ok"] for d in _lines(result.stdout)] == [True, True]
    with treatyflow.open(db) as ws:
        assert [ws.history(c)[-1].actor for c in ("A1", "A2")] == ["ana", "bea"]


def test_cli_json_prints_one_document_of_every_result(runner: CliRunner, db: Path) -> None:
    stdin = '{"case": "NOPE", "trigger": "revoke", "on": "2025-09-01"}\n\n{]\n'
    result = runner.invoke(main, ["--db", str(db), "case", "advance-many", "--json"], input=stdin)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert (document["ok"], document["lines"], document["failed"]) == (False, 2, 2)
    assert [(r["line"], r["error_type"], r["code"]) for r in document["results"]] == [
        (1, "CaseNotFound", 1),
        (3, "InvalidInput", 2),
    ]


def test_cli_signs_with_key(runner: CliRunner, db: Path, keyfiles: dict[str, Path]) -> None:
    base = ["--db", str(db)]
    with treatyflow.open(db, key=keyfiles["alice"]) as ws:
        ws.add_key("alice", keyfiles["alice"], roles=["admin", "analyst"])
        ws.require_signatures(True)
        ws.open_case(country="LTU", treaty="ottawa", id="L2", at="notified", on="2025-06-27")
    stdin = '{"case": "L2", "trigger": "revoke", "on": "2025-09-01"}\n'
    unsigned = runner.invoke(main, [*base, "case", "advance-many"], input=stdin)
    assert unsigned.exit_code == 1
    assert _lines(unsigned.stdout)[0]["error_type"] == "SignatureRequired"
    signed = runner.invoke(
        main,
        [*base, "case", "advance-many", "--key", str(keyfiles["alice"])],
        input=stdin,
        env={"TREATYFLOW_ACTOR": None},  # the key's name is the actor
    )
    assert signed.exit_code == 0, signed.output
    with treatyflow.open(db) as ws:
        event = ws.history("L2")[-1]
        assert event.actor == "alice" and event.signature and ws.verify().ok
