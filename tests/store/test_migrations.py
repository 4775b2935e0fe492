"""Alembic migrations on both backends: one head, up from empty, down and up again, no drift."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from treatyflow.cli import main
from treatyflow.store import migrate, open_store
from treatyflow.store.tables import metadata


def _tables(store: Any) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names())


def _workspace(store: Any, catalog: Any) -> Any:
    """A Workspace on ``store`` with the shipped catalogue."""
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace

    return Workspace(Core(store, catalog))


def _with_ltu_case(url: str, catalog: Any, **extra: Any) -> tuple[Any, Any]:
    """A store on ``url`` upgraded to head holding case LTU-1 (opened on 27 June 2025), and
    a Workspace on it; the caller disposes of the store's engine."""
    store = open_store(url, create=True)
    migrate.upgrade(store)
    svc = _workspace(store, catalog)
    svc.open_case(
        country="LTU", treaty="ottawa", actor="a", id="LTU-1", on=dt.date(2025, 6, 27), **extra
    )
    return store, svc


def test_there_is_a_single_head() -> None:
    """The revisions form one line with exactly one head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate._config_plain())
    assert len(script.get_heads()) == 1
    assert migrate.history()[-1][0] == migrate.head()
    assert migrate.history()[0][1] is None


def test_upgrade_from_empty(db_url: str) -> None:
    """An empty database upgrades to head and gets the three tables."""
    store = open_store(db_url, create=True)
    try:
        assert migrate.current(store) is None
        migrate.upgrade(store)
        assert migrate.current(store) == migrate.head()
        assert {"cases", "events", "definitions", "alembic_version"} <= _tables(store)
        migrate.upgrade(store)  # idempotent
        assert migrate.current(store) == migrate.head()
    finally:
        store.engine.dispose()


def test_downgrade_and_upgrade_again_with_data(db_url: str, catalog: Any) -> None:
    """With cases in place, down to base and up to head again works and leaves a usable DB."""
    store, svc = _with_ltu_case(db_url, catalog)
    try:
        migrate.downgrade(store, "base")
        assert migrate.current(store) is None
        assert not {"cases", "events", "definitions"} & _tables(store)
        migrate.upgrade(store)
        assert migrate.current(store) == migrate.head()
        svc = _workspace(store, catalog)
        svc.open_case(
            country="LTU", treaty="ottawa", actor="a", id="LTU-1", on=dt.date(2025, 6, 27)
        )
        assert svc.verify().problems == ()
    finally:
        store.engine.dispose()


def test_models_equal_the_migrated_schema(mstore: Any) -> None:
    """Alembic's autogenerate finds no difference between tables.py and the migrated DB."""
    with mstore.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": migrate.include_name}
        )
        assert compare_metadata(context, metadata) == []


def test_only_the_search_objects_are_left_out_of_the_comparison(mstore: Any) -> None:
    """What the comparison above skips is exactly the search index of revision 0002_16:
    every skipped table or index of the migrated database is one of its named objects."""
    inspector = sa.inspect(mstore.engine)
    tables = set(inspector.get_table_names())
    indexes = {i["name"] for i in inspector.get_indexes("events")}
    skipped = {n for n in tables | indexes if not migrate.include_name(n, "table", {})}
    assert skipped <= migrate.SEARCH_OBJECTS
    expected = {"events_fts"} if mstore.is_sqlite else {"ix_events_search"}
    assert expected <= skipped
    assert tables - skipped == {
        "cases",
        "events",
        "definitions",
        "registry",
        "documents",
        "case_projections",
        "alembic_version",
    }


def test_db_commands_answer(db_url: str) -> None:
    """db upgrade, db current and db history work through the CLI."""
    runner = CliRunner()
    up = runner.invoke(main, ["--db", db_url, "db", "upgrade"])
    assert up.exit_code == 0, up.output
    current = runner.invoke(main, ["--db", db_url, "db", "current", "--json"])
    assert current.exit_code == 0, current.output
    assert json.loads(current.stdout) == {
        "current": migrate.head(),
        "head": migrate.head(),
        "up_to_date": True,
    }
    history = runner.invoke(main, ["--db", db_url, "db", "history", "--json"])
    assert history.exit_code == 0, history.output
    assert [r["revision"] for r in json.loads(history.stdout)][-1] == migrate.head()


def test_search_functions_run_under_a_parallel_plan(postgres_url: str, catalog: Any) -> None:
    """PostgreSQL: the search text functions are PARALLEL UNSAFE (revision 0004_19).

    ``treatyflow_event_text`` has an exception block (a subtransaction), which no process may
    open in parallel mode; labelled PARALLEL SAFE, a query the planner ran in parallel failed
    ("cannot start subtransactions during a parallel operation"). ``force_parallel_mode``
    makes the planner choose a parallel plan wherever the labels allow one.
    """
    store, _ = _with_ltu_case(postgres_url, catalog, note="Seimas vote on withdrawal")
    try:
        with store.engine.connect() as conn:
            labels = dict(
                conn.execute(
                    sa.text(
                        "SELECT proname, proparallel FROM pg_proc WHERE proname IN"
                        " ('treatyflow_event_text', 'treatyflow_event_document')"
                        " AND pronamespace = current_schema()::regnamespace"
                    )
                ).all()
            )
            assert labels == {"treatyflow_event_text": "u", "treatyflow_event_document": "u"}
            version = conn.execute(sa.text("SHOW server_version_num")).scalar_one()
            setting = "debug_parallel_query" if int(version) >= 160000 else "force_parallel_mode"
            conn.execute(sa.text(f"SET LOCAL {setting} = on"))
            found = conn.execute(
                sa.text(
                    "SELECT count(*) FROM events WHERE treatyflow_event_document(note, sources)"
                    " @@ to_tsquery('simple', 'seimas')"
                )
            ).scalar_one()
            assert found == 1
            text = conn.execute(
                sa.text("SELECT treatyflow_event_text(note, 'not json') FROM events")
            ).scalar_one()
            assert text == "Seimas vote on withdrawal\n"
    finally:
        store.engine.dispose()


def test_unsealed_projection_rows_of_earlier_revisions_are_dropped(
    db_url: str, catalog: Any
) -> None:
    """Revision 0005_19 deletes the projection rows of earlier revisions (they carry no
    seal, so verify would name every one); tick writes them again, sealed."""
    store, svc = _with_ltu_case(db_url, catalog)
    try:
        migrate.downgrade(store, "0004_19")
        with store.engine.begin() as conn:  # a row as revision 0004_19 wrote it: no seal
            conn.execute(
                sa.text(
                    "INSERT INTO case_projections (case_id, head_hash, final, tally) "
                    "SELECT id, head_hash, false, :t FROM cases"
                ),
                {"t": json.dumps({"format": 2})},
            )
        migrate.upgrade(store)
        with store.engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM case_projections")).scalar()
        assert count == 0
        svc = _workspace(store, catalog)
        assert svc.verify().problems == ()
        svc.tick(as_of=dt.date(2025, 7, 1))  # writes the missing row
        assert svc.verify().problems == ()
        with store.engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM case_projections")).scalar()
        assert count == 1
    finally:
        store.engine.dispose()
