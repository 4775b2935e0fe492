"""Export, offline verification and import of bundles (the demo as the example)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from treatyflow.bundle import FORMAT, definition_hash, read_bundle
from treatyflow.cli import main
from treatyflow.store import open_store


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _heads(db: str) -> list[tuple[str, int, str]]:
    store = open_store(db)
    try:
        with store.read() as conn:
            return store.heads(conn)
    finally:
        store.engine.dispose()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The demo database (SQLite) and its exported bundle."""
    where = tmp_path_factory.mktemp("demo")
    db = str(where / "demo.db")
    built = _run("--db", db, "demo", "--out", str(where / "reports"))
    assert built.exit_code == 0, built.output
    bundle = where / "demo.jsonl"
    exported = _run("--db", db, "export", "-o", str(bundle))
    assert exported.exit_code == 0, exported.output
    return db, bundle


def _tampered(bundle: Path, tmp_path: Path) -> Path:
    """A copy of the bundle with one byte of one event's note changed (still valid JSON)."""
    lines = bundle.read_bytes().splitlines(keepends=True)
    for n, line in enumerate(lines):
        obj = json.loads(line)
        if obj["type"] == "event" and obj["note"]:
            at = line.index(b'"note": "') + len(b'"note": "')
            lines[n] = line[:at] + (b"X" if line[at : at + 1] != b"X" else b"Y") + line[at + 1 :]
            break
    else:
        raise AssertionError("the demo has no event with a note")
    out = tmp_path / "tampered.jsonl"
    out.write_bytes(b"".join(lines))
    return out


def _rewrite(bundle: Path, tmp_path: Path, change: Any) -> Path:
    lines = [json.loads(line) for line in bundle.read_text(encoding="utf-8").splitlines()]
    lines = change(lines)
    out = tmp_path / "changed.jsonl"
    out.write_text(
        "".join(json.dumps(obj, sort_keys=True, ensure_ascii=False) + "\n" for obj in lines),
        encoding="utf-8",
    )
    return out


def test_bundle_is_self_describing(demo: tuple[str, Path]) -> None:
    """The bundle has a header, definitions, cases, events and a trailer with counts."""
    lines = [json.loads(x) for x in demo[1].read_text(encoding="utf-8").splitlines()]
    assert lines[0]["type"] == "header"
    assert lines[0]["format"] == FORMAT
    assert {"treatyflow_version", "exported_at"} <= set(lines[0])
    kinds = [x["type"] for x in lines]
    assert kinds[-1] == "trailer"
    assert lines[-1]["counts"] == {
        "definitions": kinds.count("definition"),
        "cases": kinds.count("case"),
        "events": kinds.count("event"),
    }
    assert kinds.count("case") == 6
    assert {"heads_digest", "body_digest"} <= set(lines[-1])


def test_verify_bundle_needs_no_database(demo: tuple[str, Path], tmp_path: Path) -> None:
    """verify --bundle succeeds offline and neither creates nor contacts the --db."""
    missing = tmp_path / "never.db"
    result = _run("--db", str(missing), "verify", "--bundle", str(demo[1]))
    assert result.exit_code == 0, result.output
    assert not missing.exists()
    unreachable = "postgresql+psycopg://u:pw@127.0.0.1:1/x"
    result = _run("--db", unreachable, "verify", "--bundle", str(demo[1]), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


def test_import_reproduces_the_chains(demo: tuple[str, Path], db_url: str) -> None:
    """Importing the demo bundle gives the same chain heads, and the chains verify."""
    result = _run("--db", db_url, "import", str(demo[1]))
    assert result.exit_code == 0, result.output
    assert _heads(db_url) == _heads(demo[0])
    assert _run("--db", db_url, "verify").exit_code == 0
    shown = _run("--db", db_url, "case", "show", "LTU-ottawa-2025", "--json")
    assert json.loads(shown.stdout)["state"] == "effective"


def _rows(db: str, table: str) -> list[dict[str, Any]]:
    store = open_store(db)
    try:
        with store.read() as conn:
            query = f"SELECT * FROM {table}"
            rows = [dict(r._mapping) for r in conn.exec_driver_sql(query)]
    finally:
        store.engine.dispose()
    if table == "events":
        for row in rows:
            del row["id"]  # the surrogate key, not part of an event
    return sorted(rows, key=lambda r: (r.get("case_id") or r.get("id"), r.get("seq", 0)))


def test_import_stores_every_row_as_the_service_wrote_it(
    demo: tuple[str, Path], tmp_path: Path
) -> None:
    """Cases and events imported are the exporting database's rows, column for column
    (the JSON text of facts, sources and data included)."""
    first = str(tmp_path / "source.db")
    assert _run("--db", first, "init").exit_code == 0
    for args in (
        ("case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1", "--at",
         "notified", "--on", "2025-06-27", "--source",
         "citation=Lietuvos Respublikos Seimo nutarimas „Dėl“; level=official"),
        ("case", "set-fact", "LTU-1", "armed_conflict=false", "--on", "2025-06-28"),
    ):  # fmt: skip
        made = _run("--db", first, *args, "--actor", "analyst")
        assert made.exit_code == 0, made.output
    bundle = tmp_path / "b.jsonl"
    assert _run("--db", first, "export", "-o", str(bundle)).exit_code == 0
    for original, path in ((demo[0], demo[1]), (first, bundle)):
        db = str(tmp_path / f"imported-{path.stem}.db")
        assert _run("--db", db, "import", str(path)).exit_code == 0
        for table in ("cases", "events"):
            assert _rows(db, table) == _rows(original, table)


def test_reexport_after_import_has_the_same_heads(
    demo: tuple[str, Path], db_url: str, tmp_path: Path
) -> None:
    """A bundle exported from an imported database carries the same heads digest."""
    assert _run("--db", db_url, "import", str(demo[1])).exit_code == 0
    again = tmp_path / "again.jsonl"
    assert _run("--db", db_url, "export", "-o", str(again)).exit_code == 0
    first, second = read_bundle(demo[1]), read_bundle(again)
    assert second.ok
    assert first.trailer is not None and second.trailer is not None
    assert first.trailer["heads_digest"] == second.trailer["heads_digest"]
    assert first.events == second.events


def test_tampered_bundle_is_refused_and_nothing_written(
    demo: tuple[str, Path], db_url: str, tmp_path: Path
) -> None:
    """One changed byte in an event: verify and import fail with exit 1; the DB stays empty."""
    bad = _tampered(demo[1], tmp_path)
    checked = _run("verify", "--bundle", str(bad))
    assert checked.exit_code == 1
    assert "FAIL" in checked.stdout and "seq" in checked.stdout
    result = _run("--db", db_url, "import", str(bad))
    assert result.exit_code == 1
    assert "does not verify" in result.stderr
    if db_url.startswith("sqlite:///"):
        assert not Path(db_url.removeprefix("sqlite:///")).exists()
    else:
        engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
        try:
            assert sa.inspect(engine).get_table_names() == []
        finally:
            engine.dispose()


def test_import_refuses_a_database_that_is_not_empty(demo: tuple[str, Path], db_url: str) -> None:
    """A second import into the same database is refused and adds nothing."""
    assert _run("--db", db_url, "import", str(demo[1])).exit_code == 0
    before = _heads(db_url)
    again = _run("--db", db_url, "import", str(demo[1]))
    assert again.exit_code == 1
    assert "not empty" in again.stderr
    assert _heads(db_url) == before


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("no trailer", lambda ls: ls[:-1], "no trailer"),
        (
            "event dropped",
            lambda ls: [x for i, x in enumerate(ls) if not (x["type"] == "event" and i == 20)],
            "seq",
        ),
        (
            "definition edited",
            lambda ls: [
                {**x, "content": x["content"].replace('"ottawa"', '"0ttawa"', 1)}
                if x["type"] == "definition"
                else x
                for x in ls
            ],
            "hashes to",
        ),
        (
            "case head changed",
            lambda ls: [
                {**x, "head_hash": "sha256:" + "0" * 64} if x["type"] == "case" else x for x in ls
            ],
            "head",
        ),
        (
            "not a bundle",
            lambda ls: [{**ls[0], "format": "something/else"}, *ls[1:]],
            "format",
        ),
    ],
)
def test_verify_bundle_names_the_problem(
    demo: tuple[str, Path], tmp_path: Path, name: str, change: Any, expected: str
) -> None:
    """Each kind of damage makes verify --bundle exit 1 with a message about it."""
    bad = _rewrite(demo[1], tmp_path, change)
    result = _run("verify", "--bundle", str(bad), "--json")
    assert result.exit_code == 1, name
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert any(expected in p for p in doc["problems"]), doc["problems"]


def test_definition_hashes_match_the_catalogue(catalog: Any) -> None:
    """Recomputing a snapshot's hash from its stored JSON gives catalog.content_hash."""
    from treatyflow.catalog import content_hash

    models = [catalog.treaty(t) for t in catalog.treaties] + [
        catalog.procedure(p) for p in catalog.whole_procedures()
    ]
    assert models
    for model in models:
        assert definition_hash(model.model_dump_json()) == content_hash(model)


def test_import_uses_batched_inserts(demo: tuple[str, Path], tmp_path: Path) -> None:
    """Events go in through executemany batches, not one INSERT per event."""
    from treatyflow.bundle import import_bundle

    store = open_store(str(tmp_path / "batched.db"), create=True)
    statements: list[tuple[str, bool, int]] = []

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def _spy(conn: Any, cursor: Any, sql: str, params: Any, ctx: Any, many: bool) -> None:
        if sql.startswith("INSERT INTO events ("):  # the events table, not events_fts
            statements.append((sql, many, len(params) if many else 1))

    bundle = read_bundle(demo[1])
    try:
        import_bundle(store, bundle)
    finally:
        store.engine.dispose()
    assert sum(n for _, _, n in statements) == len(bundle.events)
    assert len(statements) < len(bundle.events)
    assert all(many for _, many, _ in statements)


def test_demo_on_postgresql_exports_and_imports_into_sqlite(
    postgres_url: str, tmp_path: Path
) -> None:
    """The demo built on PostgreSQL exports, verifies offline and imports into SQLite."""
    built = _run("--db", postgres_url, "demo", "--out", str(tmp_path / "reports"))
    assert built.exit_code == 0, built.output
    bundle = tmp_path / "pg.jsonl"
    assert _run("--db", postgres_url, "export", "-o", str(bundle)).exit_code == 0
    assert _run("verify", "--bundle", str(bundle)).exit_code == 0
    target = str(tmp_path / "from-pg.db")
    assert _run("--db", target, "import", str(bundle)).exit_code == 0
    assert _heads(target) == _heads(postgres_url)


def test_import_writes_the_projection_rows_as_it_streams(
    demo: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each case's projection row is tallied from its events as they stream in and written
    with executemany in the import's transaction: the rows are those ``db reproject``
    writes, and the import never reads the logs back to rebuild them (#19)."""
    import treatyflow
    from treatyflow.app import projections
    from treatyflow.store.sql import Store

    def no_rebuild(*args: Any, **kwargs: Any) -> int:
        raise AssertionError("import rebuilt the projection")

    tables: list[str] = []
    bulk = Store.bulk_insert

    def spy(self: Store, conn: Any, table: str, *args: Any) -> int:
        tables.append(table)
        return bulk(self, conn, table, *args)

    monkeypatch.setattr(projections, "rebuild", no_rebuild)
    monkeypatch.setattr(Store, "bulk_insert", spy)
    target = tmp_path / "projected.db"
    result = _run("--db", str(target), "import", str(demo[1]))
    assert result.exit_code == 0, result.output
    assert "case_projections" in tables
    monkeypatch.undo()
    with treatyflow.open(target) as ws:
        core = ws._core
        missing, stale, wrong = projections.check(core)
        assert (missing, stale, wrong) == ([], [], [])
        with core.store.read() as conn:
            imported = sorted(tuple(r.__dict__.values()) for r in rows_of(conn))
        assert projections.rebuild(core, stale_only=False) == len(imported)
        with core.store.read() as conn:
            rebuilt = sorted(tuple(r.__dict__.values()) for r in rows_of(conn))
    assert imported == rebuilt and len(imported) == len(_heads(str(target)))


def rows_of(conn: Any) -> list[Any]:
    from treatyflow.store import projections as rows

    return list(rows.all_rows(conn))


def test_cli_import_reads_the_bundle_once(
    demo: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``treatyflow import`` checks the bundle as it loads it: one pass over the file, not a
    verifying pass and then a loading pass."""
    from treatyflow.bundle.verify import _Reader

    passes: list[int] = []
    read = _Reader.read

    def count(self: Any, path: Path) -> None:
        passes.append(1)
        read(self, path)

    monkeypatch.setattr(_Reader, "read", count)
    result = _run("--db", str(tmp_path / "once.db"), "import", str(demo[1]))
    assert result.exit_code == 0, result.output
    assert len(passes) == 1


def test_a_refused_import_leaves_an_existing_database_as_it_was(
    demo: tuple[str, Path], tmp_path: Path
) -> None:
    """Only a database the import created is removed when the bundle is refused: an empty
    database that was there before stays, empty."""
    target = tmp_path / "kept.db"
    assert _run("--db", str(target), "init").exit_code == 0
    result = _run("--db", str(target), "import", str(_tampered(demo[1], tmp_path)))
    assert result.exit_code == 1 and "does not verify" in result.stderr
    assert target.exists()
    assert _heads(str(target)) == []


def test_an_import_that_fails_midway_leaves_no_new_database(
    demo: tuple[str, Path], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure in the middle of loading (here the first batch of rows) into a database the
    import created removes that database again: no file, no table."""
    from treatyflow.bundle import Sink

    def broken(self: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Sink, "flush", broken)
    result = _run("--db", db_url, "import", str(demo[1]))
    assert result.exit_code != 0
    if db_url.startswith("sqlite:///"):
        assert not Path(db_url.removeprefix("sqlite:///")).exists()
    else:
        engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
        try:
            assert sa.inspect(engine).get_table_names() == []
        finally:
            engine.dispose()
