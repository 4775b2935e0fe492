"""Hypothesis-generated command lines for the whole CLI: no crash, no corruption.

The command tree is read from click itself, so a command added later is fuzzed too. Every
generated command line must end with exit status 0, 1 or 2, print no traceback (without
``--debug``) and no "internal error" (an unexpected exception), and a command that fails
must leave the database exactly as it was.

Safety: the commands run with the working directory in a temporary folder and the generated
values never hold an absolute path or ``..``, so nothing is written outside it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import click
import pytest
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treatyflow.cli import main

Dump = Callable[[Path], str]
Invoke = Callable[[Sequence[str]], Result]

#: Values that reach interesting branches: real ids, near misses and hostile text.
INTERESTING = [
    # cases, treaties, procedures, states, triggers, countries
    "LTU-1", "G1", "NOPE-1", "LTU", "POL", "ltu", "lt", "XXX", "ottawa", "rome-statute",
    "generic", "pol", "notified", "considering", "effective", "notify", "revoke",
    "take-effect", "withdrawal", "suspension", "objection", "finding",
    # dates and timestamps
    "2025-06-27", "2025-12-27", "2025-02-30", "31/12/2025", "2025-13-01", "0001-01-01",
    "9999-12-31", "2025-06-27T14:03:11Z", "2025-06-27T25:00:00Z", "yesterday",
    # facts and sources
    "armed_conflict=true", "armed_conflict=maybe", "specified_date=2025-02-30",
    "specified_date=2026-01-01", "Armed=1", "=", "x=", "n=1e999999", "n=NaN",
    "citation=Decree 1; level=official; kind=decree; ref=1/2025",
    "citation=x; level=bogus", "citation=x; date=2025-02-30", "url=javascript:alert(1)",
    # formats, modes
    "md", "html", "json", "csv", "text", "mermaid", "dot", "600", "0644", "abc",
    # hostile text
    "", " ", "-", "--", "--help", "-h", "\x00", "\x1b[31mred", "\x07", "\r\n", "\ud800",
    "\udcff\udcfe", "'; DROP TABLE events; --", "{{ 7*7 }}", "<script>alert(1)</script>",
    "%s%s%n", "é\u0301", "\u202e", "x" * 10_001, "1" * 400, "-1", "0", "99999999999999999999",
]  # fmt: skip

#: Relative paths in the temporary working directory (some exist, some cannot be created).
PATHS = [
    "out.md", "out.html", "bundle.jsonl", "cp.json", "cal.ics", "reports", "existing.txt",
    "adir", "missing/dir/x.md", ".", "new.db", "workflows",
]  # fmt: skip

#: What --db may name besides the fuzzed database (None = the fuzzed database itself).
DBS = [
    *[None] * 20, "new.db", "missing/x.db", "sqlite:///rel.db", "",
    "existing.txt", "foo://bar", "postgresql+psycopg://user:pw@127.0.0.1:1/x",
]  # fmt: skip


DATES = ["2025-06-27", "2025-06-30", "2025-07-01", "2025-12-27", "2026-01-01", "2025-02-30",
         "31/12/2025", "", "2025-6-1"]  # fmt: skip

#: Plausible values by option or argument name, so that many generated commands succeed.
NAMED: dict[str, list[str]] = {
    "--country": ["LTU", "POL", "LVA", "FIN", "UKR", "USA", "ltu", "XXX", "LT", ""],
    "--treaty": ["ottawa", "ccm", "rome-statute", "paris", "npt", "nope"],
    "--procedure": ["generic", "ltu", "pol", "international-withdrawal", "nope"],
    "--action": ["withdrawal", "suspension", "denunciation"],
    "--at": ["notified", "considering", "effective", "revoked", "nope"],
    "--to": ["notified", "effective", "nope"],
    "--id": ["NEW-1", "LTU-1", " pad ", "x" * 201],
    "--on": DATES,
    "--as-of": DATES,
    "--known-at": ["2025-06-27T14:03:11Z", "2030-01-01", "2025-06-27T25:00:00Z", "now"],
    "--fact": ["armed_conflict=true", "armed_conflict=false", "specified_date=2026-01-01",
               "armed_conflict=maybe", "nope=1"],
    "--source": ["Decree 1", "citation=Decree 1; level=official; kind=decree; ref=1/2025",
                 "citation=x; level=bogus", "https://example.org/x"],
    "--note": ["a note", "x" * 10_001, "\x00", "\ud800"],
    "--actor": ["analyst", "", "\x1b[2J", "system"],
    "--reason": ["typo in the date", ""],
    "--backdate": ["late news"],
    "--out-of-procedure": ["deliberate"],
    "--by": ["NOR", "actor", "country", "treaty"],
    "case_id": ["LTU-1", "G1", "NEW-1", "NOPE"],
    "case_ids": ["LTU-1", "G1", "NOPE"],
    "trigger": ["notify", "revoke", "take-effect", "decide", "nope"],
    "assignment": ["armed_conflict=true", "armed_conflict=false", "specified_date=2026-01-01",
                   "armed_conflict=maybe", "x"],
    "text": ["a note", "", "x" * 10_001, "\x00", "\udcff"],
    "record_type": ["objection", "finding", "nope"],
    "seq": ["1", "2", "3", "0", "-1", "999", "x"],
    "ident": ["ottawa", "ltu", "generic", "nope"],
    "procedure": ["ltu", "generic", "nope"],
}  # fmt: skip


def _safe(value: str) -> bool:
    return not value.startswith(("/", "\\")) and ".." not in value


def _possible_path(value: str) -> bool:
    """Whether a real argv could carry this path: no NUL (execve takes C strings) and only
    the surrogates Python's surrogateescape makes of undecodable bytes (U+DC80-U+DCFF).

    Empty names and names longer than a file system allows are tested on their own, command
    by command, in test_bad_input.py::test_odd_file_name_is_a_clear_error.
    """
    if "\x00" in value or len(value) > 255 or not value:  # see test_bad_input.py
        return False
    try:
        os.fsencode(value)
    except UnicodeEncodeError:
        return False
    return True


def leaf_commands(group: click.Group) -> list[tuple[tuple[str, ...], click.Command]]:
    out: list[tuple[tuple[str, ...], click.Command]] = []

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)  # list_commands/get_command: the root group is lazy
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                walk(sub, (*path, name))
        else:
            out.append((path, cmd))

    walk(group, ())
    return out


COMMANDS = leaf_commands(main)
assert len(COMMANDS) > 20, "the command walk found too few commands"

values = st.one_of(
    st.sampled_from(INTERESTING),
    st.sampled_from(PATHS),
    st.text(max_size=24).filter(_safe),
    st.integers(-5, 10**6).map(str),
)


@st.composite
def command_lines(draw: st.DrawFn, db: str) -> list[str]:
    argv: list[str] = []
    db_choice = draw(st.sampled_from(DBS))
    argv += ["--db", db if db_choice is None else db_choice]
    if draw(st.integers(0, 9)) == 0:
        argv += ["--workflows", draw(st.sampled_from(["workflows", "adir", "nope", "."]))]
    path, command = draw(st.sampled_from(COMMANDS))
    argv += list(path)
    params = list(command.params)
    for param in draw(st.permutations(params)):
        if isinstance(param, click.Argument):
            count = 1 if param.nargs == 1 else draw(st.integers(0, 3))
            for _ in range(count if draw(st.integers(0, 7)) else 0):
                argv.append(draw(_value_for(param)))
            continue
        if not isinstance(param, click.Option):
            continue
        if not draw(st.integers(0, 7) if param.required else st.booleans()):
            continue
        name = draw(st.sampled_from(param.opts))
        if param.is_flag:
            argv.append(name)
            continue
        for _ in range(draw(st.integers(1, 3)) if param.multiple else 1):
            argv += [name, draw(_value_for(param))]
    if draw(st.integers(0, 11)) == 0:  # something unexpected at the end
        argv.append(draw(st.sampled_from(["--bogus", "extra", "-x", "--json", "--"])))
    return argv


def _value_for(param: click.Parameter) -> st.SearchStrategy[str]:
    kind = param.type
    name = param.opts[0] if isinstance(param, click.Option) else (param.name or "")
    if name in NAMED:
        return st.one_of(st.sampled_from(NAMED[name]), st.sampled_from(NAMED[name]), values)
    if isinstance(kind, click.Choice):
        choices = st.sampled_from([str(c) for c in kind.choices])
        return st.one_of(choices, choices, choices, values)
    if isinstance(kind, click.Path | click.File):
        return st.one_of(st.sampled_from(PATHS), values).filter(_possible_path)
    return values


@pytest.fixture
def fuzz_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory with a file, an empty directory and a definitions folder."""
    work = tmp_path / "cwd"
    work.mkdir()
    (work / "existing.txt").write_text("keep me\n")
    (work / "adir").mkdir()
    (work / "workflows" / "treaties").mkdir(parents=True)
    monkeypatch.chdir(work)
    yield work


@pytest.fixture
def no_server_loop(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """``serve`` parses its options and opens the workspace as usual, but returns instead of
    serving until interrupted (the web view has its own tests, tests/web); the addresses it
    would have served are kept."""
    served: list[tuple[str, int]] = []

    def run(ws: object, *, host: str, port: int) -> None:
        served.append((host, port))

    monkeypatch.setattr("treatyflow.web.server.run", run)
    return served


def check_result(argv: list[str], result: Result, before: str, after: str) -> None:
    shown = f"argv={argv!r}\nexit={result.exit_code}\n{result.output}"
    # `pending --exit-code` exits 3 when it lists something (docs/errors.md): only there.
    listed = (3,) if "pending" in argv and "--exit-code" in argv else ()
    assert result.exit_code in (0, 1, 2, *listed), shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert "internal error" not in result.output, shown
    if "--debug" not in argv:
        assert "Traceback" not in result.output, shown
    if result.exit_code != 0 and "demo" not in argv:
        assert before == after, shown


def run_fuzz(populated: Path, invoke: Invoke, dump: Dump, examples: int) -> list[int]:
    """Run ``examples`` generated command lines; returns their exit codes."""
    codes: list[int] = []

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(argv=command_lines(str(populated)))
    def fuzz(argv: list[str]) -> None:
        before = dump(populated)
        result = invoke(argv)
        check_result(argv, result, before, dump(populated))
        codes.append(result.exit_code)
        if "--force" in argv and any(a.endswith("existing.txt") for a in argv):
            # --force may overwrite it, as documented: put it back, so that the check at the
            # end still catches a write over it without --force.
            target = next(Path(a) for a in argv if a.endswith("existing.txt"))
            if target.is_file() and not target.is_symlink():
                target.write_text("keep me\n")

    fuzz()
    return codes


def test_generated_command_lines_never_crash_or_corrupt(
    populated: Path,
    fuzz_dir: Path,
    fast_catalog: None,
    no_server_loop: list[tuple[str, int]],
    invoke: Invoke,
    dump: Dump,
) -> None:
    """Random command lines over every command exit 0/1/2 (3 only for `pending --exit-code`),
    cleanly, changing nothing on error."""
    codes = run_fuzz(populated, invoke, dump, examples=500)
    assert (fuzz_dir / "existing.txt").read_text() == "keep me\n"
    # successes, domain errors and usage errors were all reached (3: `pending --exit-code`)
    assert set(codes) - {3} == {0, 1, 2}


@pytest.mark.slow
def test_generated_command_lines_never_crash_or_corrupt_long(
    populated: Path,
    fuzz_dir: Path,
    fast_catalog: None,
    no_server_loop: list[tuple[str, int]],
    invoke: Invoke,
    dump: Dump,
) -> None:
    """Thousands of random command lines exit 0/1/2, cleanly, changing nothing on error."""
    codes = run_fuzz(populated, invoke, dump, examples=10_000)
    assert set(codes) - {3} == {0, 1, 2}


def test_every_command_is_fuzzed() -> None:
    """The fuzzer's command list is the CLI's whole command tree (doctor included)."""
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"init", "case open", "case advance", "verify", "doctor", "tick"} <= names
    assert len(names) == len(COMMANDS)


def test_debug_shows_traceback_only_with_debug(populated: Path, invoke: Invoke) -> None:
    """A domain error prints 'Error:' without a traceback, and a traceback only with --debug."""
    plain = invoke(["--db", str(populated), "case", "show", "NOPE"])
    debug = invoke(["--db", str(populated), "--debug", "case", "show", "NOPE"])
    assert (plain.exit_code, debug.exit_code) == (1, 1)
    assert "Traceback" not in plain.output and "Error: no case 'NOPE'" in plain.output
    assert "Traceback" in debug.output
