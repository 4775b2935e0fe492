"""The public API, one contract suite for every backend: a SQLite file, SQLite ``:memory:``
and PostgreSQL (when TREATYFLOW_TEST_POSTGRES_URL names a server)."""

from __future__ import annotations

import ast
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import treatyflow
from treatyflow.cli import main

D = dt.date.fromisoformat
SRC = Path(__file__).resolve().parents[1] / "src" / "treatyflow"
OFFICIAL = "UN depositary notification C.N.1.2025; level=official"


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL or path of each backend (PostgreSQL: a schema of its own)."""
    if request.param == "sqlite-file":
        yield str(tmp_path / "api.db")
    elif request.param == "sqlite-memory":
        yield ":memory:"
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def ws(target: str) -> Iterator[Any]:
    with treatyflow.open(target, actor="analyst", create=True) as workspace:
        yield workspace


def test_open_case_returns_a_typed_view(ws: Any) -> None:
    """Dates are dates, facts typed values, clocks Clock objects; nothing is a string."""
    case = ws.open_case(
        country="LTU",
        treaty="ottawa",
        id="LTU-1",
        at="notified",
        on=dt.date(2025, 6, 27),
        sources=[OFFICIAL],
        facts={"armed_conflict": False},
    )
    assert isinstance(case, treatyflow.CaseView)
    assert (case.id, case.state, case.version) == ("LTU-1", "notified", 1)
    assert case.effective_on == dt.date(2025, 12, 27)
    assert case.facts["armed_conflict"] is False
    clock = case.clock("effect")
    assert isinstance(clock, treatyflow.Clock)
    assert clock.due_on == dt.date(2025, 12, 27)
    assert case.opened_on == dt.date(2025, 6, 27)
    assert case.allowed == ("revoke",)


def test_a_case_through_its_life(ws: Any) -> None:
    """Open, note, fact, tick, history, pending, verify: the workspace's whole loop."""
    ws.open_case(country="EST", treaty="ottawa", id="EST-1", at="notified", on="2025-06-27")
    ws.note("EST-1", "Riigikogu debate", on="2025-07-01", sources=["ERR news, 1 July 2025"])
    view = ws.set_fact("EST-1", "armed_conflict", "false", on="2025-07-02")
    assert view.version == 3
    assert ws.tick(as_of="2025-12-26").fired == ()
    fired = ws.tick(as_of="2025-12-27")
    assert [f.to_dict() for f in fired.fired] == [
        {"case": "EST-1", "clock": "effect", "on": "2025-12-27", "to_state": "effective"}
    ]
    assert ws.tick(as_of="2026-06-01").fired == ()
    events = ws.history("EST-1")
    assert [e.kind.value for e in events] == ["open", "note", "set-fact", "take-effect"]
    assert events[-1].actor == "system"
    assert [c.id for c in ws.cases(state="effective")] == ["EST-1"]
    assert ws.pending(as_of="2026-01-01").cases == ()
    result = ws.verify()
    assert (result.ok, result.cases, result.problems) == (True, 1, ())


def test_errors_carry_their_data_and_name_no_option(ws: Any) -> None:
    """A refused step says which case, trigger, state and allowed triggers, without flags."""
    ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="notified", on="2025-06-27")
    with pytest.raises(treatyflow.TransitionNotAllowed) as caught:
        ws.advance("LTU-1", "notify", on="2025-07-01")
    exc = caught.value
    assert (exc.case_id, exc.trigger, exc.state, exc.allowed) == (
        "LTU-1",
        "notify",
        "notified",
        ["revoke"],
    )
    assert isinstance(exc, treatyflow.TreatyflowError)
    with pytest.raises(treatyflow.CaseExists) as exists:
        ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", on="2025-06-27")
    with pytest.raises(treatyflow.ClockDueFirst) as due:
        ws.advance("LTU-1", "revoke", on="2026-01-05")
    assert (due.value.clock, due.value.due_on) == ("effect", D("2025-12-27"))
    with pytest.raises(treatyflow.OutOfOrder) as order:
        ws.advance("LTU-1", "revoke", on="2025-06-01")
    for error in (exc, exists.value, due.value, order.value):
        assert "--" not in str(error)
    assert ws.case("LTU-1").version == 1  # nothing written by the refused calls


def test_system_is_reserved_for_the_clocks(ws: Any) -> None:
    """No write may claim the actor 'system'."""
    with pytest.raises(treatyflow.InvalidInput, match="reserved"):
        ws.open_case(country="LTU", treaty="ottawa", on="2025-06-27", actor="system")
    assert ws.cases() == []


def test_history_as_of_keeps_a_step_corrected_into_the_window(ws: Any) -> None:
    """A step corrected from 2025-07-10 to 2025-06-20 is in force (and listed) as of
    2025-06-30, as case show says; the correction is listed with it."""
    ws.open_case(country="POL", treaty="ottawa", id="POL-1", on="2025-03-01")
    step = next(s for s in ws.case("POL-1").steps if s.ready and not s.clock)
    ws.advance("POL-1", step.trigger, on="2025-07-10", out_of_procedure="test step")
    ws.correct("POL-1", 2, on="2025-06-20", reason="the gazette gives 20 June")
    as_of = D("2025-06-30")
    assert ws.case("POL-1", as_of=as_of).state == step.to_state
    seqs = [e.seq for e in ws.history("POL-1", as_of=as_of)]
    assert seqs == [1, 2, 3]
    assert [e.seq for e in ws.history("POL-1", as_of=D("2025-06-19"))] == [1]


def test_memory_database_keeps_its_data_between_calls() -> None:
    """':memory:' is one database for the life of the workspace (not one per connection)."""
    with treatyflow.open(":memory:", actor="analyst", create=True) as ws:
        ws.open_case(country="FIN", treaty="ottawa", id="FIN-1", at="notified", on="2025-07-10")
        assert [c.id for c in ws.cases()] == ["FIN-1"]
        assert ws.verify().ok


def test_open_without_create_needs_a_database(tmp_path: Path) -> None:
    with pytest.raises(treatyflow.DatabaseNotInitialised):
        treatyflow.open(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_failing_definitions_are_an_error_not_a_changed_procedure(
    tmp_path: Path, target: str
) -> None:
    """Definitions that fail to load make the read fail, saying what failed; they do not
    flag every case 'procedure-changed'."""
    with treatyflow.open(target, actor="analyst", create=True) as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="notified", on="2025-06-27")
        broken = tmp_path / "broken"
        (broken / "treaties").mkdir(parents=True)
        (broken / "treaties" / "bad.yaml").write_text("id: [unclosed\n", encoding="utf-8")
        from treatyflow.app.core import Core
        from treatyflow.app.workspace import Workspace, workflow_dirs
        from treatyflow.catalog import load_catalog

        dirs = workflow_dirs(broken)
        other = Workspace(Core(ws.store, lambda: load_catalog(dirs)), actor="analyst")
        with pytest.raises(treatyflow.DefinitionError, match=r"bad\.yaml"):
            other.case("LTU-1")
        assert "procedure-changed" not in ws.case("LTU-1").flags


# ------------------------------------------------------------------ the same documents as the CLI
def _cli_json(db: Path, *args: str) -> Any:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_to_dict_is_the_cli_json(tmp_path: Path) -> None:
    """case show, case history, pending, case list, conformance and verify: the API's
    to_dict() and the CLI's --json are the same documents."""
    db = tmp_path / "same.db"
    with treatyflow.open(db, actor="analyst", create=True) as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="notified", on="2025-06-27")
        ws.open_case(country="EST", treaty="ottawa", id="EST-1", on="2025-03-01")
        ws.note("EST-1", "first reading", on="2025-04-01", sources=[OFFICIAL])
        show = ws.case("LTU-1", as_of="2025-07-01").to_dict()
        history = [e.to_dict() for e in ws.history("EST-1")]
        pending = ws.pending(as_of="2025-07-01").to_dict()
        grouped = ws.pending(as_of="2025-07-01", group_by="actor").to_dict()
        listing = [c.to_dict() for c in ws.cases()]
        conformance = [c.to_dict() for c in ws.conformance()]
        verify = ws.verify().to_dict()
    assert show == _cli_json(db, "case", "show", "LTU-1", "--as-of", "2025-07-01", "--json")
    assert history == _cli_json(db, "case", "history", "EST-1", "--json")
    assert pending == _cli_json(db, "pending", "--as-of", "2025-07-01", "--json")
    assert grouped == _cli_json(db, "pending", "--as-of", "2025-07-01", "--by", "actor", "--json")
    assert listing == _cli_json(db, "case", "list", "--json")
    assert conformance == _cli_json(db, "conformance", "--json")
    assert verify == _cli_json(db, "verify", "--json")


# ------------------------------------------------------------------ the public surface
def test_all_is_sorted_complete_and_importable() -> None:
    """__all__ is sorted, names open and every error, and each name resolves."""
    assert treatyflow.__all__ == sorted(treatyflow.__all__)
    for name in treatyflow.__all__:
        assert getattr(treatyflow, name) is not None
    assert "open" in treatyflow.__all__
    tree = ast.parse((SRC / "errors.py").read_text(encoding="utf-8"))
    errors = {n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.name != "Problem"}
    assert errors <= set(treatyflow.__all__)
    from treatyflow import results

    assert set(results.__all__) <= set(treatyflow.__all__)  # every result type
    assert (SRC / "py.typed").is_file()


def test_library_errors_name_no_command_line_option() -> None:
    """No message in the library's error classes or the app layer names a CLI flag."""
    offenders = []
    for path in [SRC / "errors.py", *sorted((SRC / "app").glob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(n.value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
        }
        for node in ast.walk(tree):
            if id(node) in docstrings:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if " --" in text or text.startswith("--") or "'treatyflow " in text:
                    offenders.append(f"{path.name}: {text[:60]!r}")
    assert offenders == []


def test_importing_the_package_loads_no_database_library() -> None:
    """``import treatyflow`` stays cheap: the API's modules load on first use."""
    import subprocess
    import sys

    code = (
        "import sys, treatyflow; "
        "print(any(m.startswith(('sqlalchemy', 'pydantic')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_step_known_only_within_a_range(ws: Any) -> None:
    """``on="<=2025-12-01"`` orders the event by its latest day and keeps the range:
    history shows ``occurred``; the hash chain still verifies."""
    ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="notified", on="2025-06-27")
    ws.record("LTU-1", "objection", on="<=2025-12-01", by="NOR")
    ws.note("LTU-1", "signature reported", on="2025-05-12..2025-12-05")
    events = ws.history("LTU-1")
    assert events[1].occurred_on == D("2025-12-01")
    assert events[1].to_dict()["occurred"] == {
        "earliest": None,
        "latest": "2025-12-01",
        "precision": "on-or-before",
    }
    assert events[2].to_dict()["occurred"]["precision"] == "between"
    assert events[0].to_dict()["occurred"] == {
        "earliest": "2025-06-27",
        "latest": "2025-06-27",
        "precision": "day",
    }
    assert ws.verify().ok
    with pytest.raises(treatyflow.InvalidInput, match="ends before it starts"):
        ws.note("LTU-1", "bad range", on="2025-12-05..2025-12-01")


def test_party_names_and_organisations(ws: Any) -> None:
    """The EU may leave the Energy Charter Treaty; views name the party; a State-only
    treaty refuses it."""
    eu = ws.open_case(country="EUU", treaty="ect", id="EU-ECT", at="notified", on="2024-06-27")
    assert (eu.country, eu.country_name) == ("EUU", "European Union")
    assert ws.case("EU-ECT").to_dict()["country_name"] == "European Union"
    with pytest.raises(treatyflow.InvalidInput, match="admits only"):
        ws.open_case(country="EUU", treaty="ottawa", on="2025-06-27")
