"""The validated-catalogue cache: the same catalogue, found only by the same bytes.

A cached catalogue must change nothing but speed: the same definitions, the same content
hashes (what cases are pinned to), and no entry used for files that differ by one byte,
for another treatyflow or pydantic, or from a file that is damaged, planted or writable
by others.
"""

from __future__ import annotations

import errno
import io
import os
import pickle
import shutil
from pathlib import Path

import pytest
from pydantic import BaseModel

from treatyflow import catalog as catalog_module
from treatyflow import catalogcache
from treatyflow.catalog import Catalog, _definition_digest, content_hash, load_catalog
from treatyflow.definitions.procedure import Procedure
from treatyflow.definitions.treaty import Treaty
from treatyflow.errors import InvalidWorkflow

SHIPPED = Path(__file__).resolve().parents[1] / "workflows"
INVALID = Path(__file__).resolve().parent / "workflows" / "invalid"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("TREATYFLOW_CACHE_DIR", str(where))
    monkeypatch.delenv("TREATYFLOW_NO_CACHE", raising=False)
    return where


def _dumped(model: BaseModel) -> str:
    """The content hash from pydantic's own dump (never the cached hash)."""
    return _definition_digest(model.model_dump(mode="json"))


def _summary(cat: Catalog) -> dict[str, object]:
    return {
        **{f"treaty:{k}": (v.model_dump(), content_hash(v)) for k, v in cat.treaties.items()},
        **{
            f"procedure:{k}": (cat.procedure(k).model_dump(), content_hash(cat.procedure(k)))
            for k in cat.whole_procedures()
        },
        **{f"raw:{k}": v.model_dump() for k, v in cat.procedures.items()},
    }


def _loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every file validated by a load (the cache validates none)."""
    seen: list[str] = []
    real = catalog_module._load_one

    def spy(catalog: Catalog, kind: str, path: Path, cache: object) -> None:
        seen.append(path.name)
        real(catalog, kind, path, cache)  # type: ignore[arg-type]

    monkeypatch.setattr(catalog_module, "_load_one", spy)
    return seen


def test_a_second_load_is_the_cached_catalogue_with_the_same_hashes(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = load_catalog([SHIPPED])
    assert list(cache_dir.glob("catalog-*.pickle"))
    expected = _summary(fresh)
    loads = _loads(monkeypatch)
    monkeypatch.setattr("treatyflow.definitions.lint.lint", _refuse)
    cached = load_catalog([SHIPPED])
    assert loads == []
    assert cached is not fresh and _summary(cached) == expected
    # The hashes it carries are the ones pydantic's dump gives.
    for tid, treaty in cached.treaties.items():
        assert content_hash(treaty) == _dumped(treaty) == cached.treaty_hash(tid)
    for pid in cached.whole_procedures():
        proc = cached.procedure(pid)
        assert content_hash(proc) == _dumped(proc) == cached.procedure_hash(pid)


def _refuse(*args: object) -> None:
    raise AssertionError("the catalogue was linted")


def test_a_copy_or_an_edit_is_not_the_cached_model(cache_dir: Path) -> None:
    """Only the cached objects themselves carry a stored hash: a changed copy is hashed."""
    load_catalog([SHIPPED])
    cached = load_catalog([SHIPPED])
    ottawa = cached.treaty("ottawa")
    changed = ottawa.model_copy(update={"short_name": "Edited"})
    assert content_hash(changed) == _dumped(changed) != content_hash(ottawa)


def test_an_edited_file_makes_the_entry_stale(cache_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "workflows"
    shutil.copytree(SHIPPED, work)
    before = load_catalog([work])
    load_catalog([work])
    path = work / "treaties" / "ottawa.yaml"
    text = path.read_text(encoding="utf-8")
    short = before.treaty("ottawa").short_name
    path.write_text(text.replace(f"short_name: {short}", "short_name: Edited", 1), "utf-8")
    after = load_catalog([work])
    assert after.treaty("ottawa").short_name == "Edited"
    assert content_hash(after.treaty("ottawa")) == _dumped(after.treaty("ottawa"))
    assert content_hash(after.treaty("ottawa")) != content_hash(before.treaty("ottawa"))


def test_an_override_by_a_later_directory_is_part_of_the_key(
    cache_dir: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "extra"
    (extra / "treaties").mkdir(parents=True)
    text = (SHIPPED / "treaties" / "ottawa.yaml").read_text(encoding="utf-8")
    short = load_catalog([SHIPPED]).treaty("ottawa").short_name
    target = extra / "treaties" / "ottawa.yaml"
    target.write_text(text.replace(f"short_name: {short}", "short_name: Mine", 1), "utf-8")
    assert load_catalog([SHIPPED, extra]).treaty("ottawa").short_name == "Mine"
    assert load_catalog([SHIPPED, extra]).treaty("ottawa").short_name == "Mine"
    target.unlink()
    assert load_catalog([SHIPPED, extra]).treaty("ottawa").short_name == short
    assert load_catalog([SHIPPED]).treaty("ottawa").short_name == short


def test_a_catalogue_with_problems_is_never_cached(cache_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "workflows"
    shutil.copytree(SHIPPED, work)
    bad = sorted(INVALID.glob("*.yaml"))[0]
    shutil.copy(bad, work / "procedures" / bad.name)
    for _ in range(2):
        with pytest.raises(InvalidWorkflow):
            load_catalog([work])
    assert not list(cache_dir.glob("catalog-*.pickle"))


def test_another_pydantic_or_treatyflow_makes_the_entry_stale(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_catalog([SHIPPED])
    monkeypatch.setattr(catalogcache, "_models_identity", "another pydantic")
    loads = _loads(monkeypatch)
    load_catalog([SHIPPED])
    assert loads, "an entry made with other models must not be used"


def test_the_identity_covers_the_models_sources() -> None:
    catalogcache.identity()
    assert "treatyflow.definitions.procedure" in catalogcache._MODULES
    assert "treatyflow.definitions.treaty" in catalogcache._MODULES
    assert "treatyflow.evidence" in catalogcache._MODULES
    assert len(catalogcache.identity()) == 64


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch PWNED",))


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a pickle",
        pickle.dumps(["a list"]),
        pickle.dumps({"key": "not this one", "treaties": {}, "procedures": {}, "hashes": {}}),
        "planted",
        "wrong types",
    ],
)
def test_a_damaged_foreign_or_planted_entry_is_not_used(
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: bytes | str,
) -> None:
    monkeypatch.chdir(tmp_path)
    expected = _summary(load_catalog([SHIPPED]))
    (path,) = cache_dir.glob("catalog-*.pickle")
    key = pickle.loads(path.read_bytes())["key"]
    if content == "planted":
        content = pickle.dumps({"key": key, "treaties": _Evil()})
    elif content == "wrong types":
        content = pickle.dumps({"key": key, "treaties": {"x": 1}, "procedures": {}, "hashes": {}})
    assert isinstance(content, bytes)
    path.write_bytes(content)
    loads = _loads(monkeypatch)
    assert _summary(load_catalog([SHIPPED])) == expected
    assert loads, "the definitions were loaded again"
    assert not (tmp_path / "PWNED").exists()


def test_an_entry_others_may_write_is_not_read(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_catalog([SHIPPED])
    (path,) = cache_dir.glob("catalog-*.pickle")
    assert path.stat().st_mode & 0o077 == 0
    path.chmod(0o664)
    loads = _loads(monkeypatch)
    load_catalog([SHIPPED])
    assert loads, "a group/world-writable catalogue cache must be ignored"


def test_no_cache_and_named_files_use_no_entry(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREATYFLOW_NO_CACHE", "1")
    load_catalog([SHIPPED])
    assert not cache_dir.exists()
    monkeypatch.delenv("TREATYFLOW_NO_CACHE")
    load_catalog([SHIPPED])
    loads = _loads(monkeypatch)
    load_catalog([SHIPPED], strict=False)  # workflow lint: always loads and lints
    assert loads


def test_the_unpickler_allows_only_the_definitions_models_and_enums() -> None:
    allowed = catalogcache._Unpickler.find_class
    unpickler = catalogcache._Unpickler(__import__("io").BytesIO(b""))
    assert allowed(unpickler, "treatyflow.definitions.procedure", "Procedure") is Procedure
    assert allowed(unpickler, "treatyflow.definitions.treaty", "Treaty") is Treaty
    for module, name in [
        ("os", "system"),
        ("builtins", "eval"),
        ("treatyflow.definitions.procedure", "_without_unset_trust"),
        ("treatyflow.definitions.procedure", "BaseModel"),  # imported there, not its own
        ("treatyflow.definitions.treaty", "parse_duration"),
    ]:
        with pytest.raises(pickle.UnpicklingError):
            allowed(unpickler, module, name)


@pytest.mark.parametrize("content", [b"", b"not a pickle", "planted", "foreign class", "wrong"])
def test_a_damaged_or_planted_plain_entry_is_not_used(
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: bytes | str,
) -> None:
    """The plain twins' file (what ``case show`` reads) is refused like the models' file:
    damaged, planted (a class other than a twin or its enumerations) or of the wrong shape,
    a read gets None and loads the catalogue instead."""
    from treatyflow.catalog import load_plain_catalog

    monkeypatch.chdir(tmp_path)
    load_catalog([SHIPPED])
    (path,) = cache_dir.glob("plain-*.pickle")
    good = load_plain_catalog([SHIPPED])
    assert good is not None and "generic" in good.procedures
    key = pickle.loads(path.read_bytes())["key"]
    if content == "planted":
        content = pickle.dumps({"key": key, "treaties": _Evil()})
    elif content == "foreign class":
        content = pickle.dumps(
            {"key": key, "treaties": {"x": Path("/")}, "procedures": {}, "hashes": {}}
        )
    elif content == "wrong":
        content = pickle.dumps({"key": key, "treaties": {"x": 1}, "procedures": {}, "hashes": {}})
    assert isinstance(content, bytes)
    path.write_bytes(content)
    assert load_plain_catalog([SHIPPED]) is None
    assert not (tmp_path / "PWNED").exists()


HASHES = {("treaty", "t"): "sha256:0", ("procedure", "p"): "sha256:1"}


def test_an_entry_is_owner_only_and_read_back_only_under_its_key(cache_dir: Path) -> None:
    """Both cache files (the models' and the plain twins') are written by one helper: an
    owner-only file in an owner-only directory, read back as written under its key only."""
    path = cache_dir / "catalog-x.pickle"
    catalogcache._write_entry(path, "k", {"t": 1}, {"p": [2]}, HASHES)
    assert path.stat().st_mode & 0o077 == 0 and cache_dir.stat().st_mode & 0o077 == 0
    assert list(cache_dir.iterdir()) == [path]  # no temporary file left behind
    read = catalogcache._read_entry
    assert read(path, catalogcache._PlainUnpickler, "k") == ({"t": 1}, {"p": [2]}, HASHES)
    assert read(path, catalogcache._PlainUnpickler, "another key") is None
    path.chmod(0o620)
    assert read(path, catalogcache._PlainUnpickler, "k") is None


class _HalfWritten:
    """A file handle that writes half of what it is given and then fails (a full disk)."""

    def __init__(self, handle: io.BufferedWriter) -> None:
        self.handle = handle

    def __enter__(self) -> _HalfWritten:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def write(self, data: bytes) -> int:
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("failing", ["write", "rename"])
def test_a_failing_entry_write_leaves_the_old_entry_and_no_partial_file(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A write that fails half-way or at the rename is not an error, keeps the entry that
    was there (a reader never sees part of a file) and leaves no temporary file."""
    old = cache_dir / "plain-old.pickle"
    catalogcache._write_entry(old, "old", {}, {}, HASHES)
    before = old.read_bytes()
    new = cache_dir / "plain-new.pickle"
    with monkeypatch.context() as patch:
        if failing == "write":
            real = os.fdopen
            patch.setattr(os, "fdopen", lambda fd, mode: _HalfWritten(real(fd, mode)))
        else:

            def no_rename(*_: object) -> None:
                raise OSError(errno.EXDEV, "Invalid cross-device link")

            patch.setattr(os, "replace", no_rename)
        catalogcache._write_entry(old, "newer", {"t": 1}, {}, HASHES)
        catalogcache._write_entry(new, "new", {"t": 1}, {}, HASHES)
    assert old.read_bytes() == before
    assert catalogcache._read_entry(old, catalogcache._PlainUnpickler, "old") == ({}, {}, HASHES)
    assert list(cache_dir.iterdir()) == [old]
