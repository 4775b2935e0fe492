"""``report portfolio`` in Markdown, CSV and HTML is written case by case: the bytes of the
in-memory report (``render_report``, the reference) on the demo database, on generated
cases (several treaties and countries, broken chains, filters, ``known_at``) and on the
hostile report database; memory does not grow with the number of cases; a failure leaves
no partial file."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import random
import sqlite3
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from _reportdata import Run, _runner

import treatyflow
from treatyflow.app import reports as report_assembly
from treatyflow.app.core import Core
from treatyflow.app.workspace import Workspace
from treatyflow.catalog import load_catalog, shipped_workflows
from treatyflow.reports import model, render
from treatyflow.reports.spool import ObjectSpool, TextOut, write_lines
from treatyflow.reports.stream import write_portfolio
from treatyflow.store import open_store

FORMATS = ("md", "csv", "html", "json")
NO_FILTERS = report_assembly.Filters()
BENCH = Path(__file__).resolve().parents[2] / "bench"


def _gen() -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_gen_reports", BENCH / "gen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _workspace(db: Path) -> Workspace:
    return Workspace(Core(open_store(str(db)), load_catalog([shipped_workflows()])))


def _both(
    db: Path,
    fmt: str,
    *,
    as_of: dt.date,
    known_at: str | None = None,
    filters: report_assembly.Filters = NO_FILTERS,
) -> tuple[bytes, bytes]:
    """(streamed, in-memory) portfolio report of ``db``."""
    ws = _workspace(db)
    try:
        options: dict[str, Any] = {"as_of": as_of, "known_at": known_at, "generated_at": "now"}
        expected = report_assembly.render_report(
            ws._core, "portfolio", fmt, filters=filters, **options
        ).encode("utf-8")
        out = io.BytesIO()
        count = report_assembly.write_portfolio(ws._core, out, fmt, filters, **options)
        cases = report_assembly.triples(ws._core, filters, as_of=as_of, known_at=known_at)
        assert count == sum(1 for _ in cases)
    finally:
        ws.close()
    return out.getvalue(), expected


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from treatyflow.app.demo import load_example

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    with treatyflow.open(path, create=True, actor="analyst") as ws:
        load_example(ws, "ottawa-2025")
        ws.tick(as_of="2025-12-31")
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 generated cases (4 treaties, many countries, 5 shapes); 7 have a broken chain."""
    tmp = tmp_path_factory.mktemp("generated")
    db = Path(_gen().generate(tmp / "cases.db", 300, tmp))
    rng = random.Random(19)
    with sqlite3.connect(db) as conn:
        ids = [cid for (cid,) in conn.execute("SELECT id FROM cases ORDER BY id")]
        for cid in rng.sample(ids, 7):
            seq = rng.randint(1, 10)
            conn.execute(
                "UPDATE events SET note = 'edited <b>' WHERE case_id = ? AND seq = ?", (cid, seq)
            )
    return db


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("as_of", [dt.date(2025, 6, 30), dt.date(2026, 12, 31)])
def test_the_demo_portfolio_streamed_is_the_in_memory_report(
    demo_db: Path, fmt: str, as_of: dt.date
) -> None:
    streamed, expected = _both(demo_db, fmt, as_of=as_of)
    assert streamed == expected
    assert b"LTU" in streamed


FILTERS = [
    report_assembly.Filters(),
    report_assembly.Filters(country=("DEU", "FRA", "POL")),
    report_assembly.Filters(treaty=("ccm", "npt")),
    report_assembly.Filters(state=("notified",)),
    report_assembly.Filters(country=("ZZZ",)),  # no case at all
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: repr(f.shown()))
def test_generated_portfolio_streamed_is_the_in_memory_report(
    generated: Path, fmt: str, filters: report_assembly.Filters
) -> None:
    streamed, expected = _both(generated, fmt, as_of=dt.date(2025, 5, 1), filters=filters)
    assert streamed == expected
    if fmt == "md" and not filters.shown():
        assert b"CHAIN FAILS" in streamed and b"\\[1\\]" in streamed  # failures, footnotes


@pytest.mark.parametrize("fmt", FORMATS)
def test_generated_portfolio_known_at_streamed_is_the_in_memory_report(
    generated: Path, fmt: str
) -> None:
    streamed, expected = _both(
        generated, fmt, as_of=dt.date(2026, 1, 1), known_at="2025-01-01T00:01:40.000000Z"
    )
    assert streamed == expected
    full, _ = _both(generated, fmt, as_of=dt.date(2026, 1, 1))
    assert streamed != full, "known_at hides events: the reports differ"


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_portfolio_streamed_is_the_in_memory_report(report_db: Path, fmt: str) -> None:
    streamed, expected = _both(report_db, fmt, as_of=dt.date(2025, 12, 31))
    assert streamed == expected
    assert b"<script>" not in streamed or fmt in ("csv", "json")


def test_the_html_template_is_rendered_per_case_not_looked_ahead() -> None:
    """Each case's drawings are made when its section is rendered, from that case only."""
    from treatyflow.reports.html import _Current, _OfCurrent

    current = _Current([{"id": "A"}, {"id": "B"}])
    drawn = _OfCurrent(current, lambda c: f"drawing of {c['id']}")
    seen = []
    for case in current:
        seen.append(drawn[case["id"]])
        with pytest.raises(KeyError):
            drawn["A" if case["id"] == "B" else "B"]
    assert seen == ["drawing of A", "drawing of B"]
    with pytest.raises(KeyError):
        drawn["B"]


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [""],
        ["", "", ""],
        ["a"],
        ["a", "", ""],
        ["a\n", "", "b", ""],
        ["", "a", "\n\n", "b\n", ""],
    ],
)
def test_write_lines_is_join_and_one_final_newline(lines: list[str]) -> None:
    out = io.BytesIO()
    sink = TextOut(out, size=1)
    write_lines(sink, iter(lines))
    sink.flush()
    assert out.getvalue().decode() == "\n".join(lines).rstrip("\n") + "\n"


def test_write_lines_on_random_lines() -> None:
    rng = random.Random(7)
    for _ in range(300):
        lines = [rng.choice(["", "x", "\n", "y\n\n", "é z"]) for _ in range(rng.randint(0, 9))]
        out = io.BytesIO()
        sink = TextOut(out, size=rng.randint(1, 8))
        write_lines(sink, lines)
        sink.flush()
        assert out.getvalue() == ("\n".join(lines).rstrip("\n") + "\n").encode()


def test_object_spool_gives_its_items_back_exactly_even_interleaved() -> None:
    items: list[Any] = [{"a": (1, 2)}, [None, 1.5, "é"], {"k": {3: "int key"}}]
    with ObjectSpool() as spool:
        for item in items:
            spool.add(item)
        assert list(spool) == items and len(spool) == 3
        outer = iter(spool)
        assert next(outer) == items[0]
        assert list(spool) == items
        assert list(outer) == items[1:]


def _copies(triple: model.Triple, n: int) -> Iterator[model.Triple]:
    """``n`` copies of the case under new ids, each chain re-hashed (so each verifies)."""
    from treatyflow.chain import HASHED_FIELDS, event_hash

    view, history, procedure = triple
    for i in range(n):
        cid = f"CASE-{i:06d}"
        rows, prev = [], None
        for row in sorted(history, key=lambda r: int(r["seq"])):
            copy = {**row, "case_id": cid, "prev_hash": prev}
            copy["hash"] = prev = event_hash({k: copy[k] for k in copy if k in HASHED_FIELDS})
            rows.append(copy)
        yield {**view, "id": cid}, rows, procedure


class _Null(io.RawIOBase):
    """An output that keeps nothing."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


def _peak(triple: model.Triple, fmt: str, n: int) -> int:
    tracemalloc.start()
    try:
        write_portfolio(_Null(), fmt, _copies(triple, n), as_of=dt.date(2026, 1, 1))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow  # ~55 s over the three formats: a soak, run by make test-long
@pytest.mark.parametrize("fmt", ["md", "csv", "html"])
def test_memory_does_not_grow_with_the_number_of_cases(
    demo_db: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten times the cases, about the same peak: no format holds the cases or their text
    (the in-memory report's peak grows tenfold). The output goes to a sink that keeps
    nothing. The matrix footnotes are kept until the end (the matrix is written before the
    cases, its footnotes numbered by first use): every copy of the case would add its own,
    so here the cases have none."""
    monkeypatch.setattr("treatyflow.reports.matrix._footnotes", lambda *_: [])
    ws = _workspace(demo_db)
    try:
        triple = next(report_assembly.triples(ws._core, as_of=dt.date(2026, 1, 1), known_at=None))
    finally:
        ws.close()
    built = model.build_case(*next(_copies(triple, 1)), as_of=dt.date(2026, 1, 1))
    assert built["integrity"]["verified"], "a broken chain would be listed in the header"
    _peak(triple, fmt, 5)  # templates compiled, modules imported
    small, large = _peak(triple, fmt, 100), _peak(triple, fmt, 1000)
    assert large < 2 * small, (small, large)


def test_cli_portfolio_in_every_text_format_streams_the_in_memory_bytes(
    run: Run, report_db: Path, tmp_path: Path
) -> None:
    ws = _workspace(report_db)
    try:
        for fmt in ("md", "csv", "html"):
            expected = ws.report("portfolio", fmt, as_of="2025-12-31", country=["LTU", "FIN"])
            args = ("report", "portfolio", "--format", fmt, "--as-of", "2025-12-31")
            filters = ("--country", "LTU", "--country", "FIN")
            assert run(*args, *filters).stdout == expected
            out = tmp_path / f"p.{fmt}"
            run(*args, *filters, "-o", str(out))
            assert out.read_bytes() == expected.encode("utf-8")
            assert out.stat().st_mode & 0o777 == 0o600
    finally:
        ws.close()


@pytest.mark.parametrize("fmt", ["md", "csv", "html"])
def test_a_failure_while_writing_leaves_no_file(
    report_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """The report dies at its second case: -o leaves neither the file nor a temporary."""
    real = model.build_case
    built = 0

    def build_case(*args: Any, **kwargs: Any) -> Any:
        nonlocal built
        built += 1
        if built == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr("treatyflow.reports.stream.build_case", build_case)
    target = tmp_path / "out" / f"p.{fmt}"
    target.parent.mkdir()
    result = _runner(report_db)(
        "report", "portfolio", "--format", fmt, "-o", str(target), ok=False
    )
    assert result.exit_code != 0 and built == 2
    assert list(target.parent.iterdir()) == []


def test_render_markdown_of_an_in_memory_report_is_unchanged(report_db: Path) -> None:
    """The reference renderers still take plain lists (the in-memory report)."""
    ws = _workspace(report_db)
    try:
        chosen = list(
            report_assembly.triples(ws._core, as_of=dt.date(2025, 12, 31), known_at=None)
        )
    finally:
        ws.close()
    built = model.build_report("portfolio", chosen, as_of=dt.date(2025, 12, 31))
    text = render.render(built, "md")
    assert text.endswith("`treatyflow verify`.\n") and not text.endswith("\n\n")


def test_the_workspace_writes_the_portfolio_the_report_renders(tmp_path: Path) -> None:
    """``Workspace.write_portfolio`` (the API the CLI calls) gives ``report``'s bytes."""
    from treatyflow.app.demo import load_example

    with treatyflow.open(tmp_path / "w.db", actor="analyst", create=True) as ws:
        load_example(ws, "ottawa-2025")
        for fmt in ("md", "csv", "html", "json"):
            buf = io.BytesIO()
            count = ws.write_portfolio(buf, fmt, as_of="2025-12-31", country=["LTU", "LVA"])
            expected = ws.report("portfolio", fmt, as_of="2025-12-31", country=["LTU", "LVA"])
            assert buf.getvalue().decode("utf-8") == expected and count >= 2
