"""Bad values on the command line: a clear one-line error, and the database unchanged.

Invalid dates, unknown countries, oversized notes, control characters and lone surrogates
(how Python hands over argv bytes that are not UTF-8) in every write command. The last tests
run the real executable with undecodable bytes in argv.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

Cli = Callable[..., Result]
Dump = Callable[[Path], str]

BAD_DATES = ["2025-02-30", "31/12/2025", "", " ", "2025-13-01", "2025-1-1", "20250627",
             "2025-06-27T00:00:00", "tomorrow", "0000-01-01", "+2025-06-27", "2025-06-31",
             "２０２５-０６-２７", "2025-06-27\x00"]  # fmt: skip
BAD_COUNTRIES = ["XXX", "LT", "", "LTUU", "L1U", "ЛТУ", "\x00LT", "LT\u0301U"]
OVERSIZED = "x" * 10_001
OPENED = dt.date(2025, 6, 27)
HOSTILE_TEXT = ["\x00", "a\x1b[2Jb", "bell\x07", "\x7f", "\udcff", "ok\ud800", "\x1b]0;t\x07"]

#: Every write command, as (argv before the tested value, argv after it).
DATE_TARGETS = [
    (["case", "open", "--country", "LTU", "--treaty", "ottawa", "--on"], []),
    (["case", "advance", "LTU-1", "revoke", "--on"], []),
    (["case", "set-fact", "LTU-1", "armed_conflict=true", "--on"], []),
    (["case", "note", "LTU-1", "text", "--on"], []),
    (["case", "record", "LTU-1", "objection", "--on"], []),
    (["case", "correct", "LTU-1", "1", "--reason", "typo", "--on"], []),
    (["tick", "--as-of"], []),
]
TEXT_TARGETS = [
    (["case", "open", "--country", "LTU", "--treaty", "ottawa", "--on", "2025-07-01",
      "--note"], []),
    (["case", "advance", "LTU-1", "revoke", "--on", "2025-07-01", "--note"], []),
    (["case", "set-fact", "LTU-1", "armed_conflict=true", "--on", "2025-07-01", "--note"], []),
    (["case", "note", "LTU-1"], ["--on", "2025-07-01"]),
    (["case", "note", "LTU-1", "text", "--on", "2025-07-01", "--source"], []),
    (["case", "note", "LTU-1", "text", "--on", "2025-07-01", "--actor"], []),
    (["case", "record", "LTU-1", "objection", "--on", "2025-07-01", "--by"], []),
    (["case", "correct", "LTU-1", "1", "--on", "2025-06-27", "--reason"], []),
    (["case", "set-fact", "LTU-1"], ["--on", "2025-07-01"]),  # as the fact's value
    (["case", "open", "--country", "LTU", "--treaty", "ottawa", "--on", "2025-07-01",
      "--id"], []),
]  # fmt: skip


def _assert_refused(result: Result, before: str, after: str) -> str:
    shown = result.output
    assert result.exit_code == 1, shown
    assert "Traceback" not in shown and "internal error" not in shown, shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), shown
    assert after == before, shown
    return lines[0]


def _fact(value: str, prefix: list[str]) -> str:
    return f"armed_conflict={value}" if prefix[-1] == "LTU-1" and "set-fact" in prefix else value


@pytest.mark.parametrize(("prefix", "suffix"), DATE_TARGETS, ids=lambda v: " ".join(v)[:24])
def test_invalid_date_is_refused(
    cli: Cli,
    populated: Path,
    dump: Dump,
    fast_catalog: None,
    prefix: list[str],
    suffix: list[str],
) -> None:
    """Every invalid date in a write command is a one-line error naming the option."""
    before = dump(populated)
    for date in BAD_DATES:
        line = _assert_refused(cli(*prefix, date, *suffix), before, dump(populated))
        assert prefix[-1] in line, (date, line)


def test_unknown_country_is_refused(
    cli: Cli, populated: Path, dump: Dump, fast_catalog: None
) -> None:
    """An unknown or malformed country code is refused, with the alpha-3 format named."""
    before = dump(populated)
    for country in BAD_COUNTRIES:
        argv = ["case", "open", "--country", country, "--treaty", "ottawa", "--on", "2025-07-01"]
        line = _assert_refused(cli(*argv), before, dump(populated))
        assert "--country" in line and "alpha-3" in line, (country, line)


def test_alpha2_country_gets_a_hint(
    cli: Cli, populated: Path, dump: Dump, fast_catalog: None
) -> None:
    """A two-letter code is refused with the matching alpha-3 code suggested."""
    before = dump(populated)
    line = _assert_refused(
        cli("case", "open", "--country", "LT", "--treaty", "ottawa"), before, dump(populated)
    )
    assert "LTU" in line


@pytest.mark.parametrize(("prefix", "suffix"), TEXT_TARGETS, ids=lambda v: " ".join(v)[-24:])
def test_hostile_text_is_refused(
    cli: Cli,
    populated: Path,
    dump: Dump,
    fast_catalog: None,
    prefix: list[str],
    suffix: list[str],
) -> None:
    """Oversized text, control characters and lone surrogates are refused in every field."""
    before = dump(populated)
    for text in [OVERSIZED, *HOSTILE_TEXT]:
        value = _fact(text, prefix)
        _assert_refused(cli(*prefix, value, *suffix), before, dump(populated))


def test_note_at_the_limit_is_accepted(cli: Cli, populated: Path) -> None:
    """Control: a note of exactly 10,000 characters (tabs and newlines included) is stored."""
    text = ("line\twith tab\n" * 1000)[:10_000]
    result = cli("case", "note", "LTU-1", text, "--on", "2025-07-01")
    assert result.exit_code == 0, result.output
    shown = cli("case", "history", "LTU-1", "--json")
    assert text.replace("\n", "\\n").replace("\t", "\\t") in shown.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["case", "show", "NOPE"],
        ["case", "advance", "NOPE", "notify", "--on", "2025-07-01"],
        ["case", "advance", "LTU-1", "no-such-trigger", "--on", "2025-07-01"],
        ["case", "set-fact", "LTU-1", "no_such_fact=1", "--on", "2025-07-01"],
        ["case", "set-fact", "LTU-1", "armed_conflict=maybe", "--on", "2025-07-01"],
        ["case", "set-fact", "LTU-1", "not an assignment", "--on", "2025-07-01"],
        ["case", "set-fact", "LTU-1", "armed_conflict=true", "--on", "2025-06-01"],
        ["case", "open", "--country", "LTU", "--treaty", "no-such-treaty"],
        ["case", "open", "--country", "LTU", "--treaty", "ottawa", "--procedure", "nope"],
        ["case", "open", "--country", "LTU", "--treaty", "ottawa", "--at", "nowhere"],
        ["case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1"],
        ["case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", " padded "],
        ["case", "open", "--country", "LTU", "--treaty", "ottawa", "--fact", "x=1"],
        ["case", "record", "LTU-1", "no-such-type", "--on", "2025-07-01"],
        ["case", "correct", "LTU-1", "99", "--on", "2025-07-01", "--reason", "r"],
        ["case", "note", "LTU-1", "   ", "--on", "2025-07-01"],
        ["case", "note", "LTU-1", "t", "--source", "citation=x; level=bogus"],
        ["case", "note", "LTU-1", "t", "--source", "citation=x; date=2025-02-30"],
        ["case", "show", "LTU-1", "--known-at", "2025-06-27T25:00:00Z"],
    ],
    ids=lambda argv: " ".join(argv)[:50],
)
def test_domain_errors_change_nothing(
    cli: Cli, populated: Path, dump: Dump, fast_catalog: None, argv: list[str]
) -> None:
    """Unknown cases, triggers, facts, treaties, states and record types: one line, no change."""
    before = dump(populated)
    _assert_refused(cli(*argv), before, dump(populated))


def test_any_note_is_stored_exactly_or_refused(ws: Any) -> None:
    """Any text is stored verbatim as a note (and the chain verifies) or clearly refused."""
    from treatyflow.errors import InvalidInput

    ws.open_case(country="LTU", treaty="ottawa", id="N", at="notified", on=OPENED, actor="a")

    @settings(max_examples=80, deadline=None)
    @given(note=st.text(max_size=40) | st.sampled_from(HOSTILE_TEXT))
    def store(note: str) -> None:
        before = len(ws.history("N"))
        try:
            ws.note("N", note, on=OPENED, actor="a")
        except InvalidInput as exc:
            assert "control characters" in str(exc) or "empty" in str(exc)
            assert len(ws.history("N")) == before
            return
        assert ws.history("N")[-1].to_dict()["note"] == note

    store()
    assert ws.verify().problems == ()


LONG_NAME = "x" * 300  # over NAME_MAX (255) on every common file system


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "-o", LONG_NAME],
        ["checkpoint", "-o", LONG_NAME],
        ["report", "case", "LTU-1", "-o", LONG_NAME],
        ["calendar", "-o", LONG_NAME],
        ["--db", LONG_NAME, "case", "list"],
        ["--workflows", LONG_NAME, "workflow", "list"],
        ["import", LONG_NAME],
        ["verify", "--bundle", LONG_NAME],
        ["verify", "--checkpoint", LONG_NAME],
        ["export", "--force", "-o", ""],
        ["export", "-o", ""],
        ["checkpoint", "--force", "-o", ""],
        ["report", "case", "LTU-1", "--force", "-o", ""],
        ["calendar", "--force", "-o", ""],
        ["import", ""],
        ["verify", "--checkpoint", ""],
        ["--db", "", "case", "list"],
        ["--workflows", "", "workflow", "list"],
    ],
    ids=lambda argv: " ".join(a if a != LONG_NAME else "LONG" for a in argv) or "EMPTY",
)
def test_odd_file_name_is_a_clear_error(
    cli: Cli, populated: Path, dump: Dump, fast_catalog: None, argv: list[str]
) -> None:
    """An empty file name, or one longer than the file system allows, is a clear error."""
    before = dump(populated)
    result = cli(*argv)
    assert "internal error" not in result.output and "Traceback" not in result.output
    if argv == ["--workflows", "", "workflow", "list"]:  # no extra directory: that succeeds
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code in (1, 2), result.output
        assert "Error" in result.stderr or "FAIL cannot read" in result.stdout, result.output
    assert dump(populated) == before


# ---------------------------------------------------------------------------- real argv bytes
def _run(db: Path, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "TREATYFLOW_ACTOR": "analyst", "LC_ALL": "C.UTF-8"}
    env.pop("TREATYFLOW_DB", None)
    argv: list[str | bytes] = [sys.executable, "-m", "treatyflow", "--db", str(db), *args]
    return subprocess.run(argv, capture_output=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize(
    "args",
    [
        ("case", "note", "LTU-1", b"caf\xe9 latin-1", "--on", "2025-07-01"),
        ("case", "note", "LTU-1", "ok", "--on", "2025-07-01", "--actor", b"\xff\xfe"),
        ("case", "open", "--country", b"LT\xd5", "--treaty", "ottawa"),
        ("case", "show", b"LTU-\x80"),
        ("case", "note", b"LTU-\x80", "text", "--on", "2025-07-01"),
        ("report", "case", b"LTU-\x80"),
        ("case", "note", "LTU-1", b"\x1b[2Jclear screen", "--on", "2025-07-01"),
        ("workflow", "lint", b"bad\xff.yaml"),
    ],
    ids=[
        "latin-1 note",
        "bad actor",
        "bad country",
        "bad case id",
        "bad id note",
        "bad id report",
        "escape codes",
        "lint bad path",
    ],
)
def test_undecodable_argv_bytes_are_refused(
    populated: Path, dump: Dump, args: tuple[str | bytes, ...]
) -> None:
    """Bytes that are not UTF-8 in a real argv are a clear error, never a crash or a write."""
    before = dump(populated)
    proc = _run(populated, *args)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    if proc.returncode == 2:  # click's usage error (here: the path does not exist)
        assert "Error: " in stderr, stderr
    else:
        assert proc.returncode == 1, stderr
        assert stderr.startswith("Error: ") and len(stderr.splitlines()) == 1, stderr
    assert dump(populated) == before


@pytest.mark.parametrize(
    "args",
    [
        ("verify", "--bundle", "\udcff\udcfe"),
        ("verify", "--bundle", "\udcff\udcfe", "--json"),
        ("verify", "--checkpoint", "dir-\udcff/x.json"),
        ("import", "in-\udcff.jsonl"),
        ("export", "-o", "no-dir-\udcff/out.jsonl"),
        ("report", "portfolio", "--json", "-o", "no-dir-\udcff/p.json"),
    ],
    ids=["verify bundle", "verify bundle json", "checkpoint", "import", "export", "report -o"],
)
def test_undecodable_file_names_are_printed_not_crashed_on(
    cli: Cli, populated: Path, dump: Dump, args: tuple[str, ...]
) -> None:
    """A file name of undecodable bytes (lone surrogates in Python) is printed escaped in
    whatever the command says; never an internal error (found by the long CLI fuzzer)."""
    before = dump(populated)
    result = cli(*args)
    output = result.output + (result.stderr or "")
    assert "internal error" not in output and "Traceback" not in output, output
    assert result.exit_code in (1, 2), output
    assert "\\udcff" in output or "Error:" in output
    assert dump(populated) == before


def test_a_usage_error_after_the_file_argument_leaves_no_file_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`case advance-many FILE EXTRA`: the usage error comes after FILE was converted; the
    file must not be left open (found by the long fuzz run as a ResourceWarning)."""
    import gc
    import warnings

    from click.testing import CliRunner

    from treatyflow.cli import main

    monkeypatch.chdir(tmp_path)
    Path("steps.jsonl").write_text("{}\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        result = CliRunner().invoke(
            main, ["--db", "t.db", "case", "advance-many", "steps.jsonl", "steps.jsonl"]
        )
        gc.collect()
    assert result.exit_code == 2 and "unexpected extra argument" in result.output
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
