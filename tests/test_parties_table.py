"""The ISO 3166-1 table treatyflow keeps from pycountry (parties.state_names)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pycountry
import pytest

from treatyflow import parties

PROBE = """\
import json, sys
from treatyflow.parties import find_party
found = find_party(sys.argv[1])
print(json.dumps({"name": found and found.name, "pycountry": "pycountry" in sys.modules}))
"""


def _probe(code: str, cache: Path, **extra: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TREATYFLOW_")}
    env.update(TREATYFLOW_CACHE_DIR=str(cache), **extra)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, code], capture_output=True, text=True, env=env, check=True
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def test_table_is_pycountrys() -> None:
    """Every State pycountry knows, with the name it shows (common name first), nothing else."""
    expected = {c.alpha_3: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
    assert parties.state_names() == expected
    assert parties.find_party("ltu") == parties.Party("LTU", "Lithuania", parties.PartyKind.STATE)
    assert parties.find_party("TWN") is not None and parties.find_party("XXX") is None


def test_second_command_reads_the_cached_table(tmp_path: Path) -> None:
    """The first process builds the table from pycountry; the next reads it without
    importing pycountry, with the same answer."""
    bolivia = pycountry.countries.get(alpha_3="BOL")
    name = getattr(bolivia, "common_name", None) or bolivia.name
    assert _probe("BOL", tmp_path) == {"name": name, "pycountry": True}
    assert _probe("BOL", tmp_path) == {"name": name, "pycountry": False}
    (table,) = tmp_path.iterdir()
    assert table.name.startswith("parties-") and table.suffix == ".json"
    assert table.stat().st_mode & 0o077 == 0


def test_planted_or_damaged_table_is_ignored(tmp_path: Path) -> None:
    """A table file others may write, or one that is no table, is not read: the answer
    comes from pycountry again."""
    _probe("LTU", tmp_path)
    (table,) = tmp_path.glob("parties-*.json")
    table.write_text(json.dumps({"LTU": "Planted"}))
    os.chmod(table, 0o666)
    assert _probe("LTU", tmp_path) == {"name": "Lithuania", "pycountry": True}
    table.write_text("not json")
    os.chmod(table, 0o600)
    assert _probe("LTU", tmp_path) == {"name": "Lithuania", "pycountry": True}
    table.write_text(json.dumps({"LTU": 3}))
    assert _probe("LTU", tmp_path) == {"name": "Lithuania", "pycountry": True}


def test_no_cache_means_no_file(tmp_path: Path) -> None:
    """TREATYFLOW_NO_CACHE=1: nothing is written, pycountry answers every time."""
    assert _probe("POL", tmp_path, TREATYFLOW_NO_CACHE="1") == {
        "name": "Poland",
        "pycountry": True,
    }
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", ["EUU", "XEA"])
def test_organisations_need_no_table(code: str) -> None:
    assert parties.find_party(code) is parties.ORGANIZATIONS[code]
