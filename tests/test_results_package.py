"""`treatyflow.results` loads its result types lazily, one module per capability."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import subprocess
import sys

import pytest

import treatyflow
from treatyflow import results


def _submodules() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(results.__path__) if not m.name.startswith("_")]


def test_every_result_type_is_registered_and_exported() -> None:
    """Each dataclass a results module defines is in ``results.__all__`` (and so reachable as
    ``treatyflow.results.X`` and ``treatyflow.X``), registered under its own module."""
    defined: dict[str, str] = {}
    for name in _submodules():
        module = importlib.import_module(f"treatyflow.results.{name}")
        for attr, value in vars(module).items():
            if dataclasses.is_dataclass(value) and value.__module__ == module.__name__:
                defined[attr] = name
    assert len(defined) >= 33
    assert sorted(defined) == sorted(results.__all__)
    assert defined == results._HOME
    for attr in defined:
        assert getattr(results, attr) is getattr(treatyflow, attr)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        results.Nope  # noqa: B018
    assert "CaseView" in dir(results)


def test_importing_one_type_loads_only_its_module() -> None:
    code = (
        "import sys\n"
        "from treatyflow.results import CaseView\n"
        "print(sorted(m for m in sys.modules if m.startswith('treatyflow.results.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['treatyflow.results._common', 'treatyflow.results.cases']"
