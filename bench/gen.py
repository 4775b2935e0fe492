"""Synthetic treatyflow databases, fast and valid.

A handful of *template* cases are made through treatyflow's own Workspace (so every event is
one the engine accepts), then replicated N times under new case ids: each copy's events
are re-chained and re-hashed with :func:`treatyflow.chain.event_hash` (the function the
app layer itself seals events with), so ``treatyflow verify`` accepts every generated case.
The pinned definition snapshots come from the template database. Rows go in with raw
``sqlite3`` ``executemany`` into a schema made by treatyflow's own migrations.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from treatyflow.app.core import Core
from treatyflow.app.workspace import Workspace
from treatyflow.bundle import CASE_FIELDS, EVENT_FIELDS
from treatyflow.catalog import load_catalog, shipped_workflows
from treatyflow.chain import event_hash
from treatyflow.evidence import EvidenceLevel, Source
from treatyflow.store import migrate, open_store

#: The legal date pending/report are asked about.
AS_OF = dt.date(2025, 5, 1)
TODAY = dt.date(2025, 5, 1)
EVENTS_PER_CASE = 10

COUNTRIES = [
    "AUT",
    "BEL",
    "BGR",
    "HRV",
    "CYP",
    "CZE",
    "DNK",
    "DEU",
    "GRC",
    "HUN",
    "IRL",
    "ITA",
    "LUX",
    "MLT",
    "NLD",
    "PRT",
    "ROU",
    "SVK",
    "SVN",
    "ESP",
    "SWE",
    "NOR",
    "ISL",
    "CHE",
    "GBR",
    "CAN",
    "USA",
    "MEX",
    "BRA",
    "ARG",
    "CHL",
    "PER",
    "COL",
    "AUS",
    "NZL",
    "JPN",
    "KOR",
    "IND",
    "ZAF",
    "NGA",
    "KEN",
    "EGY",
]

# The same column order as treatyflow's own bundles.
EVENT_COLUMNS = EVENT_FIELDS
CASE_COLUMNS = CASE_FIELDS


@dataclass
class Template:
    case: dict[str, Any]
    events: list[dict[str, Any]]  # hashed fields (JSON-ready), without "hash"


def _clock() -> Any:
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    n = 0

    def now() -> str:
        nonlocal n
        n += 1
        return (start + dt.timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    return now


def empty_db(path: Path) -> None:
    """A database with treatyflow's schema (its own migrations) and nothing in it."""
    store = open_store(str(path), create=True)
    migrate.upgrade(store)
    store.engine.dispose()


def make_templates(workdir: Path) -> tuple[list[Template], list[tuple[Any, ...]]]:
    """Five 10-event cases through the Workspace: running, due, early, effective, corrected."""
    path = workdir / "templates.db"
    path.unlink(missing_ok=True)
    empty_db(path)
    store = open_store(str(path))
    svc = Workspace(
        Core(store, load_catalog([shipped_workflows()]), now=_clock(), today=lambda: TODAY),
        actor="analyst",
    )
    src = Source(citation="Depositary notification C.N.1.2025", level=EvidenceLevel.OFFICIAL)
    d = dt.date

    def case(cid: str, notify_on: dt.date | None, *, effective: bool = False) -> None:
        svc.open_case(
            country="EST",
            treaty="ottawa",
            procedure="generic",
            actor="analyst",
            id=cid,
            on=d(2023, 3, 1),
            facts={"armed_conflict": "false"},
        )
        svc.note(cid, "Press reports of a review", on=d(2023, 3, 5), actor="analyst")
        svc.record(cid, "statement", on=d(2023, 4, 1), actor="analyst", by="MFA")
        svc.advance(cid, "decide", on=d(2023, 6, 1), actor="analyst")
        if notify_on is not None:
            svc.advance(cid, "notify", on=notify_on, actor="analyst", sources=[src])
        if effective:
            svc.tick_case(cid, as_of=d(2025, 4, 1))
        if cid == "T-corrected":  # the depositary's receipt was a day later
            svc.correct(cid, 5, on=d(2024, 9, 3), reason="Receipt date", actor="analyst")
        while svc.case(cid, as_of=d(2030, 1, 1)).version < EVENTS_PER_CASE:
            svc.note(cid, "Follow-up", on=d(2025, 4, 1), actor="analyst")

    case("T-running", d(2025, 1, 10))
    case("T-due", d(2024, 6, 3))
    case("T-early", None)
    case("T-effective", d(2024, 3, 1), effective=True)
    case("T-corrected", d(2024, 9, 2))
    with store.read() as conn:
        cases = {r.id: r for r in store.list_cases(conn)}
        templates = []
        for cid, record in cases.items():
            rows = list(store.event_rows(conn, cid))
            for row in rows:
                row.pop("hash")
            case_row = record.to_row()
            templates.append(Template(case_row, rows))
        defs = [
            tuple(d[k] for k in ("hash", "kind", "definition_id", "content", "stored_at"))
            for d in store.all_definitions(conn)
        ]
    store.engine.dispose()
    return templates, defs


def generate(path: Path, n_cases: int, workdir: Path, *, schema: Path | None = None) -> Path:
    """A database of ``n_cases`` cases of 10 events each, every chain valid."""
    t0 = time.perf_counter()
    templates, defs = make_templates(workdir)
    if schema is None:
        schema = workdir / "schema.db"
        if not schema.exists():
            empty_db(schema)
    shutil.copyfile(schema, path)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO definitions (hash, kind, definition_id, content, stored_at) "
        "VALUES (?, ?, ?, ?, ?)",
        defs,
    )
    case_sql = f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * 15)})"
    event_sql = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * 14)})"
    # JSON text of the columns that do not depend on the case id, once per template event
    pre = [
        [
            (
                json.dumps(e["sources"], sort_keys=True, ensure_ascii=False),
                json.dumps(e["data"], sort_keys=True, ensure_ascii=False),
            )
            for e in t.events
        ]
        for t in templates
    ]
    case_batch: list[tuple[Any, ...]] = []
    event_batch: list[tuple[Any, ...]] = []
    for i in range(n_cases):
        k = i % len(templates)
        t = templates[k]
        country = COUNTRIES[i % len(COUNTRIES)]
        cid = f"{country}-ottawa-{i:07d}"
        prev: str | None = None
        for e, (sources_text, data_text) in zip(t.events, pre[k], strict=True):
            fields = dict(e)
            if e["seq"] == 1 and "case" in e["data"]:
                # The opening event records the case row's identity (verify checks the row
                # against it): this copy's country.
                data = {**e["data"], "case": {**e["data"]["case"], "country": country}}
                fields["data"] = data
                data_text = json.dumps(data, sort_keys=True, ensure_ascii=False)
            fields["case_id"] = cid
            fields["prev_hash"] = prev
            h = event_hash(fields)
            event_batch.append(
                (
                    cid,
                    e["seq"],
                    e["kind"],
                    e["trigger"],
                    e["from_state"],
                    e["to_state"],
                    e["occurred_on"],
                    e["recorded_at"],
                    e["actor"],
                    sources_text,
                    e["note"],
                    data_text,
                    prev,
                    h,
                )
            )
            prev = h
        row = dict(t.case)
        row.update(id=cid, country=country, head_hash=prev)
        case_batch.append(tuple(row[c] for c in CASE_COLUMNS))
        if len(event_batch) >= 50_000:
            con.executemany(case_sql, case_batch)
            con.executemany(event_sql, event_batch)
            case_batch, event_batch = [], []
    con.executemany(case_sql, case_batch)
    con.executemany(event_sql, event_batch)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print(
        f"  generated {n_cases:,} cases / {n_cases * EVENTS_PER_CASE:,} events "
        f"in {time.perf_counter() - t0:.1f} s -> {path.name}",
        flush=True,
    )
    return path


if __name__ == "__main__":
    import sys
    import tempfile

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp()) / "gen.db"
    generate(out, n, out.parent)
    print(out)
