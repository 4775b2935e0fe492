"""Definitions evolve: ``workflow diff``, ``case migrate`` and reading a case across a migration.

The end-to-end scenario runs on SQLite and on PostgreSQL: the Ottawa period is changed in an
override directory (P6M -> P7M), ``doctor`` names the pinned cases, the dry run shows the new
date and writes nothing, applying moves one case only, and ``--known-at`` before the migration
still gives the old date.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from treatyflow.cli import main

SHIPPED = Path(__file__).resolve().parents[1] / "workflows"

OLD_TREATY = "actions.withdrawal.period"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new SQLite file, or a new PostgreSQL schema (skipped without a server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def ottawa_p7m(tmp_path: Path) -> Path:
    """A --workflows dir whose treaties/ottawa.yaml is the shipped one with P6M -> P7M."""
    text = (SHIPPED / "treaties" / "ottawa.yaml").read_text(encoding="utf-8")
    assert text.count("period: P6M") == 1
    wf = tmp_path / "wf"
    (wf / "treaties").mkdir(parents=True)
    (wf / "treaties" / "ottawa.yaml").write_text(text.replace("period: P6M", "period: P7M"))
    return wf


def run(db: str, *args: str, workflows: Path | None = None) -> Result:
    prefix = ["--db", db] + (["--workflows", str(workflows)] if workflows else [])
    return CliRunner(env={"TREATYFLOW_ACTOR": "analyst"}).invoke(main, [*prefix, *args])


def ok(db: str, *args: str, workflows: Path | None = None) -> Result:
    result = run(db, *args, workflows=workflows)
    assert result.exit_code == 0, (args, result.output)
    return result


def doc(db: str, *args: str, workflows: Path | None = None) -> Any:
    return json.loads(ok(db, *args, "--json", workflows=workflows).stdout)


def open_notified(db: str, case_id: str, country: str, on: str) -> None:
    ok(db, "case", "open", "--country", country, "--treaty", "ottawa", "--id", case_id,
       "--at", "notified", "--on", on)  # fmt: skip


# ---------------------------------------------------------------------------- end to end
def test_ottawa_period_change_migrates_one_case(db_url: str, ottawa_p7m: Path) -> None:
    wf = ottawa_p7m
    ok(db_url, "init")
    open_notified(db_url, "LTU-1", "LTU", "2025-06-27")
    open_notified(db_url, "EST-1", "EST", "2025-06-27")
    before_est = doc(db_url, "case", "show", "EST-1", workflows=wf)
    old_treaty_hash = before_est["treaty_hash"]
    opened_at = doc(db_url, "case", "history", "LTU-1")[0]["recorded_at"]

    # doctor names the pinned cases and points at the diff
    result = run(db_url, "doctor", "--json", workflows=wf)
    assert result.exit_code == 1
    [finding] = [f for f in json.loads(result.stdout)["findings"] if f["check"] == "definitions"]
    assert finding["ok"] is False
    assert "'ottawa'" in finding["problem"]
    assert "EST-1" in finding["problem"] and "LTU-1" in finding["problem"]
    assert finding["fix_command"] == "treatyflow workflow diff ottawa"

    # the diff: the clause's period changed; both cases run on the old version
    diff = doc(db_url, "workflow", "diff", "ottawa", workflows=wf)
    assert diff["kind"] == "treaty"
    old, current = diff["versions"]
    assert (old["hash"], old["current"], old["stored"]) == (old_treaty_hash, False, True)
    assert (old["cases"], old["case_ids"]) == (2, ["EST-1", "LTU-1"])
    assert old["changes"] == [
        {
            "section": "clause",
            "path": OLD_TREATY,
            "change": "changed",
            "before": "P6M",
            "after": "P7M",
        }
    ]
    assert (current["current"], current["cases"], current["hash"]) == (
        True,
        0,
        diff["current_hash"],
    )

    # the dry run shows the new date and writes nothing
    plan = doc(db_url, "case", "migrate", "LTU-1", "--dry-run", workflows=wf)
    assert plan["dry_run"] is True
    [case] = plan["cases"]
    assert case["id"] == "LTU-1"
    assert (case["state_before"], case["state_after"]) == ("notified", "notified")
    assert (case["effective_on_before"], case["effective_on_after"]) == (
        "2025-12-27",
        "2026-01-27",
    )
    assert case["clocks"] == [{"name": "effect", "before": "2025-12-27", "after": "2026-01-27"}]
    assert case["guards_no_longer_holding"] == [] and case["evidence_missing"] == []
    assert (case["applied"], case["changed"], case["seq"]) == (False, True, None)
    assert (case["treaty_hash_before"], case["treaty_hash_after"]) == (
        old_treaty_hash,
        diff["current_hash"],
    )
    assert [e["kind"] for e in doc(db_url, "case", "history", "LTU-1")] == ["open"]
    shown = doc(db_url, "case", "show", "LTU-1", workflows=wf)
    assert (shown["effective_on"], shown["treaty_hash"]) == ("2025-12-27", old_treaty_hash)
    assert "treaty-changed" in shown["flags"] and shown["treaty_current"] is False

    # applying moves it, with one `migrated` event
    applied = doc(db_url, "case", "migrate", "LTU-1", workflows=wf)
    [case] = applied["cases"]
    assert (applied["dry_run"], case["applied"], case["seq"]) == (False, True, 2)
    assert case["effective_on_after"] == "2026-01-27"
    history = doc(db_url, "case", "history", "LTU-1")
    assert [e["kind"] for e in history] == ["open", "migrated"]
    migrated = history[-1]
    assert migrated["data"]["from"]["treaty"] == old_treaty_hash
    assert migrated["data"]["to"]["treaty"] == diff["current_hash"]
    assert migrated["data"]["from"]["procedure"] == migrated["data"]["to"]["procedure"]
    assert migrated["data"]["plan"]["effective_on_after"] == "2026-01-27"
    assert migrated["data"]["map"] == {}
    assert (migrated["from_state"], migrated["to_state"]) == ("notified", "notified")
    assert migrated["occurred_on"] == "2025-06-27"  # the case's latest legal date
    text = ok(db_url, "case", "history", "LTU-1").stdout
    assert "migrated: treaty sha256:" in text

    shown = doc(db_url, "case", "show", "LTU-1", workflows=wf)
    assert shown["effective_on"] == "2026-01-27"
    assert shown["treaty_hash"] == diff["current_hash"] and shown["treaty_current"] is True
    assert shown["definitions_since"] == migrated["recorded_at"]
    assert "treaty-changed" not in shown["flags"]
    # the same without the override: the case reads its own (stored) version, flagged
    plain = doc(db_url, "case", "show", "LTU-1")
    assert (plain["effective_on"], plain["treaty_current"]) == ("2026-01-27", False)

    # known before the migration: the old dates, under the old version
    then = doc(db_url, "case", "show", "LTU-1", "--known-at", opened_at, workflows=wf)
    assert (then["effective_on"], then["treaty_hash"]) == ("2025-12-27", old_treaty_hash)
    assert then["definitions_since"] is None
    # and at a legal date before the migration's record time, the new rules still apply
    early = doc(db_url, "case", "show", "LTU-1", "--as-of", "2025-07-01", workflows=wf)
    assert early["effective_on"] == "2026-01-27"

    # the other case is left alone
    after_est = doc(db_url, "case", "show", "EST-1", workflows=wf)
    assert after_est["treaty_hash"] == old_treaty_hash
    assert (after_est["version"], after_est["effective_on"]) == (1, "2025-12-27")
    assert {c["id"]: c["version"] for c in doc(db_url, "case", "list")} == {
        "EST-1": 1,
        "LTU-1": 2,
    }

    assert doc(db_url, "verify")["ok"] is True

    # every version's snapshot stays; the counts follow the cases
    old, current = doc(db_url, "workflow", "diff", "ottawa", workflows=wf)["versions"]
    assert (old["hash"], old["stored"], old["case_ids"]) == (old_treaty_hash, True, ["EST-1"])
    assert (current["stored"], current["case_ids"]) == (True, ["LTU-1"])

    # the clocks fire on their own versions' dates
    fired = doc(db_url, "tick", "--as-of", "2025-12-27", workflows=wf)
    assert [(f["case"], f["on"]) for f in fired["fired"]] == [("EST-1", "2025-12-27")]
    fired = doc(db_url, "tick", "--as-of", "2026-01-27", workflows=wf)
    assert [(f["case"], f["on"]) for f in fired["fired"]] == [("LTU-1", "2026-01-27")]
    assert doc(db_url, "verify")["ok"] is True


def test_report_says_which_version_the_dates_were_computed_under(
    db_url: str, ottawa_p7m: Path, tmp_path: Path
) -> None:
    """The case report (JSON and Markdown) names the treaty version and since when; with
    --known-at before the migration it gives the old date under the old version."""
    wf = ottawa_p7m
    ok(db_url, "init")
    open_notified(db_url, "LTU-1", "LTU", "2025-06-27")
    opened_at = doc(db_url, "case", "history", "LTU-1")[0]["recorded_at"]
    old_hash = doc(db_url, "case", "show", "LTU-1")["treaty_hash"]
    ok(db_url, "case", "migrate", "LTU-1", workflows=wf)

    def report(*extra: str, fmt: str = "json") -> str:
        args = ["report", "case", "LTU-1", "--format", fmt, "--as-of", "2025-07-01", *extra]
        return ok(db_url, *args, workflows=wf).stdout

    [now] = json.loads(report())["cases"]
    assert now["effective_on"] == "2026-01-27"
    assert now["treaty_hash"] != old_hash and now["definitions_since"] is not None
    assert [e["kind"] for e in now["timeline"]] == ["open", "migrated"]
    assert now["timeline"][1]["change"].startswith("migrated to new definitions: treaty")
    [then] = json.loads(report("--known-at", opened_at))["cases"]
    assert (then["effective_on"], then["treaty_hash"]) == ("2025-12-27", old_hash)
    assert then["definitions_since"] is None
    md = report(fmt="md")
    assert "**Dates computed under:** these versions, since the migration recorded" in md
    assert f"**Treaty version:** `{now['treaty_hash']}`" in md


def test_migrated_case_survives_a_bundle(db_url: str, ottawa_p7m: Path, tmp_path: Path) -> None:
    """Export and import keep the migration, both snapshots and the new dates."""
    ok(db_url, "init")
    open_notified(db_url, "LTU-1", "LTU", "2025-06-27")
    ok(db_url, "case", "migrate", "LTU-1", workflows=ottawa_p7m)
    bundle = tmp_path / "b.jsonl"
    ok(db_url, "export", "-o", str(bundle))
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    ok(fresh, "init")
    ok(fresh, "import", str(bundle))
    assert doc(fresh, "verify")["ok"] is True
    assert doc(fresh, "case", "show", "LTU-1")["effective_on"] == "2026-01-27"
    assert [v["stored"] for v in doc(fresh, "workflow", "diff", "ottawa")["versions"]] == [
        True,
        True,
    ]


# ---------------------------------------------------------------------------- states and maps
#: Version 1 of a procedure overriding the shipped 'generic' by id.
V1 = """\
id: generic
title: Generic withdrawal, version 1
country: generic
actions: [withdrawal]
include: [international-withdrawal]
initial: considering
states:
  - id: considering
    title: Considering
  - id: decided
    title: Decided
transitions:
  - trigger: decide
    source: considering
    dest: decided
  - trigger: notify
    source: decided
    dest: notified
"""

#: Version 2: 'decided' is gone; 'notify' now goes straight from 'considering'.
V2 = """\
id: generic
title: Generic withdrawal, version 2
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
"""

#: Version 3: 'decide' needs an official decree; 'notify' needs the cabinet's approval.
V3 = """\
id: generic
title: Generic withdrawal, version 3
country: generic
actions: [withdrawal]
include: [international-withdrawal]
initial: considering
facts:
  cabinet_approved:
    type: boolean
    default: false
    description: The cabinet approved the notification.
states:
  - id: considering
    title: Considering
  - id: decided
    title: Decided
transitions:
  - trigger: decide
    source: considering
    dest: decided
    evidence:
      - kind: decree
        min_level: official
  - trigger: notify
    source: decided
    dest: notified
    guards:
      - fact: cabinet_approved
        basis: Cabinet rules of procedure
"""


@pytest.fixture
def generic_v1(tmp_path: Path) -> Path:
    wf = tmp_path / "gwf"
    (wf / "procedures").mkdir(parents=True)
    (wf / "procedures" / "generic.yaml").write_text(V1)
    return wf


def _decided_case(db: str, wf: Path) -> None:
    ok(db, "init")
    ok(db, "case", "open", "--country", "BRA", "--treaty", "ottawa", "--id", "P",
       "--procedure", "generic", "--on", "2025-01-10", workflows=wf)  # fmt: skip
    ok(db, "case", "advance", "P", "decide", "--on", "2025-02-01", workflows=wf)


def test_removed_state_needs_a_map(db_url: str, generic_v1: Path) -> None:
    """A case in a state the new version removed is refused without --map (nothing written);
    an unknown state in --map is refused; with the map it moves and verifies."""
    wf = generic_v1
    _decided_case(db_url, wf)
    decided_at = doc(db_url, "case", "history", "P")[-1]["recorded_at"]
    (wf / "procedures" / "generic.yaml").write_text(V2)

    result = run(db_url, "case", "migrate", "P", workflows=wf)
    assert result.exit_code == 1
    assert "'decided'" in result.stderr and "--map decided=NEW_STATE" in result.stderr
    assert "considering" in result.stderr  # the states it may map to
    assert "Traceback" not in result.stderr
    result = run(db_url, "case", "migrate", "P", "--dry-run", workflows=wf)
    assert result.exit_code == 1 and "'decided'" in result.stderr

    for bad, named in (("nosuch=considering", "'nosuch'"), ("decided=nosuch", "'nosuch'")):
        result = run(db_url, "case", "migrate", "P", "--map", bad, workflows=wf)
        assert result.exit_code == 1, bad
        assert named in result.stderr and "not a state" in result.stderr
    result = run(db_url, "case", "migrate", "P", "--map", "decided", workflows=wf)
    assert result.exit_code == 1 and "OLD_STATE=NEW_STATE" in result.stderr
    assert [e["kind"] for e in doc(db_url, "case", "history", "P")] == ["open", "advance"]

    plan = doc(db_url, "case", "migrate", "P", "--map", "decided=considering", workflows=wf)
    [case] = plan["cases"]
    assert (case["state_before"], case["state_after"]) == ("decided", "considering")
    assert case["map"] == {"decided": "considering"}
    assert case["applied"] is True
    shown = doc(db_url, "case", "show", "P", workflows=wf)
    assert (shown["state"], shown["allowed"]) == ("considering", ["notify"])
    assert shown["procedure_title"] == "Generic withdrawal, version 2"
    assert shown["procedure_current"] is True
    assert doc(db_url, "verify")["ok"] is True
    # the state and the rules as they were known before the migration
    then = doc(db_url, "case", "show", "P", "--known-at", decided_at, workflows=wf)
    assert (then["state"], then["procedure_title"]) == ("decided", "Generic withdrawal, version 1")
    # the case goes on under the new version
    ok(db_url, "case", "advance", "P", "notify", "--on", "2025-03-01", workflows=wf)
    assert doc(db_url, "case", "show", "P", workflows=wf)["effective_on"] == "2025-09-01"
    assert doc(db_url, "verify")["ok"] is True
    text = ok(db_url, "case", "history", "P").stdout
    assert "state decided -> considering" in text


def test_plan_names_guards_and_evidence_the_new_rules_miss(
    tmp_path: Path, generic_v1: Path
) -> None:
    """A guard added to the next step and an evidence rule added to a step already taken are
    listed in the plan."""
    db = f"sqlite:///{tmp_path / 'g.db'}"
    wf = generic_v1
    _decided_case(db, wf)
    (wf / "procedures" / "generic.yaml").write_text(V3)
    [case] = doc(db, "case", "migrate", "P", "--dry-run", workflows=wf)["cases"]
    assert [g["trigger"] for g in case["guards_no_longer_holding"]] == ["notify"]
    assert "cabinet_approved" in case["guards_no_longer_holding"][0]["failures"][0]
    assert [(g["seq"], g["trigger"]) for g in case["evidence_missing"]] == [(2, "decide")]
    assert "decree" in case["evidence_missing"][0]["missing"][0]
    assert case["clocks"] == [] and case["effective_on_after"] is None
    text = ok(db, "case", "migrate", "P", "--dry-run", workflows=wf).stdout
    assert "dry run: nothing written" in text and "notify: needs cabinet_approved" in text


def test_procedure_diff_lists_states_transitions_guards_and_evidence(
    tmp_path: Path, generic_v1: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    wf = generic_v1
    _decided_case(db, wf)
    (wf / "procedures" / "generic.yaml").write_text(V3)
    diff = doc(db, "workflow", "diff", "generic", workflows=wf)
    assert diff["kind"] == "procedure"
    old, current = diff["versions"]
    assert old["case_ids"] == ["P"] and current["cases"] == 0
    sections = {(c["section"], c["path"], c["change"]) for c in old["changes"]}
    assert ("definition", "title", "changed") in sections
    assert ("facts", "facts.cabinet_approved", "added") in sections
    assert ("guards", "transitions.notify from decided.guards", "changed") in sections
    assert ("evidence", "transitions.decide from considering.evidence", "changed") in sections
    (wf / "procedures" / "generic.yaml").write_text(V2)
    old, _ = doc(db, "workflow", "diff", "generic", workflows=wf)["versions"]
    sections = {(c["section"], c["path"], c["change"]) for c in old["changes"]}
    assert ("states", "states.decided", "removed") in sections
    assert ("transitions", "transitions.decide from considering", "removed") in sections
    assert ("transitions", "transitions.notify from considering", "added") in sections
    text = ok(db, "workflow", "diff", "generic", workflows=wf).stdout
    assert "[states] states.decided: removed" in text


def test_diff_refuses_parts_and_unknown_ids(cli: Any) -> None:
    result = cli("workflow", "diff", "international-withdrawal")
    assert result.exit_code == 1 and "is a part" in result.stderr
    result = cli("workflow", "diff", "nosuch")
    assert result.exit_code == 1 and "no treaty or procedure 'nosuch'" in result.stderr


# ---------------------------------------------------------------------------- --all, API
def test_all_moves_only_the_cases_behind(tmp_path: Path, ottawa_p7m: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    ok(db, "init")
    open_notified(db, "LTU-1", "LTU", "2025-06-27")
    open_notified(db, "FIN-1", "FIN", "2025-07-10")
    ok(db, "case", "open", "--country", "BRA", "--treaty", "ccm", "--id", "UKR-1",
       "--at", "notified", "--on", "2025-07-01")  # fmt: skip
    plan = doc(db, "case", "migrate", "--all", "--dry-run", workflows=ottawa_p7m)
    assert [(c["id"], c["effective_on_after"]) for c in plan["cases"]] == [
        ("FIN-1", "2026-02-10"),
        ("LTU-1", "2026-01-27"),
    ]
    assert [c["applied"] for c in doc(db, "case", "migrate", "--all", workflows=ottawa_p7m)[
        "cases"
    ]] == [True, True]  # fmt: skip
    assert doc(db, "case", "migrate", "--all", workflows=ottawa_p7m)["cases"] == []
    assert "no case to migrate" in ok(db, "case", "migrate", "--all", workflows=ottawa_p7m).stdout
    # a named case already current: reported, nothing written
    [case] = doc(db, "case", "migrate", "LTU-1", workflows=ottawa_p7m)["cases"]
    assert (case["changed"], case["applied"]) == (False, False)
    assert [e["kind"] for e in doc(db, "case", "history", "LTU-1")] == ["open", "migrated"]
    assert doc(db, "case", "show", "UKR-1")["version"] == 1
    assert run(db, "doctor", workflows=ottawa_p7m).stdout.count("FAIL  definitions") == 0


def test_usage_errors(cli: Any) -> None:
    assert cli("case", "migrate").exit_code == 2
    assert cli("case", "migrate", "X", "--all").exit_code == 2
    assert cli("case", "migrate", "X", "--to", "v2").exit_code == 2
    result = cli("case", "migrate", "NOPE")
    assert result.exit_code == 1 and "NOPE" in result.stderr


def test_api_migrate_and_diff(store: Any, ottawa_p7m: Path) -> None:
    """The Workspace methods return typed results whose to_dict() is the CLI's document."""
    import datetime as dt

    from treatyflow import InvalidInput, MigrationResult, StateUnmapped
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace
    from treatyflow.catalog import load_catalog

    old = Workspace(Core(store, load_catalog([SHIPPED])), actor="analyst")
    old.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="notified", on="2025-06-27")
    ws = Workspace(
        Core(store, load_catalog([SHIPPED, ottawa_p7m]), today=lambda: dt.date(2025, 7, 1)),
        actor="analyst",
    )
    diff = ws.workflow_diff("ottawa")
    assert [len(v.case_ids) for v in diff.versions] == [1, 0]
    assert diff.versions[0].changes[0].after == "P7M"
    dry = ws.migrate(["LTU-1"], dry_run=True)
    assert isinstance(dry, MigrationResult) and dry.dry_run
    assert dry.cases[0].effective_on_after == dt.date(2026, 1, 27)
    assert dry.cases[0].clocks[0].to_dict() == {
        "name": "effect",
        "before": "2025-12-27",
        "after": "2026-01-27",
    }
    with pytest.raises(InvalidInput):
        ws.migrate(["LTU-1"], to="v2")
    with pytest.raises(InvalidInput):
        ws.migrate()
    assert [c.id for c in ws.migrate("LTU-1", dry_run=True).cases] == ["LTU-1"]
    done = ws.migrate(all=True)
    assert done.to_dict()["cases"][0]["applied"] is True
    assert ws.case("LTU-1").effective_on == dt.date(2026, 1, 27)
    assert ws.case("LTU-1").definitions_since == ws.history("LTU-1")[-1].recorded_at
    assert issubclass(StateUnmapped, Exception)


def test_only_a_migration_writes_the_definition_hashes(tmp_path: Path, ottawa_p7m: Path) -> None:
    """Ordinary writes leave procedure_hash and treaty_hash out of their UPDATE, so column
    grants limited to what a step changes keep working (a SQLite trigger stands in for them)."""
    import contextlib
    import sqlite3

    path = tmp_path / "c.db"
    db = f"sqlite:///{path}"
    ok(db, "init")
    open_notified(db, "LTU-1", "LTU", "2025-06-27")
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "CREATE TRIGGER no_repin BEFORE UPDATE OF procedure_hash, treaty_hash ON cases "
            "BEGIN SELECT RAISE(ABORT, 'hashes are not granted'); END"
        )
    ok(db, "case", "note", "LTU-1", "a note", "--on", "2025-07-01")
    ok(db, "case", "set-fact", "LTU-1", "armed_conflict=false", "--on", "2025-07-02")
    result = run(db, "case", "migrate", "LTU-1", workflows=ottawa_p7m)
    assert result.exit_code == 1 and "refused" in result.stderr  # the trigger stopped it
    assert [e["kind"] for e in doc(db, "case", "history", "LTU-1")] == ["open", "note", "set-fact"]


def test_each_known_at_reads_the_versions_in_force_then(store: Any, tmp_path: Path) -> None:
    """Two migrations (P6M -> P7M -> P8M): a read known at each moment gives that moment's
    date, and the case row follows the latest."""
    import datetime as dt

    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace
    from treatyflow.catalog import load_catalog

    text = (SHIPPED / "treaties" / "ottawa.yaml").read_text(encoding="utf-8")

    def workspace(period: str) -> Any:
        dirs = [SHIPPED]
        if period != "P6M":
            wf = tmp_path / period
            (wf / "treaties").mkdir(parents=True)
            (wf / "treaties" / "ottawa.yaml").write_text(
                text.replace("period: P6M", f"period: {period}")
            )
            dirs.append(wf)
        core = Core(store, load_catalog(dirs), today=lambda: dt.date(2025, 7, 1))
        return Workspace(core, actor="analyst")

    workspace("P6M").open_case(
        country="LTU", treaty="ottawa", id="LTU-1", at="notified", on="2025-06-27"
    )
    workspace("P7M").migrate(["LTU-1"])
    latest = workspace("P8M")
    latest.migrate(all=True)
    stamps = [e.recorded_at for e in latest.history("LTU-1")]
    assert [e.kind.value for e in latest.history("LTU-1")] == ["open", "migrated", "migrated"]
    dates = [latest.case("LTU-1", known_at=s).effective_on for s in stamps]
    assert dates == [dt.date(2025, 12, 27), dt.date(2026, 1, 27), dt.date(2026, 2, 27)]
    assert latest.case("LTU-1").definitions_since == stamps[-1]
    assert latest.case("LTU-1", known_at=stamps[1]).definitions_since == stamps[1]
    assert [len(v.case_ids) for v in latest.workflow_diff("ottawa").versions] == [0, 0, 1]
    assert latest.verify().ok


def test_a_malformed_migrated_event_leaves_the_row_pins_standing(catalog: Any) -> None:
    """A ``migrated`` event not written by treatyflow (a crafted bundle) names no versions:
    the case row's pins stand, and the fold ignores its map."""
    import datetime as dt

    from treatyflow.events import Event, EventKind
    from treatyflow.projection import fold, pinned_hashes

    def migrated(data: dict[str, Any]) -> Event:
        return Event("C", 2, EventKind.MIGRATED, dt.date(2025, 1, 1), "2025-01-01T00:00:00Z",
                     "x", data=data)  # fmt: skip

    good = {"from": {"procedure": "p1", "treaty": "t1"}, "to": {"procedure": "p2", "treaty": "t2"}}
    assert pinned_hashes([migrated(good)]) == ("p2", "t2")
    assert pinned_hashes([migrated(good)], "2024-01-01T00:00:00Z") == ("p1", "t1")
    assert pinned_hashes([]) is None
    for bad in ({}, {"to": "x"}, {"to": {"procedure": 1, "treaty": "t"}}):
        assert pinned_hashes([migrated(bad)]) is None
    opened = Event("C", 1, EventKind.OPEN, dt.date(2025, 6, 27), "2025-06-27T00:00:00Z", "x",
                   to_state="notified")  # fmt: skip
    for bad_map in ("notified=effective", ["notified"], None):
        st = fold(
            [opened, migrated({"map": bad_map})],
            procedure=catalog.procedure("ltu"),
            treaty=catalog.treaty("ottawa"),
            action="withdrawal",
            country="LTU",
            as_of=dt.date(2025, 7, 1),
        )
        assert (st.state, st.entered) == ("notified", {"notified": dt.date(2025, 6, 27)})
