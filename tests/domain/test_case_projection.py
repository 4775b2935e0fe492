"""The case projection (#19): pending and tick read rows, and give what folding the logs gives.

The reference is the fold: the same reads with the projection table emptied, which makes
every case fall back to folding its log (the code path of every read before #19).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treatyflow.app import clocks, projections
from treatyflow.app.core import Core
from treatyflow.app.demo import load_example
from treatyflow.app.workspace import Workspace
from treatyflow.cli import main
from treatyflow.errors import TreatyflowError
from treatyflow.store import migrate, open_store

TODAY = dt.date(2025, 7, 1)


def _pending_outputs(ws: Workspace, dates: list[dt.date]) -> list[Any]:
    """Every form of pending's output on each date: the JSON document (plain, grouped each
    way, within 30 days), the streamed bytes, the items in id order; and every case's view
    (on each date, and with every event on today)."""
    out: list[Any] = []
    for day in dates:
        out.append(ws.pending(as_of=day).to_dict())
        for group in ("actor", "country", "treaty"):
            out.append(ws.pending(as_of=day, group_by=group).to_dict())
        out.append(ws.pending(as_of=day, due_within=30).to_dict())
        buf = io.BytesIO()
        ws.write_pending_json(buf, as_of=day, group_by="actor", due_within=400)
        out.append(buf.getvalue())
        out.append([i.to_dict() for i in ws.iter_pending(as_of=day)])
        out.append([v.to_dict() for v in ws.views(as_of=day)])
    out.append([v.to_dict() for v in ws.views()])  # every event, clocks on today
    return out


def _empty_projection(ws: Workspace) -> None:
    with ws.store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM case_projections")


def _count_log_reads(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = ws.store.events

    def events(conn: Any, case_id: str) -> Any:
        seen.append(case_id)
        return real(conn, case_id)

    monkeypatch.setattr(ws.store, "events", events)
    return seen


@pytest.fixture
def demo(ws: Any) -> Workspace:
    """The shipped Ottawa 2025 example (the demo's cases), not yet ticked."""
    load_example(ws, "ottawa-2025")
    return ws  # type: ignore[no-any-return]


#: Before, between and after the example's dates (notifications in 2025, effects in 2026).
DEMO_DATES = [
    dt.date(2024, 12, 31),
    dt.date(2025, 3, 1),
    dt.date(2025, 6, 27),
    dt.date(2025, 7, 1),
    dt.date(2025, 12, 26),
    dt.date(2025, 12, 27),
    dt.date(2026, 1, 10),
    dt.date(2026, 6, 30),
    dt.date(2027, 1, 1),
    dt.date(2040, 1, 1),
]


def test_pending_from_the_projection_equals_the_fold_on_the_demo(
    demo: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the demo database, before and after tick, pending from the projection's rows is
    identical (every form of its output) to pending from folding every case's log, and
    reads no log when every case's events lie on or before the as-of date."""
    for tick_to in (None, dt.date(2026, 7, 1)):
        if tick_to is not None:
            demo.tick(as_of=tick_to)
        assert projections.check(demo._core) == ([], [], [])
        reads = _count_log_reads(demo, monkeypatch)
        rows = _pending_outputs(demo, DEMO_DATES)
        late = demo.pending(as_of=dt.date(2040, 1, 1))
        assert late.cases  # the comparison is not between two empty lists
        reads.clear()
        demo.pending(as_of=dt.date(2040, 1, 1))
        assert reads == []
        monkeypatch.undo()
        with demo.store.engine.begin() as conn:
            saved = conn.exec_driver_sql("SELECT * FROM case_projections").fetchall()
        _empty_projection(demo)
        assert _pending_outputs(demo, DEMO_DATES) == rows
        demo.reproject()
        with demo.store.engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT * FROM case_projections").fetchall() == saved


def test_cli_pending_text_is_the_same_from_rows_and_from_logs(
    store: Any, catalog: Any, tmp_path: Path
) -> None:
    """The text listing (and --json) of the CLI: the same bytes with and without rows."""
    ws = Workspace(Core(store, catalog, today=lambda: TODAY), actor="analyst")
    load_example(ws, "ottawa-2025")
    db = store.url.removeprefix("sqlite:///")
    runner = CliRunner()

    def run() -> list[str]:
        out = []
        for day in ("2025-07-01", "2025-12-27", "2026-09-01"):
            for extra in (
                [],
                ["--json"],
                ["--by", "actor"],
                ["--by", "country", "--json"],
                ["--due-within", "200"],
            ):
                result = runner.invoke(main, ["--db", db, "pending", "--as-of", day, *extra])
                assert result.exit_code == 0, result.output
                out.append(result.output)
        return out

    with_rows = run()
    _empty_projection(ws)
    assert run() == with_rows


def test_tick_that_fires_nothing_reads_no_log_and_writes_nothing(
    demo: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With current rows, a tick with nothing due looks at no case's log and opens no
    write transaction; a tick with something due reads only the cases that fire."""
    day = max(c.last_on for c in demo.cases())  # no event after it
    demo.tick(as_of=day)
    reads = _count_log_reads(demo, monkeypatch)
    writes: list[int] = []
    real_write = demo.store.write

    def write() -> Any:
        writes.append(1)
        return real_write()

    monkeypatch.setattr(demo.store, "write", write)
    assert demo.tick(as_of=day).fired == ()
    assert reads == [] and writes == []
    result = demo.tick(as_of=dt.date(2026, 7, 1))
    fired = {f.case for f in result.fired}
    assert fired and set(reads) == fired


def test_rows_written_outside_treatyflow_are_not_trusted(demo: Workspace) -> None:
    """A missing or stale row is never read (the case is folded); tick writes it again,
    doctor's check names it, and a row that disagrees with its log is reported as such."""
    day = dt.date(2026, 7, 1)
    expected = demo.pending(as_of=day).to_dict()
    with demo.store.engine.begin() as conn:
        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM cases ORDER BY id")]
        conn.exec_driver_sql("DELETE FROM case_projections WHERE case_id = ?", (ids[0],))
        conn.exec_driver_sql(
            "UPDATE case_projections SET head_hash = 'x' WHERE case_id = ?", (ids[1],)
        )
        # a current row whose content is wrong: claims the case is final
        conn.exec_driver_sql(
            "UPDATE case_projections SET final = 1, next_fire = NULL WHERE case_id = ?",
            (ids[2],),
        )
    assert demo.pending(as_of=day).to_dict()["cases"] != expected["cases"]  # ids[2] hidden
    missing, stale, wrong = projections.check(demo._core)
    assert (missing, stale, wrong) == ([ids[0]], [ids[1]], [ids[2]])
    demo.tick(as_of=dt.date(2025, 7, 1))  # fires nothing; rewrites the missing/stale rows
    assert projections.check(demo._core) == ([], [], [ids[2]])
    assert demo.reproject(all=True) == len(ids)
    assert projections.check(demo._core) == ([], [], [])
    assert demo.pending(as_of=day).to_dict() == expected


def test_doctor_reports_the_projection(cli: Any, db: Path) -> None:
    """doctor's projection check passes on a database written by treatyflow, fails (with
    `db reproject` as the fix) when rows are missing, and `db reproject` restores them."""
    assert cli("case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1",
               "--at", "notified", "--on", "2025-06-27").exit_code == 0  # fmt: skip
    doc = json.loads(cli("doctor", "--json").output)
    check = next(f for f in doc["findings"] if f["check"] == "projection")
    assert check["ok"]
    with open_store(str(db)).engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM case_projections")
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    check = next(f for f in json.loads(result.output)["findings"] if f["check"] == "projection")
    assert not check["ok"] and "LTU-1" in check["problem"]
    assert check["fix_command"].endswith("db reproject")
    assert json.loads(cli("db", "reproject", "--json").output) == {"written": 1}
    doc = json.loads(cli("doctor", "--json").output)
    assert next(f for f in doc["findings"] if f["check"] == "projection")["ok"]


# ------------------------------------------------------------------ random case mixes
TREATIES = ["ottawa", "rome-statute", "paris", "ccm", "npt", "ect"]
COUNTRIES = ["LTU", "FRA", "USA", "HUN"]
START = dt.date(2024, 1, 1)

OPS = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from(["notify", "revoke", "decide", "abandon"])),
    st.tuples(st.just("fact"), st.booleans()),
    st.tuples(st.just("specified"), st.integers(100, 900)),
    st.tuples(st.just("note"), st.none()),
    st.tuples(st.just("correct"), st.integers(1, 4)),
    st.tuples(st.just("retract"), st.integers(2, 6)),
    st.tuples(st.just("tick"), st.integers(0, 900)),
)
CASES = st.lists(
    st.tuples(
        st.sampled_from(TREATIES),
        st.sampled_from(COUNTRIES),
        st.sampled_from([None, "notified"]),
        st.integers(0, 400),
        st.lists(st.tuples(OPS, st.integers(0, 200)), max_size=6),
    ),
    min_size=1,
    max_size=4,
)


@contextlib.contextmanager
def _workspace(catalog: Any) -> Iterator[Workspace]:
    folder = Path(tempfile.mkdtemp(prefix="tf-projection-"))
    store = open_store(str(folder / "t.db"), create=True)
    try:
        migrate.upgrade(store)
        yield Workspace(Core(store, catalog, today=lambda: TODAY), actor="analyst")
    finally:
        store.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _apply(ws: Workspace, case_id: str, op: tuple[str, Any], day: dt.date) -> None:
    kind, arg = op
    if kind == "advance":
        ws.advance(case_id, arg, on=day)
    elif kind == "fact":
        ws.set_fact(case_id, "armed_conflict", arg, on=day)
    elif kind == "specified":
        ws.set_fact(case_id, "specified_date", day + dt.timedelta(days=arg), on=day)
    elif kind == "note":
        ws.note(case_id, "a note", on=day)
    elif kind == "correct":
        ws.correct(case_id, arg, on=day, reason="wrong date")
    elif kind == "retract":
        ws.retract(case_id, arg, reason="recorded by mistake")
    else:
        ws.tick(as_of=day + dt.timedelta(days=arg))


def _interesting_dates(ws: Workspace) -> list[dt.date]:
    """Each event's legal date and each clock's due date, the day before and after."""
    days: set[dt.date] = set()
    for summary in ws.cases():
        days |= {summary.opened_on, summary.last_on}
        for ev in ws.history(summary.id):
            days.add(ev.occurred_on)
        for clock in ws.case(summary.id, as_of=dt.date(2100, 1, 1)).clocks:
            if clock.due_on is not None:
                days.add(clock.due_on)
    return sorted({d + dt.timedelta(days=k) for d in days for k in (-1, 0, 1)})


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(cases=CASES)
def test_random_case_mixes_pending_and_tick_agree_with_the_fold(
    catalog: Any, cases: list[Any]
) -> None:
    """Random cases (several treaties, facts, corrections, retractions, ticks): every row
    the writes kept is the row of the whole log, and pending on every interesting date
    (before, on and after each event and due date) is the same from rows as from logs; so is
    which cases a tick would fire."""
    with _workspace(catalog) as ws:
        for n, (treaty, country, at, offset, ops) in enumerate(cases):
            case_id = f"C{n}"
            day = START + dt.timedelta(days=offset)
            try:
                ws.open_case(country=country, treaty=treaty, id=case_id, at=at, on=day)
            except TreatyflowError:
                continue
            for op, delta in ops:
                day += dt.timedelta(days=delta)
                with contextlib.suppress(TreatyflowError):
                    _apply(ws, case_id, op, day)
        assert projections.check(ws._core) == ([], [], [])
        dates = _interesting_dates(ws)
        rows = _pending_outputs(ws, dates)
        due = [clocks.candidates(ws._core, d)[0] for d in dates]
        _empty_projection(ws)
        assert _pending_outputs(ws, dates) == rows
        assert [clocks.candidates(ws._core, d)[0] for d in dates] == due


def test_corrections_and_retractions_keep_the_row_that_of_the_whole_log(ws: Any) -> None:
    """A correction and a retraction re-tally the log (they change how earlier events count);
    the rows stay those of the whole log and pending stays the fold's."""
    ws.open_case(country="LTU", treaty="ottawa", id="L", at="notified", on="2025-06-27")
    ws.set_fact("L", "armed_conflict", True, on="2025-07-01")
    ws.note("L", "a note", on="2025-07-02")
    ws.correct("L", 1, on="2025-06-20", reason="receipt was earlier")
    ws.retract("L", 2, reason="recorded by mistake")
    kinds = [e.kind.value for e in ws.history("L")]
    assert kinds == ["open", "set-fact", "note", "correct", "retract"]
    assert projections.check(ws._core) == ([], [], [])
    days = [dt.date(2025, 6, 25), dt.date(2025, 7, 2), dt.date(2025, 12, 20), dt.date(2026, 1, 5)]
    rows = _pending_outputs(ws, days)
    assert rows[0]["cases"][0]["next_date"] == "2025-12-20"  # the corrected receipt counts
    _empty_projection(ws)
    assert _pending_outputs(ws, days) == rows


def test_views_from_rows_list_attached_documents_as_the_fold_does(demo: Workspace) -> None:
    """A case's attached documents (#17) come from its row as they come from its log,
    a retracted attachment left out in both."""
    case_id = "LTU-ottawa-2025"
    first = demo.attach(case_id, b"note verbale", name="nv.pdf", kind="note-verbale")
    demo.attach(case_id, b"mistake", name="wrong.txt")
    wrong = demo.case(case_id).documents[-1]
    demo.retract(case_id, wrong.seq, reason="attached to the wrong case")
    from_rows = [v.to_dict() for v in demo.views()]
    _empty_projection(demo)
    from_logs = [v.to_dict() for v in demo.views()]
    assert from_rows == from_logs
    (mine,) = [v for v in from_rows if v["id"] == case_id]
    assert [d["sha256"] for d in mine["documents"]] == [first.document.sha256]


# ------------------------------------------------------------------ changes read the row
def test_a_change_reads_the_case_s_row_not_its_log(
    demo: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a current row, a change decides from the row's tally and reads no event (the
    API's advance without a view, as advance-many runs it); a case whose row is gone is
    folded from its log; both keep a row equal to the whole log's."""
    from treatyflow.app import writes

    core = demo._core
    for case_id in ("EST-1", "EST-2"):
        demo.open_case(
            country="EST", treaty="ottawa", id=case_id, procedure="generic", at="decided",
            on="2025-06-01",
        )  # fmt: skip
    with demo.store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM case_projections WHERE case_id = 'EST-2'")
    reads = _count_log_reads(demo, monkeypatch)
    for case_id in ("EST-1", "EST-2"):
        record, ctx = writes.advance(core, case_id, "notify", on=TODAY, actor="a", view=False)
        assert record.state == "notified" and ctx.written is not None
        assert ctx.written.seq == record.version == 2
    assert reads == ["EST-2"]
    assert projections.check(core) == ([], [], [])
    writes.advance(core, "EST-1", "revoke", on=TODAY, actor="a")  # with a view: read
    assert reads == ["EST-2", "EST-1"]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(cases=CASES)
def test_changes_decide_the_same_from_rows_as_from_logs(catalog: Any, cases: list[Any]) -> None:
    """The same random writes (advances, facts, corrections, retractions, ticks) on two
    databases: one keeps its rows, the other loses every row before each write (so each
    change folds the log, as before #19). Each write is accepted or refused alike, with the
    same error, and the two logs end the same."""

    def run(ws: Workspace, drop: bool) -> tuple[list[str], list[Any]]:
        outcomes: list[str] = []
        for n, (treaty, country, at, offset, ops) in enumerate(cases):
            case_id = f"C{n}"
            day = START + dt.timedelta(days=offset)
            try:
                ws.open_case(country=country, treaty=treaty, id=case_id, at=at, on=day)
            except TreatyflowError as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
                continue
            for op, delta in ops:
                day += dt.timedelta(days=delta)
                if drop:
                    _empty_projection(ws)
                try:
                    _apply(ws, case_id, op, day)
                    outcomes.append("ok")
                except TreatyflowError as exc:
                    outcomes.append(f"{type(exc).__name__}: {exc}")
        logs = []
        for summary in ws.cases():
            for ev in ws.history(summary.id):
                doc = ev.to_dict()
                for volatile in ("recorded_at", "hash", "prev_hash"):
                    doc.pop(volatile, None)
                logs.append(doc)
        return outcomes, logs

    with _workspace(catalog) as kept, _workspace(catalog) as folded:
        assert run(kept, drop=False) == run(folded, drop=True)
        assert projections.check(kept._core) == ([], [], [])
