"""A kinder terminal (#17): colour on a terminal only, tables that fit 80 and 120 columns
without cutting a word, a pager for long histories, an example in every --help, shell
completion, and citations in `case history`."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from rich.cells import cell_len

from treatyflow.cli import completion, main, terminal
from treatyflow.cli.examples import EXAMPLES, has_example
from treatyflow.docgen import walk

Cli = Callable[..., Result]

ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDTHS = [80, 120]

NOTE = (
    "The instrument of withdrawal was deposited with the Secretary-General; the reference "
    "C.N.123.2025.TREATIES-XXVI.5 and the Ministry's statement were checked against the "
    "depositary's page, which lists the receipt date and the date it takes effect."
)
SOURCES = (
    "citation=Depositary notification C.N.123.2025.TREATIES-XXVI.5 (Lithuania: withdrawal "
    "from the Convention on the Prohibition of Anti-Personnel Mines); "
    "url=https://treaties.un.org/doc/Publication/CN/2025/CN.123.2025-Eng.pdf; "
    "kind=depositary-notification",
    "LRT, 27 Jun 2025: Lithuania leaves the Ottawa Convention "
    "https://www.lrt.lt/en/news-in-english/19/2593301/lithuania-withdraws",
)


def plain(text: str) -> str:
    return ANSI.sub("", text)


@pytest.fixture
def case_cli(cli: Cli) -> Cli:
    """LTU-1 notified with a long note and two cited sources; EST-1 with a deviation."""
    args = [
        "case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1",
        "--at", "notified", "--on", "2025-06-27", "--note", NOTE,
    ]  # fmt: skip
    for source in SOURCES:
        args += ["--source", source]
    steps = [
        args,
        ["case", "note", "LTU-1", "Asked the Ministry for the note verbale.", "--on",
         "2025-07-02", "--source", "Email of 2 Jul 2025 to the Ministry"],
        ["case", "open", "--country", "EST", "--treaty", "ottawa", "--id", "EST-1",
         "--on", "2025-04-01"],
        ["case", "advance", "EST-1", "notify", "--on", "2025-06-27", "--out-of-procedure",
         "recorded before the bill was found in the parliament's records"],
    ]  # fmt: skip
    for step in steps:
        result = cli(*step)
        assert result.exit_code == 0, result.output
    return cli


@pytest.fixture
def as_terminal(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make stdout count as a terminal (FORCE_COLOR, as rich reads it) of a given width."""

    def set_width(width: int) -> None:
        monkeypatch.setenv("FORCE_COLOR", "1")
        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.setenv("COLUMNS", str(width))

    return set_width


@pytest.fixture(autouse=True)
def _piped(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test inherits the developer's colour or pager settings."""
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TREATYFLOW_PAGER", "")


READS = [
    ("case", "list"),
    ("case", "show", "LTU-1"),
    ("case", "history", "LTU-1"),
    ("pending", "--as-of", "2025-07-01"),
    ("report", "matrix", "--as-of", "2025-07-01"),
    ("conformance",),
    ("workflow", "list"),
]


@pytest.mark.parametrize("args", READS, ids=[" ".join(a[:2]) for a in READS])
def test_piped_output_has_no_escape_sequences(case_cli: Cli, args: tuple[str, ...]) -> None:
    """Piped (CliRunner's stdout is no terminal), nothing is coloured or boxed."""
    result = case_cli(*args)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert "┃" not in result.stdout and "│" not in result.stdout


def test_piped_error_has_no_colour(case_cli: Cli) -> None:
    result = case_cli("case", "show", "NOPE")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no case 'NOPE'")
    assert "\x1b" not in result.stderr


def test_a_terminal_gets_colour(case_cli: Cli, as_terminal: Callable[[int], None]) -> None:
    """On a terminal the state, the flags and "Error:" are coloured."""
    as_terminal(120)
    show = case_cli("case", "show", "LTU-1").stdout
    assert re.search(r"\x1b\[[0-9;]*m" + re.escape("notified ("), show)
    pending = case_cli("pending", "--as-of", "2025-07-01").stdout
    assert "\x1b[33mnotified" in pending  # the state
    overdue = case_cli("pending", "--as-of", "2026-01-05").stdout  # LTU-1's clock, not ticked
    assert "\x1b[1;31mOVERDUE" in overdue
    error = case_cli("case", "show", "NOPE")
    assert error.stderr.startswith("\x1b[31m\x1b[1mError:\x1b[0m no case 'NOPE'")
    assert error.exit_code == 1


@pytest.mark.parametrize("args", READS, ids=[" ".join(a[:2]) for a in READS])
def test_no_color_means_no_escape_sequence_even_on_a_terminal(
    case_cli: Cli, as_terminal: Callable[[int], None], monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
) -> None:  # fmt: skip
    """NO_COLOR wins over FORCE_COLOR: the terminal layout, but not one escape sequence."""
    as_terminal(100)
    monkeypatch.setenv("NO_COLOR", "1")
    result = case_cli(*args)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert "\x1b" not in case_cli("case", "show", "NOPE").stderr


def _words(*texts: str) -> set[str]:
    return {w for t in texts for w in t.split()}


@pytest.mark.parametrize("width", WIDTHS)
def test_history_fits_and_cuts_no_word(
    case_cli: Cli, as_terminal: Callable[[int], None], width: int
) -> None:
    """At 80 and 120 columns every line fits, and every word of the note and of the
    citations appears whole (wrapped at spaces or stacked, never folded mid-word)."""
    as_terminal(width)
    result = case_cli("case", "history", "LTU-1")
    assert result.exit_code == 0, result.output
    text = plain(result.stdout)
    lines = text.splitlines()
    assert max(cell_len(line.rstrip()) for line in lines) <= width
    found = _words(text)
    assert _words(NOTE) <= found
    assert {"C.N.123.2025.TREATIES-XXVI.5", "<treaties.un.org/doc/…>", "[official];"} <= found
    assert "<lrt.lt/en/…>" in found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "args",
    [
        ("report", "matrix", "--as-of", "2025-07-01"),
        ("conformance",),
        ("pending", "--as-of", "2025-07-01"),
        ("case", "list"),
        ("case", "show", "LTU-1"),
    ],
    ids=["matrix", "conformance", "pending", "case list", "case show"],
)
def test_reports_fit_the_terminal(
    case_cli: Cli, as_terminal: Callable[[int], None], width: int, args: tuple[str, ...]
) -> None:
    """`report matrix`, `conformance` and the tables stay within 80 and 120 columns."""
    as_terminal(width)
    result = case_cli(*args)
    assert result.exit_code == 0, result.output
    text = plain(result.stdout)
    assert max(cell_len(line.rstrip()) for line in text.splitlines()) <= width, text
    piped = case_cli(*args, env={"FORCE_COLOR": ""}).stdout
    # The same words are there, whatever the layout (headers aside).
    assert _words(piped) - {"-"} <= _words(text) | _words(" ".join(piped.splitlines()[:2]))


def test_conformance_wraps_at_spaces(case_cli: Cli, as_terminal: Callable[[int], None]) -> None:
    """A long deviation reason is wrapped, not cut, at 80 columns."""
    as_terminal(80)
    text = plain(case_cli("conformance", "EST-1").stdout)
    assert "recorded before the bill was found in the parliament's records" in " ".join(
        line.strip() for line in text.splitlines()
    )


def test_stacked_rows_when_columns_cannot_fit() -> None:
    """Too many wide columns for the width: each row becomes a block of `header: value`."""
    from rich.console import Console

    con = Console(width=40, record=True, force_terminal=False)
    headers = ["case", "first long column", "second long column"]
    rows = [["LTU-1", "a" * 20, "b" * 20]]
    terminal.render_table(con, None, headers, rows)
    text = con.export_text()
    assert "case LTU-1" in text
    assert "first long column: " + "a" * 20 in text
    assert "a" * 20 in text.split() and "b" * 20 in text.split()


def test_fit_widths_keeps_every_word_whole() -> None:
    headers = ["a", "b"]
    rows = [["one two three", "x" * 30]]
    widths = terminal.fit_widths(headers, rows, 50)
    assert widths and widths[1] >= 30 and sum(widths) + 7 <= 50
    assert terminal.fit_widths(headers, rows, 30) == []


# ---------------------------------------------------------------- pager


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real terminal as far as the pager can tell, 5 lines high."""
    monkeypatch.setattr(terminal, "stdout_is_tty", lambda: True)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("LINES", "5")


def test_long_history_goes_through_the_pager(
    case_cli: Cli, tty: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TREATYFLOW_PAGER receives a history longer than the screen; stdout stays empty."""
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("TREATYFLOW_PAGER", f"cat > {shlex.quote(str(paged))}")
    result = case_cli("case", "history", "LTU-1")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "History of LTU-1" in plain(paged.read_text())
    assert "\x1b[" in paged.read_text()  # colour goes through (less -R via LESS=FRX)


def test_pager_respects_pager_and_treatyflow_pager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TREATYFLOW_PAGER")
    monkeypatch.setenv("PAGER", "more")
    assert terminal.pager_command() == "more"
    monkeypatch.setenv("TREATYFLOW_PAGER", "less -S")
    assert terminal.pager_command() == "less -S"
    monkeypatch.setenv("TREATYFLOW_PAGER", "cat")
    assert terminal.pager_command() is None


def test_no_pager_option_prints_directly(
    case_cli: Cli, tty: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("TREATYFLOW_PAGER", f"cat > {shlex.quote(str(paged))}")
    result = case_cli("case", "history", "LTU-1", "--no-pager")
    assert "History of LTU-1" in plain(result.stdout)
    assert not paged.exists()


def test_no_pager_when_piped(
    case_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FORCE_COLOR into a pipe colours, but never starts a pager."""
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("TREATYFLOW_PAGER", f"cat > {shlex.quote(str(paged))}")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("LINES", "5")
    result = case_cli("case", "history", "LTU-1")
    assert "History of LTU-1" in plain(result.stdout)
    assert not paged.exists()


def test_a_pager_that_cannot_start_falls_back_to_stdout(
    case_cli: Cli, tty: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREATYFLOW_PAGER", "no-such-pager-treatyflow")
    result = case_cli("case", "history", "LTU-1")
    assert "History of LTU-1" in plain(result.stdout)


# ---------------------------------------------------------------- citations


def test_history_shows_citations_not_counts(case_cli: Cli) -> None:
    """Each event lists its sources' citations (short, with the site), not "[2 source(s)]"."""
    text = case_cli("case", "history", "LTU-1").stdout
    assert "source(s)" not in text
    assert "Depositary notification C.N.123.2025.TREATIES-XXVI.5" in text
    assert "<treaties.un.org/doc/…> [official]" in text
    assert "LRT, 27 Jun 2025: Lithuania leaves the Ottawa Convention <lrt.lt/en/…>" in text
    assert "Email of 2 Jul 2025 to the Ministry" in text


LONG = (
    "Verkkouutiset, Jan 2026: 'Suomi ilmoitti Ottawan sopimuksen irtisanomisesta 10. "
    "heinakuuta 2025' (quoting the Ministry for Foreign Affairs)"
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            {"citation": "Decree No. 441/2025", "level": "official"},
            "Decree No. 441/2025 [official]",
        ),
        ({"citation": "Gazette", "url": "https://www.example.org/a"}, "Gazette <example.org/a>"),
        (
            {"citation": LONG, "url": "https://www.verkkouutiset.fi/a/suomi-ilmoitti-ottawan/"},
            "Verkkouutiset, Jan 2026: 'Suomi ilmoitti Ottawan sopimuksen… <verkkouutiset.fi/a/…>",
        ),
        (
            {"citation": "See https://a.example/p", "url": "https://a.example/p"},
            "See <a.example/p>",
        ),
    ],
    ids=["level", "host", "long", "url-in-text"],
)
def test_citation_is_shortened_sensibly(source: dict[str, Any], expected: str) -> None:
    """Cut at a word with an ellipsis; the site and the start of the path; the level when
    it is not the default."""
    assert terminal.citation(source) == expected


# ---------------------------------------------------------------- --help examples


def _commands() -> Iterator[tuple[click.Context, click.Command]]:
    yield from walk(main)


COMMANDS = [ctx.command_path for ctx, _ in walk(main)]


@pytest.mark.parametrize("path", COMMANDS)
def test_every_command_help_has_an_example(path: str) -> None:
    """Every command's --help shows at least one `treatyflow ...` command line."""
    ctx, command = next((c, m) for c, m in _commands() if c.command_path == path)
    assert has_example(command.get_help(ctx)), f"{path}: add an example to cli/examples.py"


def _example_lines() -> list[str]:
    lines = []
    for ctx, command in _commands():
        for line in command.get_help(ctx).splitlines():
            if line.strip().startswith("treatyflow ") and not line.strip().startswith("Usage"):
                lines.append(line.strip())
    return lines


@pytest.mark.parametrize("line", _example_lines())
def test_every_example_is_a_valid_command_line(line: str) -> None:
    """Each example parses: its command exists and its options, arguments and choices are
    right (a shell pipe or redirection after it is left out)."""
    words = shlex.split(
        line.split(" | ")[0].split(" > ")[0].split(" < ")[0].split("  #")[0], comments=True
    )
    assert words[0] == "treatyflow"
    group: click.Command = main
    ctx = group.make_context("treatyflow", words[1:])
    while isinstance(group, click.Group):
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        name, sub, args = group.resolve_command(ctx, rest)
        assert sub is not None and name is not None, line
        ctx = sub.make_context(name, args, parent=ctx)
        group = sub


def test_examples_table_names_only_real_commands() -> None:
    paths = {p.removeprefix("treatyflow").strip() for p in COMMANDS}
    assert set(EXAMPLES) <= paths


# ---------------------------------------------------------------- completion


def _ctx(db: Path | str, command: str = "show", **params: Any) -> click.Context:
    root = click.Context(main, info_name="treatyflow")
    root.params = {"db": str(db), "workflows": None}
    case = click.Context(click.Group("case"), info_name="case", parent=root)
    ctx = click.Context(click.Command(command), info_name=command, parent=case)
    ctx.params = dict(params)
    return ctx


def _values(items: list[Any]) -> list[str]:
    return [i.value for i in items]


PARAM = click.Argument(["x"])


def test_complete_case_ids(case_cli: Cli, db: Path) -> None:
    assert _values(completion.case_ids(_ctx(db), PARAM, "")) == ["EST-1", "LTU-1"]
    assert _values(completion.case_ids(_ctx(db), PARAM, "lt")) == ["LTU-1"]


def test_completion_without_a_database_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert completion.case_ids(_ctx(missing), PARAM, "") == []
    assert completion.case_ids(_ctx(f"sqlite:///{missing}"), PARAM, "") == []
    assert not missing.exists()
    assert "notify" in _values(completion.triggers(_ctx(missing, case_id="X"), PARAM, ""))


def test_completion_on_a_broken_database_is_empty(tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database at all" * 100)
    assert completion.case_ids(_ctx(broken), PARAM, "") == []
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert completion.case_ids(_ctx(empty), PARAM, "") == []


def test_complete_treaties_procedures_and_triggers(case_cli: Cli, db: Path) -> None:
    assert _values(completion.treaty_ids(_ctx(db), PARAM, "o")) == ["open-skies", "ottawa"]
    procedures = _values(completion.procedure_ids(_ctx(db), PARAM, ""))
    assert "ltu" in procedures and "generic" in procedures
    assert "international-withdrawal" not in procedures  # a part cannot be opened alone
    assert "international-withdrawal" in _values(completion.definition_ids(_ctx(db), PARAM, "int"))
    on_case = completion.triggers(_ctx(db, "advance", case_id="LTU-1"), PARAM, "")
    assert _values(on_case) == ["revoke"]


def test_no_trigger_completes_on_a_closed_case(case_cli: Cli, db: Path) -> None:
    """A case that allows no trigger (closed) completes nothing, not every trigger there is."""
    assert case_cli("case", "advance", "LTU-1", "revoke", "--on", "2025-07-03").exit_code == 0
    assert completion.triggers(_ctx(db, "advance", case_id="LTU-1"), PARAM, "") == []


def test_completion_through_click(case_cli: Cli, db: Path) -> None:
    """The shell's view: `_TREATYFLOW_COMPLETE=bash_complete` lists the case ids."""
    env = {
        "_TREATYFLOW_COMPLETE": "bash_complete",
        "COMP_WORDS": f"treatyflow --db {db} case show L",
        "COMP_CWORD": "5",
    }
    result = CliRunner().invoke(main, [], env=env, prog_name="treatyflow")
    assert result.stdout.splitlines() == ["plain,LTU-1"]


def test_bash_source_script() -> None:
    result = CliRunner().invoke(
        main, [], env={"_TREATYFLOW_COMPLETE": "bash_source"}, prog_name="treatyflow"
    )
    assert "_treatyflow_completion" in result.stdout
    assert json.dumps(result.exit_code) == "0"


def test_demo_matrix_fits_the_terminal(
    runner: CliRunner, tmp_path: Path, as_terminal: Callable[[int], None]
) -> None:
    """The demo prints its matrix fitted to an 80-column terminal too."""
    as_terminal(80)
    result = runner.invoke(
        main,
        ["--db", str(tmp_path / "d.db"), "demo", "--out", str(tmp_path / "r"),
         "--as-of", "2026-03-01"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = plain(result.stdout)
    matrix = text.split("Country-by-step matrix:")[1].split("Audit log:")[0]
    assert "UKR-ottawa-2025" in matrix and "2025-07-18[25][26]" in matrix
    assert max(cell_len(line.rstrip()) for line in matrix.splitlines()) <= 80
