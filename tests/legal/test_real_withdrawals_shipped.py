"""Every case in tests/data/real_withdrawals.yaml, against the SHIPPED treaty definitions.

Each case is opened as the contract says ("open a case at 'notified' on received_on"): the
clock is the ``effect`` clock of the procedure the catalogue picks for the country and the
action, reading the clause from ``workflows/treaties/<treaty>.yaml``. A case with an
``effective_on`` must run until the day before and be due on that day; a revoked case must be
void from its revocation; a case with neither (disputed) must carry the ``contested`` flag, so
the tool never shows a disputed date as settled. ``facts`` in a case are set on its receipt date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from treatyflow.catalog import Catalog, load_catalog
from treatyflow.definitions.procedure import ClockSpec, Procedure
from treatyflow.definitions.treaty import FactValue, Treaty
from treatyflow.legal.clocks import Clock, ClockStatus, check_notice
from treatyflow.legal.facts import FactTimeline
from treatyflow.projection import clause_for, evaluate_spec, fact_specs

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "real_withdrawals.yaml"
CATALOG: Catalog = load_catalog([ROOT / "workflows"])
CASES: list[dict[str, Any]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))
KEYS = {
    "treaty",
    "country",
    "action",
    "received_on",
    "effective_on",
    "revoked_on",
    "sources",
    "uncertain",
    "facts",
}


def case_id(case: dict[str, Any]) -> str:
    return f"{case['treaty']}-{case['country']}-{case['received_on'].year}"


@dataclass(frozen=True)
class Opened:
    """A real case opened at its notification, with the shipped definitions."""

    treaty: Treaty
    procedure: Procedure
    spec: ClockSpec
    case: dict[str, Any]

    @property
    def received_on(self) -> dt.date:
        day: dt.date = self.case["received_on"]
        return day

    def timeline(self) -> FactTimeline:
        specs = fact_specs(self.treaty, self.procedure)
        defaults = {name: spec.default for name, spec in specs.items()}
        changes: list[tuple[str, dt.date, FactValue]] = [
            (name, self.received_on, value) for name, value in self.case.get("facts", {}).items()
        ]
        return FactTimeline(changes, defaults)

    def clock(self, as_of: dt.date) -> Clock:
        entered = {self.spec.starts_at: self.received_on}
        revoked_on = self.case["revoked_on"]
        if revoked_on is not None and revoked_on <= as_of:
            entered["revoked"] = revoked_on
        return evaluate_spec(
            self.spec,
            self.treaty,
            self.case["action"],
            self.case["country"],
            entered,
            {},
            self.timeline(),
            as_of,
            None,
        )


def opened(case: dict[str, Any]) -> Opened:
    treaty = CATALOG.treaty(case["treaty"])
    procedure_id = CATALOG.default_procedure(case["country"], case["action"], case["treaty"])
    procedure = CATALOG.procedure(procedure_id)
    (spec,) = [s for s in procedure.clocks if s.name == "effect"]
    assert spec.starts_at == "notified"
    return Opened(treaty, procedure, spec, case)


def _params(want: str) -> list[Any]:
    def kind(case: dict[str, Any]) -> str:
        if case["effective_on"] is not None:
            return "effective"
        return "revoked" if case["revoked_on"] is not None else "disputed"

    return [pytest.param(c, id=case_id(c)) for c in CASES if kind(c) == want]


EFFECTIVE = _params("effective")
REVOKED = _params("revoked")
DISPUTED = _params("disputed")


def test_the_file_holds_the_53_cases_the_readme_cites() -> None:
    """53 cases, 47 with an effect date (README, docs/treaties.md), unique ids, known keys."""
    assert len(CASES) == 53
    assert (len(EFFECTIVE), len(REVOKED), len(DISPUTED)) == (47, 4, 2)
    ids = [case_id(c) for c in CASES]
    assert len(set(ids)) == len(ids)
    for case in CASES:
        assert set(case) <= KEYS, case_id(case)
        assert isinstance(case["received_on"], dt.date), case_id(case)
        assert case["sources"], case_id(case)


def test_every_shipped_treaty_has_a_real_case() -> None:
    """Each treaty of workflows/treaties/ is checked against at least one real withdrawal."""
    assert {c["treaty"] for c in CASES} == set(CATALOG.treaties)


@pytest.mark.parametrize("case", EFFECTIVE)
def test_shipped_clause_gives_the_recorded_effect_date(case: dict[str, Any]) -> None:
    """Running the day before, due on the recorded effect date, with that date, no review flag."""
    real = opened(case)
    effective: dt.date = case["effective_on"]
    before = real.clock(effective - dt.timedelta(days=1))
    on = real.clock(effective)
    assert (before.status, before.due_on) == (ClockStatus.RUNNING, effective), before.explanation
    assert (on.status, on.due_on) == (ClockStatus.DUE, effective), on.explanation
    assert on.started_on == case["received_on"]
    assert "month-end-review" not in on.flags


@pytest.mark.parametrize("case", REVOKED)
def test_revoked_before_effect_is_void(case: dict[str, Any]) -> None:
    """The revocation came while the clock ran; from that day the clock is void for good."""
    real = opened(case)
    revoked_on: dt.date = case["revoked_on"]
    before = real.clock(revoked_on - dt.timedelta(days=1))
    assert before.status in (ClockStatus.RUNNING, ClockStatus.UNKNOWN), before.explanation
    assert before.due_on is None or before.due_on > revoked_on
    for as_of in (revoked_on, revoked_on + dt.timedelta(days=3 * 366)):
        after = real.clock(as_of)
        assert (after.status, after.due_on) == (ClockStatus.VOID, None), after.explanation


@pytest.mark.parametrize("case", DISPUTED)
def test_disputed_case_is_flagged_contested(case: dict[str, Any]) -> None:
    """No agreed effect date: the clock may compute one, but must flag the clause contested."""
    real = opened(case)
    clause = clause_for(real.spec, real.treaty, case["action"])
    assert clause is not None and clause.contested
    assert "contested" in real.clock(case["received_on"]).flags
    assert case.get("uncertain"), "a disputed case must say why in 'uncertain'"


def test_who_2025_without_the_dues_fact_has_no_effect_date() -> None:
    """The US 1948 condition: with current_dues_paid unknown the clock is unknown, by design."""
    (case,) = [c for c in CASES if case_id(c) == "who-USA-2025"]
    bare = opened({**case, "facts": {}})
    clock = bare.clock(case["effective_on"])
    assert (clock.status, clock.due_on) == (ClockStatus.UNKNOWN, None)
    assert clock.waiting_on == ("current_dues_paid=true",)


def test_paris_usa_2019_notice_met_the_three_year_bar() -> None:
    """Art. 28(1): notice allowed from the third anniversary (4 Nov 2016 -> 4 Nov 2019)."""
    (case,) = [c for c in CASES if case_id(c) == "paris-USA-2019"]
    real = opened(case)
    clause = clause_for(real.spec, real.treaty, "withdrawal")
    assert clause is not None and clause.earliest_notice is not None
    facts = real.timeline()
    assert check_notice(clause, notice_on=case["received_on"], facts=facts) == []
    early = check_notice(clause, notice_on=case["received_on"] - dt.timedelta(days=1), facts=facts)
    assert len(early) == 1 and "too early" in early[0]


def test_argentina_who_2025_has_no_effect_date_even_after_the_date_it_claims() -> None:
    """No clause, and the US 1948 reservation is not Argentina's: the clock stays unknown.

    Argentina notified the UN SG on 17 Mar 2025 and treats its withdrawal as effective on
    17 Mar 2026 (VCLT Art. 56(2)); the shipped clause computes no date for it, flags the case
    no-withdrawal-right and contested, and a year's notice changes nothing.
    """
    (case,) = [c for c in CASES if case_id(c) == "who-ARG-2025"]
    real = opened(case)
    for as_of in (case["received_on"], dt.date(2026, 3, 17), dt.date(2027, 3, 17)):
        clock = real.clock(as_of)
        assert (clock.status, clock.due_on) == (ClockStatus.UNKNOWN, None), clock.explanation
        assert {"no-withdrawal-right", "contested"} <= set(clock.flags)


def test_whaling_notice_after_the_cut_off_waits_a_year() -> None:
    """ICRW Art. XI: Canada's note of 24 Jun 1981 missed 1 Jan 1981, so 30 Jun 1982, not 1981."""
    (case,) = [c for c in CASES if case_id(c) == "icrw-CAN-1981"]
    real = opened(case)
    assert real.clock(dt.date(1981, 6, 30)).status is ClockStatus.RUNNING
    assert real.clock(dt.date(1982, 6, 30)).due_on == dt.date(1982, 6, 30)
