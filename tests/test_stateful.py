"""Random command sequences against the generic procedure agree with a plain model."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from treatyflow.app.core import Core
from treatyflow.app.workspace import Workspace
from treatyflow.errors import TreatyflowError

TODAY = dt.date(2025, 4, 1)
#: Every legal date stays in this window, before any Ottawa clock (six months after a
#: notification in it) can come due, so the model needs no calendar: nothing takes effect.
FIRST, LAST = dt.date(2025, 1, 1), dt.date(2025, 6, 30)
DATES = st.dates(FIRST, dt.date(2025, 3, 31))
#: Steps mostly move forward in legal time, sometimes back (which is refused).
DELTAS = st.integers(-5, 15)
IDS = ["A", "B", "C"]
STATES = ["considering", "decided", "notified", "abandoned", "effective", "revoked"]
TRIGGERS = ["decide", "notify", "abandon", "revoke", "take-effect", "fly"]

#: The generic procedure's analyst transitions, written out by hand.
TABLE = {
    ("considering", "decide"): "decided",
    ("considering", "notify"): "notified",
    ("decided", "notify"): "notified",
    ("considering", "abandon"): "abandoned",
    ("decided", "abandon"): "abandoned",
    ("notified", "revoke"): "revoked",
}


class Model:
    """What a case should be: its state, its number of events, its last legal date."""

    def __init__(self, state: str, on: dt.date) -> None:
        self.state = state
        self.version = 1
        self.last_on = on


class WorkspaceMachine(RuleBasedStateMachine):
    template: Path
    workdir: Path
    catalog: Any
    counter = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        from treatyflow.store import open_store

        path = self.workdir / f"run-{next(self.counter)}.db"
        shutil.copyfile(self.template, path)
        self.store = open_store(str(path))
        self.ws = Workspace(Core(self.store, self.catalog, today=lambda: TODAY), actor="analyst")
        self.cases: dict[str, Model] = {}

    def teardown(self) -> None:
        self.store.engine.dispose()

    # -------------------------------------------------------------- running a command
    def attempt(self, expect_ok: bool, command: Any, *args: Any, **kwargs: Any) -> bool:
        """Run a workspace command; check that it succeeds exactly when the model says so."""
        before = self.total_events()
        try:
            command(*args, **kwargs)
        except TreatyflowError as exc:
            assert not expect_ok, f"refused unexpectedly: {exc}"
            assert before == self.total_events(), "a refused command wrote events"
            return False
        assert expect_ok, "accepted a command the model refuses"
        return True

    def total_events(self) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one())

    def day(self, case_id: str, delta: int) -> dt.date:
        """A legal date ``delta`` days after the case's last one, kept inside the window."""
        model = self.cases.get(case_id)
        base = model.last_on if model else dt.date(2025, 2, 1)
        return min(LAST, max(FIRST, base + dt.timedelta(days=delta)))

    def bump(self, case_id: str, on: dt.date) -> None:
        model = self.cases[case_id]
        model.version += 1
        model.last_on = max(model.last_on, on)

    # -------------------------------------------------------------- rules
    @initialize(at=st.sampled_from([None, *STATES]), on=DATES)
    def open_first_case(self, at: str | None, on: dt.date) -> None:
        self.open_case("A", at, on)

    @rule(case_id=st.sampled_from(IDS), at=st.sampled_from([None, *STATES]), on=DATES)
    def open_case(self, case_id: str, at: str | None, on: dt.date) -> None:
        ok = case_id not in self.cases
        if self.attempt(
            ok,
            self.ws.open_case,
            country="POL",
            treaty="ottawa",
            procedure="generic",
            id=case_id,
            at=at,
            on=on,
            actor="analyst",
        ):
            self.cases[case_id] = Model(at or "considering", on)

    @rule(case_id=st.sampled_from(IDS), trigger=st.sampled_from(TRIGGERS), delta=DELTAS)
    def advance(self, case_id: str, trigger: str, delta: int) -> None:
        on = self.day(case_id, delta)
        model = self.cases.get(case_id)
        dest = TABLE.get((model.state, trigger)) if model else None
        ok = model is not None and on >= model.last_on and dest is not None
        if self.attempt(ok, self.ws.advance, case_id, trigger, on=on, actor="analyst"):
            assert model is not None and dest is not None
            model.state = dest
            self.bump(case_id, on)

    @rule(data=st.data())
    def advance_as_allowed(self, data: st.DataObject) -> None:
        """Fire a trigger the model allows from an open case (keeps sequences productive)."""
        choices = sorted(
            (case_id, trigger)
            for case_id, model in self.cases.items()
            for (state, trigger) in TABLE
            if state == model.state
        )
        if not choices:
            return
        case_id, trigger = data.draw(st.sampled_from(choices))
        self.advance(case_id, trigger, data.draw(st.integers(0, 15)))

    @rule(case_id=st.sampled_from(IDS), value=st.booleans(), delta=DELTAS)
    def set_fact(self, case_id: str, value: bool, delta: int) -> None:
        on = self.day(case_id, delta)
        model = self.cases.get(case_id)
        ok = model is not None and on >= model.last_on
        fact = ("armed_conflict", "true" if value else "false")
        if self.attempt(ok, self.ws.set_fact, case_id, *fact, on=on, actor="analyst"):
            self.bump(case_id, on)

    @rule(
        case_id=st.sampled_from(IDS),
        fact=st.sampled_from(
            [("nope", "1"), ("armed_conflict", "maybe"), ("armed_conflict", ""), ("", "x")]
        ),
        delta=DELTAS,
    )
    def set_bad_fact(self, case_id: str, fact: tuple[str, str], delta: int) -> None:
        on = self.day(case_id, delta)
        self.attempt(False, self.ws.set_fact, case_id, *fact, on=on, actor="analyst")

    @rule(
        case_id=st.sampled_from(IDS),
        text=st.sampled_from(["a note", "ünïcödé note", " ", ""]),
        delta=st.none() | DELTAS,
    )
    def note(self, case_id: str, text: str, delta: int | None) -> None:
        on = None if delta is None else self.day(case_id, delta)
        ok = case_id in self.cases and bool(text.strip())
        if self.attempt(ok, self.ws.note, case_id, text, on=on, actor="analyst"):
            self.bump(case_id, on or TODAY)

    @rule(
        command=st.sampled_from(["advance", "set_fact", "note"]), trigger=st.sampled_from(TRIGGERS)
    )
    def unknown_case(self, command: str, trigger: str) -> None:
        if command == "advance":
            args: tuple[str, ...] = ("missing", trigger)
        elif command == "set_fact":
            args = ("missing", "armed_conflict", "true")
        else:
            args = ("missing", "a note")
        kwargs: dict[str, Any] = {"on": dt.date(2025, 2, 1), "actor": "analyst"}
        self.attempt(False, getattr(self.ws, command), *args, **kwargs)

    # -------------------------------------------------------------- invariants
    @invariant()
    def cases_match_the_model(self) -> None:
        listed = {c.id: c.to_dict() for c in self.ws.cases()}
        assert sorted(self.cases) == sorted(listed)
        for case_id, model in self.cases.items():
            view = self.ws.case(case_id).to_dict()
            assert (model.state, model.version) == (view["state"], view["version"])
            assert (model.state, model.version) == (
                listed[case_id]["state"],
                listed[case_id]["version"],
            )
            assert model.last_on.isoformat() == listed[case_id]["last_on"]
            assert model.version == len(self.ws.history(case_id))

    @invariant()
    def chains_verify(self) -> None:
        assert self.ws.verify().problems == ()


def test_random_commands_follow_the_model(tmp_path: Path, catalog: Any) -> None:
    """Random open/advance/set-fact/note and bad commands keep the store equal to the model:
    the state it predicts, version == number of events, every chain verifies, and a refused
    command writes nothing."""
    from treatyflow.store import migrate, open_store

    template = tmp_path / "template.db"
    store = open_store(str(template), create=True)
    migrate.upgrade(store)
    store.engine.dispose()

    class Machine(WorkspaceMachine):
        pass

    Machine.template = template
    Machine.workdir = tmp_path
    Machine.catalog = catalog
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )
