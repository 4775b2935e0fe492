"""Default factories for the models' list and dict fields.

``Field(default_factory=list)`` reads naturally but costs start-up: for every such field,
pydantic asks ``inspect.signature(factory)`` whether the factory takes the validated data,
and for a builtin such as ``list`` that means tokenising its text signature (a few
milliseconds each; 27 fields made it about a tenth of a command's start-up). The signature
of a plain Python function is read directly, so these two do the same job for free.
"""

from __future__ import annotations

from typing import Any


def empty_list() -> list[Any]:
    """A new empty list (each model instance gets its own)."""
    return []


def empty_dict() -> dict[str, Any]:
    """A new empty dict (each model instance gets its own)."""
    return {}
