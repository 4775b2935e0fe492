"""The benchmark's own machinery (bench/): its data is realistic and valid, its references
write what they claim to, and its rows judge what they are given. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import treatyflow

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # run.py imports gen by name
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


gen = _load("gen")
reference = _load("reference")

N = 120


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bench")
    return Path(gen.generate(tmp / "cases.db", N, tmp))


def _rows(db: Path, sql: str) -> list[Any]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_event_has_its_own_citation_and_note(generated: Path) -> None:
    events = _rows(
        generated, "SELECT COUNT(*), COUNT(DISTINCT sources), COUNT(DISTINCT note) FROM events"
    )
    assert events == [(N * gen.EVENTS_PER_CASE,) * 3]
    # each citation is a real source: a citation, a date, a level, an http(s) URL
    for (text,) in _rows(generated, "SELECT sources FROM events LIMIT 50"):
        (source,) = json.loads(text)
        assert source["url"].startswith("https://") and source["citation"] and source["date"]


def test_the_data_has_the_demos_variety(generated: Path) -> None:
    treaties = {t for (t,) in _rows(generated, "SELECT DISTINCT treaty FROM cases")}
    assert treaties == set(gen.TREATIES)
    assert len(gen.TREATIES) >= 4
    countries = _rows(generated, "SELECT COUNT(DISTINCT country) FROM cases")[0][0]
    assert countries == len(gen.COUNTRIES)
    kinds = {k for (k,) in _rows(generated, "SELECT DISTINCT kind FROM events")}
    assert {"open", "note", "record", "advance", "correct", "take-effect"} <= kinds
    assert any("fact" in k for k in kinds), kinds  # a fact set after opening
    states = {s for (s,) in _rows(generated, "SELECT DISTINCT state FROM cases")}
    assert {"decided", "notified", "effective"} <= states
    # the case row's identity is the copy's own
    for cid, country, treaty in _rows(generated, "SELECT id, country, treaty FROM cases"):
        assert cid.startswith(f"{country}-{treaty}-")


def test_treatyflow_verify_accepts_the_generated_database(generated: Path) -> None:
    result = treatyflow.open(generated).verify()
    assert result.ok, result.to_dict()
    assert result.to_dict()["cases"] == N


def test_single_group_databases_carry_the_ids_case_open_hands_out(tmp_path: Path) -> None:
    db = Path(gen.generate(tmp_path / "group.db", 5, tmp_path, single_group=True))
    ids = sorted(r[0] for r in _rows(db, "SELECT id FROM cases"))
    assert ids == sorted(gen.group_case_id(i) for i in range(5))
    assert (
        gen.group_case_id(0) == "EST-ottawa-2023" and gen.group_case_id(1) == "EST-ottawa-2023-2"
    )
    ws = treatyflow.open(db, actor="bench")
    assert ws.verify().ok
    country, treaty, year = gen.GROUP
    view = ws.open_case(country=country, treaty=treaty, procedure="generic", on=f"{year}-03-01")
    assert view.id == gen.group_case_id(5)


def test_the_streamed_reference_writes_what_json_dumps_would() -> None:
    import io

    spools = {"a": reference.Spool(2), "b": reference.Spool(3), "c": reference.Spool(2)}
    items = [{"id": "x", "n": [1, {"k": None}]}, {"id": "é", "n": []}]
    for key, item in enumerate(items):
        spools["a"].add(item, key=-key)
        spools["b"].add(item)
    doc = {"head": 1, "a": items[::-1], "m": {"cols": ["c"], "b": items}, "c": []}
    skeleton = {"head": 1, "a": "@@a@@", "m": {"cols": ["c"], "b": "@@b@@"}, "c": "@@c@@"}
    out = io.BytesIO()
    reference._assemble(
        out,
        skeleton,
        {"a": (spools["a"], True), "b": (spools["b"], False), "c": (spools["c"], False)},
    )
    assert out.getvalue().decode() == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def test_the_pending_reference_lists_what_treatyflow_lists(generated: Path) -> None:
    as_of = gen.AS_OF.isoformat()
    ref = subprocess.run(
        [sys.executable, str(BENCH / "reference.py"), "pending", str(generated), as_of],
        capture_output=True,
        check=True,
    )
    ours = treatyflow.open(generated).pending(as_of=as_of).to_dict()

    def keys(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(i["id"], i["state"], i["next_date"], i["overdue"]) for i in doc["cases"]]

    assert keys(json.loads(ref.stdout)) == keys(ours)


def test_the_read_and_hash_limit_reads_every_event(generated: Path) -> None:
    got = reference.limit(str(generated))
    assert got["events"] == N * gen.EVENTS_PER_CASE and got["workers"] >= 1


@pytest.mark.postgres
def test_the_postgresql_read_and_hash_limit_reads_every_event(
    generated: Path, postgres_url: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.jsonl"
    with treatyflow.open(generated) as ws:
        ws.export(bundle)
    with treatyflow.open(postgres_url, create=True) as ws:
        ws.import_bundle(bundle)
    got = reference.limit_pg(postgres_url)
    assert got["events"] == N * gen.EVENTS_PER_CASE and got["workers"] >= 1


def test_advance_many_results_are_judged_line_by_line(tmp_path: Path) -> None:
    run = _load("run")
    out = tmp_path / "out.jsonl"
    out.write_text('{"case": "A", "version": 11}\n{"case": "B", "version": 11}\n')
    assert run.advance_many_results(out, 2) is None
    assert run.advance_many_results(out, 3) == "2 result lines for 3 input lines"
    out.write_text('{"case": "A", "ok": true}\n{"case": "B", "error": "refused"}\n')
    assert "line 2 reports a failure" in run.advance_many_results(out, 2)
    out.write_text("{}\nnot json\n")
    assert run.advance_many_results(out, 2) == "result line 2 is not JSON"


def test_advance_many_row_says_when_the_command_is_missing(
    tmp_path: Path, generated: Path
) -> None:
    run = _load("run")
    run.results.clear()
    missing = [sys.executable, "-c", "import sys; sys.exit(2)"]
    run.bench_advance_many(generated, tmp_path, tf=missing)
    (row,) = run.results
    assert row["name"] == "advance_many" and row["holds"] is False
    assert row["reason"] == "command not available"


def test_advance_many_row_runs_a_command_and_the_raw_reference(
    tmp_path: Path, generated: Path
) -> None:
    """The row's logic end to end with a stand-in for the command (the Python API, one
    transaction per line), so it is checked before `case advance-many` exists."""
    run = _load("run")
    run.results.clear()
    run.ADVANCE_MANY = 5
    stand_in = tmp_path / "stand_in.py"
    stand_in.write_text(
        "import json, sys, treatyflow\n"
        "args = sys.argv[1:]\n"
        "if '--help' in args: sys.exit(0)\n"
        "ws = treatyflow.open(args[args.index('--db') + 1], actor='bench')\n"
        "for line in open(args[-1]):\n"
        "    r = json.loads(line)\n"
        "    v = ws.advance(r['case'], r['trigger'], on=r['on'], sources=r['sources'],"
        " note=r['note'])\n"
        "    print(json.dumps({'case': v.id, 'ok': True}))\n"
    )
    run.bench_advance_many(generated, tmp_path, tf=[sys.executable, str(stand_in)])
    row = next(r for r in run.results if r["name"] == "advance_many")
    assert row["transitions"] == 5 and "problem" not in row, row
    assert row["value"] > 0 and row["reference"] > 0
    assert any(r["name"] == "advance_many_peak_rss" for r in run.results)


def test_generated_cases_have_their_projection_rows(generated: Path) -> None:
    """Like a database treatyflow keeps, every generated case has a current projection row,
    so the bench's reads are those of an analyst's database (doctor's projection check)."""
    import treatyflow
    from treatyflow.app import projections

    with treatyflow.open(generated) as ws:
        missing, stale, wrong = projections.check(ws._core)
    assert (missing, stale, wrong) == ([], [], [])


def test_only_runs_the_groups_asked_for_and_refuses_others() -> None:
    """``--only`` takes a comma-separated list of groups; an unknown group is a one-line
    usage error naming the groups."""
    bad = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--only", "verify,nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "unknown group(s) ['nope']" in bad.stderr and "signatures" in bad.stderr
    bench_run = _load("run")
    assert bench_run.GROUPS[0] == "start-up" and "advance-many" in bench_run.GROUPS
    bench_run.ONLY = ["verify", "tick"]
    assert bench_run.wanted("verify") and not bench_run.wanted("import")
    bench_run.ONLY = None
    assert bench_run.wanted("import")


def test_a_scaling_line_of_one_size_has_no_exponent(capsys: pytest.CaptureFixture[str]) -> None:
    """``--sizes N`` (one size): the scaling lines print their point without an exponent
    and are recorded with no verdict, instead of the run failing at its end."""
    bench_run = _load("run")
    bench_run.results.clear()
    bench_run.scaling.clear()
    bench_run.scaling["verify (s)"] = {100_000: 5.2}
    bench_run.scaling["pending (s)"] = {1_000: 0.6, 10_000: 2.0}
    bench_run.report_scaling()
    out = capsys.readouterr().out
    assert "(one size: no exponent)" in out and "exponent 0.52" in out
    rows = {r["name"]: r for r in bench_run.results}
    assert rows["scaling:verify (s)"]["holds"] is None
    assert rows["scaling:pending (s)"]["holds"] is True


def _keys(db: Path, lo: str | None, hi: str | None) -> list[tuple[str, int]]:
    """The (case id, seq) of every event whose case id is in [lo, hi), in chain order."""
    return sorted(
        (cid, seq)
        for cid, seq in _rows(db, "SELECT case_id, seq FROM events")
        if (lo is None or cid >= lo) and (hi is None or cid < hi)
    )


def test_a_limit_range_query_reads_its_case_ids_events_in_chain_order(generated: Path) -> None:
    """The query both limit passes run (SQLite's ``?``, psycopg's ``%s``): the events of the
    case ids in [lo, hi), no bound where None, ordered by case id and seq."""
    ids = sorted(cid for (cid,) in _rows(generated, "SELECT id FROM cases"))
    lo, hi = ids[N // 4], ids[N // 2]
    con = sqlite3.connect(generated)
    try:
        for bounds in [(None, None), (lo, None), (None, hi), (lo, hi)]:
            sql, params = reference._range_query(*bounds, "?")
            assert params == [b for b in bounds if b is not None]
            got = [(row[0], row[1]) for row in con.execute(sql, params)]
            assert got == _keys(generated, *bounds) != []
    finally:
        con.close()
    sql, params = reference._range_query(lo, hi, "%s")
    assert "case_id >= %s AND case_id < %s" in sql and "?" not in sql and params == [lo, hi]


def test_the_limit_hash_loop_counts_every_row_and_refuses_a_broken_link(generated: Path) -> None:
    """The hash loop both limit passes share: every row counted however the driver batches
    them, and a missing event (a row not linked to the one before, within a batch or across
    two) fails the pass."""
    sql, params = reference._range_query(None, None, "?")
    con = sqlite3.connect(generated)
    try:
        rows = con.execute(sql, params).fetchall()
    finally:
        con.close()
    assert rows[1][1] == 2 and rows[2][1] == 3  # the first case's second and third events
    assert reference._hash_rows([rows]) == len(rows) == N * gen.EVENTS_PER_CASE
    assert reference._hash_rows([rows[:2], rows[2:3], rows[3:]]) == len(rows)
    for batches in ([[rows[0], *rows[2:]]], [rows[:1], rows[2:]]):
        with pytest.raises(AssertionError):
            reference._hash_rows(batches)


def test_the_raw_transition_reference_writes_rows_treatyflow_reads_as_sealed(
    tmp_path: Path, generated: Path
) -> None:
    """The raw script checks each projection row's seal and writes the row sealed, as
    treatyflow does (same output): after it, treatyflow's verify finds every row sealed and
    reads the moved cases from their rows."""
    import shutil

    from treatyflow.store import projections

    run = _load("run")
    db = tmp_path / "raw.db"
    shutil.copy(generated, db)
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute("SELECT id FROM cases WHERE state = 'decided' LIMIT 4")]
    con.close()
    assert len(ids) == 4
    proc = subprocess.run(
        [sys.executable, "-c", run.RAW_TRANSITION_CHILD, str(db), ",".join(ids), "OFF"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    with treatyflow.open(str(db)) as ws:
        assert ws.verify().problems == ()
        assert {ws.case(i).state for i in ids} == {"notified"}
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT case_id, head_hash, horizon, final, next_fire, tally FROM case_projections"
        f" WHERE case_id IN ({', '.join('?' * len(ids))})",
        ids,
    ).fetchall()
    con.close()
    for case_id, head, horizon, final, next_fire, tally in rows:
        assert projections._body(tally, case_id, head, horizon, final, next_fire) is not None


def test_the_transition_children_take_turns_batch_by_batch(
    tmp_path: Path, generated: Path
) -> None:
    """bench_transitions' children each run one batch at a time when told, in an order drawn
    each round, and end with their peak memory: every case moved once, on both sides."""
    import shutil

    run = _load("run")
    con = sqlite3.connect(generated)
    ids = [r[0] for r in con.execute("SELECT id FROM cases WHERE state = 'decided' LIMIT 5")]
    con.close()
    assert len(ids) == 5
    dbs = {side: tmp_path / f"{side}.db" for side in ("treatyflow", "raw")}
    for db in dbs.values():
        shutil.copy(generated, db)
    children = {
        "treatyflow": [sys.executable, "-c", run.TRANSITION_CHILD],
        "raw": [sys.executable, "-c", run.RAW_TRANSITION_CHILD],
    }
    got = run.take_turns(
        {k: [*argv, str(dbs[k]), ",".join(ids), "OFF"] for k, argv in children.items()}, 2, 2
    )
    for side, (seconds, peak_mb) in got.items():
        assert len(seconds) == 2 and all(s > 0 for s in seconds), side
        assert peak_mb > 10, side
        with treatyflow.open(str(dbs[side])) as ws:
            assert {ws.case(i).state for i in ids} == {"notified"}, side
            assert ws.verify().problems == ()
    again = tmp_path / "again.db"
    shutil.copy(generated, again)
    with pytest.raises(RuntimeError, match="ran 0 of 2: too few cases"):  # not a silent batch
        run.take_turns({"raw": [*children["raw"], str(again), ",".join(ids), "OFF"]}, 3, 2)


def test_verify_and_its_limit_alternate_which_runs_first() -> None:
    run = _load("run")
    assert run.alternating(3, "verify", "limit") == [
        "verify", "limit", "limit", "verify", "verify", "limit"
    ]  # fmt: skip
    assert run.VERIFY_PAIRS >= 3
