"""The engine: one cached transitions Machine per procedure version; guards; clock steps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from treatyflow import engine
from treatyflow.catalog import content_hash
from treatyflow.definitions.procedure import Guard
from treatyflow.errors import GuardsNotMet, InvalidInput, TransitionNotAllowed

Cli = Callable[..., Result]

TWO_GUARDS = """\
id: two-guards
title: A step with two guards
country: generic
actions: [withdrawal]
include: [international-withdrawal]
initial: considering
facts:
  law_adopted:
    type: boolean
    default: false
  votes:
    type: number
states:
  - id: considering
    title: Considering
transitions:
  - trigger: notify
    source: considering
    dest: notified
    guards:
      - fact: law_adopted
        equals: true
        basis: Constitution Art. 1
      - fact: votes
        equals: 85
      - fact: armed_conflict
        not_equals: true
"""


def test_machine_is_cached_per_procedure_hash(catalog: Any) -> None:
    """machine_for returns the same object for the same procedure version."""
    proc = catalog.procedure("generic")
    digest = content_hash(proc)
    first = engine.machine_for(proc, digest)
    assert first is engine.machine_for(proc, digest)
    assert first is engine.machine_for(catalog.procedure("generic"), digest)


def test_machine_differs_per_version(catalog: Any) -> None:
    """A changed procedure (another hash) gets its own machine."""
    proc = catalog.procedure("generic")
    edited = proc.model_copy(update={"title": "Edited"})
    one = engine.machine_for(proc, content_hash(proc))
    other = engine.machine_for(edited, content_hash(edited))
    assert one is not other
    assert other.procedure.title == "Edited"


def test_machine_has_no_models(catalog: Any) -> None:
    """Cases are never attached to the machine (no add_model): its model list is empty."""
    proc = catalog.procedure("ltu")
    machine = engine.machine_for(proc, content_hash(proc))
    assert machine.machine.models == []


def test_workspace_does_not_attach_cases(ws: Any) -> None:
    """Opening and advancing cases leaves the cached machine without models."""
    ws.open_case(
        country="POL",
        treaty="ottawa",
        procedure="generic",
        id="A",
        on=dt.date(2025, 1, 1),
        actor="analyst",
    )
    ws.advance("A", "decide", on=dt.date(2025, 1, 2), actor="analyst")
    proc = ws.catalog.procedure("generic")
    assert engine.machine_for(proc, content_hash(proc)).machine.models == []


def test_transition_table(catalog: Any) -> None:
    """transition() finds declared (state, trigger) pairs and nothing else."""
    proc = catalog.procedure("generic")
    machine = engine.machine_for(proc, content_hash(proc))
    notify = machine.transition("decided", "notify")
    assert notify is not None
    assert notify.dest == "notified"
    assert machine.transition("notified", "decide") is None
    assert machine.transition("considering", "no-such-trigger") is None


def test_clock_transitions_are_not_analyst_triggers(catalog: Any) -> None:
    """From 'notified' an analyst may only revoke; take-effect belongs to the clock."""
    proc = catalog.procedure("generic")
    machine = engine.machine_for(proc, content_hash(proc))
    assert machine.analyst_triggers("notified") == ["revoke"]
    take_effect = machine.transition("notified", "take-effect")
    assert take_effect is not None
    assert take_effect.clock == "effect"
    assert machine.analyst_triggers("effective") == []


def test_workspace_refuses_to_fire_a_clock_transition(ws: Any) -> None:
    """advance(take-effect) is refused, pointing to tick, even when the clock is due."""
    ws.open_case(
        country="POL",
        treaty="ottawa",
        procedure="generic",
        id="A",
        at="notified",
        on=dt.date(2024, 1, 1),
        actor="analyst",
    )
    with pytest.raises(InvalidInput, match=r"fired by the clock 'effect' .*\(tick\)"):
        ws.advance("A", "take-effect", on=dt.date(2024, 2, 1), actor="analyst")
    assert ws.case("A").state == "notified"


def test_closed_case_allows_nothing(ws: Any) -> None:
    """A case in a final state refuses every trigger and says it is closed."""
    ws.open_case(
        country="POL",
        treaty="ottawa",
        procedure="generic",
        id="A",
        at="abandoned",
        on=dt.date(2025, 1, 1),
        actor="analyst",
    )
    with pytest.raises(TransitionNotAllowed, match="the case is closed") as info:
        ws.advance("A", "decide", on=dt.date(2025, 1, 2), actor="analyst")
    assert info.value.allowed == []


def test_guard_failures_names_every_failing_guard() -> None:
    """Each guard that does not hold gets its own sentence; holding guards get none."""
    guards = [
        Guard(fact="law_adopted", equals=True, basis="Constitution Art. 1"),
        Guard(fact="votes", equals=85),
        Guard(fact="armed_conflict", not_equals=True),
        Guard(fact="ok", equals="yes"),
    ]
    failures = engine.guard_failures(
        guards, {"law_adopted": False, "armed_conflict": None, "ok": "yes"}
    )
    assert failures == [
        "needs law_adopted is true, but it is false (Constitution Art. 1)",
        "needs votes is 85, but it is unset",
        "needs armed_conflict is not true, but it is unset",
    ]


def test_guards_not_met_names_every_failing_guard(cli: Cli, tmp_path: Path) -> None:
    """The refusal of a guarded step names each failing guard, not only the first."""
    (tmp_path / "procedures").mkdir()
    (tmp_path / "procedures" / "two-guards.yaml").write_text(TWO_GUARDS)
    opened = cli(
        "case",
        "open",
        "--country",
        "POL",
        "--treaty",
        "ottawa",
        "--procedure",
        "two-guards",
        "--id",
        "T",
        "--on",
        "2025-01-01",
        workflows=tmp_path,
    )
    assert opened.exit_code == 0, opened.output
    result = cli("case", "advance", "T", "notify", "--on", "2025-01-02", workflows=tmp_path)
    assert result.exit_code == 1
    assert "needs law_adopted is true, but it is false (Constitution Art. 1)" in result.stderr
    assert "needs votes is 85, but it is unset" in result.stderr
    assert "armed_conflict" not in result.stderr  # ottawa's default false satisfies 'not true'


def test_guards_not_met_error_lists_failures(ws: Any, tmp_path: Path) -> None:
    """GuardsNotMet carries one failure per failing guard."""
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace
    from treatyflow.catalog import load_catalog

    (tmp_path / "procedures").mkdir()
    (tmp_path / "procedures" / "two-guards.yaml").write_text(TWO_GUARDS)
    svc = Workspace(
        Core(ws.store, load_catalog([Path(__file__).parents[1] / "workflows", tmp_path])),
        actor="analyst",
    )
    svc.open_case(
        country="POL",
        treaty="ottawa",
        procedure="two-guards",
        id="T",
        on=dt.date(2025, 1, 1),
        actor="analyst",
    )
    svc.set_fact("T", "votes", "84", on=dt.date(2025, 1, 2), actor="analyst")
    with pytest.raises(GuardsNotMet) as info:
        svc.advance("T", "notify", on=dt.date(2025, 1, 3), actor="analyst")
    assert (info.value.case_id, info.value.trigger, len(info.value.failures)) == ("T", "notify", 2)
    svc.set_fact("T", "law_adopted", "true", on=dt.date(2025, 1, 3), actor="analyst")
    svc.set_fact("T", "votes", "85", on=dt.date(2025, 1, 3), actor="analyst")
    assert svc.advance("T", "notify", on=dt.date(2025, 1, 4), actor="analyst").state == "notified"


def test_steps_report_guard_verdicts(catalog: Any) -> None:
    """steps() lists each outgoing transition with whether its guards hold."""
    proc = catalog.procedure("ltu")
    machine = engine.machine_for(proc, content_hash(proc))
    steps = {s.spec.trigger: s for s in machine.steps("submitted", {"qualified_majority": False})}
    assert {"adopt-law", "reject"} == set(steps)
    assert (steps["adopt-law"].ready, steps["reject"].ready) == (False, True)


def test_diagram_highlights_a_case_path(cli: Cli) -> None:
    """diagram --case marks the states the case has been in."""
    cli(
        "case",
        "open",
        "--country",
        "POL",
        "--treaty",
        "ottawa",
        "--procedure",
        "generic",
        "--id",
        "A",
        "--on",
        "2025-01-01",
    )
    cli("case", "advance", "A", "decide", "--on", "2025-01-02")
    result = cli("workflow", "diagram", "generic", "--format", "dot", "--case", "A")
    assert result.exit_code == 0, result.output
    marked = [ln.split('"')[0] for ln in result.stdout.splitlines() if "style=filled" in ln]
    assert marked == ["(considering)", "(decided)"]
