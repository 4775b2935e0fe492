"""Hostile bundles get one-line problems, never a crash, a hang or unbounded memory; a bundle
passes only what ``verify`` and the command line would pass (issue #18, items 3, 10, 13, 14).

Most bundles here are forged *carefully*: after the edit every event hash, the case's head
and the trailer's digests are re-made, as anyone can. So only the check under test can
catch them.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from treatyflow.bundle import heads_digest, read_bundle
from treatyflow.chain import event_hash

Cli = Callable[..., Result]
Line = dict[str, Any]


# ---------------------------------------------------------------------------- forging
@pytest.fixture
def exported(cli: Cli, populated: Path, tmp_path: Path) -> Path:
    """The populated database (LTU-1: 3 events, G1: 1 event) as a bundle."""
    path = tmp_path / "good.jsonl"
    result = cli("export", "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


def _load(path: Path) -> list[Line]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _rehash(lines: list[Line]) -> list[Line]:
    """Re-make every event hash, prev_hash and the cases' head_hash (a careful forger)."""
    heads: dict[str, str] = {}
    for line in lines:
        if line["type"] != "event":
            continue
        line["prev_hash"] = heads.get(line["case_id"])
        fields = {k: v for k, v in line.items() if k not in ("type", "hash")}
        line["hash"] = heads[line["case_id"]] = event_hash(fields)
    for line in lines:
        if line["type"] == "case" and line["id"] in heads:
            line["head_hash"] = heads[line["id"]]
    return lines


def _encode(obj: Line) -> bytes:
    return (json.dumps(obj, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _write(lines: list[Line], path: Path, *, reseal: bool = True) -> Path:
    """Write ``lines``; with ``reseal`` the trailer's counts and digests are re-made."""
    body = hashlib.sha256()
    out = []
    for line in lines:
        if line["type"] == "trailer" and reseal:
            counts = {"definitions": 0, "cases": 0, "events": 0}
            for other in lines:
                key = {"definition": "definitions", "case": "cases", "event": "events"}
                if other["type"] in key:
                    counts[key[other["type"]]] += 1
            heads = [(c["id"], c["version"], c["head_hash"]) for c in lines if c["type"] == "case"]
            line = {
                **line,
                "counts": counts,
                "heads": len(heads),
                "heads_digest": heads_digest(heads),
                "body_digest": "sha256:" + body.hexdigest(),
            }
            out.append(_encode(line))
            continue
        data = _encode(line)
        body.update(data)
        out.append(data)
    path.write_bytes(b"".join(out))
    return path


def _forged(exported: Path, change: Callable[[list[Line]], Any], name: str) -> Path:
    lines = _load(exported)
    change(lines)
    return _write(_rehash(lines), exported.with_name(name))


def _refused(cli: Cli, bundle: Path, tmp_path: Path, expected: str) -> None:
    """verify --bundle and import both refuse ``bundle`` with a problem containing
    ``expected``; import writes nothing."""
    checked = cli("verify", "--bundle", str(bundle), "--json")
    assert checked.exit_code == 1, checked.output
    problems = json.loads(checked.stdout)["problems"]
    assert any(expected in p for p in problems), problems
    target = tmp_path / "imported.db"
    imported = cli("--db", str(target), "import", str(bundle))
    assert imported.exit_code == 1, imported.output
    assert "Traceback" not in imported.output and "does not verify" in imported.stderr
    assert not target.exists()


def _case(lines: list[Line], case_id: str) -> Line:
    return next(x for x in lines if x["type"] == "case" and x["id"] == case_id)


def _event(lines: list[Line], case_id: str, seq: int) -> Line:
    return next(
        x for x in lines if x["type"] == "event" and x["case_id"] == case_id and x["seq"] == seq
    )


def test_a_careful_forgery_of_a_harmless_field_verifies(
    cli: Cli, exported: Path, tmp_path: Path
) -> None:
    """The control: re-hashing everything after an edit of a note passes (a checkpoint kept
    elsewhere is what catches that), so the refusals below are the checks under test."""
    bundle = _forged(exported, lambda ls: _event(ls, "LTU-1", 3).update(note="edited"), "c.jsonl")
    assert cli("verify", "--bundle", str(bundle)).exit_code == 0


# ---------------------------------------------------------------------------- item 3
def test_a_case_row_that_disagrees_with_its_log_is_refused(
    cli: Cli, exported: Path, tmp_path: Path
) -> None:
    """The case row's state edited (its chain intact): verify --bundle and import refuse it,
    as verify refuses it in a database."""
    bundle = _forged(exported, lambda ls: _case(ls, "LTU-1").update(state="effective"), "s.jsonl")
    _refused(cli, bundle, tmp_path, "the case row says state 'effective'")


@pytest.mark.parametrize(
    ("column", "value"),
    [("country", "EST"), ("procedure", "est"), ("opened_on", "2024-01-01"), ("facts", {})],
)
def test_a_case_row_identity_that_disagrees_with_its_log_is_refused(
    cli: Cli, exported: Path, tmp_path: Path, column: str, value: Any
) -> None:
    """The case row's identity edited in a re-sealed bundle: verify --bundle and import
    refuse it, as verify refuses it in a database (#18 item 2)."""
    bundle = _forged(exported, lambda ls: _case(ls, "LTU-1").update({column: value}), "i.jsonl")
    _refused(cli, bundle, tmp_path, f"the case row's {column}")


def test_a_step_that_does_not_follow_on_is_refused(
    cli: Cli, exported: Path, tmp_path: Path
) -> None:
    """An event leaving a state the log is not in (re-hashed): refused."""
    bundle = _forged(
        exported, lambda ls: _event(ls, "LTU-1", 3).update(from_state="drafted"), "f.jsonl"
    )
    _refused(cli, bundle, tmp_path, "it leaves state 'drafted'")


# ---------------------------------------------------------------------------- items 10, 11
def _rename_case(lines: list[Line], new: str) -> None:
    _case(lines, "LTU-1")["id"] = new
    for line in lines:
        if line["type"] == "event" and line["case_id"] == "LTU-1":
            line["case_id"] = new


HOSTILE_VALUES = {
    "escape in case id": (lambda ls: _rename_case(ls, "LTU-\x1b[2J"), "case id"),
    "NUL in case id": (lambda ls: _rename_case(ls, "LTU\x00-1"), "case id"),
    "CR in case id": (lambda ls: _rename_case(ls, "LTU-1\rG1"), "case id"),
    "zero-width space in case id": (lambda ls: _rename_case(ls, "LTU-1\u200b"), "U+200B"),
    "bidi override in case id": (lambda ls: _rename_case(ls, "LTU-\u202e1"), "U+202E"),
    "C1 CSI in case id": (lambda ls: _rename_case(ls, "LTU-\x9b1"), "U+009B"),
    "not NFC case id": (lambda ls: _rename_case(ls, "Cafe\u0301"), "NFC"),
    "six-letter country": (lambda ls: _case(ls, "LTU-1").update(country="LTUXXX"), "country"),
    "OSC in a note": (
        lambda ls: _event(ls, "LTU-1", 3).update(note="\x1b]0;owned\x07"),
        "control characters",
    ),
    "CR in a note": (lambda ls: _event(ls, "LTU-1", 3).update(note="ok\rforged"), "control"),
    "NUL in an actor": (lambda ls: _event(ls, "LTU-1", 2).update(actor="ana\x00lyst"), "actor"),
    "escape in data": (
        lambda ls: _event(ls, "LTU-1", 2)["data"].update(reason="\x1b[2J"),
        "control characters",
    ),
    "escape in a source": (
        lambda ls: _event(ls, "LTU-1", 3).update(sources=[{"citation": "x\x1b[31m"}]),
        "control characters",
    ),
    "unknown source field": (
        lambda ls: _event(ls, "LTU-1", 3).update(sources=[{"citation": "x", "evil": 1}]),
        "source",
    ),
    "51 sources": (
        lambda ls: _event(ls, "LTU-1", 3).update(sources=[{"citation": "s"}] * 51),
        "the limit is 50",
    ),
    "unknown event kind": (lambda ls: _event(ls, "LTU-1", 3).update(kind="evil"), "kind"),
    "not a date": (lambda ls: _event(ls, "LTU-1", 3).update(occurred_on="2025-13-01"), "date"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
def test_import_applies_the_command_line_rules(
    cli: Cli, exported: Path, tmp_path: Path, name: str
) -> None:
    """What the CLI refuses, a (carefully re-hashed) bundle cannot bring in."""
    change, expected = HOSTILE_VALUES[name]
    bundle = _forged(exported, change, "hostile.jsonl")
    _refused(cli, bundle, tmp_path, expected)


def test_problems_are_printed_escaped(cli: Cli, exported: Path) -> None:
    """A hostile id never reaches the terminal raw through verify --bundle's report."""
    bundle = _forged(exported, lambda ls: _rename_case(ls, "LTU-\x1b[2J\x9b"), "esc.jsonl")
    result = cli("verify", "--bundle", str(bundle))
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\x9b" not in result.output


# ---------------------------------------------------------------------------- item 13
def _limited(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own, with 2 GB of address space and a time limit (a
    hang or unbounded reading fails the test instead of the machine)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    env = {**os.environ, "TREATYFLOW_ACTOR": "analyst"}
    env.pop("TREATYFLOW_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "treatyflow", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        preexec_fn=limit,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr[-500:])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_a_deeply_nested_line_is_a_problem(exported: Path, tmp_path: Path) -> None:
    """A line nested 200,000 deep: a problem naming the line, not a RecursionError."""
    lines = exported.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"[" * 200_000 + b"]" * 200_000 + b"\n")
    bundle = tmp_path / "deep.jsonl"
    bundle.write_bytes(b"".join(lines))
    result = _limited("verify", "--bundle", str(bundle))
    _one_line_error(result)
    assert "line 3: nested too deeply" in result.stdout


def test_a_huge_number_is_a_problem(exported: Path, tmp_path: Path) -> None:
    """version: 1e400 (infinity to Python): a wrong type, not an OverflowError."""
    text = exported.read_text(encoding="utf-8").replace('"version": 3', '"version": 1e400', 1)
    bundle = tmp_path / "huge.jsonl"
    bundle.write_text(text, encoding="utf-8")
    result = _limited("verify", "--bundle", str(bundle))
    _one_line_error(result)
    assert "wrong type of version" in result.stdout


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_special_file_is_refused_without_reading_it(tmp_path: Path, special: str) -> None:
    """/dev/zero (endless) and a FIFO (blocks) as a bundle: refused at once."""
    path = Path(special) if special.startswith("/") else tmp_path / special
    if special == "fifo":
        os.mkfifo(path)
    for argv in (
        ("verify", "--bundle", str(path)),
        ("--db", str(tmp_path / "x.db"), "import", str(path)),
    ):
        started = time.monotonic()
        result = _limited(*argv, timeout=30)
        _one_line_error(result)
        assert "not a regular file" in result.stdout + result.stderr
        assert time.monotonic() - started < 20
    assert not (tmp_path / "x.db").exists()


def test_a_line_without_end_is_bounded(tmp_path: Path) -> None:
    """A file of zero bytes with no newline: reading stops at the line limit."""
    from treatyflow.bundle import MAX_LINE

    bundle = tmp_path / "zeros.jsonl"
    with bundle.open("wb") as out:
        out.truncate(MAX_LINE + 4096)  # a sparse file of NUL bytes
    result = _limited("verify", "--bundle", str(bundle))
    _one_line_error(result)
    assert "line 1: longer than" in result.stdout


def test_a_definition_that_is_no_definition_is_refused(
    cli: Cli, exported: Path, tmp_path: Path
) -> None:
    """Content {"x": 1} under its own (valid) hash, the case pinned to it: refused on
    reading, instead of importing and failing every later command."""
    from treatyflow.catalog import snapshot_hash

    lines = _load(exported)
    definition = next(x for x in lines if x["type"] == "definition" and x["kind"] == "treaty")
    old = definition["hash"]
    definition.update(content='{"x": 1}', hash=snapshot_hash('{"x": 1}'))
    for case in lines:
        if case["type"] == "case" and case["treaty_hash"] == old:
            case["treaty_hash"] = definition["hash"]
    bundle = _write(_rehash(lines), tmp_path / "x1.jsonl")
    _refused(cli, bundle, tmp_path, "not a valid treaty")


# ---------------------------------------------------------------------------- item 14
def test_the_problem_cap_never_hides_a_truncation(exported: Path, tmp_path: Path) -> None:
    """Sixty bad lines and no trailer: the 'no trailer (truncated)' problem is listed."""
    lines = exported.read_bytes().splitlines(keepends=True)[:-1]  # no trailer
    lines[2:2] = [b"not json\n"] * 60
    bundle = tmp_path / "truncated.jsonl"
    bundle.write_bytes(b"".join(lines))
    found = read_bundle(bundle)
    assert len(found.problems) <= 50
    assert any("no trailer" in p for p in found.problems), found.problems[-3:]


# ---------------------------------------------------------------------------- streaming
def _big_bundle(exported: Path, path: Path, cases: int, notes: int) -> int:
    """A valid bundle of ``cases`` copies of G1, each with ``notes`` notes; returns the
    number of events."""
    lines = _load(exported)
    header, trailer = lines[0], lines[-1]
    definitions = [x for x in lines if x["type"] == "definition"]
    template = _case(lines, "G1")
    opening = _event(lines, "G1", 1)
    body = hashlib.sha256()
    count = 0
    heads = []
    with path.open("wb") as out:

        def put(obj: Line) -> None:
            data = _encode(obj)
            body.update(data)
            out.write(data)

        put(header)
        for d in definitions:
            put(d)
        made: list[tuple[Line, list[Line]]] = []
        for n in range(cases):
            case_id = f"G{n:06d}"
            prev = None
            events = []
            for seq in range(1, notes + 2):
                ev = dict(opening) if seq == 1 else {
                    **opening, "kind": "note", "to_state": None, "note": f"note {seq} " * 20,
                }  # fmt: skip
                ev.update(case_id=case_id, seq=seq, prev_hash=prev)
                fields = {k: v for k, v in ev.items() if k not in ("type", "hash")}
                ev["hash"] = prev = event_hash(fields)
                events.append(ev)
            case = {**template, "id": case_id, "version": notes + 1, "head_hash": prev}
            made.append((case, events))
            heads.append((case_id, notes + 1, prev))
        for case, _ in made:
            put(case)
        for _, events in made:
            for ev in events:
                put(ev)
                count += 1
        out.write(
            _encode(
                {
                    **trailer,
                    "counts": {"definitions": len(definitions), "cases": cases, "events": count},
                    "heads": cases,
                    "heads_digest": heads_digest(heads),
                    "body_digest": "sha256:" + body.hexdigest(),
                }
            )
        )
    return count


@pytest.mark.slow
def test_bundles_are_read_as_a_stream(exported: Path, tmp_path: Path) -> None:
    """Reading a bundle holds far less than the file: not the file, not every event (one
    case's events at a time, 32 bytes of hash per event)."""
    bundle = tmp_path / "big.jsonl"
    events = _big_bundle(exported, bundle, cases=200, notes=100)
    size = bundle.stat().st_size
    assert read_bundle(exported).ok  # modules imported before measuring
    tracemalloc.start()
    try:
        found = read_bundle(bundle)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found.ok, found.problems[:3]
    assert found.counts()["events"] == events
    assert peak < size / 8, (peak, size)


def test_event_hash_at_is_linear(exported: Path, tmp_path: Path) -> None:
    """verify --bundle --checkpoint asks the hash of every case's head: each answer in
    constant time (the index used to be rebuilt on every call: quadratic)."""
    bundle = tmp_path / "many.jsonl"
    _big_bundle(exported, bundle, cases=3000, notes=1)
    found = read_bundle(bundle)
    assert found.ok, found.problems[:3]
    heads = found.heads()
    started = time.perf_counter()
    for case_id, version, head in heads:
        assert found.event_hash_at(case_id, version) == head
    assert time.perf_counter() - started < 0.5
    assert found.event_hash_at(heads[0][0], 99) is None
    assert found.event_hash_at("nobody", 1) is None


# ---------------------------------------------------------------------------- streaming import
def _rows(db: Path) -> tuple[int, int]:
    """How many cases and events the database at ``db`` holds."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        cases = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        con.close()
    return int(cases), int(events)


def test_import_found_wrong_at_the_trailer_writes_nothing(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Import checks and inserts in one pass: rows already inserted when the trailer (the
    last line) turns out wrong are rolled back with the transaction - nothing written."""
    import treatyflow
    from treatyflow import bundle as bundle_module
    from treatyflow.errors import BundleInvalid

    path = tmp_path / "late.jsonl"
    events = _big_bundle(exported, path, cases=30, notes=60)
    lines = path.read_bytes().splitlines(keepends=True)
    trailer = json.loads(lines[-1])
    trailer["heads_digest"] = "sha256:" + "0" * 64
    path.write_bytes(b"".join(lines[:-1]) + _encode(trailer))
    inserted: list[int] = []
    flush = bundle_module.Sink.flush

    def spy(self: Any) -> None:
        inserted.append(len(self.batches["events"]))
        flush(self)

    monkeypatch.setattr(bundle_module.Sink, "flush", spy)
    target = tmp_path / "target.db"
    ws = treatyflow.open(target, create=True)
    with pytest.raises(BundleInvalid) as caught:
        ws.import_bundle(path)
    assert "heads_digest does not match" in str(caught.value)
    assert sum(inserted) >= 1000 and sum(inserted) < events  # rows went in before the end
    assert _rows(target) == (0, 0)  # and were rolled back
    path.write_bytes(b"".join(lines))  # the untouched bundle imports
    assert ws.import_bundle(path).counts["events"] == events
    assert _rows(target) == (30, events)


def test_import_is_a_stream(exported: Path, tmp_path: Path) -> None:
    """Importing holds far less than the file (one case's events and one batch of rows),
    not every event: memory stays bounded whatever the bundle's size. The import writes each
    case's projection row (#19) from its events as they stream in, which also loads the
    cases' definitions once (a constant); so the bound is checked two ways: well under the
    file, and not growing when the bundle doubles."""
    import treatyflow

    treatyflow.open(tmp_path / "warm.db", create=True).import_bundle(exported)
    peaks = []
    for cases in (200, 400):
        bundle = tmp_path / f"big-{cases}.jsonl"
        events = _big_bundle(exported, bundle, cases=cases, notes=50)
        size = bundle.stat().st_size
        ws = treatyflow.open(tmp_path / f"big-{cases}.db", create=True)
        tracemalloc.start()
        try:
            result = ws.import_bundle(bundle)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result.counts["events"] == events
        assert peak < size / 3, (peak, size)
        peaks.append(peak)
    assert peaks[1] < peaks[0] * 1.25, peaks  # twice the events, not twice the memory
