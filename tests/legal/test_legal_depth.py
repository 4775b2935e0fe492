"""Legal depth II (#14): parties that are not States, required notice content, survival
clauses, unassessed conditions, treaties without a withdrawal right, void clocks that say why.

Real cases against the shipped treaty files, through the API (or the pure clock where the
rule is the point).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from treatyflow.catalog import content_hash
from treatyflow.definitions.treaty import (
    Clause,
    Condition,
    Convention,
    NoticeRequirement,
    SurvivalPeriod,
)
from treatyflow.errors import InvalidInput
from treatyflow.events import Event, EventKind
from treatyflow.evidence import EvidenceLevel, Source
from treatyflow.legal.clocks import Clock, ClockStatus, evaluate_clock, survival_clock
from treatyflow.legal.facts import FactTimeline
from treatyflow.parties import PartyKind, find_party, party_name
from treatyflow.projection import fold, notice_deviations
from treatyflow.values import check_country, check_party_admitted

D = dt.date.fromisoformat


def _open(ws: Any, country: str, treaty: str, on: str, **kw: Any) -> dict[str, Any]:
    """Open a case at notified; ``facts`` as NAME=VALUE texts; the view as its JSON."""
    facts = dict(f.split("=", 1) for f in kw.pop("facts", []))
    view: dict[str, Any] = ws.open_case(
        country=country, treaty=treaty, at="notified", on=D(on), facts=facts, **kw
    ).to_dict()
    return view


def _show(ws: Any, case_id: str, **kw: Any) -> dict[str, Any]:
    """``case show --json`` of the case."""
    view: dict[str, Any] = ws.case(case_id, **kw).to_dict()
    return view


def _tick(ws: Any, day: dt.date) -> list[dict[str, Any]]:
    """What ``tick --as-of day`` fired, as its JSON."""
    return [f.to_dict() for f in ws.tick(as_of=day).fired]


def _clock(view: dict[str, Any], name: str = "effect") -> dict[str, Any]:
    return next(c for c in view["clocks"] if c["name"] == name)


def _source(citation: str, kind: str, level: str = "reported") -> Source:
    return Source(citation=citation, kind=kind, level=EvidenceLevel(level))


# --- 1. parties that are not States --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "kind"),
    [
        ("EUU", "European Union", PartyKind.REIO),
        ("xea", "European Atomic Energy Community (Euratom)", PartyKind.REIO),
        ("LTU", "Lithuania", PartyKind.STATE),
        ("PRK", "North Korea", PartyKind.STATE),
    ],
)
def test_party_registry_names_states_and_organisations(
    code: str, name: str, kind: PartyKind
) -> None:
    """States come from ISO 3166-1 (common names), organisations from the registry."""
    party = find_party(code)
    assert party is not None and (party.code, party.name, party.kind) == (code.upper(), name, kind)
    assert party_name(code) == name


def test_unknown_code_is_shown_as_itself() -> None:
    """An unknown code has no party, and its name is the code itself."""
    assert find_party("QQQ") is None and find_party("EU") is None
    assert party_name("QQQ") == "QQQ"


def test_country_option_accepts_the_european_union() -> None:
    """--country EUU is accepted (it was refused as not an ISO 3166-1 code) and upper-cased."""
    assert check_country("euu") == "EUU"
    assert check_country("XEA") == "XEA"


def test_country_option_hints_at_euu_for_eu() -> None:
    """'EU' is refused with one sentence that names EUU."""
    with pytest.raises(InvalidInput, match=r"did you mean 'EUU' for the European Union\?"):
        check_country("EU")
    with pytest.raises(InvalidInput, match=r"nor an organisation code \(EUU \(European Union\)"):
        check_country("QQQ")


def test_a_state_only_treaty_refuses_the_european_union(catalog: Any) -> None:
    """Ottawa admits States only: the EU is refused; the ECT admits it (Art. 1(2), 1(3))."""
    with pytest.raises(InvalidInput, match="admits only parties of kind state"):
        check_party_admitted(catalog.treaty("ottawa"), "EUU")
    check_party_admitted(catalog.treaty("ect"), "EUU")
    check_party_admitted(catalog.treaty("ottawa"), "LTU")
    assert catalog.treaty("ect").parties == [PartyKind.STATE, PartyKind.REIO]


@pytest.mark.parametrize("code", ["EUU", "XEA"])
def test_eu_and_euratom_leave_the_ect_a_year_and_a_day_after_27_june_2024(
    ws: Any, code: str
) -> None:
    """EU and Euratom notified 27 Jun 2024; Art. 47(2) as Portugal counts it: 28 Jun 2025."""
    view = _open(ws, code, "ect", "2024-06-27")
    assert (view["country"], view["effective_on"]) == (code, "2025-06-28")
    assert _tick(ws, D("2025-06-27")) == []
    assert [f["on"] for f in _tick(ws, D("2025-06-28"))] == ["2025-06-28"]
    assert _show(ws, view["id"])["state"] == "effective"


# --- 2. required notice content -----------------------------------------------------------

DPRK_2003 = _source(
    "KCNA, 10 Jan 2003: Statement of the DPRK Government on its withdrawal from the NPT",
    "statement-of-extraordinary-events",
)


def test_dprk_2003_npt_notice_without_a_statement_is_accepted_but_flagged(ws: Any) -> None:
    """NPT Art. X(1): a notice without the statement is kept but flagged, with the article."""
    view = _open(ws, "PRK", "npt", "2003-01-10")
    clock = _clock(view)
    assert clock["due_on"] == "2003-04-10"
    assert "defective-notice" in clock["flags"] and "defective-notice" in view["flags"]
    subjects = {i["subject"]: i["basis"] for i in clock["issues"]}
    assert set(subjects) == {"statement-of-extraordinary-events", "security-council-notice"}
    assert subjects["statement-of-extraordinary-events"].startswith("NPT Art. X(1)")
    assert "NPT Art. X(1)" in clock["explanation"]


def test_dprk_2003_npt_notice_with_its_statement_is_not_defective(ws: Any) -> None:
    """Sources of the required kinds on the notification clear the flag."""
    unsc = _source(
        "Letter of the DPRK to the President of the Security Council", "security-council-notice"
    )
    view = _open(ws, "PRK", "npt", "2003-01-10", sources=[DPRK_2003, unsc])
    assert "defective-notice" not in _clock(view)["flags"]
    assert "defective-notice" not in view["flags"] and _clock(view)["issues"] == []


def test_a_later_note_with_the_statement_of_reasons_cures_an_ottawa_notice(ws: Any) -> None:
    """APMBC Art. 20(2): evidence found later (a note with the statement) clears that defect."""
    case = _open(ws, "LVA", "ottawa", "2025-06-27", facts=["armed_conflict=false"])["id"]
    before = _clock(_show(ws, case, as_of=D("2025-07-01")))
    assert {i["subject"] for i in before["issues"]} == {
        "statement-of-reasons",
        "security-council-notice",
    }
    ws.note(
        case,
        "The instrument's statement of reasons.",
        on=D("2025-06-30"),
        actor="analyst",
        sources=[_source("Latvian MFA, instrument of withdrawal", "statement-of-reasons")],
    )
    after = _clock(_show(ws, case, as_of=D("2025-07-01")))
    assert [i["subject"] for i in after["issues"]] == ["security-council-notice"]
    assert after["due_on"] == "2025-12-27"


def test_cfe_russia_2023_at_least_150_days_or_the_date_named(ws: Any) -> None:
    """CFE Art. XIX(2): 150 days is the earliest day; Russia named 7 Nov 2023, which prevails."""
    bare = _open(ws, "RUS", "cfe", "2023-06-09")
    assert bare["effective_on"] == "2023-11-06"
    named = _open(ws, "RUS", "cfe", "2023-06-09", facts=["specified_date=2023-11-07"])
    assert named["effective_on"] == "2023-11-07"
    assert "later-date-specified" in _clock(named)["flags"]
    assert "defective-notice" in _clock(named)["flags"]


# --- 3. survival clauses --------------------------------------------------------------------


def test_spain_ect_investments_stay_protected_until_2045(ws: Any) -> None:
    """ECT Art. 47(3): Spain (received 16 Apr 2024, effect 17 Apr 2025) -> survival to 2045."""
    case = _open(ws, "ESP", "ect", "2024-04-16", facts=["entry_into_force_for_party=1998-04-16"])
    survival = _clock(case, "survival")
    assert (survival["status"], survival["due_on"]) == ("running", "2045-04-17")
    assert "If the withdrawal takes effect on 2025-04-17" in survival["explanation"]
    _tick(ws, D("2025-04-17"))
    after = _show(ws, case["id"], as_of=D("2026-01-01"))
    assert after["state"] == "effective" and after["effective_on"] == "2025-04-17"
    survival = _clock(after, "survival")
    assert (survival["status"], survival["due_on"]) == ("running", "2045-04-17")
    assert "took effect on 2025-04-17" in survival["explanation"]
    assert _clock(_show(ws, case["id"], as_of=D("2045-04-17")), "survival")["status"] == (
        "satisfied"
    )


def test_a_revoked_ect_notice_leaves_nothing_to_survive(ws: Any) -> None:
    """A revoked notification voids the effect clock and the survival clock with it."""
    case = _open(ws, "ESP", "ect", "2024-04-16")["id"]
    ws.advance(case, "revoke", on=D("2024-06-01"))
    survival = _clock(_show(ws, case), "survival")
    assert (survival["status"], survival["due_on"]) == ("void", None)


def test_icsid_article_72_is_an_explained_note_not_a_clock(ws: Any) -> None:
    """ICSID Art. 72 has no end date: a sentence on the effect clock, no survival clock."""
    view = _open(ws, "HND", "icsid", "2024-02-24")
    assert view["effective_on"] == "2024-08-25"
    assert [c["name"] for c in view["clocks"]] == ["effect"]
    assert "ICSID Convention Art. 72" in _clock(view)["explanation"]


def test_survival_waits_for_an_effect_date() -> None:
    """Without an effect date the survival clock is unknown and says what it waits for."""
    effect = Clock("effect", ClockStatus.SUSPENDED, None, "b", D("2025-06-27"), (), (), "x")
    rule = SurvivalPeriod(period="P20Y", basis="ECT Art. 47(3)", what="Investments survive.")
    clock = survival_clock(rule, effect, as_of=D("2026-01-01"))
    assert (clock.status, clock.due_on, clock.waiting_on) == (
        ClockStatus.UNKNOWN,
        None,
        ("effect date",),
    )


# --- 4. unassessed conditions ---------------------------------------------------------------


def test_unassessed_armed_conflict_keeps_the_date_but_flags_the_clock(ws: Any) -> None:
    """Ottawa Art. 20(3): nobody recorded armed_conflict; the date stays, flagged unassessed."""
    case = _open(ws, "LTU", "ottawa", "2025-06-27")["id"]
    clock = _clock(_show(ws, case, as_of=D("2025-07-01")))
    assert (clock["status"], clock["due_on"]) == ("running", "2025-12-27")
    assert "unassessed" in clock["flags"]
    assert [i["subject"] for i in clock["issues"] if i["flag"] == "unassessed"] == [
        "armed_conflict"
    ]
    assert "unassessed" in _show(ws, case, as_of=D("2025-07-01"))["flags"]
    ws.set_fact(case, "armed_conflict", "false", on=D("2025-07-02"))
    assessed = _show(ws, case, as_of=D("2025-07-02"))
    assert "unassessed" not in _clock(assessed)["flags"] and "unassessed" not in assessed["flags"]
    assert [f["on"] for f in _tick(ws, D("2025-12-27"))] == ["2025-12-27"]


def test_usa_paris_2025_without_entry_into_force_leaves_the_bar_unchecked(ws: Any) -> None:
    """Paris Art. 28(1): without entry_into_force_for_party the three-year bar is unchecked."""
    view = _open(ws, "USA", "paris", "2025-01-27")
    clock = _clock(view)
    assert clock["due_on"] == "2026-01-27" and "unassessed" in clock["flags"]
    issue = next(i for i in clock["issues"] if i["flag"] == "unassessed")
    assert issue["subject"] == "entry_into_force_for_party"
    assert "3 years went unchecked" in issue["text"]
    # Re-entry 19 Feb 2021: the three years ended 19 Feb 2024, so the bar was met.
    checked = _open(
        ws, "USA", "paris", "2025-01-27", facts=["entry_into_force_for_party=2021-02-19"]
    )
    assert "unassessed" not in _clock(checked)["flags"]
    assert "notice-too-early" not in checked["flags"]


def test_assumed_defaults_are_told_apart_from_recorded_values() -> None:
    """A default marked assumed is reported until an event records the fact."""
    facts = FactTimeline([], {"armed_conflict": False}, assumed=["armed_conflict"])
    assert (
        facts.is_assumed("armed_conflict")
        and facts.value_on("armed_conflict", D("2025-01-01")) is False
    )
    recorded = FactTimeline(
        [("armed_conflict", D("2025-09-01"), False)], {"armed_conflict": False}, ["armed_conflict"]
    )
    assert not recorded.is_assumed("armed_conflict")
    assert recorded.until(D("2025-08-31")).is_assumed("armed_conflict")
    assert not FactTimeline([], {"armed_conflict": False}).is_assumed("armed_conflict")


# --- 5. a treaty without a withdrawal right -----------------------------------------------


def test_argentina_who_2025_has_no_computable_date(ws: Any) -> None:
    """WHO: no withdrawal clause; only the USA's 1948 reservation gives one. ARG: unknown."""
    view = _open(ws, "ARG", "who", "2025-03-17")
    clock = _clock(view)
    assert (clock["status"], clock["due_on"], view["effective_on"]) == ("unknown", None, None)
    assert "no-withdrawal-right" in clock["flags"] and "VCLT Art. 56" in clock["explanation"]
    assert _tick(ws, D("2026-03-17")) == []


def test_usa_who_2025_keeps_its_one_year_date(ws: Any) -> None:
    """The US reservation still gives the USA its date (22 Jan 2025 -> 22 Jan 2026)."""
    view = _open(ws, "USA", "who", "2025-01-22", facts=["current_dues_paid=true"])
    assert view["effective_on"] == "2026-01-22"
    assert "no-withdrawal-right" not in _clock(view)["flags"]


# --- 7. void clocks say what ended them; definitions keep their hashes ----------------------


def test_a_revoked_notification_still_says_revoked(ws: Any) -> None:
    """South Africa 2016-17 (Rome Statute): the void clock names the revocation (VCLT Art. 68)."""
    case = _open(ws, "ZAF", "rome-statute", "2016-10-19")["id"]
    ws.advance(case, "revoke", on=D("2017-03-07"))
    clock = _clock(_show(ws, case))
    assert clock["status"] == "void"
    assert clock["explanation"].startswith("The notification was revoked on 2017-03-07")


def test_new_definition_fields_stay_out_of_the_hash_until_used() -> None:
    """A clause that uses none of the #14 fields dumps (and hashes) as before."""
    plain = Clause(
        article="Art. 1", basis="b", text="t", convention=Convention.SAME_DAY, period="P1Y"
    )
    assert "notice_requirements" not in plain.model_dump(mode="json")
    assert "survival" not in plain.model_dump(mode="json")
    used = plain.model_copy(
        update={
            "notice_requirements": [
                NoticeRequirement(content="statement-of-reasons", basis="b", evidence_kinds=["x"])
            ]
        }
    )
    assert "notice_requirements" in used.model_dump(mode="json")
    assert content_hash(plain) != content_hash(used)


def test_a_condition_resting_on_an_assumed_default_is_unassessed() -> None:
    """A condition whose fact holds only an assumed default keeps the date, flagged unassessed."""
    rule = Clause(
        article="Art. 1",
        basis="Art. 1: one year",
        text="t",
        convention=Convention.SAME_DAY,
        period="P1Y",
        conditions=[Condition(fact="dues_paid", basis="Art. 2: dues paid")],
    )
    assumed = FactTimeline([], {"dues_paid": True}, ["dues_paid"])
    clock = evaluate_clock(
        "effect",
        rule,
        country="USA",
        started_on=D("2025-01-22"),
        facts=assumed,
        as_of=D("2025-02-01"),
    )
    assert (clock.status, clock.due_on) == (ClockStatus.RUNNING, D("2026-01-22"))
    assert [(i.flag, i.subject) for i in clock.issues] == [("unassessed", "dues_paid")]


def test_available_to_needs_an_explanation_for_the_others() -> None:
    """A clause limited to some parties must say why the others have no date."""
    with pytest.raises(ValueError, match="'available_to' needs 'unavailable'"):
        Clause(
            article="Art. 1",
            basis="b",
            text="t",
            convention=Convention.SAME_DAY,
            period="P1Y",
            available_to=["USA"],
        )


def test_conformance_entries_point_at_the_defective_notification(catalog: Any) -> None:
    """notice_deviations gives one entry, on the notification, naming each missing requirement."""
    procedure = catalog.procedure("generic")
    stamp = "2003-01-10T12:00:00.000000Z"
    events = [
        Event("PRK-1", 1, EventKind.OPEN, D("2002-12-12"), stamp, "a", to_state=procedure.initial),
        Event(
            "PRK-1",
            2,
            EventKind.ADVANCE,
            D("2003-01-10"),
            stamp,
            "a",
            trigger="notify",
            from_state=procedure.initial,
            to_state="notified",
            sources=({"citation": DPRK_2003.citation, "kind": DPRK_2003.kind},),
        ),
    ]
    state = fold(
        events,
        procedure=procedure,
        treaty=catalog.treaty("npt"),
        action="withdrawal",
        country="PRK",
        as_of=D("2003-02-01"),
    )
    (deviation,) = notice_deviations(events, state, procedure)
    entry = deviation.to_dict()
    assert (entry["seq"], entry["flags"], entry["trigger"]) == (2, ["defective-notice"], "notify")
    assert [d["subject"] for d in entry["details"]["notice_defects"]] == [
        "security-council-notice"
    ]
    assert "NPT Art. X(1)" in entry["reason"]
    assert notice_deviations(events[:1], state, procedure) == []
