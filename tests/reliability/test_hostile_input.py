"""Hostile values, URLs, checkpoints and definitions: one clear error, never a crash, a hang,
a leaked password or a lookalike id (issue #18, items 10-14)."""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from treatyflow.errors import InvalidInput

Cli = Callable[..., Result]


# ---------------------------------------------------------------------------- case ids (11)
@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("LTU-ottawa-2025\u200b", "U+200B"),  # zero width space: a lookalike
        ("\ufeffLTU-ottawa-2025", "U+FEFF"),
        ("LTU-\u202eottawa", "U+202E"),  # right-to-left override
        ("LTU-\u2066x\u2069", "U+2066"),  # bidi isolate
        ("LTU-\u200eottawa", "U+200E"),  # left-to-right mark
        ("LTU-\x9b2J", "U+009B"),  # C1 CSI
        ("LTU\r-1", "U+000D"),
        ("LTU\n-1", "U+000A"),
        ("LTU\t-1", "U+0009"),
        ("LTU-\x1b[2J", "U+001B"),
        ("LTU-\x00", "U+0000"),
        ("LTU-\u2028x", "U+2028"),  # line separator
        (" LTU-1", "surrounding spaces"),
        ("", "non-empty"),
        ("x" * 201, "the limit is 200"),
    ],
)
def test_case_ids_refuse_invisible_and_control_characters(text: str, why: str) -> None:
    from treatyflow.values import check_case_id

    with pytest.raises(InvalidInput) as caught:
        check_case_id(text)
    assert why in str(caught.value)
    assert "\x1b" not in str(caught.value) and "\u202e" not in str(caught.value)


def test_case_ids_are_normalised_to_nfc() -> None:
    """A decomposed é and a composed é are the same id."""
    from treatyflow.values import check_case_id

    assert check_case_id("Cafe\u0301-1") == "Caf\u00e9-1"
    assert check_case_id("LTU-ottawa-2025") == "LTU-ottawa-2025"
    assert check_case_id("Україна-2025") == "Україна-2025"


@pytest.mark.parametrize("text", ["ok\rforged", "a\x9b2Jb", "x\x85y", "x\x1by"])
def test_free_text_refuses_cr_and_c1_controls(text: str) -> None:
    """CR (which rewrites the terminal line) and C1 controls are refused in free text, as the
    documented rule says; tab and newline stay allowed."""
    from treatyflow.values import check_text

    with pytest.raises(InvalidInput, match="control characters"):
        check_text(text, "--note")
    assert check_text("line one\n\tline two", "--note") == "line one\n\tline two"


def test_cli_refuses_a_cr_in_a_note(cli: Cli, populated: Path) -> None:
    result = cli("case", "note", "LTU-1", "real\rfake")
    assert result.exit_code == 1 and "control characters" in result.stderr


# ---------------------------------------------------------------------------- printable (10)
@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("a\x9bb", "a\\x9bb"),
        ("a\rb", "a\\x0db"),
        ("a\nb", "a\\x0ab"),
        ("x\u202ey", "x\\u202ey"),
        ("x\u200by", "x\\u200by"),
        ("x\ud800y", "x\\ud800y"),
        ("LTU-ottawa-2025", "LTU-ottawa-2025"),
        ("Šiauliai\tcafé", "Šiauliai\tcafé"),
    ],
)
def test_printable_escapes_every_control(text: str, shown: str) -> None:
    from treatyflow.values import printable

    assert printable(text) == shown


def test_printable_may_keep_newlines() -> None:
    from treatyflow.values import printable

    assert printable("a\nb\x1bc", keep_newlines=True) == "a\nb\\x1bc"


# ---------------------------------------------------------------------------- sources (14)
def test_sources_per_event_are_limited() -> None:
    from treatyflow.values import MAX_SOURCES, check_sources

    check_sources([{}] * MAX_SOURCES)
    with pytest.raises(InvalidInput, match=f"the limit is {MAX_SOURCES}"):
        check_sources([{}] * (MAX_SOURCES + 1))


# ---------------------------------------------------------------------------- URLs (12, 13)
def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TREATYFLOW_ACTOR": "analyst"}
    env.pop("TREATYFLOW_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "treatyflow", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("argv", [("case", "list"), ("doctor",), ("init",), ("verify",)])
def test_a_password_with_an_at_sign_never_leaks(argv: tuple[str, ...]) -> None:
    """postgresql://u:abc@SECRETTAIL@host: the host is what follows the last '@'; no part
    of the password is printed (the tail used to be taken for the host name)."""
    url = "postgresql://postgres:abc@SECRETTAIL@127.0.0.1:1/x"
    result = _run("--db", url, *argv)
    assert result.returncode == 1, result.stderr
    assert "SECRETTAIL" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_url_parsing_takes_the_host_after_the_last_at() -> None:
    from treatyflow.store.sql import to_url, url_parts

    parts = url_parts("postgresql://postgres:abc@SECRETTAIL@db.example:5433/x")
    assert (parts.host, parts.port) == ("db.example", 5433)
    assert to_url("postgresql://postgres:abc@SECRETTAIL@db.example/x") == (
        "postgresql+psycopg://postgres:abc%40SECRETTAIL@db.example/x"
    )


def test_a_keyword_dsn_is_refused_not_taken_for_a_file(tmp_path: Path) -> None:
    """host=... password=... is a clear error; no SQLite file named after it is created and
    the password is not printed."""
    dsn = "host=127.0.0.1 port=5432 dbname=x user=postgres password=SECRETPW"
    for argv in (("init",), ("case", "list"), ("doctor",)):
        result = _run("--db", dsn, *argv, cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert "keyword" in result.stdout + result.stderr
        assert "SECRETPW" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["postgresql://u@127.0.0.1:abc/x", "postgresql://u@h:-1/x"])
def test_a_bad_port_is_a_clear_error(url: str) -> None:
    for argv in (("case", "list"), ("doctor",)):
        result = _run("--db", url, *argv)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr


# ---------------------------------------------------------------------------- checkpoints (13)
def _limited(*args: str) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    env = {**os.environ, "TREATYFLOW_ACTOR": "analyst"}
    env.pop("TREATYFLOW_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "treatyflow", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        preexec_fn=limit,
        check=False,
    )


def _checkpoint(cli: Cli, tmp_path: Path) -> Path:
    path = tmp_path / "heads.json"
    assert cli("checkpoint", "-o", str(path)).exit_code == 0
    return path


@pytest.mark.parametrize("damage", ["deep", "1e400", "2.5", "true", "negative"])
def test_a_hostile_checkpoint_is_one_error(
    cli: Cli, populated: Path, tmp_path: Path, damage: str
) -> None:
    path = _checkpoint(cli, tmp_path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    if damage == "deep":
        path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    else:
        value = {"1e400": "1e400", "2.5": "2.5", "true": "true", "negative": "-1"}[damage]
        text = json.dumps(doc).replace(
            f'"version": {doc["cases"][0]["version"]}', f'"version": {value}', 1
        )
        path.write_text(text, encoding="utf-8")
    result = _limited("--db", str(populated), "verify", "--checkpoint", str(path))
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("Error:") and "Traceback" not in result.stderr
    assert "internal error" not in result.stderr and "checkpoint" in result.stderr


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_special_checkpoint_is_refused(populated: Path, tmp_path: Path, special: str) -> None:
    path = Path(special) if special.startswith("/") else tmp_path / special
    if special == "fifo":
        os.mkfifo(path)
    result = _limited("--db", str(populated), "verify", "--checkpoint", str(path))
    assert result.returncode == 1, result.stderr
    assert "not a regular file" in result.stderr


# ---------------------------------------------------------------------------- SVG (13)
def test_a_thousand_chained_states_lay_out() -> None:
    """The diagram of a procedure of 1,000 chained states (and a back edge) is drawn; the
    layout no longer recurses once per state."""
    from treatyflow.reports import svg

    n = 1000
    states = [{"id": f"s{i}", "title": f"State {i}", "final": i == n - 1} for i in range(n)]
    transitions = [
        {"from": f"s{i}", "to": f"s{i + 1}", "trigger": f"t{i}", "clock": None}
        for i in range(n - 1)
    ] + [{"from": f"s{n - 2}", "to": "s0", "trigger": "restart", "clock": None}]
    graph = {"states": states, "transitions": transitions, "initial": "s0"}
    drawn = svg.diagram(graph, ["s0", "s1", "s2"], "s2")
    assert len(drawn.nodes) == n
    ys = {node.id: node.y for node in drawn.nodes}
    assert ys["s0"] < ys["s1"] < ys[f"s{n - 1}"]  # one layer per state, in order


# ---------------------------------------------------------------------------- doctor (14)
def test_doctor_never_suggests_chmod_on_a_device(tmp_path: Path) -> None:
    """--db /dev/null: doctor says it is not a database file; no 'chmod 600 /dev/null'."""
    from treatyflow.doctor import run_checks

    findings = run_checks("/dev/null", [])
    fixes = [f.fix_command or "" for f in findings]
    assert not any("chmod" in fix for fix in fixes), fixes
    [database] = [f for f in findings if f.check == "database"]
    assert not database.ok and "not a regular file" in (database.problem or "")


def test_a_device_is_not_opened_as_a_database(tmp_path: Path) -> None:
    """SQLite takes /dev/null for an empty database (and loses every write): refused."""
    result = _run("--db", "/dev/null", "case", "list")
    assert result.returncode == 1 and "not a regular file" in result.stderr


# ---------------------------------------------------------------------------- init race (14)
def _init(url: str, barrier: object, results: object) -> None:
    from treatyflow.store import migrate, open_store

    store = open_store(url)
    try:
        barrier.wait()  # type: ignore[attr-defined]
        migrate.upgrade(store)
        results.put("ok")  # type: ignore[attr-defined]
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]
    finally:
        store.engine.dispose()


def test_concurrent_init_on_a_fresh_postgresql_database(postgres_url: str) -> None:
    """Six processes upgrade one fresh schema at the same moment: all succeed (one creates
    the tables, the others find them), no duplicate-key error."""
    from treatyflow.store import migrate, open_store

    context = multiprocessing.get_context("spawn")
    for _round in range(2):
        barrier, results = context.Barrier(6), context.Queue()
        workers = [
            context.Process(target=_init, args=(postgres_url, barrier, results)) for _ in range(6)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        outcomes = [results.get(timeout=10) for _ in workers]
        assert outcomes == ["ok"] * 6, outcomes
        store = open_store(postgres_url)
        try:
            assert migrate.current(store) == migrate.head()
            with store.engine.begin() as conn:  # a fresh schema again for the next round
                schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        finally:
            store.engine.dispose()


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_special_key_file_is_refused(populated: Path, tmp_path: Path, special: str) -> None:
    """A FIFO named as the signing key blocked the command for ever (the file was opened
    for reading, which waits for a writer); /dev/zero was read up to the size limit. Both are
    refused at once, writing nothing."""
    path = Path(special) if special.startswith("/") else tmp_path / special
    if special == "fifo":
        os.mkfifo(path)
    result = _limited("--db", str(populated), "case", "note", "LTU-1", "x", "--key", str(path))
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("Error:") and "not a regular file" in result.stderr
