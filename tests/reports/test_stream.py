"""The streamed portfolio JSON (and ``pending --json``) are the in-memory documents, byte for
byte: same model, same order, same integrity statement, with or without filters."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
from pathlib import Path

import pytest
from _reportdata import Run, _runner, build

from treatyflow.app import reports as report_assembly
from treatyflow.app.core import Core
from treatyflow.app.workspace import Workspace
from treatyflow.catalog import load_catalog, shipped_workflows
from treatyflow.reports import model, render
from treatyflow.reports.stream import write_portfolio_json
from treatyflow.results import PendingItem
from treatyflow.store import open_store

AS_OF = dt.date(2025, 12, 31)


def _workspace(db: Path) -> Workspace:
    return Workspace(Core(open_store(str(db)), load_catalog([shipped_workflows()])))


def _both(db: Path, **filters: str) -> tuple[bytes, bytes]:
    svc = _workspace(db)
    triples = list(report_assembly.triples(svc._core, as_of=AS_OF, known_at=None))
    expected = render.render(
        model.build_report("portfolio", triples, as_of=AS_OF, filters=filters), "json"
    ).encode("utf-8")
    out = io.BytesIO()
    count = write_portfolio_json(
        out,
        report_assembly.triples(svc._core, as_of=AS_OF, known_at=None),
        as_of=AS_OF,
        filters=filters,
    )
    assert count == len(triples)
    svc.store.engine.dispose()
    return out.getvalue(), expected


def test_streamed_portfolio_equals_the_model_rendered_as_json(report_db: Path) -> None:
    streamed, expected = _both(report_db, country="LTU")
    assert streamed == expected
    doc = json.loads(streamed)
    assert doc["matrix"]["footnotes"], "the data has footnotes: the matrix part is exercised"
    assert len(doc["cases"]) == len(doc["summary"]) == len(doc["matrix"]["rows"]) >= 4


def test_streamed_portfolio_reports_a_broken_chain_like_the_model(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    build(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE events SET note = 'edited' WHERE case_id = 'LTU-1' AND seq = 2")
    streamed, expected = _both(db)
    assert streamed == expected
    assert json.loads(streamed)["integrity"]["failed"][0]["case"] == "LTU-1"


def test_streamed_portfolio_of_no_case(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    _runner(db)("init")
    streamed, expected = _both(db)
    assert streamed == expected
    assert json.loads(streamed)["cases"] == []


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--country", "LTU"),
        ("--state", "notified"),
        ("--treaty", "ottawa", "--country", "EST", "--country", "POL"),
    ],
)
def test_cli_portfolio_json_matches_the_in_memory_renderer(
    run: Run, report_db: Path, args: tuple[str, ...]
) -> None:
    """The CLI streams JSON; its bytes equal the Markdown path's model rendered as JSON."""
    filters: dict[str, list[str]] = {"country": [], "treaty": [], "state": []}
    names = {"--country": "country", "--treaty": "treaty", "--state": "state"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        filters[names[flag]].append(value)
    ws = _workspace(report_db)
    try:
        expected = ws.report("portfolio", "json", **filters, as_of=AS_OF)
    finally:
        ws.close()
    got = run("report", "portfolio", "--format", "json", "--as-of", AS_OF.isoformat(), *args)
    assert got.stdout == expected
    assert json.loads(got.stdout)["cases"] or args[:2] == ("--state", "notified")


def test_cli_portfolio_json_to_a_file_is_the_same_bytes(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    to_stdout = run("report", "portfolio", "--json", "--as-of", AS_OF.isoformat()).stdout
    run("report", "portfolio", "--json", "--as-of", AS_OF.isoformat(), "-o", str(out))
    assert out.read_text(encoding="utf-8") == to_stdout
    assert out.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("by", [None, "actor", "country", "treaty"])
def test_cli_pending_json_is_the_sorted_listing(run: Run, report_db: Path, by: str | None) -> None:
    from treatyflow.app.queries import group_ids

    svc = _workspace(report_db)
    items = list(svc.pending(as_of=AS_OF).cases)
    svc.store.engine.dispose()
    assert items == sorted(items, key=PendingItem.sort_key) and items
    doc: dict[str, object] = {
        "as_of": AS_OF.isoformat(),
        "known_at": None,
        "cases": [i.to_dict() for i in items],
    }
    if by:
        doc["groups"] = {k: list(v) for k, v in group_ids(items, by).items()}
    args = ("--by", by) if by else ()
    got = run("pending", "--json", "--as-of", AS_OF.isoformat(), *args).stdout
    assert got == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
