"""The parsed-definitions cache: found again by content, never trusted beyond plain data.

A cached document must change nothing but speed: the same catalogue, the same content
hashes, the same lint problems at the same lines; an edited file is parsed again; a cache
that is corrupt, foreign or malicious is ignored; TREATYFLOW_NO_CACHE turns it off.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from treatyflow import catalog as catalog_module
from treatyflow import parsecache
from treatyflow.catalog import content_hash, lint_paths, load_catalog

SHIPPED = Path(__file__).resolve().parents[1] / "workflows"
INVALID = Path(__file__).resolve().parent / "workflows" / "invalid"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("TREATYFLOW_CACHE_DIR", str(where))
    monkeypatch.delenv("TREATYFLOW_NO_CACHE", raising=False)
    return where


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the YAML parser record (and refuse) every call."""
    import treatyflow.loader as loader

    parsed: list[str] = []

    def refuse(raw: bytes, name: str) -> None:
        parsed.append(name)
        raise AssertionError(f"{name} was parsed")

    monkeypatch.setattr(loader, "load_bytes", refuse)
    return parsed


def _summary(directory: Path) -> dict[str, str]:
    cat = load_catalog([directory])
    return {
        **{f"treaty:{k}": content_hash(v) for k, v in cat.treaties.items()},
        **{f"procedure:{k}": content_hash(v) for k, v in cat.procedures.items()},
    }


def test_a_second_load_parses_nothing_and_gives_the_same_catalogue(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _summary(SHIPPED)
    assert list(cache_dir.glob("definitions-*.pickle"))
    parsed = _no_parsing(monkeypatch)
    assert _summary(SHIPPED) == first
    assert parsed == []


def test_lint_problems_and_lines_are_the_same_from_the_cache(cache_dir: Path) -> None:
    files = sorted(INVALID.glob("*.yaml"))
    fresh = lint_paths(files, [SHIPPED])
    assert len(fresh) >= len(files) - 1, "the invalid definitions have problems"
    assert any(p.line and p.line > 1 for p in fresh), "problems carry their lines"
    assert lint_paths(files, [SHIPPED]) == fresh


def test_an_edited_file_is_parsed_again(cache_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "workflows"
    shutil.copytree(SHIPPED, work)
    before = load_catalog([work]).treaty("ottawa")
    path = work / "treaties" / "ottawa.yaml"
    text = path.read_text(encoding="utf-8")
    assert f"short_name: {before.short_name}\n" in text
    path.write_text(text.replace(before.short_name, "Edited", 1), encoding="utf-8")
    assert load_catalog([work]).treaty("ottawa").short_name == "Edited"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a pickle",
        pickle.dumps({"format": 999, "documents": {}}),
        pickle.dumps(["a list"]),
        pickle.dumps({"format": parsecache.FORMAT, "documents": {"k": "not a pair"}}),
    ],
)
def test_a_corrupt_or_foreign_cache_is_ignored(cache_dir: Path, content: bytes) -> None:
    expected = _summary(SHIPPED)
    for path in cache_dir.glob("*.pickle"):  # the parsed documents and the catalogue's
        path.write_bytes(content)
    assert _summary(SHIPPED) == expected


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch PWNED",))


def test_a_planted_pickle_cannot_run_code(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    expected = _summary(SHIPPED)
    (path,) = cache_dir.glob("definitions-*.pickle")
    path.write_bytes(pickle.dumps({"format": parsecache.FORMAT, "documents": _Evil()}))
    for catalogue in cache_dir.glob("catalog-*.pickle"):  # so the parse cache is read
        catalogue.unlink()
    assert _summary(SHIPPED) == expected
    assert not (tmp_path / "PWNED").exists()


def test_no_cache_writes_nothing(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREATYFLOW_NO_CACHE", "1")
    _summary(SHIPPED)
    assert not cache_dir.exists()


def test_an_unwritable_cache_directory_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("TREATYFLOW_CACHE_DIR", str(blocker / "cache"))
    assert _summary(SHIPPED)


def test_the_cache_file_is_owner_only(cache_dir: Path) -> None:
    _summary(SHIPPED)
    (path,) = cache_dir.glob("definitions-*.pickle")
    assert path.stat().st_mode & 0o077 == 0


def test_a_warm_command_does_not_import_yaml(cache_dir: Path, tmp_path: Path) -> None:
    """With the cache warm, a command loads the catalogue without importing PyYAML."""
    db = tmp_path / "t.db"
    env = {**os.environ, "TREATYFLOW_CACHE_DIR": str(cache_dir)}
    exe = [sys.executable, "-m", "treatyflow", "--db", str(db)]
    subprocess.run([*exe, "init"], check=True, env=env, capture_output=True)
    probe = (
        "import sys, runpy; sys.argv = ['treatyflow', '--db', sys.argv[1], 'case', 'list'];"
        "\ntry:\n    runpy.run_module('treatyflow', run_name='__main__')"
        "\nexcept SystemExit:\n    pass\nprint('yaml' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", probe, str(db)], env=env, check=True)
    warm = subprocess.run(
        [sys.executable, "-c", probe, str(db)], env=env, check=True, capture_output=True, text=True
    )
    assert warm.stdout.strip().splitlines()[-1] == "False"


def test_the_catalogue_module_reads_files_through_the_cache() -> None:
    assert catalog_module.ParseCache is parsecache.ParseCache


def test_one_cache_file_per_directory_and_none_for_named_files(
    cache_dir: Path, tmp_path: Path
) -> None:
    """The cache grows with the definition directories used, never with linted files."""
    extra = tmp_path / "extra"
    (extra / "treaties").mkdir(parents=True)
    shutil.copy(SHIPPED / "treaties" / "cfe.yaml", extra / "treaties" / "cfe.yaml")  # overrides
    files = sorted(INVALID.glob("*.yaml"))
    for _ in range(2):
        for one in files[:3]:
            lint_paths([one], [SHIPPED])
        load_catalog([SHIPPED, extra])
    assert len(list(cache_dir.glob("definitions-*.pickle"))) == 2


def _parsed_again(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (without refusing) every file the YAML parser parses."""
    import treatyflow.loader as loader

    parsed: list[str] = []
    real = loader.load_bytes

    def spy(raw: bytes, name: str) -> Any:
        parsed.append(name)
        return real(raw, name)

    monkeypatch.setattr(loader, "load_bytes", spy)
    return parsed


def test_a_cache_file_others_may_write_is_not_read(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _summary(SHIPPED)
    # the parsed documents, the catalogue's models and its plain twins
    paths = list(cache_dir.glob("*.pickle"))
    assert {p.name.split("-")[0] for p in paths} == {"definitions", "catalog", "plain"}
    for path in paths:
        path.chmod(0o666)
    from treatyflow.catalog import load_plain_catalog

    assert load_plain_catalog([SHIPPED]) is None, "the twins' file must be ignored too"
    parsed = _parsed_again(monkeypatch)
    _summary(SHIPPED)
    assert parsed, "a group/world-writable cache file must be ignored"


def test_another_parser_makes_the_cache_stale(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _summary(SHIPPED)
    monkeypatch.setattr(parsecache, "parser_identity", lambda: "another PyYAML")
    parsed = _parsed_again(monkeypatch)
    _summary(SHIPPED)
    assert parsed, "a cache made by another parser must not be used"


def test_the_parser_identity_names_the_loader_and_pyyaml() -> None:
    identity = parsecache.parser_identity()
    assert len(identity) == 64 and identity == parsecache.parser_identity()
