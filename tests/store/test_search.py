"""Full-text search over notes and sources, the same on SQLite (FTS5) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa

from treatyflow.errors import CaseNotFound, InvalidInput
from treatyflow.store import migrate, open_store

ON = dt.date(2025, 6, 27)


@pytest.fixture
def found(svc: Any) -> Any:
    """Three cases with notes and sources to find."""
    svc.open_case(
        country="EST",
        treaty="ottawa",
        id="EST-1",
        at="notified",
        on=ON,
        note="The Riigikogu adopted the withdrawal act.",
        sources=["citation=ERR News report; ref=642 SE; url=https://news.err.ee/x"],
        actor="a",
    )
    svc.note("EST-1", "Riigikogu vote: 81 for, Riigikogu record published.", on=ON, actor="a")
    svc.open_case(
        country="LTU",
        treaty="ottawa",
        id="LTU-1",
        at="notified",
        on=ON,
        sources=["citation=Depositary notification C.N.123.2025; level=official"],
        actor="a",
    )
    svc.open_case(country="FIN", treaty="ottawa", id="FIN-1", on=ON, note="Eduskunta", actor="a")
    return svc


def test_finds_notes_and_sources_best_first(found: Any) -> None:
    """A word in notes is found in every event that holds it, the most matches first; a
    source's citation, reference and URL are found too."""
    result = found.search("riigikogu")
    assert [(h.case_id, h.seq) for h in result.hits] == [("EST-1", 2), ("EST-1", 1)]
    assert result.hits[0].rank >= result.hits[1].rank
    assert [h.case_id for h in found.search("ERR news").hits] == ["EST-1"]
    assert [h.case_id for h in found.search("642 SE").hits] == ["EST-1"]
    assert [h.case_id for h in found.search("news.err.ee").hits] == ["EST-1"]
    assert [h.case_id for h in found.search("C.N.123.2025").hits] == ["LTU-1"]
    assert found.search("official").hits == ()  # the evidence level is not text to find


def test_every_word_must_match(found: Any) -> None:
    assert found.search("Riigikogu Eduskunta").hits == ()
    assert [h.case_id for h in found.search("eduskunta").hits] == ["FIN-1"]


def test_snippet_marks_the_matches(found: Any) -> None:
    hit = found.search("Riigikogu", case_id="EST-1").hits[0]
    assert hit.marks and all(hit.snippet[a:b].lower() == "riigikogu" for a, b in hit.marks)
    assert "\x02" not in hit.snippet and "\x03" not in hit.snippet
    doc = hit.to_dict()
    assert doc["case_id"] == "EST-1" and doc["occurred_on"] == ON.isoformat()
    assert set(doc) == {
        "case_id",
        "seq",
        "kind",
        "occurred_on",
        "recorded_at",
        "snippet",
        "marks",
        "rank",
    }


def test_case_filter_and_limit(found: Any) -> None:
    assert {h.case_id for h in found.search("riigikogu", case_id="EST-1").hits} == {"EST-1"}
    assert found.search("riigikogu", case_id="LTU-1").hits == ()
    one = found.search("riigikogu", limit=1)
    assert len(one.hits) == 1 and one.more
    with pytest.raises(CaseNotFound):
        found.search("riigikogu", case_id="NOPE")


RIIGIKOGU = {("EST-1", 1), ("EST-1", 2)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("riigikogu OR eduskunta", set()),  # OR is a word, not an operator
        ("-riigikogu", RIIGIKOGU),  # no NOT
        ("riigi*", set()),  # no prefix query
        ("NEAR(riigikogu eduskunta)", set()),  # NEAR is a word
        ("note:riigikogu", set()),  # no column filter: the phrase "note riigikogu"
        ('"riigikogu', RIIGIKOGU),  # an unbalanced quote is punctuation
        ("riigikogu^2", set()),
    ],
)
def test_query_syntax_is_never_interpreted(found: Any, text: str, expected: set[Any]) -> None:
    """Quotes, operators, prefixes and column filters are words or punctuation."""
    assert {(h.case_id, h.seq) for h in found.search(text).hits} == expected


@pytest.mark.parametrize(
    ("text", "limit", "message"),
    [
        ("", 20, "no word"),
        ("  ...  ", 20, "no word"),
        ("x" * 201, 20, "the limit is 200"),
        (" ".join(["w"] * 17), 20, "the limit is 16"),
        ("riigikogu", 0, "from 1 to 200"),
        ("riigikogu", 201, "from 1 to 200"),
        ("bad\x00text", 20, "control"),
    ],
)
def test_bounded_queries(found: Any, text: str, limit: int, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        found.search(text, limit=limit)


def test_index_follows_every_insert_path(found: Any, tmp_path: Any, catalog: Any) -> None:
    """Events written by a bundle import (bulk insert) are searchable too."""
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace

    bundle = tmp_path / "b.jsonl"
    found.export(bundle)
    other = open_store(str(tmp_path / "other.db"), create=True)
    try:
        migrate.upgrade(other)
        ws = Workspace(Core(other, catalog), actor="a")
        ws.import_bundle(bundle)
        assert [h.seq for h in ws.search("riigikogu").hits] == [2, 1]
    finally:
        other.engine.dispose()


def test_a_failed_write_leaves_no_index_entry(found: Any) -> None:
    """The index is written in the event's transaction: a refused step adds nothing."""
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do
        found.advance("FIN-1", "no-such-trigger", on=ON, note="Zyzzyva", actor="a")
    assert found.search("zyzzyva").hits == ()


def test_changes_since(found: Any) -> None:
    everything = found.recorded_since("2000-01-01")
    assert everything.count == 4 and not everything.more
    assert list(everything.cases) == ["EST-1", "FIN-1", "LTU-1"]
    assert [e.seq for e in everything.cases["EST-1"]] == [1, 2]
    newest = everything.cases["FIN-1"][0].recorded_at
    later = found.recorded_since(newest)
    assert later.count == 1 and list(later.cases) == ["FIN-1"]
    assert found.recorded_since("2999-01-01").count == 0
    capped = found.recorded_since("2000-01-01", limit=2)
    assert capped.count == 2 and capped.more
    assert json.loads(json.dumps(capped.to_dict()))["limit"] == 2
    with pytest.raises(InvalidInput):
        found.recorded_since("last week")


def test_revision_moves_with_each_event(found: Any) -> None:
    before = found.revision()
    assert found.revision() == before
    found.note("LTU-1", "One more.", on=ON, actor="a")
    after = found.revision()
    assert after != before and after[0] > before[0]
    newest = found.history("LTU-1")[-1]
    assert after[1] == newest.recorded_at


def test_revision_reads_the_newest_event_by_its_index_not_every_event(mstore: Any) -> None:
    """The revision is one row found down the primary key (ORDER BY id DESC LIMIT 1), not an
    aggregate over the log (count and max read every event: ~0.1 s a request at 1M)."""
    from treatyflow.store import search as store_search

    sql = str(store_search.REVISION.compile(mstore.engine)).lower()
    assert "count(" not in sql and "max(" not in sql
    assert "order by events.id desc" in sql and "limit" in sql
    with mstore.engine.connect() as conn:
        assert store_search.revision(conn) == (0, None)
        if mstore.is_sqlite:
            plan = " ".join(
                str(r[-1])
                for r in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN "
                    + str(
                        store_search.REVISION.compile(
                            mstore.engine, compile_kwargs={"literal_binds": True}
                        )
                    )
                )
            )
            assert "TEMP B-TREE" not in plan.upper()  # no sort: the rowid order is read


def test_migration_indexes_existing_events(db_url: str, catalog: Any) -> None:
    """A database at the revision before the search index (0002_13) with events gets them
    indexed by the upgrade."""
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace

    store = open_store(db_url, create=True)
    try:
        migrate.upgrade(store, "0002_13")
        ws = Workspace(Core(store, catalog), actor="a")
        ws.open_case(country="EST", treaty="ottawa", id="EST-1", on=ON, note="Riigikogu")
        with pytest.raises(Exception):  # noqa: B017 - no index before the upgrade
            ws.search("riigikogu")
        migrate.upgrade(store)
        assert [h.case_id for h in ws.search("riigikogu").hits] == ["EST-1"]
        migrate.downgrade(store, "0002_13")
        names = set(sa.inspect(store.engine).get_table_names())
        assert not {n for n in names if n.startswith("events_fts")}
    finally:
        store.engine.dispose()


def test_case_is_ignored_and_on_sqlite_accents_too(found: Any) -> None:
    found.note("FIN-1", "Débat au Sejm.", on=ON, actor="a")
    assert [h.seq for h in found.search("DÉBAT").hits] == [2]
    accentless = [h.seq for h in found.search("debat").hits]
    assert accentless == ([2] if found.store.is_sqlite else [])


def test_rows_deleted_outside_treatyflow_leave_the_index(found: Any) -> None:
    """An event row deleted with a SQL client is not found any more, and the row id it
    frees can be used by the next event (the FTS row goes with it)."""
    with found.store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM events WHERE case_id = 'FIN-1'"))
    assert found.search("eduskunta").hits == ()
    found.note("LTU-1", "Eduskunta again.", on=ON, actor="a")
    assert [(h.case_id, h.seq) for h in found.search("eduskunta").hits] == [("LTU-1", 2)]
