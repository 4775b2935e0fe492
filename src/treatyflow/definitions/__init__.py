"""Definitions as data: treaties (with their clauses) and procedures, as pydantic models.

The YAML files under ``workflows/`` are parsed into these models by :mod:`treatyflow.loader`
and checked as a whole by :mod:`treatyflow.definitions.lint`.
"""

from treatyflow.definitions.procedure import Procedure
from treatyflow.definitions.treaty import Clause, Treaty

__all__ = ["Clause", "Procedure", "Treaty"]
