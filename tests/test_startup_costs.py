"""Start-up guards that are not timings: patterns known to cost every command milliseconds."""

from __future__ import annotations

import inspect

from pydantic import BaseModel

import treatyflow.casefile
import treatyflow.definitions.procedure
import treatyflow.definitions.treaty
import treatyflow.evidence


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for module in (
        treatyflow.definitions.procedure,
        treatyflow.definitions.treaty,
        treatyflow.evidence,
        treatyflow.casefile,
    ):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_no_model_field_has_a_builtin_default_factory() -> None:
    """`default_factory=list` makes pydantic tokenise the builtin's text signature at class
    creation (definitions.factories explains); every factory is a plain Python function."""
    models = _models()
    assert len(models) >= 18  # the definitions' models, evidence's Source, the case file's
    offenders = [
        f"{model.__name__}.{name}"
        for model in models
        for name, field in model.model_fields.items()
        if field.default_factory is not None and not inspect.isfunction(field.default_factory)
    ]
    assert offenders == []


def test_factories_give_each_instance_its_own_container() -> None:
    """The shared factories return a new object per call, as list and dict did."""
    from treatyflow.definitions.factories import empty_dict, empty_list

    assert empty_list() == [] and empty_list() is not empty_list()
    assert empty_dict() == {} and empty_dict() is not empty_dict()
