"""What the fold derives from the definitions alone is remembered by the definitions'
identity (#19: a change evaluates the tally twice, and each evaluation rebuilt the fact
specs, their defaults and the void causes from the same objects)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from treatyflow import projection
from treatyflow.definitions.basics import parse_duration


def _rules_by_hand(treaty: Any, procedure: Any) -> tuple[Any, ...]:
    specs = projection.fact_specs(treaty, procedure)
    defaults = {k: v.default for k, v in specs.items() if v.default is not None}
    assumed = tuple(k for k, v in specs.items() if v.assumed)
    return specs, defaults, assumed


def test_fact_rules_equal_those_built_by_hand(catalog: Any) -> None:
    """For every shipped (treaty, procedure) pair the remembered rules are the ones built
    afresh, and the second call returns the very same objects (the memo is used)."""
    projection._FACT_RULES.clear()
    for treaty_id, procedure_id in itertools.product(
        ["ottawa", "rome-statute", "paris", "icrw"], ["ltu", "generic", "ukr-suspension"]
    ):
        treaty, procedure = catalog.treaty(treaty_id), catalog.procedure(procedure_id)
        first = projection._fact_rules(treaty, procedure)
        specs, defaults, assumed = _rules_by_hand(treaty, procedure)
        assert first[0] == specs and first[1] == defaults and first[2] == assumed
        again = projection._fact_rules(treaty, procedure)
        assert again[0] is first[0] and again[1] is first[1]
    assert any(rules[2][2] for rules in projection._FACT_RULES.values())  # armed_conflict


def test_fact_rules_are_per_object_not_per_name(catalog: Any) -> None:
    """Another object with other facts (a definition loaded again, changed) gets its own
    rules, even while the first is remembered."""
    treaty, procedure = catalog.treaty("ottawa"), catalog.procedure("ltu")
    before = projection._fact_rules(treaty, procedure)
    other = treaty.model_copy(deep=True)
    name = next(iter(before[1]))  # a fact with a default
    spec = projection.fact_specs(treaty, procedure)[name].model_copy(update={"default": None})
    other.facts = {**other.facts, name: spec}  # (the treaty's facts come last: they prevail)
    assert name not in projection._fact_rules(other, procedure)[1]
    assert name in projection._fact_rules(treaty, procedure)[1]


def test_fact_rules_memory_is_bounded(catalog: Any) -> None:
    treaty, procedure = catalog.treaty("ottawa"), catalog.procedure("ltu")
    copies = [procedure.model_copy() for _ in range(projection.MAX_DEFINITION_MEMO + 5)]
    for copy in copies:
        projection._fact_rules(treaty, copy)
    assert len(projection._FACT_RULES) <= projection.MAX_DEFINITION_MEMO


def test_void_causes_equal_those_built_by_hand(catalog: Any) -> None:
    """Remembered void causes are the ones built afresh, whatever states were entered and
    by which trigger; the second call returns the same mapping."""
    procedure = catalog.procedure("ltu")
    states = procedure.state_ids
    for n in range(len(states) + 1):
        entered_by = {s: (f"t{i}" if i % 2 else None) for i, s in enumerate(states[:n])}
        got = projection._void_causes(procedure, entered_by)
        assert got == projection._void_causes_of(procedure, entered_by)
        assert projection._void_causes(procedure, entered_by) is got
    other = procedure.model_copy(deep=True)
    other.states[0].title = "Another title"
    entered = {states[0]: "x"}
    assert projection._void_causes(other, entered) == projection._void_causes_of(other, entered)
    assert projection._void_causes(other, entered) != projection._void_causes(procedure, entered)


def test_parse_duration_remembers_only_valid_durations() -> None:
    """The cache gives the same split; an invalid duration is refused every time."""
    assert parse_duration("P1Y6M2W3D") == (1, 6, 17)
    assert parse_duration("P1Y6M2W3D") is parse_duration("P1Y6M2W3D")
    for _ in range(2):
        with pytest.raises(ValueError, match="not an ISO 8601 duration"):
            parse_duration("P")
