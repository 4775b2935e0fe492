"""Documents kept with the log (#17), on SQLite and PostgreSQL: attach, read back, cite,
verify, bundles, search."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from treatyflow.errors import (
    BundleInvalid,
    CaseNotFound,
    DocumentCorrupt,
    DocumentNotFound,
    DocumentTooLarge,
    InvalidInput,
    StoreError,
)
from treatyflow.results import Attached, DocumentInfo

ON = dt.date(2025, 6, 27)
PDF = b"%PDF-1.4 decree no. 441/2025\n" + bytes(range(256))
DIGEST = "sha256:" + hashlib.sha256(PDF).hexdigest()


@pytest.fixture
def case(svc: Any) -> Any:
    svc.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="notified", on=ON)
    return svc


def _rows(svc: Any, sql: str) -> list[Any]:
    with svc.store.engine.begin() as conn:
        return list(conn.execute(sa.text(sql)))


def test_attach_keeps_the_bytes_and_gives_them_back(case: Any, tmp_path: Path) -> None:
    """The file's bytes come back identical; the event records the digest, name, size and
    media type, and cites the document as its source."""
    path = tmp_path / "decree-441.pdf"
    path.write_bytes(PDF)
    result = case.attach(
        "LTU-1", path, kind="decree", level="official", on="2025-06-28", note="the decree"
    )
    assert isinstance(result, Attached) and isinstance(result.document, DocumentInfo)
    assert result.stored is True
    doc = result.document
    assert (doc.sha256, doc.name, doc.size, doc.media_type) == (
        DIGEST,
        "decree-441.pdf",
        len(PDF),
        "application/pdf",
    )
    assert (doc.kind, doc.level, doc.seq, doc.occurred_on) == (
        "decree",
        "official",
        2,
        ON.replace(day=28),
    )
    assert case.document(DIGEST) == PDF
    assert case.document(DIGEST.removeprefix("sha256:").upper()) == PDF
    event = case.history("LTU-1")[-1]
    assert str(event.kind) == "attach"
    assert event.note == "the decree"
    assert event.data["sha256"] == DIGEST
    assert event.sources == (
        {"citation": "decree-441.pdf", "document": DIGEST, "kind": "decree", "level": "official"},
    )
    assert result.case.documents == (doc,)
    assert case.case("LTU-1").to_dict()["documents"] == [doc.to_dict()]
    assert result.to_dict()["document"]["sha256"] == DIGEST
    assert case.verify().ok


def test_the_same_bytes_are_stored_once(case: Any) -> None:
    first = case.attach("LTU-1", PDF, name="a.pdf", on=ON)
    second = case.attach("LTU-1", PDF, name="copy.pdf", on=ON)
    assert (first.stored, second.stored) == (True, False)
    assert second.document.name == "copy.pdf"  # the event records the name it was given
    assert _rows(case, "SELECT sha256, name FROM documents") == [(DIGEST, "a.pdf")]
    assert [d.seq for d in case.case("LTU-1").documents] == [2, 3]


def test_a_document_over_the_size_limit_is_refused_and_nothing_changes(
    case: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREATYFLOW_MAX_DOCUMENT_BYTES", "100")
    path = tmp_path / "big.pdf"
    path.write_bytes(PDF)
    with pytest.raises(DocumentTooLarge) as info:
        case.attach("LTU-1", path)
    assert (
        str(info.value)
        == "'" + str(path) + "' is larger than the limit of 100 bytes for an attached document."
    )
    assert (info.value.limit, info.value.size) == (100, len(PDF))
    with pytest.raises(DocumentTooLarge):
        case.attach("LTU-1", PDF, name="big.pdf")
    assert case.case("LTU-1").version == 1
    assert _rows(case, "SELECT count(*) FROM documents") == [(0,)]


def test_the_limit_cannot_be_raised_past_the_bundle_limit(
    case: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREATYFLOW_MAX_DOCUMENT_BYTES", str(64 * 1024 * 1024))
    with pytest.raises(InvalidInput, match="from 1 to 10,485,760"):
        case.attach("LTU-1", b"x", name="x.txt")


def test_attaching_to_an_unknown_case_stores_nothing(case: Any) -> None:
    with pytest.raises(CaseNotFound):
        case.attach("NOPE-1", PDF, name="a.pdf")
    assert _rows(case, "SELECT count(*) FROM documents") == [(0,)]


def test_bytes_need_a_name_and_a_level_must_be_known(case: Any) -> None:
    with pytest.raises(InvalidInput, match="needs a file name"):
        case.attach("LTU-1", PDF)
    with pytest.raises(InvalidInput, match="not reported, official or confirmed"):
        case.attach("LTU-1", PDF, name="a.pdf", level="certain")
    assert case.case("LTU-1").version == 1


def test_a_later_event_cites_an_attached_document(case: Any) -> None:
    """A source may cite a document by digest; with no citation text it gets the document's
    file name; a digest the database does not hold is refused and nothing is written."""
    case.attach("LTU-1", PDF, name="decree.pdf", on=ON)
    case.note("LTU-1", "see the decree", on=ON, sources=[f"document={DIGEST}"])
    case.note(
        "LTU-1",
        "annex",
        on=ON,
        sources=[{"citation": "Decree, annex 2", "document": DIGEST, "level": "official"}],
    )
    events = case.history("LTU-1")
    assert events[2].sources == (
        {"citation": "decree.pdf", "document": DIGEST, "level": "reported"},
    )
    assert events[3].sources[0]["citation"] == "Decree, annex 2"
    unknown = "sha256:" + "0" * 64
    with pytest.raises(DocumentNotFound) as info:
        case.note("LTU-1", "nothing there", on=ON, sources=[f"Annex; document={unknown}"])
    assert info.value.sha256 == unknown
    with pytest.raises(InvalidInput, match="not a SHA-256 digest"):
        case.note("LTU-1", "bad digest", on=ON, sources=["Annex; document=abc"])
    assert case.case("LTU-1").version == 4
    assert case.verify().ok


def test_a_new_case_may_cite_a_document_attached_to_another(case: Any) -> None:
    case.attach("LTU-1", PDF, name="decree.pdf", on=ON)
    view = case.open_case(
        country="EST", treaty="ottawa", id="EST-1", on=ON, sources=[f"Decree; document={DIGEST}"]
    )
    assert case.history(view.id)[0].sources[0]["document"] == DIGEST
    with pytest.raises(DocumentNotFound):
        case.open_case(
            country="FIN",
            treaty="ottawa",
            id="FIN-1",
            on=ON,
            sources=[f"document=sha256:{'1' * 64}"],
        )
    assert [c.id for c in case.cases()] == ["EST-1", "LTU-1"]


def test_verify_names_a_document_whose_bytes_were_changed(case: Any, tmp_path: Path) -> None:
    case.attach("LTU-1", PDF, name="decree.pdf", on=ON)
    case.note("LTU-1", "cites it", on=ON, sources=[f"document={DIGEST}"])
    with case.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE documents SET content = :c"), {"c": b"forged"})
    result = case.verify()
    assert not result.ok
    forged = "sha256:" + hashlib.sha256(b"forged").hexdigest()
    assert [(p.case_id, p.seq, p.reason) for p in result.problems] == [
        ("LTU-1", 2, f"document {DIGEST} changed: its stored bytes hash to {forged}")
    ]
    with pytest.raises(DocumentCorrupt):
        case.document(DIGEST)
    with pytest.raises(StoreError, match="nothing exported"):
        case.export(tmp_path / "b.jsonl")
    assert not (tmp_path / "b.jsonl").exists()


def test_verify_names_a_document_deleted_from_the_database(case: Any) -> None:
    case.attach("LTU-1", PDF, name="decree.pdf", on=ON)
    with case.store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM documents"))
    result = case.verify()
    assert [(p.case_id, p.seq) for p in result.problems] == [("LTU-1", 2)]
    assert result.problems[0].reason == f"document {DIGEST} is missing from the database"
    with pytest.raises(DocumentNotFound):
        case.document(DIGEST)


def test_search_finds_an_attached_document_by_its_name(case: Any) -> None:
    case.attach("LTU-1", PDF, name="Seimas-resolution-XIV-3412.pdf", on=ON)
    hits = case.search("seimas resolution").hits
    assert [(h.case_id, h.seq, h.kind) for h in hits] == [("LTU-1", 2, "attach")]


def test_a_retracted_attachment_is_no_longer_listed(case: Any) -> None:
    case.attach("LTU-1", PDF, name="wrong-case.pdf", on=ON)
    case.retract("LTU-1", 2, reason="attached to the wrong case")
    assert case.case("LTU-1").documents == ()
    assert case.document(DIGEST) == PDF  # the bytes stay: the log still cites them


# ---------------------------------------------------------------------------- bundles
def _bundle_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_bundle_carries_the_documents(
    case: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Export writes each document once, in base64, before the cases; import brings the
    same bytes back and the imported database verifies."""
    import treatyflow

    case.attach("LTU-1", PDF, name="decree.pdf", on=ON)
    case.attach("LTU-1", b"second", name="b.txt", on=ON)
    case.attach("LTU-1", PDF, name="again.pdf", on=ON)
    bundle = tmp_path / "b.jsonl"
    exported = case.export(bundle)
    assert exported.counts["documents"] == 2
    lines = _bundle_lines(bundle)
    kinds = [line["type"] for line in lines]
    docs = [line for line in lines if line["type"] == "document"]
    assert kinds.index("document") < kinds.index("case")
    assert [d["sha256"] for d in docs] == sorted(d["sha256"] for d in docs)
    assert {d["sha256"]: base64.b64decode(d["content"]) for d in docs}[DIGEST] == PDF
    assert treatyflow.verify_bundle(bundle).ok
    target = str(tmp_path / "imported.db")
    with treatyflow.open(target, create=True) as other:
        result = other.import_bundle(bundle)
        assert result.counts["documents"] == 2
        assert other.document(DIGEST) == PDF
        assert other.verify().ok


def test_a_bundle_whose_document_bytes_changed_is_refused(case: Any, tmp_path: Path) -> None:
    import treatyflow

    case.attach("LTU-1", PDF, name="decree.pdf", on=ON)
    bundle = tmp_path / "b.jsonl"
    case.export(bundle)
    lines = bundle.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if '"type": "document"' in line)
    obj = json.loads(lines[number])
    obj["content"] = base64.b64encode(PDF.replace(b"441", b"442")).decode()
    lines[number] = json.dumps(obj, sort_keys=True)
    bundle.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = treatyflow.verify_bundle(bundle)
    assert not result.ok
    assert any(
        p.startswith(f"line {number + 1}: document {DIGEST}: its content hashes to")
        for p in result.problems
    ), result.problems
    with treatyflow.open(str(tmp_path / "imported.db"), create=True) as other:
        with pytest.raises(BundleInvalid):
            other.import_bundle(bundle)
        assert other.cases() == []


def test_a_bundle_missing_a_cited_document_is_refused(case: Any, tmp_path: Path) -> None:
    """Dropping a document line (and fixing the trailer) still fails: an event cites it."""
    import treatyflow
    from treatyflow.bundle import _line

    case.attach("LTU-1", PDF, name="decree.pdf", on=ON)
    bundle = tmp_path / "b.jsonl"
    case.export(bundle)
    lines = [line for line in _bundle_lines(bundle) if line["type"] != "document"]
    body = hashlib.sha256()
    for line in lines[:-1]:
        body.update(_line(line))
    lines[-1]["counts"].pop("documents")
    lines[-1]["body_digest"] = "sha256:" + body.hexdigest()
    bundle.write_bytes(b"".join(_line(line) for line in lines))
    problems = treatyflow.verify_bundle(bundle).problems
    assert any(f"cites document {DIGEST}, which the bundle lacks" in p for p in problems), problems


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: {**d, "content": "not base64!"}, "its content is not base64."),
        (lambda d: {**d, "size": d["size"] + 1}, f"its content is {len(PDF)} bytes, its size"),
        (lambda d: {**d, "size": True}, "its size is not a count of bytes."),
        (lambda d: {**d, "sha256": "sha256:XYZ"}, "is not a SHA-256 digest"),
        (lambda d: {**d, "extra": 1}, "unexpected extra"),
    ],
    ids=["base64", "size", "bool-size", "digest", "extra-key"],
)
def test_a_hostile_document_line_is_refused(
    ws: Any, tmp_path: Path, change: Any, problem: str
) -> None:
    """Every document line is decoded and checked offline; a bad one is a problem (with its
    line number), whatever the trailer says."""
    from treatyflow.bundle import read_bundle

    ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="notified", on=ON)
    ws.attach("LTU-1", PDF, name="decree.pdf", on=ON)
    bundle = tmp_path / "b.jsonl"
    ws.export(bundle)
    lines = _bundle_lines(bundle)
    number = next(i for i, line in enumerate(lines) if line["type"] == "document")
    lines[number] = change(lines[number])
    bundle.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    problems = read_bundle(bundle).problems
    assert any(p.startswith(f"line {number + 1}:") and problem in p for p in problems), problems


def test_a_document_line_after_the_cases_is_out_of_order(ws: Any, tmp_path: Path) -> None:
    from treatyflow.bundle import read_bundle

    ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="notified", on=ON)
    ws.attach("LTU-1", PDF, name="decree.pdf", on=ON)
    bundle = tmp_path / "b.jsonl"
    ws.export(bundle)
    lines = _bundle_lines(bundle)
    document = next(line for line in lines if line["type"] == "document")
    lines.remove(document)
    lines.insert(len(lines) - 1, document)
    bundle.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    problems = read_bundle(bundle).problems
    assert any("a document after the cases (not bundle order)" in p for p in problems), problems


def test_a_citation_whose_key_is_spelt_with_an_escape_is_still_checked(case: Any) -> None:
    """A stored sources text may spell the key ``document`` with an escape (the event's
    hash still verifies: it covers the decoded value); the document check must still see
    the citation, so a missing document is named (it used to look for the plain key)."""
    case.attach("LTU-1", PDF, name="decree.pdf", on=ON)
    case.open_case(
        country="EST", treaty="ottawa", id="EST-1", on=ON, sources=[f"Decree; document={DIGEST}"]
    )
    with case.store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE events SET sources = replace(sources, '\"document\"', :escaped) "
                "WHERE case_id = 'EST-1' AND seq = 1"
            ),
            {"escaped": '"docum\\u0065nt"'},
        )
    [(text,)] = _rows(case, "SELECT sources FROM events WHERE case_id = 'EST-1' AND seq = 1")
    assert "docum\\u0065nt" in text and '"document"' not in text
    assert case.verify().ok  # the chain verifies: the hash covers the decoded value
    with case.store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM documents"))
    problems = [(p.case_id, p.seq) for p in case.verify().problems]
    assert problems == [("EST-1", 1), ("LTU-1", 2)]


def test_verify_takes_the_citations_from_its_fast_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a database the fast pass reads, the document check reads no events of its own
    (one pass over the log, not two) and still finds a changed document."""
    import treatyflow
    from treatyflow.store import documents as document_rows

    with treatyflow.open(tmp_path / "d.db", actor="analyst", create=True) as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", at="notified", on=ON)
        ws.attach("LTU-1", PDF, name="decree.pdf", on=ON)
        with ws.store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE documents SET content = :c"), {"c": b"forged"})

        def second_pass(*_: Any) -> Any:
            raise AssertionError("the events were read a second time")

        monkeypatch.setattr(document_rows, "citing_events", second_pass)
        result = ws.verify()
    assert [(p.case_id, p.seq) for p in result.problems] == [("LTU-1", 2)]
