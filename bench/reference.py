"""The physical-limit references: the same work in plain ``sqlite3`` + stdlib, no treatyflow.

    python bench/reference.py pending DB AS_OF      # the `pending --json` listing
    python bench/reference.py report DB AS_OF       # the `report portfolio --format json` model
    python bench/reference.py verify DB             # every chain re-hashed
    python bench/reference.py limit DB              # read + hash only, over every core
    python bench/reference.py limit-pg URL          # the same on PostgreSQL (psycopg)

Each reads the database with one streaming query ordered by (case_id, seq), folds each case
in a few lines of Python (state, entered dates, facts, the treaty clock from the stored
definition snapshots) and prints one JSON document (``indent=2``, like treatyflow) to stdout.
It knows only what the synthetic data needs (month/year/day periods, same-day convention),
which is the point: it is the lower bound a general engine is measured against.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import sqlite3
import sys
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _due(anchor: dt.date, period: str) -> dt.date:
    n, unit = int(period[1:-1]), period[-1]
    if unit == "M":
        return _add_months(anchor, n)
    if unit == "Y":
        return _add_months(anchor, 12 * n)
    return anchor + dt.timedelta(days=n)


def _sources(t: dict[str, Any]) -> list[str]:
    src = t["source"]
    return src if isinstance(src, list) else [src]


def _connect(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 10000")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute("PRAGMA foreign_keys = ON")
    return con


class Defs:
    """The stored snapshots, parsed once: per procedure hash its tables, per treaty its clause."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.proc: dict[str, dict[str, Any]] = {}
        self.treaty: dict[str, dict[str, Any]] = {}
        for digest, kind, content in con.execute("SELECT hash, kind, content FROM definitions"):
            doc = json.loads(content)
            if kind == "procedure":
                states = {s["id"]: s for s in doc["states"]}
                out: dict[str, list[dict[str, Any]]] = {}
                for t in doc["transitions"]:
                    for src in _sources(t):
                        out.setdefault(src, []).append(t)
                graph = {
                    "initial": doc.get("initial"),
                    "states": [
                        {
                            "id": s["id"],
                            "title": s["title"],
                            "final": s.get("final", False),
                            "institution": s.get("institution"),
                        }
                        for s in doc["states"]
                    ],
                    "transitions": [
                        {
                            "trigger": t["trigger"],
                            "from": src,
                            "to": t["dest"],
                            "clock": t["clock"],
                        }
                        for t in doc["transitions"]
                        for src in _sources(t)
                    ],
                }
                self.proc[digest] = {
                    "doc": doc,
                    "states": states,
                    "out": out,
                    "clocks": doc.get("clocks") or [],
                    "graph": graph,
                }
            else:
                self.treaty[digest] = doc

    def steps(self, proc: dict[str, Any], state: str) -> list[dict[str, Any]]:
        steps = []
        for t in proc["out"].get(state, []):
            steps.append(
                {
                    "trigger": t["trigger"],
                    "title": t.get("title"),
                    "to_state": t["dest"],
                    "institution": "system (clock)"
                    if t.get("clock")
                    else t.get("institution") or proc["states"][state].get("institution"),
                    "ready": True,
                    "guards_not_met": [],
                    "evidence": t.get("evidence") or [],
                    "clock": t.get("clock"),
                    "optional": t.get("optional", False),
                    "contested": t.get("contested") is not None,
                }
            )
        return steps


def _cases(con: sqlite3.Connection) -> dict[str, tuple[Any, ...]]:
    rows = con.execute(
        "SELECT id, country, treaty, action, procedure, procedure_hash, treaty_hash, state, "
        "opened_on FROM cases"
    )
    return {r[0]: r for r in rows}


def _grouped(con: sqlite3.Connection, columns: str) -> Any:
    """(case_id, [rows]) for every case, from one query ordered by case and seq."""
    cur = con.execute(f"SELECT case_id, {columns} FROM events ORDER BY case_id, seq")
    current, batch = None, []
    for row in cur:
        if row[0] != current:
            if current is not None:
                yield current, batch
            current, batch = row[0], []
        batch.append(row)
    if current is not None:
        yield current, batch


def _fold(events: list[Any], as_of: dt.date) -> dict[str, Any]:
    """(seq, kind, to_state, occurred_on, data) rows -> state, entered dates, facts, flags."""
    redate = {}
    for ev in events:
        if ev[2] == "correct":
            data = json.loads(ev[5])
            redate[data["target_seq"]] = data["occurred_on"]
    state, entered, facts, flags, fired = None, {}, {}, [], {}
    last_on = None
    for ev in events:
        on = redate.get(ev[1], ev[4])
        if on > as_of.isoformat():
            continue
        data = json.loads(ev[5])
        last_on = on if last_on is None else max(last_on, on)
        if ev[3] is not None:
            state = ev[3]
            entered[state] = on
        facts.update(data.get("facts", {}))
        if data.get("clock"):
            fired[data["clock"]] = on
        for f in data.get("flags", []):
            if f not in flags:
                flags.append(f)
    return {
        "state": state,
        "entered": entered,
        "facts": facts,
        "flags": flags,
        "fired": fired,
        "last_on": last_on,
    }


def _clocks(
    proc: dict[str, Any], treaty: dict[str, Any], action: str, st: dict[str, Any], as_of: dt.date
) -> list[dict[str, Any]]:
    out = []
    clause = treaty["actions"].get(action) or {}
    for spec in proc["clocks"]:
        started = st["entered"].get(spec["starts_at"])
        fired = st["fired"].get(spec["name"])
        due = _due(dt.date.fromisoformat(started), clause["period"]) if started else None
        if fired:
            status = "satisfied"
        elif due is None:
            status = "unknown"
        else:
            status = "due" if due <= as_of else "running"
        out.append(
            {
                "name": spec["name"],
                "status": status,
                "due_on": due.isoformat() if due else None,
                "basis": clause.get("basis"),
                "started_on": started,
                "waiting_on": [],
                "flags": [],
                "explanation": f"Received on {started}; {clause.get('article')} gives {due}.",
            }
        )
    return out


class Spool:
    """List items encoded one by one (``json.dumps(indent=2)``, padded to their depth) into a
    temporary file; :meth:`write_list` writes them as ``json.dumps`` of the whole list would."""

    def __init__(self, depth: int) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by write_list)
        self.pad = "  " * depth
        self.depth = depth
        self.spans: list[tuple[Any, int, int]] = []
        self.offset = 0

    def add(self, item: Any, key: Any = None) -> None:
        text = json.dumps(item, indent=2, ensure_ascii=False)
        blob = (self.pad + text.replace("\n", "\n" + self.pad)).encode("utf-8")
        self.file.write(blob)
        self.spans.append((key, self.offset, len(blob)))
        self.offset += len(blob)

    def write_list(self, out: Any, *, sort: bool = False) -> None:
        if not self.spans:
            out.write(b"[]")
            self.file.close()
            return
        out.write(b"[\n")
        spans = sorted(self.spans, key=lambda s: s[0]) if sort else self.spans
        self.file.flush()
        for n, (_, offset, length) in enumerate(spans):
            if n:
                out.write(b",\n")
            self.file.seek(offset)
            out.write(self.file.read(length))
        out.write(b"\n" + b"  " * (self.depth - 1) + b"]")
        self.file.close()


def _assemble(out: Any, skeleton: dict[str, Any], lists: dict[str, tuple[Spool, bool]]) -> None:
    """``json.dumps(skeleton, indent=2)`` with each ``"@@name@@"`` value replaced by the
    spooled list ``lists[name]`` (sorted by key when its flag is set)."""
    text = json.dumps(skeleton, indent=2, ensure_ascii=False) + "\n"
    for name, (spool, sort) in lists.items():
        head, text = text.split(f'"@@{name}@@"', 1)
        out.write(head.encode("utf-8"))
        spool.write_list(out, sort=sort)
    out.write(text.encode("utf-8"))
    out.flush()


def pending(path: str, as_of: dt.date, out: Any) -> None:
    con = _connect(path)
    con.execute("BEGIN")
    defs, cases = Defs(con), _cases(con)
    items = Spool(2)
    for case_id, events in _grouped(con, "seq, kind, to_state, occurred_on, data"):
        c = cases[case_id]
        proc, treaty = defs.proc[c[5]], defs.treaty[c[6]]
        st = _fold(events, as_of)
        state = st["state"]
        spec = proc["states"][state]
        if spec.get("final"):
            continue
        clocks = _clocks(proc, treaty, c[3], st, as_of)
        steps = defs.steps(proc, state)
        dates = [k["due_on"] for k in clocks if k["due_on"]]
        overdue = any(k["status"] == "due" for k in clocks)
        running = any(k["status"] == "running" for k in clocks)
        ready = [s for s in steps if s["ready"] and not s["clock"]]
        eff = next(
            (k["due_on"] for k in clocks if k["status"] in ("running", "due", "satisfied")), None
        )
        next_date = min(dates) if dates else None
        items.add(
            {
                "id": case_id,
                "country": c[1],
                "treaty": c[2],
                "action": c[3],
                "state": state,
                "state_title": spec["title"],
                "next_date": next_date,
                "overdue": overdue,
                "blocked": not ready and not running and not overdue,
                "steps": steps,
                "clocks": clocks,
                "effective_on": eff,
                "flags": st["flags"],
            },
            key=(next_date is None, next_date or "", case_id),
        )
    con.execute("COMMIT")
    skeleton = {"as_of": as_of.isoformat(), "known_at": None, "cases": "@@cases@@"}
    _assemble(out, skeleton, {"cases": (items, True)})


_HASHED = (
    "case_id",
    "seq",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "occurred_on",
    "recorded_at",
    "actor",
    "sources",
    "note",
    "data",
    "prev_hash",
)
_EVENT_COLUMNS = ", ".join(_HASHED[1:]) + ", hash"


def _hash(fields: dict[str, Any]) -> str:
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _chain_ok(case_id: str, rows: list[Any]) -> bool:
    prev = None
    for r in rows:
        fields = dict(zip(_HASHED, (case_id, *r[1:-1]), strict=True))
        fields["sources"] = json.loads(fields["sources"])
        fields["data"] = json.loads(fields["data"])
        if fields["prev_hash"] != prev or _hash(fields) != r[-1]:
            return False
        prev = r[-1]
    return True


def report(path: str, as_of: dt.date, out: Any) -> None:
    con = _connect(path)
    con.execute("BEGIN")
    defs, cases = Defs(con), _cases(con)
    out_cases, summary, rows_m = Spool(2), Spool(2), Spool(3)
    columns: dict[str, bool] = {}
    failed = []
    n_events = n_cases = 0
    for case_id, events in _grouped(con, _EVENT_COLUMNS):
        c = cases[case_id]
        proc, treaty = defs.proc[c[5]], defs.treaty[c[6]]
        verified = _chain_ok(case_id, events)
        if not verified:
            failed.append({"case": case_id})
        n_events += len(events)
        # (seq, kind, to_state, occurred_on, data) for the fold
        st = _fold([(e[0], e[1], e[2], e[5], e[6], e[11]) for e in events], as_of)
        state = st["state"]
        spec = proc["states"][state]
        clocks = _clocks(proc, treaty, c[3], st, as_of)
        steps = defs.steps(proc, state)
        timeline, path_ = [], []
        for e in events:
            _, seq, kind, trigger, from_s, to_s, on, rec, actor, srcs, note, data_t, _, h = e
            if on > as_of.isoformat():
                continue
            data = json.loads(data_t)
            timeline.append(
                {
                    "seq": seq,
                    "kind": kind,
                    "trigger": trigger,
                    "from_state": from_s,
                    "to_state": to_s,
                    "occurred_on": on,
                    "legal_date": on,
                    "corrected_by": [],
                    "recorded_at": rec,
                    "actor": actor,
                    "change": f"{from_s} -> {to_s}",
                    "sources": json.loads(srcs),
                    "note": note,
                    "flags": data.get("flags", []),
                    "reason": data.get("reason"),
                    "backdate_reason": data.get("backdate_reason"),
                    "correction": None,
                    "facts": data.get("facts", {}),
                    "hash": h,
                }
            )
            if to_s and (not path_ or path_[-1] != to_s):
                path_.append(to_s)
        dates = [k["due_on"] for k in clocks if k["due_on"] and k["status"] in ("running", "due")]
        next_date = min(dates) if dates and not spec.get("final") else None
        eff = next(
            (k["due_on"] for k in clocks if k["status"] in ("running", "due", "satisfied")), None
        )
        cells = {}
        for s, on in st["entered"].items():
            milestone = proc["states"][s].get("milestone")
            if milestone:
                columns[milestone] = True
                cells[milestone] = {"date": on, "state": s, "notes": []}
        n_cases += 1
        rows_m.add(
            {
                "case": case_id,
                "country": c[1],
                "treaty": c[2],
                "action": c[3],
                "state": state,
                "cells": cells,
                "expected": {"effective": eff} if eff else {},
            }
        )
        summary.add(
            {
                "case": case_id,
                "country": c[1],
                "treaty": c[2],
                "action": c[3],
                "state": state,
                "state_title": spec["title"],
                "next_date": next_date,
                "next": None,
                "effective_on": eff,
                "flags": st["flags"],
                "verified": verified,
            }
        )
        out_cases.add(
            {
                "id": case_id,
                "country": c[1],
                "treaty": c[2],
                "treaty_name": treaty.get("short_name"),
                "action": c[3],
                "procedure": c[4],
                "procedure_title": proc["doc"]["title"],
                "procedure_hash": c[5],
                "procedure_current": True,
                "state": state,
                "state_title": spec["title"],
                "final": bool(spec.get("final")),
                "opened_on": c[8],
                "last_on": st["last_on"],
                "effective_on": eff,
                "next_date": next_date,
                "facts": st["facts"],
                "flags": st["flags"],
                "out_of_procedure": "out-of-procedure" in st["flags"],
                "contested": "contested" in st["flags"],
                "month_end_review": False,
                "clocks": clocks,
                "path": path_,
                "timeline": timeline,
                "pending": [] if spec.get("final") else steps,
                "procedure_graph": proc["graph"],
                "integrity": {
                    "events": len(events),
                    "shown": len(timeline),
                    "head": events[-1][13],
                    "verified": verified,
                    "first_bad_seq": None,
                    "reason": None,
                },
            }
        )
    con.execute("COMMIT")
    skeleton = {
        "schema": "treatyflow.report/1",
        "kind": "portfolio",
        "title": f"Portfolio report: {n_cases} case(s)",
        "as_of": as_of.isoformat(),
        "known_at": None,
        "generated_at": None,
        "filters": {},
        "integrity": {
            "cases": n_cases,
            "events": n_events,
            "verified": n_cases - len(failed),
            "failed": failed,
        },
        "summary": "@@summary@@",
        "matrix": {"columns": list(columns), "rows": "@@rows@@", "footnotes": []},
        "cases": "@@cases@@",
    }
    _assemble(
        out,
        skeleton,
        {"summary": (summary, False), "rows": (rows_m, False), "cases": (out_cases, False)},
    )


def verify(path: str) -> dict[str, Any]:
    con = _connect(path)
    con.execute("BEGIN")
    heads = {r[0]: r[1] for r in con.execute("SELECT id, head_hash FROM cases")}
    bad = []
    for case_id, rows in _grouped(con, _EVENT_COLUMNS):
        if not _chain_ok(case_id, rows) or rows[-1][-1] != heads.get(case_id):
            bad.append(case_id)
    con.execute("COMMIT")
    return {"ok": not bad, "cases": len(heads), "problems": bad}


def _range_query(lo: str | None, hi: str | None, mark: str) -> tuple[str, list[str]]:
    """The query of the hashed columns of the events of case ids in [lo, hi) (no bound where
    None), in chain order, and its parameters; ``mark`` is the driver's placeholder."""
    where, params = [], []
    if lo is not None:
        where.append(f"case_id >= {mark}")
        params.append(lo)
    if hi is not None:
        where.append(f"case_id < {mark}")
        params.append(hi)
    sql = f"SELECT case_id, {_EVENT_COLUMNS} FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY case_id, seq", params


def _hash_rows(batches: Iterable[Iterable[Sequence[Any]]]) -> int:
    """SHA-256 the text of each row's 13 hashed columns and check each row links to the one
    before (rows of :func:`_range_query`, in batches as a driver fetches them); the number of
    rows."""
    sha, n, prev, unlinked = hashlib.sha256, 0, None, 0
    for rows in batches:
        for row in rows:
            # (case_id, seq, ..., prev_hash, hash): the 13 hashed columns' text, and the link
            sha("\x1f".join([str(v) for v in row[:13]]).encode("utf-8")).hexdigest()
            if row[1] == 1:
                prev = None
            unlinked += row[12] != prev
            prev = row[13]
            n += 1
    assert unlinked == 0, unlinked
    return n


def _limit_range(args: tuple[str, str | None, str | None]) -> int:
    """Read the hashed columns of the events of case ids in [lo, hi) and SHA-256 their text."""
    path, lo, hi = args
    sql, params = _range_query(lo, hi, "?")
    con = sqlite3.connect(path)
    try:
        return _hash_rows([con.execute(sql, params)])
    finally:
        con.close()


def limit(path: str) -> dict[str, Any]:
    """The read+hash limit of a verify pass: every event's columns read with ``sqlite3`` and
    the SHA-256 of their text (about the canonical text's size; no JSON is built), the case
    ids split into one range per core, one process each (fork), as treatyflow's pass is."""
    import multiprocessing
    import os
    import time

    t0 = time.perf_counter()
    con = sqlite3.connect(path)
    ids = [r[0] for r in con.execute("SELECT id FROM cases ORDER BY id")]
    con.close()
    workers = max(1, os.cpu_count() or 1)
    cuts = [ids[len(ids) * k // workers] for k in range(1, workers)] if ids else []
    bounds = [None, *cuts, None]
    ranges = [(path, bounds[k], bounds[k + 1]) for k in range(workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        events = sum(pool.map(_limit_range, ranges))
    return {"events": events, "seconds": time.perf_counter() - t0, "workers": workers}


def _pg_conninfo(url: str) -> str:
    """A libpq URI from a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://...``)."""
    scheme, sep, rest = url.partition("://")
    return "postgresql" + sep + rest if scheme.startswith("postgresql") else url


def _limit_range_pg(args: tuple[str, str | None, str | None]) -> int:
    """:func:`_limit_range` on PostgreSQL: a server-side cursor in one REPEATABLE READ,
    read-only snapshot, fetched 5,000 rows at a time."""
    import psycopg

    url, lo, hi = args
    sql, params = _range_query(lo, hi, "%s")
    with psycopg.connect(_pg_conninfo(url)) as con:
        con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        con.read_only = True
        with con.cursor(name="limit") as cur:
            cur.execute(sql, params)
            n = _hash_rows(iter(lambda: cur.fetchmany(5000), []))
        con.rollback()
    return n


def limit_pg(url: str) -> dict[str, Any]:
    """:func:`limit` on PostgreSQL (``url``: a SQLAlchemy or libpq URL): the case ids cut
    into one range per core at quantiles, one forked process each, each reading its events
    through a server-side cursor (as treatyflow's pass does there)."""
    import multiprocessing
    import os
    import time

    import psycopg

    t0 = time.perf_counter()
    workers = max(1, os.cpu_count() or 1)
    with psycopg.connect(_pg_conninfo(url)) as con:
        count = con.execute("SELECT count(*) FROM cases").fetchone()[0]  # type: ignore[index]
        cut = "SELECT id FROM cases ORDER BY id LIMIT 1 OFFSET %s"
        found = [con.execute(cut, (count * k // workers,)).fetchone() for k in range(1, workers)]
    cuts = list(dict.fromkeys(row[0] for row in found if row is not None))
    bounds = [None, *cuts, None]
    ranges = [(url, bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]
    with multiprocessing.get_context("fork").Pool(len(ranges)) as pool:
        events = sum(pool.map(_limit_range_pg, ranges))
    return {"events": events, "seconds": time.perf_counter() - t0, "workers": len(ranges)}


def main(argv: list[str]) -> None:
    what, path = argv[0], argv[1]
    out = sys.stdout.buffer
    if what in ("verify", "limit", "limit-pg"):
        doc = {"verify": verify, "limit": limit, "limit-pg": limit_pg}[what](path)
        out.write((json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode())
    else:
        as_of = dt.date.fromisoformat(argv[2])
        (pending if what == "pending" else report)(path, as_of, out)
    out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
