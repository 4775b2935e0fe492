"""treatyflow's benchmarks: every figure a ratio to a reference measured in the same run.

    make bench                    # or: .venv/bin/python bench/run.py
    BENCH_SIZES=1000,10000 .venv/bin/python bench/run.py     # a quicker, smaller run

Prints a table and writes bench/results.json: a list of {"name", "value", "unit",
"reference", "ratio", "target", "holds"}. See docs/performance.md for the method.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen  # noqa: E402

BIN = Path(sys.executable).parent
PY = sys.executable
TF = str(BIN / "treatyflow")
AS_OF = gen.AS_OF.isoformat()
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,100000").split(",")]
BIG = max(SIZES)


def _arguments() -> None:
    """``--help`` describes the run instead of starting it; ``--sizes`` overrides BENCH_SIZES."""
    import argparse

    global SIZES, BIG
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="treatyflow's benchmarks, each against a raw-sqlite3 reference measured in "
        "the same run; prints a table and writes bench/results.json (docs/performance.md).",
    )
    parser.add_argument(
        "--only",
        default=None,
        metavar="GROUP[,GROUP...]",
        help="run only these groups of rows, comma-separated, of: "
        + ", ".join(GROUPS)
        + " (signatures alone needs no generated database: about 10 s)",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SIZES)),
        help="case counts to measure, comma-separated (default %(default)s; the budgets "
        "apply to the largest)",
    )
    args = parser.parse_args()
    global ONLY
    if args.only is not None:
        ONLY = [g.strip() for g in args.only.split(",") if g.strip()]
        unknown = [g for g in ONLY if g not in GROUPS]
        if unknown or not ONLY:
            parser.error(f"--only: unknown group(s) {unknown}; the groups: {', '.join(GROUPS)}")
    try:
        SIZES = sorted({int(s) for s in args.sizes.split(",")})
    except ValueError:
        parser.error(f"--sizes {args.sizes!r} is not a comma-separated list of integers")
    if not SIZES or min(SIZES) < 10:
        parser.error("--sizes needs case counts of at least 10")
    BIG = max(SIZES)


MB = 1024 * 1024
#: The groups of rows, in the order a run measures them (``--only`` picks some).
GROUPS = (
    "start-up",
    "transitions",
    "import",
    "pending",
    "report",
    "engine",
    "verify",
    "verify-postgres",
    "tick",
    "report-country",
    "case-open",
    "advance-many",
    "web",
    "signatures",
)
#: ``--only``: the groups of rows to run (None: all of them).
ONLY: list[str] | None = None


def wanted(group: str) -> bool:
    """Whether this run measures ``group``."""
    return ONLY is None or group in ONLY


results: list[dict[str, Any]] = []
scaling: dict[str, dict[int, float]] = {}
#: The reference's figure at each size, where there is one (shown beside the scaling line).
references: dict[str, dict[int, float]] = {}


def record(
    name: str,
    value: float,
    unit: str,
    reference: float | None,
    ratio: float | None,
    target: str,
    holds: bool | None,
    **extra: Any,
) -> None:
    row = {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "reference": None if reference is None else round(reference, 4),
        "ratio": None if ratio is None else round(ratio, 4),
        "target": target,
        "holds": holds,
        **extra,
    }
    results.append(row)
    ref = "-" if reference is None else f"{reference:,.4g}"
    rat = "-" if ratio is None else f"{ratio:.3g}"
    mark = {True: "yes", False: "NO", None: "-"}[holds]
    print(
        f"{name:<34} {value:>12,.4g} {unit:<10} ref {ref:>10}  ratio {rat:>7}  "
        f"{target:<14} {mark}",
        flush=True,
    )


def run_child(argv: list[str], stdout: Any = subprocess.DEVNULL) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one child process (os.wait4 rusage)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0,):
        print(f"  ! {' '.join(argv[:4])}... exit {proc.returncode}: {err[-400:]}", flush=True)
    return wall, usage.ru_maxrss / 1024, proc.returncode


#: Runs a command and reports its peak RSS. A child forked from this (large) process would
#: inherit its resident size as the child's ru_maxrss (Linux records the pre-exec memory's
#: high-water mark), so memory is measured from a small wrapper process instead.
RSS_WRAPPER = (
    "import os, sys\n"
    "pid = os.spawnv(os.P_NOWAIT, sys.argv[1], sys.argv[1:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "sys.stderr.write('\\nmaxrss_kb=%d\\n' % usage.ru_maxrss)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_measured(argv: list[str], stdout: Any) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB of the command alone, exit code)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [PY, "-S", "-c", RSS_WRAPPER, *argv], stdout=stdout, stderr=subprocess.PIPE, check=False
    )
    wall = time.perf_counter() - t0
    err = proc.stderr.decode(errors="replace")
    rss = [line for line in err.splitlines() if line.startswith("maxrss_kb=")]
    if proc.returncode != 0:
        print(f"  ! {' '.join(argv[:4])}... exit {proc.returncode}: {err[-400:]}", flush=True)
    return wall, int(rss[-1].split("=")[1]) / 1024 if rss else float("nan"), proc.returncode


#: Peak memory budget of every command (issue 19: "Peak memory <= 300 MB everywhere").
RSS_LIMIT_MB = 300.0


def record_rss(name: str, mb: float, reference_mb: float | None = None, **extra: Any) -> None:
    """The ``<name>_peak_rss`` row of a command row: its peak RSS against RSS_LIMIT_MB."""
    record(
        f"{name}_peak_rss",
        mb,
        "MB",
        reference_mb,
        None if not reference_mb else mb / reference_mb,
        f"<= {RSS_LIMIT_MB:.0f} MB",
        mb <= RSS_LIMIT_MB,
        **extra,
    )


def copy_db(src: Path, dst: Path) -> Path:
    remove_db(dst)
    shutil.copyfile(src, dst)
    return dst


def remove_db(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)


def median_wall(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        wall, _, _ = run_child(argv)
        times.append(wall)
    return statistics.median(times)


def _size(n: int) -> str:
    """100000 -> "100k" (a figure's name); sizes that are not whole thousands as they are."""
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def fit_exponent(points: dict[int, float]) -> float | None:
    """Least-squares slope of log(cost) over log(n): 1 is linear, 2 quadratic."""
    if len(points) < 2:
        return None
    xs = [math.log(n) for n in points]
    ys = [math.log(max(v, 1e-9)) for v in points.values()]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mx) ** 2 for x in xs)
    return num / den


# ============================================================== start-up
#: What a data command needs to import: the reference of ``cli_first_command``.
DATA_LIBRARIES = "import sqlalchemy, pydantic, click, sqlite3"
#: The same, with pydantic's model machinery (``import pydantic`` alone is lazy and loads
#: almost none of what defining a model loads): shown for information.
DATA_LIBRARIES_USED = "import sqlalchemy, click, sqlite3; from pydantic import BaseModel"


def compile_package() -> None:
    """Byte-compile treatyflow's own modules, as an installed package is: an editable
    install under PYTHONDONTWRITEBYTECODE (this machine's default) would otherwise compile
    every module from source on every start, while the reference's libraries were
    compiled by pip at install."""
    import compileall

    import treatyflow

    compileall.compile_dir(str(Path(treatyflow.__file__).parent), quiet=1)


def bench_cli(small_db: Path, case_id: str) -> None:
    runs = 15
    compile_package()
    median_wall([TF, "--help"], 3)  # warm the page cache and .pyc files
    median_wall([PY, "-c", "import click"], 3)
    help_t = median_wall([TF, "--help"], runs)
    click_t = median_wall([PY, "-c", "import click"], runs)
    diff_ms = (help_t - click_t) * 1000
    record(
        "cli_help",
        diff_ms,
        "ms over",
        click_t * 1000,
        help_t / click_t,
        "<= +20 ms",
        diff_ms <= 20,
        median_ms=round(help_t * 1000, 1),
    )
    show = [TF, "--db", str(small_db), "case", "show", case_id, "--json"]
    libs = [PY, "-c", DATA_LIBRARIES]
    sqlmodel = [PY, "-c", "import sqlmodel"]
    used = [PY, "-c", DATA_LIBRARIES_USED]
    for argv in (show, libs, sqlmodel, used):
        median_wall(argv, 3)
    show_t = median_wall(show, runs)
    libs_t = median_wall(libs, runs)
    sqlm_t = median_wall(sqlmodel, runs)
    used_t = median_wall(used, runs)
    record(
        "cli_first_command",
        show_t * 1000,
        "ms",
        libs_t * 1000,
        show_t / libs_t,
        "<= 1.3x",
        show_t / libs_t <= 1.3,
        command="case show --json",
        reference_command=f'python -c "{DATA_LIBRARIES}"',
        import_sqlmodel_ms=round(sqlm_t * 1000, 1),
        ratio_to_import_sqlmodel=round(show_t / sqlm_t, 3),
        libraries_used_ms=round(used_t * 1000, 1),
        ratio_to_libraries_used=round(show_t / used_t, 3),
    )
    _, show_mb, _ = run_measured(show, stdout=subprocess.DEVNULL)
    record_rss("cli_first_command", show_mb)


# ============================================================== transitions
#: The end of both transition children. With a fourth argument ``turns`` a child waits for a
#: number on each line of its stdin, runs that many more transitions and prints their time
#: (the bench's children take turns: see :func:`take_turns`); else it runs them all and
#: prints one line.
TURNS_TAIL = r"""
step(ids[0])  # warm-up
if sys.argv[4:] == ["turns"]:
    pos = 1
    for line in sys.stdin:
        batch = ids[pos : pos + int(line)]
        t0 = time.perf_counter()
        for cid in batch:
            step(cid)
        pos += len(batch)
        print(json.dumps({"seconds": time.perf_counter() - t0, "n": len(batch)}), flush=True)
else:
    t0 = time.perf_counter()
    for cid in ids[1:]:
        step(cid)
    print(json.dumps({"seconds": time.perf_counter() - t0, "n": len(ids) - 1}))
"""

TRANSITION_CHILD = (
    r"""
import datetime as dt, json, sys, time
from treatyflow.app import writes
from treatyflow.app.core import Core
from treatyflow.catalog import load_catalog, shipped_workflows
from treatyflow.store import open_store
from sqlalchemy import event
db, ids, sync = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
day = dt.date(2025, 5, 1)
store = open_store(db)
if sync == "OFF":  # after treatyflow's own PRAGMAs (listeners run in order)
    event.listen(store.engine, "connect", lambda c, r: c.execute("PRAGMA synchronous = OFF"))
core = Core(store, load_catalog([shipped_workflows()]), today=lambda: day)
def step(cid):
    # writes.advance without a view: the change, not the case view a caller may build after it
    writes.advance(core, cid, "notify", on=day, actor="bench", view=False)
"""
    + TURNS_TAIL
)

#: The projection row's upsert, as both raw scripts that change a case run it (treatyflow's
#: ``save_projection`` statement).
RAW_PROJECTION_SQL = r"""
PROJ = ("case_id", "head_hash", "horizon", "final", "next_fire", "tally")
UPSERT = ("INSERT INTO case_projections (" + ", ".join(PROJ) + ") VALUES (" + ", ".join("?" * 6)
          + ") ON CONFLICT (case_id) DO UPDATE SET "
          + ", ".join(f"{c} = excluded.{c}" for c in PROJ[1:]))
import hashlib as _hashlib, json as _json
_SEAL_HEAD = '{"seal":"'
def _seal(case_id, head, horizon, final, next_fire, body):
    # treatyflow's seal (store/projections.py): the columns one per line, then the tally
    parts = (case_id, head, horizon, "1" if final else "0", next_fire)
    meta = "\n".join("" if v is None else str(v) for v in parts) + "\n"
    return _hashlib.sha256((meta + body).encode()).hexdigest()
def opened(row):
    # the row's tally, its seal checked first (as treatyflow reads a sealed row)
    text = row[5]
    body = "{" + text[len(_SEAL_HEAD) + 66:]
    assert _seal(*row[:5], body) == text[len(_SEAL_HEAD):len(_SEAL_HEAD) + 64], row[0]
    return _json.loads(body)
def sealed(row, tally):
    # the tally text with the row's seal as its first key (as treatyflow writes it)
    body = _json.dumps(tally, separators=(",", ":"), sort_keys=True)
    return _SEAL_HEAD + _seal(*row, body) + '",' + body[1:]
"""

RAW_TRANSITION_CHILD = (
    RAW_PROJECTION_SQL
    + r"""
import hashlib, json, sqlite3, sys, time
db, ids, sync = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
con = sqlite3.connect(db, isolation_level=None)
for p in ("busy_timeout = 10000", "journal_mode = WAL", "synchronous = " + sync,
          "foreign_keys = ON"):
    con.execute("PRAGMA " + p)
COLS = ("case_id seq kind trigger from_state to_state occurred_on recorded_at actor sources "
        "note data prev_hash").split()
def step(cid):
    # treatyflow's statements: the case row, its projection row (the tally of its log, which
    # answers for the state and clocks instead of folding the events), the key registry;
    # then the case row's head moved, the event appended, the projection row replaced
    con.execute("BEGIN IMMEDIATE")
    case = con.execute("SELECT * FROM cases WHERE id = ?", (cid,)).fetchone()
    proj = con.execute("SELECT * FROM case_projections WHERE case_id = ?", (cid,)).fetchone()
    con.execute("SELECT * FROM registry ORDER BY seq").fetchall()
    tally = opened(proj)
    version, head = case[8], case[9]
    fields = dict(zip(COLS, (cid, version + 1, "advance", "notify", "decided", "notified",
                             "2025-05-01", "2025-05-01T00:00:00.000000Z", "bench", [], None,
                             {}, head)))
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    h = "sha256:" + hashlib.sha256(blob.encode()).hexdigest()
    cur = con.execute(
        "UPDATE cases SET state=?, version=?, head_hash=?, last_on=?, facts=?, updated_at=? "
        "WHERE id=? AND version=?",
        ("notified", version + 1, h, "2025-05-01", case[12], fields["recorded_at"], cid, version))
    assert cur.rowcount == 1
    row = dict(fields, sources="[]", data="{}", hash=h)
    con.execute("INSERT INTO events (" + ", ".join(row) + ") VALUES ("
                + ", ".join("?" * len(row)) + ")", tuple(row.values()))
    tally["version"] += 1
    tally["state"] = "notified"
    tally["entered"]["notified"] = "2025-05-01"
    row = (cid, h, "2025-05-01", False, proj[4])
    con.execute(UPSERT, (*row, sealed(row, tally)))
    con.execute("COMMIT")
"""
    + TURNS_TAIL
)


def decided_cases(db: Path, limit: int) -> list[str]:
    import sqlite3

    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT id FROM cases WHERE state = 'decided' ORDER BY id LIMIT ?", (limit,)
    ).fetchall()
    con.close()
    return [r[0] for r in rows]


def child_json(argv: list[str]) -> tuple[dict[str, Any], float]:
    """The last line of a child's stdout as JSON, and the child's peak RSS in MB."""
    with tempfile.TemporaryFile() as out:
        _, mb, code = run_measured(argv, stdout=out)
        out.seek(0)
        text = out.read().decode()
    if code != 0:
        raise RuntimeError(f"{argv[:3]} exited {code}")
    try:  # one document (perhaps indented), else the last line of what was printed
        return dict(json.loads(text)), mb
    except ValueError:
        return dict(json.loads(text.strip().splitlines()[-1])), mb


def take_turns(
    children: dict[str, list[str]], rounds: int, batch: int, seed: int = 19
) -> dict[str, tuple[list[float], float]]:
    """Run the ``turns`` children (argv each, without the ``turns`` argument) side by side,
    one batch of ``batch`` transitions at a time, every child once a round in an order drawn
    afresh each round: each sees the machine as loaded as the others do, so a slow minute
    slows all of them (one run after the other, this machine's speed moved by up to 2x
    between them). Per child: the seconds of each batch, and its peak RSS in MB."""
    import contextlib
    import random

    order = random.Random(seed)
    procs: dict[str, tuple[subprocess.Popen[str], Any]] = {}
    with contextlib.ExitStack() as stack:
        for name, argv in children.items():
            err = stack.enter_context(tempfile.TemporaryFile(mode="w+"))
            proc = subprocess.Popen(
                [PY, "-S", "-c", RSS_WRAPPER, *argv, "turns"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
            stack.enter_context(proc)  # (its pipes closed and itself waited for at the end)
            stack.callback(_stop, proc)  # (first: a child still running is killed)
            procs[name] = (proc, err)
        seconds: dict[str, list[float]] = {name: [] for name in children}
        for _ in range(rounds):
            names = list(children)
            order.shuffle(names)
            for name in names:
                proc, err = procs[name]
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(f"{batch}\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"{name} stopped: {_stderr(err)}")
                reply = json.loads(line)
                if reply["n"] != batch:
                    raise RuntimeError(f"{name} ran {reply['n']} of {batch}: too few cases")
                seconds[name].append(float(reply["seconds"]))
        out = {}
        for name, (proc, err) in procs.items():
            assert proc.stdin is not None
            proc.stdin.close()
            if proc.wait() != 0:
                raise RuntimeError(f"{name} exited {proc.returncode}: {_stderr(err)}")
            rss = [x for x in _stderr(err).splitlines() if x.startswith("maxrss_kb=")]
            out[name] = (seconds[name], int(rss[-1].split("=")[1]) / 1024 if rss else math.nan)
        return out


def _stop(proc: subprocess.Popen[str]) -> None:
    """Kill a child still running (the bench stopped halfway)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _stderr(err: Any) -> str:
    err.seek(0)
    return str(err.read())[-400:]


#: The transitions each side runs (after one warm-up): TURN_ROUNDS batches of TURN_BATCH.
TURN_ROUNDS, TURN_BATCH = 20, 10


def bench_transitions(dbs: dict[int, Path], tmp: Path) -> None:
    """Durable (``synchronous=FULL``, as treatyflow runs) and CPU-only (``synchronous=OFF``
    on both sides: what is left when fsync is not counted), each against raw ``sqlite3``
    doing the same statements, on copies of the same database, the two taking turns
    (:func:`take_turns`); each rate from the median batch."""
    for n, db in dbs.items():
        ids = decided_cases(db, TURN_ROUNDS * TURN_BATCH + 1)
        for sync, name, floor in (("FULL", "durable", 0.30), ("OFF", "cpu_only", 0.40)):
            a = copy_db(db, tmp / f"tr-tf-{n}.db")
            b = copy_db(db, tmp / f"tr-raw-{n}.db")
            got = take_turns(
                {
                    "treatyflow": [PY, "-c", TRANSITION_CHILD, str(a), ",".join(ids), sync],
                    "raw": [PY, "-c", RAW_TRANSITION_CHILD, str(b), ",".join(ids), sync],
                },
                TURN_ROUNDS,
                TURN_BATCH,
            )
            (tf_s, tf_mb), (raw_s, _) = got["treatyflow"], got["raw"]
            tf_rate = TURN_BATCH / statistics.median(tf_s)
            raw_rate = TURN_BATCH / statistics.median(raw_s)
            paired = statistics.median(t / r for t, r in zip(raw_s, tf_s, strict=True))
            scaling.setdefault(f"transition {name} (s per transition)", {})[n] = 1 / tf_rate
            if n == BIG:
                record(
                    f"transition_{name}",
                    tf_rate,
                    "tx/s",
                    raw_rate,
                    tf_rate / raw_rate,
                    f">= {floor:.0%}",
                    tf_rate / raw_rate >= floor,
                    cases=n,
                    transitions=len(tf_s) * TURN_BATCH,
                    synchronous=sync,
                    method=f"taking turns, {TURN_ROUNDS} rounds of {TURN_BATCH}, median batch",
                    paired_ratio_median=round(paired, 3),
                    peak_rss_mb=round(tf_mb, 1),
                )
            remove_db(a)
            remove_db(b)


# ============================================================== import
RAW_IMPORT_CHILD = r"""
import hashlib, json, sqlite3, sys, time
bundle_path, db = sys.argv[1], sys.argv[2]
DEF = ("hash", "kind", "definition_id", "stored_at", "content")
CASE = ("id country treaty procedure procedure_hash treaty_hash action state version head_hash "
        "opened_on last_on facts created_at updated_at").split()
EV = ("case_id seq kind trigger from_state to_state occurred_on recorded_at actor sources note "
      "data prev_hash hash").split()
HASHED = EV[:-1]
canon = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
text = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
con = sqlite3.connect(db, isolation_level=None)
for p in ("busy_timeout = 10000", "journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON"):
    con.execute("PRAGMA " + p)
def sql(table, cols):
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
con.execute("BEGIN IMMEDIATE")
batches = {"definitions": [], "cases": [], "events": []}
cols = {"definitions": DEF, "cases": CASE, "events": EV}
heads, n_events = {}, 0
def flush(table):
    con.executemany(sql(table, cols[table]), batches[table])
    batches[table].clear()
with open(bundle_path, encoding="utf-8") as f:  # streamed, checked as it goes
    for line in f:
        o = json.loads(line)
        t = o["type"]
        if t == "definition":
            batches["definitions"].append(tuple(o[k] for k in DEF))
            table = "definitions"
        elif t == "case":
            o["facts"] = json.dumps(o["facts"], sort_keys=True)
            batches["cases"].append(tuple(o[k] for k in CASE))
            table = "cases"
        elif t == "event":
            # the chain: each event's hash over its canonical fields, linked to the previous
            h = "sha256:" + hashlib.sha256(canon({k: o[k] for k in HASHED}).encode()).hexdigest()
            assert h == o["hash"] and o["prev_hash"] == heads.get(o["case_id"]), o["case_id"]
            heads[o["case_id"]] = h
            o["sources"] = text(o["sources"])
            o["data"] = text(o["data"])
            batches["events"].append(tuple(o[k] for k in EV))
            n_events += 1
            table = "events"
        else:
            continue
        if len(batches[table]) >= 1000:
            if table != "definitions":
                flush("definitions")
            if table == "events":
                flush("cases")
            flush(table)
for table in ("definitions", "cases", "events"):
    flush(table)
con.execute("COMMIT")
print(json.dumps({"events": n_events}))
"""


def bundle_for(db: Path, tmp: Path, n: int) -> Path:
    """The bundle ``treatyflow export`` writes of ``db`` (made once per size)."""
    bundle = tmp / f"bundle-{n}.jsonl"
    if not bundle.exists():
        _, _, code = run_child([TF, "--db", str(db), "export", "-o", str(bundle)])
        if code != 0:
            raise RuntimeError(f"export of {db} failed")
    return bundle


def bench_import(dbs: dict[int, Path], tmp: Path) -> None:
    """``treatyflow import`` end to end (start-up, read, verify, insert) against a raw
    ``sqlite3`` script doing the same end to end (start-up, streamed read, every chain
    re-hashed, executemany in batches of 1000 in one transaction, same pragmas)."""
    for n, db in dbs.items():
        bundle = bundle_for(db, tmp, n)
        a, b = tmp / f"imp-tf-{n}.db", tmp / f"imp-raw-{n}.db"
        copy_db(tmp / "schema.db", a)  # both start from an empty database with the schema
        copy_db(tmp / "schema.db", b)
        tf_s, tf_mb, code = run_measured(
            [TF, "--db", str(a), "import", str(bundle)], stdout=subprocess.DEVNULL
        )
        raw_s, raw_mb, raw_code = run_measured(
            [PY, "-c", RAW_IMPORT_CHILD, str(bundle), str(b)], stdout=subprocess.DEVNULL
        )
        events = n * gen.EVENTS_PER_CASE
        tf_rate, raw_rate = events / tf_s, events / raw_s
        scaling.setdefault("import end to end (s)", {})[n] = tf_s
        references.setdefault("import end to end (s)", {})[n] = raw_s
        if n == BIG:
            record(
                "bulk_import",
                tf_rate,
                "events/s",
                raw_rate,
                tf_rate / raw_rate,
                ">= 50 %",
                tf_rate / raw_rate >= 0.50 and code == 0 and raw_code == 0,
                events=events,
                seconds=round(tf_s, 2),
                bundle_mb=round(bundle.stat().st_size / MB, 1),
            )
            record_rss("bulk_import", tf_mb, raw_mb)
        remove_db(a)
        remove_db(b)


# ============================================================== listings
def listing_keys(path: Path, what: str) -> list[tuple[Any, ...]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if what == "pending":
        return [(i["id"], i["state"], i["next_date"], i["overdue"]) for i in doc["cases"]]
    return [
        (c["id"], c["state"], c["next_date"], c["integrity"]["verified"]) for c in doc["cases"]
    ]


def bench_listing(what: str, dbs: dict[int, Path], tmp: Path) -> None:
    for n, db in dbs.items():
        if what == "pending":
            tf_cmd = [TF, "--db", str(db), "pending", "--json", "--as-of", AS_OF]
        else:
            tf_cmd = [
                TF,
                "--db",
                str(db),
                "report",
                "portfolio",
                "--format",
                "json",
                "--as-of",
                AS_OF,
            ]
        ref_cmd = [PY, str(HERE / "reference.py"), what, str(db), AS_OF]
        out_tf, out_ref = tmp / f"{what}-tf.json", tmp / f"{what}-ref.json"
        with out_tf.open("wb") as f:
            tf_s, tf_mb, _ = run_measured(tf_cmd, stdout=f)
        with out_ref.open("wb") as f:
            ref_s, ref_mb, _ = run_measured(ref_cmd, stdout=f)
        same = None
        if n <= 10_000 or what == "pending":
            same = listing_keys(out_tf, what) == listing_keys(out_ref, what)
        scaling.setdefault(f"{what} (s)", {})[n] = tf_s
        scaling.setdefault(f"{what} peak RSS (MB)", {})[n] = tf_mb
        references.setdefault(f"{what} (s)", {})[n] = ref_s
        references.setdefault(f"{what} peak RSS (MB)", {})[n] = ref_mb
        name = f"{what}_{_size(n)}"
        ratio = tf_s / ref_s
        if n != BIG:  # the budget is at the largest size; the others are scaling points
            print(
                f"  {name}: {tf_s:.3g} s, reference {ref_s:.3g} s ({ratio:.2f}x), "
                f"peak {tf_mb:.0f} MB, same listing: {same}",
                flush=True,
            )
        else:
            record(
                name,
                tf_s,
                "s",
                ref_s,
                ratio,
                "<= 2x",
                ratio <= 2 and same is not False,
                cases=n,
                same_listing=same,
                output_mb=round(out_tf.stat().st_size / MB, 1),
            )
            record_rss(name, tf_mb, ref_mb)
        out_tf.unlink()
        out_ref.unlink()


# ============================================================== the engine per case
ENGINE_CHILD = r"""
import datetime as dt, json, sys, time, tracemalloc
from treatyflow import engine
from treatyflow.app.core import Core
from treatyflow.catalog import load_catalog, shipped_workflows
from treatyflow.store import open_store
core = Core(open_store(sys.argv[1]), load_catalog([shipped_workflows()]))
with core.store.read() as conn:
    records = core.store.list_cases(conn)
    defs = {r.procedure_hash: core.definitions_for(conn, r) for r in records[:100]}
facts = [(r.procedure_hash, r.state, dict(r.facts)) for r in records]
def engine_calls(keep):
    # what a bulk path asks the state machine per case: the cached machine of the case's
    # procedure version, and the steps (with guard verdicts) from its state
    for phash, state, f in facts:
        d = defs[phash]
        m = engine.machine_for(d.procedure, phash)
        keep.append(m.steps(state, f))
        m.analyst_triggers(state)
engine_calls([])  # warm
t0 = time.perf_counter()
engine_calls([])
seconds = time.perf_counter() - t0
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
keep = []
engine_calls(keep)
retained = tracemalloc.get_traced_memory()[0] - base
tracemalloc.stop()
print(json.dumps({"n": len(facts), "us": seconds / len(facts) * 1e6,
                  "bytes": retained / len(facts)}))
"""


def bench_engine(db: Path) -> None:
    got, _ = child_json([PY, "-c", ENGINE_CHILD, str(db)])
    record(
        "state_machine_time_per_case",
        got["us"],
        "us/case",
        None,
        None,
        "<= 10 us",
        got["us"] <= 10,
        cases=got["n"],
    )
    record(
        "state_machine_memory_per_case",
        got["bytes"],
        "B/case",
        None,
        None,
        "<= 1024 B",
        got["bytes"] <= 1024,
        cases=got["n"],
    )


# ============================================================== verify
#: verify and its read+hash limit are each run this many times at the largest size.
VERIFY_PAIRS = 3


def alternating(pairs: int, a: str, b: str) -> list[str]:
    """``a b``, ``b a``, ``a b`` ... ``pairs`` times: each side first as often as second (to
    within one), so that a machine slowing down or speeding up falls on both."""
    return [x for k in range(pairs) for x in ((a, b) if k % 2 == 0 else (b, a))]


def bench_verify(dbs: dict[int, Path], tmp: Path) -> None:
    """``treatyflow verify`` (start-up included) against the read+hash limit measured in the
    same run (``reference.py limit``: the event columns read with raw ``sqlite3`` and the
    SHA-256 of their text, spread over the cores as treatyflow spreads its pass); and
    ``verify --checkpoint`` against a checkpoint written before."""
    for n, db in dbs.items():
        events = n * gen.EVENTS_PER_CASE
        tf_s, tf_mb, code = run_measured(
            [TF, "--db", str(db), "verify", "--json"], stdout=subprocess.DEVNULL
        )
        scaling.setdefault("verify (s)", {})[n] = tf_s
        checkpoint = tmp / f"checkpoint-{n}.json"
        checkpoint.unlink(missing_ok=True)
        run_child([TF, "--db", str(db), "checkpoint", "-o", str(checkpoint)])
        cp_s, cp_mb, cp_code = run_measured(
            [TF, "--db", str(db), "verify", "--checkpoint", str(checkpoint), "--json"],
            stdout=subprocess.DEVNULL,
        )
        scaling.setdefault("verify --checkpoint (s)", {})[n] = cp_s
        references.setdefault("verify --checkpoint (s)", {})[n] = tf_s
        if n != BIG:
            continue
        # VERIFY_PAIRS more runs of each, in the order V L, L V, V L ...: a slow minute of
        # the machine falls on both sides (one pair gave 0.37 to 0.48 in session 8).
        rates: list[float] = []
        limit_rates: list[float] = []
        for side in alternating(VERIFY_PAIRS, "verify", "limit"):
            if side == "verify":
                v_s, v_mb, v_code = run_measured(
                    [TF, "--db", str(db), "verify", "--json"], stdout=subprocess.DEVNULL
                )
                tf_mb, code = max(tf_mb, v_mb), code or v_code
                rates.append(events / v_s)
            else:
                limit, _ = child_json([PY, str(HERE / "reference.py"), "limit", str(db)])
                limit_rates.append(limit["events"] / limit["seconds"])
        rate, limit_rate = statistics.median(rates), statistics.median(limit_rates)
        record(
            "verify_rate",
            rate,
            "events/s",
            limit_rate,
            rate / limit_rate,
            ">= 200,000/s, >= 0.5 x limit",
            rate >= 200_000 and rate / limit_rate >= 0.5 and code == 0,
            events=events,
            limit_workers=limit["workers"],
            method=f"medians of {VERIFY_PAIRS} runs each, alternating V L, L V ...",
            paired_ratio_median=round(
                statistics.median(r / lr for r, lr in zip(rates, limit_rates, strict=True)), 3
            ),
            rates=[round(r) for r in rates],
            limit_rates=[round(r) for r in limit_rates],
        )
        record_rss("verify", tf_mb)
        record(
            "verify_checkpoint",
            cp_s,
            "s",
            tf_s,
            cp_s / tf_s,
            "- (scaling)",
            None if cp_code == 0 else False,
            cases=n,
        )
        record_rss("verify_checkpoint", cp_mb)


PG_ENV = ("BENCH_POSTGRES_URL", "TREATYFLOW_TEST_POSTGRES_URL")


def bench_verify_postgres(db: Path, n: int, tmp: Path) -> None:
    """``treatyflow verify`` on PostgreSQL: the generated data loaded by ``treatyflow import``
    of its exported bundle into a fresh schema (dropped afterwards), vacuumed and analysed;
    against the read+hash limit on PostgreSQL measured just after (``reference.py
    limit-pg``: the events' columns read through a server-side cursor and hashed, one
    forked process per core, as treatyflow's pass reads them)."""
    base = next((os.environ[k] for k in PG_ENV if os.environ.get(k)), None)
    if base is None:
        print(f"  verify_rate_postgres: skipped ({' and '.join(PG_ENV)} are not set)")
        results.append(
            {
                "name": "verify_rate_postgres",
                "value": None,
                "unit": "events/s",
                "reference": None,
                "ratio": None,
                "target": ">= 200,000/s",
                "holds": None,
                "skipped": f"no PostgreSQL server: neither {' nor '.join(PG_ENV)} is set",
            }
        )
        return
    import uuid

    import sqlalchemy as sa

    schema = f"tf_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    target = url.render_as_string(hide_password=False)
    try:
        bundle = bundle_for(db, tmp, n)
        load_s, _, code = run_child([TF, "--db", target, "import", str(bundle)])
        if code != 0:
            raise RuntimeError("treatyflow import into PostgreSQL failed")
        # What autovacuum does to a live database after a bulk load: statistics, and every
        # row's hint bits set (else the first read of the loaded rows, whichever of the two
        # below comes first, pays for setting them).
        vacuum = sa.create_engine(target, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        with vacuum.connect() as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE) events, cases, definitions")
        vacuum.dispose()
        tf_s, tf_mb, code = run_measured(
            [TF, "--db", target, "verify", "--json"], stdout=subprocess.DEVNULL
        )
        limit, _ = child_json([PY, str(HERE / "reference.py"), "limit-pg", target])
        events = n * gen.EVENTS_PER_CASE
        rate, limit_rate = events / tf_s, limit["events"] / limit["seconds"]
        record(
            "verify_rate_postgres",
            rate,
            "events/s",
            limit_rate,
            rate / limit_rate,
            ">= 200,000/s",
            rate >= 200_000 and code == 0,
            events=events,
            import_seconds=round(load_s, 1),
            limit_workers=limit["workers"],
        )
        record_rss("verify_postgres", tf_mb)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


# ============================================================== daily commands
#: A date on which no clock of the generated data is due (the earliest falls due on
#: 2024-09-03), so ``tick`` fires nothing: it only has to find that out.
QUIET_DAY = "2024-06-01"


def bench_tick(dbs: dict[int, Path], tmp: Path) -> None:
    """``tick`` that fires nothing, against ``pending`` on the same day (target: no more)."""
    for n, db in dbs.items():
        a = copy_db(db, tmp / f"tick-{n}.db")
        with (tmp / "tick.json").open("wb") as f:
            tick_s, tick_mb, code = run_measured(
                [TF, "--db", str(a), "tick", "--as-of", QUIET_DAY, "--json"], stdout=f
            )
        fired = json.loads((tmp / "tick.json").read_text())["fired"] if code == 0 else None
        remove_db(a)
        scaling.setdefault("tick, nothing due (s)", {})[n] = tick_s
        if n != BIG:
            continue
        pend_s, _, _ = run_measured(
            [TF, "--db", str(db), "pending", "--json", "--as-of", QUIET_DAY],
            stdout=subprocess.DEVNULL,
        )
        record(
            "tick_nothing_due",
            tick_s,
            "s",
            pend_s,
            tick_s / pend_s,
            "<= 1x pending",
            tick_s <= pend_s and fired == [],
            cases=n,
            as_of=QUIET_DAY,
            fired=None if fired is None else len(fired),
        )
        record_rss("tick_nothing_due", tick_mb)


def bench_report_country(dbs: dict[int, Path], tmp: Path) -> None:
    """``report portfolio --country X`` (one country of 42): a scaling line."""
    country = gen.COUNTRIES[0]
    for n, db in dbs.items():
        argv = [TF, "--db", str(db), "report", "portfolio", "--country", country]
        argv += ["--format", "json", "--as-of", AS_OF]
        out = tmp / "report-country.json"
        with out.open("wb") as f:
            s, mb, code = run_measured(argv, stdout=f)
        cases = len(json.loads(out.read_text())["cases"]) if code == 0 else None
        out.unlink()
        scaling.setdefault(f"report --country {country} (s)", {})[n] = s
        if n == BIG:
            record(
                "report_country",
                s,
                "s",
                None,
                None,
                "- (scaling)",
                None if code == 0 else False,
                cases=n,
                country=country,
                cases_reported=cases,
            )
            record_rss("report_country", mb)


OPEN_CHILD = r"""
import json, sys, time
import treatyflow
country, treaty, year = sys.argv[2], sys.argv[3], int(sys.argv[4])
ws = treatyflow.open(sys.argv[1], actor="bench")
ws.case("%s-%s-%d" % (country, treaty, year))  # warm: definitions, connection
times, ids = [], []
for _ in range(3):
    t0 = time.perf_counter()
    view = ws.open_case(country=country, treaty=treaty, procedure="generic",
                        on="%d-03-01" % year)
    times.append(time.perf_counter() - t0)
    ids.append(view.id)
print(json.dumps({"seconds": sorted(times)[1], "ids": ids}))
"""


def bench_open(tmp: Path) -> None:
    """``case open`` without ``--id`` after N opens of the same country, treaty and year:
    the median of 3 opens, in-process (start-up excluded), on databases whose N cases carry
    the ids ``case open`` hands out."""
    country, treaty, year = gen.GROUP
    for n in SIZES:
        db = gen.generate(
            tmp / f"group-{n}.db", n, tmp, schema=tmp / "schema.db", single_group=True
        )
        got, mb = child_json([PY, "-c", OPEN_CHILD, str(db), country, treaty, str(year)])
        remove_db(db)
        expected = [gen.group_case_id(n + k) for k in range(3)]
        if got["ids"] != expected:
            raise RuntimeError(f"case open gave {got['ids']}, expected {expected}")
        scaling.setdefault("case open without --id (s)", {})[n] = got["seconds"]
        if n == BIG:
            record(
                "case_open_without_id",
                got["seconds"] * 1000,
                "ms",
                None,
                None,
                "- (scaling)",
                None,
                cases_in_group=n,
            )
            record_rss("case_open_without_id", mb)


RAW_ADVANCE_MANY = (
    RAW_PROJECTION_SQL
    + r"""
import hashlib, json, sqlite3, sys
db, path = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db, isolation_level=None)
for p in ("busy_timeout = 10000", "journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON"):
    con.execute("PRAGMA " + p)
COLS = ("case_id seq kind trigger from_state to_state occurred_on recorded_at actor sources "
        "note data prev_hash").split()
canon = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
text = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
for line in open(path, encoding="utf-8"):
    req = json.loads(line)
    cid = req["case"]
    # treatyflow's statements (as the transition row's reference): the case row, its
    # projection row, the key registry; the case row moved, the event, the projection row
    con.execute("BEGIN IMMEDIATE")
    case = con.execute("SELECT * FROM cases WHERE id = ?", (cid,)).fetchone()
    proj = con.execute("SELECT * FROM case_projections WHERE case_id = ?", (cid,)).fetchone()
    con.execute("SELECT * FROM registry ORDER BY seq").fetchall()
    tally = opened(proj)
    version, head = case[8], case[9]
    fields = dict(zip(COLS, (cid, version + 1, "advance", req["trigger"], "decided", "notified",
                             req["on"], "2025-05-01T00:00:00.000000Z", "bench", req["sources"],
                             req["note"], {}, head)))
    h = "sha256:" + hashlib.sha256(canon(fields).encode()).hexdigest()
    cur = con.execute(
        "UPDATE cases SET state=?, version=?, head_hash=?, last_on=?, facts=?, updated_at=? "
        "WHERE id=? AND version=?",
        ("notified", version + 1, h, req["on"], case[12], fields["recorded_at"], cid, version))
    assert cur.rowcount == 1
    row = dict(fields, sources=text(req["sources"]), data="{}", hash=h)
    con.execute("INSERT INTO events (" + ", ".join(row) + ") VALUES ("
                + ", ".join("?" * len(row)) + ")", tuple(row.values()))
    tally["version"] += 1
    tally["state"] = "notified"
    tally["entered"]["notified"] = req["on"]
    row = (cid, h, req["on"], False, proj[4])
    con.execute(UPSERT, (*row, sealed(row, tally)))
    con.execute("COMMIT")
    print(json.dumps({"case": cid, "ok": True, "version": version + 1}))
"""
)

#: How many transitions the advance-many row asks for (every one a durable transaction).
ADVANCE_MANY = 1000


def advance_many_input(db: Path, path: Path, limit: int) -> int:
    """JSON lines notifying up to ``limit`` cases at ``decided``, each with its own citation."""
    ids = decided_cases(db, limit)
    with path.open("w", encoding="utf-8") as f:
        for k, cid in enumerate(ids):
            request = {
                "case": cid,
                "trigger": "notify",
                "on": AS_OF,
                "sources": [
                    {"citation": f"Depositary notification C.N.{k}.2025", "level": "official"}
                ],
                "note": f"Notified in batch, line {k + 1}",
            }
            f.write(json.dumps(request) + "\n")
    return len(ids)


def advance_many_results(out: Path, expected: int) -> str | None:
    """None when ``out`` holds one JSON result line per input line, else what is wrong."""
    lines = [line for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(lines) != expected:
        return f"{len(lines)} result lines for {expected} input lines"
    for k, line in enumerate(lines, 1):
        try:
            doc = json.loads(line)
        except ValueError:
            return f"result line {k} is not JSON"
        if not isinstance(doc, dict) or doc.get("error") or doc.get("ok") is False:
            return f"result line {k} reports a failure: {line[:200]}"
    return None


def bench_advance_many(db: Path, tmp: Path, tf: list[str] | None = None) -> None:
    """``treatyflow case advance-many FILE`` over ADVANCE_MANY eligible cases (one
    transaction per line) against a raw durable ``sqlite3`` script doing the same
    transitions from the same file, both end to end (start-up included)."""
    tf = tf or [TF]
    name = "advance_many"
    helped = subprocess.run(
        [*tf, "case", "advance-many", "--help"], capture_output=True, check=False
    )
    if helped.returncode != 0:
        print(f"  {name}: command not available (`case advance-many --help` failed)")
        results.append(
            {
                "name": name,
                "value": None,
                "unit": "tx/s",
                "reference": None,
                "ratio": None,
                "target": ">= 50 % of raw",
                "holds": False,
                "reason": "command not available",
            }
        )
        return
    requests = tmp / "advance-many.jsonl"
    count = advance_many_input(db, requests, ADVANCE_MANY)
    a = copy_db(db, tmp / "am-tf.db")
    b = copy_db(db, tmp / "am-raw.db")
    out_tf, out_raw = tmp / "am-tf.out", tmp / "am-raw.out"
    with out_tf.open("wb") as f:
        tf_s, tf_mb, code = run_measured(
            [*tf, "--db", str(a), "case", "advance-many", str(requests)], stdout=f
        )
    with out_raw.open("wb") as f:
        raw_s, _, raw_code = run_measured(
            [PY, "-c", RAW_ADVANCE_MANY, str(b), str(requests)], stdout=f
        )
    problem = advance_many_results(out_tf, count) if code == 0 else f"exit {code}"
    if raw_code != 0:  # a reference that failed measured nothing: say so in the row
        problem = f"{problem}; " if problem else ""
        problem += f"the raw reference exited {raw_code}"
    for p in (a, b):
        remove_db(p)
    tf_rate, raw_rate = count / tf_s, count / raw_s
    record(
        name,
        tf_rate,
        "tx/s",
        raw_rate,
        tf_rate / raw_rate,
        ">= 50 % of raw",
        problem is None and raw_code == 0 and tf_rate / raw_rate >= 0.5,
        transitions=count,
        **({"problem": problem} if problem else {}),
    )
    record_rss(name, tf_mb)


# ============================================================== signatures
SIGN_CHILD = r"""
import datetime as dt, json, os, sys, time
from pathlib import Path
import treatyflow
from treatyflow.app.core import seal
from treatyflow.app.trust import check_signatures
from treatyflow.bundle import CASE_FIELDS, EVENT_FIELDS, SIGNATURE_FIELDS
from treatyflow.events import Event, EventKind, utc_now
from treatyflow.store.sql import event_row

tmp, n = Path(sys.argv[1]), int(sys.argv[2])
key = tmp / "bench.key"
treatyflow.generate_key(key)
signer = treatyflow.load_key(key)
raw = signer._private
pub = raw.public_key()
ws = treatyflow.open(tmp / "signed.db", create=True, key=key)
ws.add_key("bench", f"{key}.pub", roles=["admin", "analyst"])
per_case, now = 20, utc_now()
events, cases = [], []
for c in range(n // per_case):
    cid, prev = f"S{c:06d}", None
    for seq in range(1, per_case + 1):
        ev = seal(Event(cid, seq, EventKind.NOTE, dt.date(2025, 1, 1), now, "bench",
                        note=f"note {seq}", prev_hash=prev,
                        to_state="considering" if seq == 1 else None))
        events.append(ev)
        prev = ev.hash
    cases.append((cid, "LTU", "ottawa", "generic", "h", "h", "withdrawal", "considering",
                  per_case, prev, "2025-01-01", "2025-01-01", "{}", now, now))
hashes = [ev.hash for ev in events]
messages = [h.encode("ascii") for h in hashes]

def rate(fn):
    t0 = time.perf_counter(); fn(); return len(hashes) / (time.perf_counter() - t0)

raw_sigs = []
ref_sign = rate(lambda: raw_sigs.extend(raw.sign(m) for m in messages))
sigs = []
tf_sign = rate(lambda: sigs.extend(signer.sign(h) for h in hashes))
def ref_verify_serial():
    for s, m in zip(raw_sigs, messages):
        pub.verify(s, m)
def _ref_chunk(k):
    for s, m in zip(raw_sigs[k:k + 2000], messages[k:k + 2000]):
        pub.verify(s, m)
    return k
def ref_verify_all():
    # cryptography's verify spread over the cores in chunks, as treatyflow spreads its check
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        pool.map(_ref_chunk, range(0, len(messages), 2000))
ref_verify_one_core = rate(ref_verify_serial)
ref_verify = rate(ref_verify_all)
rows = []
for ev, sig in zip(events, sigs):
    r = event_row(ev)
    rows.append(tuple(r[k] for k in EVENT_FIELDS) + (sig, signer.fingerprint))
with ws.store.write() as conn:
    ws.store.bulk_insert(conn, "cases", CASE_FIELDS, cases)
    ws.store.bulk_insert(conn, "events", EVENT_FIELDS + SIGNATURE_FIELDS, rows)
faults = []
tf_verify = rate(lambda: faults.extend(check_signatures(ws._core)))
assert not faults, faults[:3]
print(json.dumps({"n": len(hashes), "ref_sign": ref_sign, "tf_sign": tf_sign,
                  "ref_verify": ref_verify, "tf_verify": tf_verify,
                  "ref_verify_one_core": ref_verify_one_core}))
"""


def bench_signatures(tmp: Path) -> None:
    """Signing (``Signer.sign``) and checking every signature of a database (``verify``'s
    signature pass, reading the events from SQLite, one worker process per core) against
    cryptography's own Ed25519 sign (one core, as treatyflow signs) and verify (over the
    cores in chunks, as treatyflow checks) of the same event hashes, in the same run."""
    got, _ = child_json([PY, "-c", SIGN_CHILD, str(tmp), "20000"])
    for name, tf, ref, extra in (
        ("sign_rate", got["tf_sign"], got["ref_sign"], {}),
        (
            "verify_signatures_rate",
            got["tf_verify"],
            got["ref_verify"],
            {"reference_one_core": round(got["ref_verify_one_core"], 1)},
        ),
    ):
        record(
            name,
            tf,
            "sigs/s",
            ref,
            tf / ref,
            ">= 0.70 x ref",
            tf / ref >= 0.70,
            events=got["n"],
            **extra,
        )


# ============================================================== main
# ============================================================== the web view
WEB_CLIENTS = 8
WEB_ROUNDS = 25
WEB_WORD = "review"  # in a note of every generated case: the search's worst case


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _concurrently(work: Callable[[int], list[float]]) -> list[float]:
    """``work(client)`` in WEB_CLIENTS threads at once; every latency they measured."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(WEB_CLIENTS) as pool:
        return [t for part in pool.map(work, range(WEB_CLIENTS)) for t in part]


def _http_latencies(port: int, paths: list[str]) -> list[float]:
    import http.client

    def client(k: int) -> list[float]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        out = []
        for i in range(WEB_ROUNDS):
            path = paths[(k * WEB_ROUNDS + i) % len(paths)]
            t0 = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            out.append(time.perf_counter() - t0)
            if response.status != 200 or not body:
                raise RuntimeError(f"GET {path}: {response.status}")
        conn.close()
        return out

    return _concurrently(client)


def _sql_latencies(db: Path, queries: list[tuple[Any, tuple[Any, ...]]]) -> list[float]:
    import sqlite3

    def client(k: int) -> list[float]:
        con = sqlite3.connect(db, check_same_thread=False)
        out = []
        for i in range(WEB_ROUNDS):
            sql, args = queries[(k * WEB_ROUNDS + i) % len(queries)]
            t0 = time.perf_counter()
            rows = sql(con) if callable(sql) else con.execute(sql, args).fetchall()
            out.append(time.perf_counter() - t0)
            if not rows:
                raise RuntimeError(f"no rows: {sql}")
        con.close()
        return out

    return _concurrently(client)


def _staged_search(con: Any) -> list[Any]:
    """The 51 best events for WEB_WORD as treatyflow's SQLite search finds them (the same
    statements, :data:`treatyflow.store.search.SQLITE`, in raw sqlite3): the fastest simple
    query found for these rows, snippets and order (the plain one joins and sorts every
    match; measured against it in docs/performance.md)."""
    from treatyflow.store.search import SQLITE

    match, limit = f'"{WEB_WORD}"', 51
    matches, last_id = con.execute(SQLITE["count"], {"match": match}).fetchone()
    top = con.execute(SQLITE["top"], {"match": match, "limit": limit + 1}).fetchall()
    scores = {r[0]: r[1] for r in top[:limit]}
    if len(top) > limit and top[limit][1] == top[limit - 1][1]:
        bound = top[limit - 1][1]
        scores = {k: v for k, v in scores.items() if v < bound}
        need = limit - len(scores)
        walk = need * -(-2 * last_id // matches)
        while True:
            args = {"match": match, "walk": walk, "bound": bound, "need": need}
            tied = [r[0] for r in con.execute(SQLITE["tied"], args)]
            if len(tied) == need or walk >= last_id:
                break
            walk *= 8
        scores.update((rowid, bound) for rowid in tied)
    args = {"match": match, "ids": json.dumps(list(scores))}
    return sorted(con.execute(SQLITE["picked"], args), key=lambda r: (scores[r[0]], r[1], r[2]))


def bench_web(db: Path, n: int) -> None:
    """p95 latency of /, /cases/{id} and /search under WEB_CLIENTS concurrent clients of a
    `treatyflow serve` child process, against raw sqlite3 reading the same rows with as many
    threads; the dashboard's first (cold) answer is shown beside it."""
    import sqlite3
    import urllib.request

    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute("SELECT id FROM cases ORDER BY random() LIMIT 50")]
    con.close()
    port = _free_port()
    server = subprocess.Popen(
        [TF, "--db", str(db), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/static/web.css", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("treatyflow serve did not start") from None
                time.sleep(0.2)
        t0 = time.perf_counter()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3600).read()
        cold = time.perf_counter() - t0
        figures = {
            "/": (
                ["/"],
                [
                    (
                        "SELECT id, country, treaty, state, last_on FROM cases "
                        "ORDER BY last_on, id LIMIT 500",
                        (),
                    )
                ],
            ),
            "/cases/{id}": (
                [f"/cases/{i}" for i in ids],
                [
                    (
                        "SELECT c.*, e.* FROM cases AS c JOIN events AS e ON e.case_id = c.id "
                        "WHERE c.id = ? ORDER BY e.seq",
                        (i,),
                    )
                    for i in ids
                ],
            ),
            "/search": ([f"/search?q={WEB_WORD}"], [(_staged_search, ())]),
        }
        for route, (paths, queries) in figures.items():
            web = _p95(_http_latencies(port, paths))
            ref = _p95(_sql_latencies(db, queries))
            name = "web_p95_" + route.strip("/").split("/")[0].replace("{id}", "") or "web_p95_"
            name = {"web_p95_": "web_p95_dashboard"}.get(name, name)
            name += f"_{_size(n)}"
            if n != BIG:
                print(f"  {name}: {web * 1000:.3g} ms, reference {ref * 1000:.3g} ms", flush=True)
                continue
            record(
                name,
                web * 1000,
                "ms",
                ref * 1000,
                web / ref,
                "< 1000 ms",
                web < 1.0,
                route=route,
                clients=WEB_CLIENTS,
                requests=WEB_CLIENTS * WEB_ROUNDS,
                **({"cold_first_request_s": round(cold, 3)} if route == "/" else {}),
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


def machine() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def report_scaling() -> None:
    """Print each scaling line's points and the exponent of its log-log fit, and record it
    (a line measured at one size only has no exponent and no verdict)."""
    for name, points in scaling.items():
        k = fit_exponent(points)
        shown = " -> ".join(f"{v:.4g}" for v in points.values())
        if k is None:  # one size (--sizes N): no line to fit
            print(f"  {name:<34} {shown:<40} (one size: no exponent)")
        else:
            verdict = "linear or better" if k <= 1.1 else "WORSE than linear"
            print(f"  {name:<34} {shown:<40} exponent {k:.2f}  {verdict}")
        results.append(
            {
                "name": f"scaling:{name}",
                "value": None if k is None else round(k, 3),
                "unit": "exponent",
                "reference": 1.0,
                "ratio": None,
                "target": "<= 1.1 (linear or better)",
                "holds": None if k is None else k <= 1.1,
                "points": {str(n): round(v, 6) for n, v in points.items()},
                "reference_points": {
                    str(n): round(v, 6) for n, v in references.get(name, {}).items()
                }
                or None,
            }
        )


def timed(label: str, fn: Callable[[], None]) -> None:
    t0 = time.perf_counter()
    fn()
    print(f"  ({label}: {time.perf_counter() - t0:.0f} s)", flush=True)


def main() -> None:
    _arguments()
    started = time.perf_counter()
    info = machine()
    print(f"treatyflow bench on {info['nproc']} x {info['cpu']}, Python {info['python']}")
    tmp = Path(tempfile.mkdtemp(prefix="treatyflow-bench-"))
    if ONLY == ["signatures"]:
        try:
            timed("signatures", lambda: bench_signatures(tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        gen.empty_db(tmp / "schema.db")
        dbs = {}
        for n in SIZES:
            dbs[n] = gen.generate(tmp / f"cases-{n}.db", n, tmp, schema=tmp / "schema.db")
        print(
            f"{'figure':<34} {'value':>12} {'unit':<10} {'reference':>14}  "
            f"{'ratio':>13}  {'target':<14} holds"
        )
        small = dbs[min(SIZES)]
        import sqlite3

        con = sqlite3.connect(small)
        first_id = con.execute("SELECT id FROM cases ORDER BY id LIMIT 1").fetchone()[0]
        con.close()
        runs: list[tuple[str, str, Callable[[], Any]]] = [
            ("start-up", "start-up", lambda: bench_cli(small, first_id)),
            ("transitions", "transitions", lambda: bench_transitions(dbs, tmp)),
            ("import", "import", lambda: bench_import(dbs, tmp)),
            ("pending", "pending", lambda: bench_listing("pending", dbs, tmp)),
            ("report", "report", lambda: bench_listing("report", dbs, tmp)),
            ("engine", "engine", lambda: bench_engine(dbs[BIG])),
            ("verify", "verify", lambda: bench_verify(dbs, tmp)),
            (
                "verify-postgres",
                "verify on PostgreSQL",
                lambda: bench_verify_postgres(pg_db, pg_n, tmp),
            ),
            ("tick", "tick", lambda: bench_tick(dbs, tmp)),
            ("report-country", "report --country", lambda: bench_report_country(dbs, tmp)),
            ("case-open", "case open", lambda: bench_open(tmp)),
            ("advance-many", "advance-many", lambda: bench_advance_many(dbs[BIG], tmp)),
            ("web", "web", lambda: [bench_web(db, n) for n, db in dbs.items()]),
            ("signatures", "signatures", lambda: bench_signatures(tmp)),
        ]
        pg_n = int(os.environ.get("BENCH_POSTGRES_CASES", BIG))
        pg_db = dbs.get(pg_n) or dbs[BIG]
        pg_n = pg_n if pg_n in dbs else BIG
        for group, label, run in runs:
            if wanted(group):
                timed(label, run)
        sizes = " -> ".join(_size(n) for n in SIZES)
        print(f"\nscaling ({sizes} cases; exponent of a log-log fit, 1 = linear):")
        report_scaling()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = time.perf_counter() - started
    # a partial run (--only) does not overwrite the last full run's results
    out = HERE / ("results.json" if ONLY is None else f"results-{'-'.join(ONLY)}.json")
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    held = sum(1 for r in results if r["holds"])
    print(f"\n{held}/{len(results)} budgets hold; {total:.0f} s in all; wrote {out}")
    print(f"machine: {json.dumps(info)}")


if __name__ == "__main__":
    main()
