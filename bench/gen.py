"""Synthetic treatyflow databases, fast and valid, with the demo's variety.

A handful of *template* cases are made through treatyflow's own Workspace (so every event is
one the engine accepts): five shapes (clock running, clock due, still deciding, taken
effect, notification date corrected) under each of several treaties, every one with a fact
set after opening. They are replicated N times under new case ids in many countries. Every
copy gets its own citation on every event (a distinct ``sources`` text: citation, URL and
date name the case and the event) and its own note on every event, like real data (in the
demo database 48 of 49 sources are unique); each copy's events are then re-chained and
re-hashed with :func:`treatyflow.chain.event_hash` (the function the app layer itself seals
events with), so ``treatyflow verify`` accepts every generated case. The pinned definition
snapshots come from the template database. Rows go in with raw ``sqlite3`` ``executemany``
into a schema made by treatyflow's own migrations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event

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
#: Treaties with a withdrawal clause the generic procedure serves and the reference's clock
#: arithmetic covers (6 months, 3 months, 1 year; receipt and notice anchors).
TREATIES = ("ottawa", "ccm", "npt", "rome-statute")
SHAPES = ("running", "due", "early", "effective", "corrected")
#: Where case ids of the single-group databases start (``case open`` without ``--id``).
GROUP = ("EST", "ottawa", 2023)

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


def _no_sync(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA synchronous = OFF")


_TEMPLATES: dict[tuple[str, ...], tuple[list[Template], list[tuple[Any, ...]]]] = {}


def templates_for(
    workdir: Path, treaties: tuple[str, ...]
) -> tuple[list[Template], list[tuple[Any, ...]]]:
    """:func:`make_templates`, once per process and set of treaties."""
    if treaties not in _TEMPLATES:
        _TEMPLATES[treaties] = make_templates(workdir, treaties)
    return _TEMPLATES[treaties]


def make_templates(
    workdir: Path, treaties: tuple[str, ...] = TREATIES
) -> tuple[list[Template], list[tuple[Any, ...]]]:
    """Five 10-event cases per treaty through the Workspace: running, due, early, effective,
    corrected; each opened with a fact and with the fact set again later."""
    path = workdir / "templates.db"
    path.unlink(missing_ok=True)
    empty_db(path)
    store = open_store(str(path))
    # a scratch database: no fsync per template write (the data, not the disk, is the point)
    sa_event.listen(store.engine, "connect", _no_sync)
    svc = Workspace(
        Core(store, load_catalog([shipped_workflows()]), now=_clock(), today=lambda: TODAY),
        actor="analyst",
    )
    src = Source(citation="Depositary notification C.N.1.2025", level=EvidenceLevel.OFFICIAL)
    d = dt.date

    def case(cid: str, treaty: str, shape: str) -> None:
        notify_on = {
            "running": d(2025, 1, 10),
            "due": d(2024, 6, 3),
            "early": None,
            "effective": d(2024, 3, 1),
            "corrected": d(2024, 9, 2),
        }[shape]
        svc.open_case(
            country="EST",
            treaty=treaty,
            procedure="generic",
            actor="analyst",
            id=cid,
            on=d(2023, 3, 1),
            facts={"armed_conflict": "false"},
        )
        svc.note(cid, "Press reports of a review", on=d(2023, 3, 5), actor="analyst")
        svc.record(cid, "statement", on=d(2023, 4, 1), actor="analyst", by="MFA")
        svc.set_fact(cid, "armed_conflict", "false", on=d(2023, 5, 2), actor="analyst")
        svc.advance(cid, "decide", on=d(2023, 6, 1), actor="analyst")
        if notify_on is not None:
            svc.advance(cid, "notify", on=notify_on, actor="analyst", sources=[src])
        if shape == "effective":
            svc.tick_case(cid, as_of=d(2025, 4, 1))
        if shape == "corrected":  # the depositary's receipt was a day later
            svc.correct(cid, 6, on=d(2024, 9, 3), reason="Receipt date", actor="analyst")
        while svc.case(cid, as_of=d(2030, 1, 1)).version < EVENTS_PER_CASE:
            svc.note(cid, "Follow-up", on=d(2025, 4, 1), actor="analyst")

    order = []
    for treaty in treaties:
        for shape in SHAPES:
            cid = f"T-{treaty}-{shape}"
            case(cid, treaty, shape)
            order.append(cid)
    with store.read() as conn:
        cases = {r.id: r for r in store.list_cases(conn)}
        templates = []
        for cid in order:
            rows = list(store.event_rows(conn, cid))
            for row in rows:
                row.pop("hash")
            templates.append(Template(cases[cid].to_row(), rows))
        defs = [
            tuple(d[k] for k in ("hash", "kind", "definition_id", "content", "stored_at"))
            for d in store.all_definitions(conn)
        ]
    store.engine.dispose()
    return templates, defs


def group_case_id(i: int) -> str:
    """The id ``case open`` without ``--id`` gives the (i+1)-th case of GROUP."""
    country, treaty, year = GROUP
    base = f"{country}-{treaty}-{year}"
    return base if i == 0 else f"{base}-{i + 1}"


_LEVEL = {True: "official", False: "reported"}
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]
_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


class _Plan:
    """One template event's canonical JSON with slots for what each copy changes.

    The text is :func:`treatyflow.chain.canonical_json` of the event's fields (keys sorted,
    no white space, NFC strings: the template's text is checked to be NFC, so encoding it
    as it is gives the canonical bytes); :func:`generate` checks the result against
    ``event_hash`` on a sample of events.
    """

    SLOTS = ("case_id", "note", "sources", "prev_hash")

    def __init__(self, e: dict[str, Any]) -> None:
        text = _CANON(e)
        assert unicodedata.is_normalized("NFC", text), "template text must be NFC"
        self.opening = e["seq"] == 1 and "case" in e["data"]
        self.data = e["data"]
        self.data_text = json.dumps(e["data"], sort_keys=True, ensure_ascii=False)
        self.level = _LEVEL[bool(e["sources"])]
        self.note = e["note"] or e["kind"].capitalize()
        marked = dict(e, **{k: f"@@{k}@@" for k in self.SLOTS})
        if self.opening:
            marked["data"] = self.data_for("@@country@@")
        self.parts = _CANON(marked)

    def data_for(self, country: str) -> dict[str, Any]:
        return {**self.data, "case": {**self.data["case"], "country": country}}

    def canonical(
        self,
        case_id: str,
        country: str,
        note: str,
        sources: str,
        prev: str | None,
    ) -> str:
        text = (
            self.parts.replace('"@@case_id@@"', _quote(case_id))
            .replace('"@@note@@"', _quote(note))
            .replace('"@@sources@@"', sources)
            .replace('"@@prev_hash@@"', "null" if prev is None else _quote(prev))
        )
        if self.opening:
            text = text.replace('"@@country@@"', _quote(country))
        return text


def generate(
    path: Path,
    n_cases: int,
    workdir: Path,
    *,
    schema: Path | None = None,
    single_group: bool = False,
) -> Path:
    """A database of ``n_cases`` cases of 10 events each, every chain valid.

    ``single_group``: every case of GROUP's country and treaty, with the ids ``case open``
    without ``--id`` hands out (``EST-ottawa-2023``, ``EST-ottawa-2023-2``, ...).
    """
    t0 = time.perf_counter()
    treaties = (GROUP[1],) if single_group else TREATIES
    templates, defs = templates_for(workdir, treaties)
    if schema is None:
        schema = workdir / "schema.db"
        if not schema.exists():
            empty_db(schema)
    shutil.copyfile(schema, path)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("BEGIN")
    # the search index is filled in one statement at the end, not by a trigger per row
    trigger = con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_fts_insert'"
    ).fetchone()
    if trigger:
        con.execute("DROP TRIGGER events_fts_insert")
    con.executemany(
        "INSERT INTO definitions (hash, kind, definition_id, content, stored_at) "
        "VALUES (?, ?, ?, ?, ?)",
        defs,
    )
    case_sql = f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * 15)})"
    event_sql = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * 14)})"
    dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
    plans = [[_Plan(e) for e in t.events] for t in templates]
    case_batch: list[tuple[Any, ...]] = []
    event_batch: list[tuple[Any, ...]] = []
    n_templates = len(templates)
    checked = 0
    for i in range(n_cases):
        # country and template vary together and apart: every (country, template) pair
        k = (i + i // len(COUNTRIES)) % n_templates
        t = templates[k]
        treaty = t.case["treaty"]
        if single_group:
            country, cid = GROUP[0], group_case_id(i)
        else:
            country = COUNTRIES[i % len(COUNTRIES)]
            cid = f"{country}-{treaty}-{i:07d}"
        prev: str | None = None
        for e, plan in zip(t.events, plans[k], strict=True):
            seq, on = e["seq"], e["occurred_on"]
            data_text = plan.data_text
            # every event its own citation and its own note
            # (plain ASCII without quotes or backslashes: JSON text by formatting, checked
            # against the encoder on the sample below)
            citation = f"{country} {treaty} {e['kind']} record {i}/{seq}"
            url = f"https://treaties.example.org/{country}/{i}/{seq}"
            sources_canonical = (
                f'[{{"citation":"{citation}","date":"{on}","level":"{plan.level}","url":"{url}"}}]'
            )
            sources_text = (
                f'[{{"citation": "{citation}", "date": "{on}", "level": "{plan.level}", '
                f'"url": "{url}"}}]'
            )
            note = f"{plan.note} ({country}, file {i}, entry {seq})"
            canonical = plan.canonical(cid, country, note, sources_canonical, prev)
            h = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
            if seq == 1 and plan.opening:
                # The opening event records the case row's identity (verify checks the row
                # against it): this copy's country.
                data_text = dumps(plan.data_for(country))
            if checked < 200 or i % 997 == 0:  # the fast text is event_hash's, checked
                checked += 1
                sources = [{"citation": citation, "date": on, "level": plan.level, "url": url}]
                assert sources_text == dumps(sources), sources_text
                fields = dict(e, case_id=cid, note=note, sources=sources, prev_hash=prev)
                if plan.opening:
                    fields["data"] = plan.data_for(country)
                assert event_hash(fields) == h, (cid, seq)
            event_batch.append(
                (
                    cid,
                    seq,
                    e["kind"],
                    e["trigger"],
                    e["from_state"],
                    e["to_state"],
                    on,
                    e["recorded_at"],
                    e["actor"],
                    sources_text,
                    note,
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
    if trigger:
        con.execute(
            "INSERT INTO events_fts (rowid, note, sources) "
            "SELECT id, note, sources FROM events_search"
        )
        con.execute(trigger[0])
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    # A database treatyflow keeps has a case projection row per case, written in the
    # transaction of every event (#19); rows inserted raw have none, so write them as
    # `treatyflow db reproject` does (otherwise every read folds every log, which is not
    # what an analyst's database does).
    import treatyflow

    with treatyflow.open(path) as ws:
        projected = ws.reproject()
    assert projected == n_cases, (projected, n_cases)
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
