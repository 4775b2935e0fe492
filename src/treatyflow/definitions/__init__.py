"""Definitions as data: treaties (with their clauses) and procedures, as pydantic models.

The YAML files under ``workflows/`` are parsed into these models by :mod:`treatyflow.loader`
and checked as a whole by :mod:`treatyflow.definitions.lint`. The names below are imported
when first used, so that :mod:`treatyflow.definitions.basics` and
:mod:`treatyflow.definitions.plain` can be imported without pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from treatyflow.definitions.procedure import Procedure
    from treatyflow.definitions.treaty import Clause, Treaty

__all__ = ["Clause", "Procedure", "Treaty"]

_WHERE = {
    "Clause": "treatyflow.definitions.treaty",
    "Procedure": "treatyflow.definitions.procedure",
    "Treaty": "treatyflow.definitions.treaty",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
