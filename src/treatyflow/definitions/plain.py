"""Plain twins of the definition models, for reading a case without pydantic.

A read such as ``case show`` needs the fields of the case's treaty and procedure and a few
read methods, never validation or serialisation. Importing pydantic's model machinery and
creating the 19 model classes was a large part of such a command's start-up, so the
validated catalogue cache (:mod:`treatyflow.catalogcache`) also keeps each treaty and each
composed procedure as *twins*: instances of the plain classes below, one per model and
named like it, holding the very field values the validated model holds (the same
``datetime`` values and enumeration members, nested models as twins, lists and dicts
alike), with the model's read methods from :mod:`treatyflow.definitions.basics`.

A twin is made only from a validated model (:func:`twin`), is never validated or dumped,
and is used only by reads (``Core.definitions_for_reading``); everything that writes,
hashes, dumps or lints works on the models. Tests compare every twin of the shipped
definitions with its model, field by field and method by method.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from treatyflow.definitions.basics import GuardReads, ProcedureReads, TransitionReads


class Plain:
    """A twin: its fields are its attributes, in the model's field order."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None  # type: ignore[assignment]  # like the models that are not frozen

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Contest(Plain):
    pass


class StateSpec(Plain):
    pass


class Guard(GuardReads, Plain):
    pass


class EvidenceRequirement(Plain):
    def as_json(self) -> dict[str, object]:
        """As the model's: every field, in field order, enumerations as their values."""
        return {k: v.value if isinstance(v, Enum) else v for k, v in vars(self).items()}


class TransitionSpec(TransitionReads, Plain):
    pass


class CorrectionPolicy(Plain):
    pass


class ClockSpec(Plain):
    pass


class Procedure(ProcedureReads, Plain):
    pass


class FactSpec(Plain):
    pass


class FixedAnnualDate(Plain):
    pass


class EarliestNotice(Plain):
    pass


class NoticeRequirement(Plain):
    pass


class SurvivalPeriod(Plain):
    pass


class Condition(Plain):
    pass


class Clause(Plain):
    pass


class Depositary(Plain):
    pass


class Treaty(Plain):
    pass


class Source(Plain):
    pass


class EventSource(Plain):
    pass


#: The twin class of each model, by the model's name.
TWINS: dict[str, type[Plain]] = {
    cls.__name__: cls
    for cls in (
        Contest,
        StateSpec,
        Guard,
        EvidenceRequirement,
        TransitionSpec,
        CorrectionPolicy,
        ClockSpec,
        Procedure,
        FactSpec,
        FixedAnnualDate,
        EarliestNotice,
        NoticeRequirement,
        SurvivalPeriod,
        Condition,
        Clause,
        Depositary,
        Treaty,
        Source,
        EventSource,
    )
}


def twin(value: Any) -> Any:
    """The twin of a validated model (nested models, lists, tuples and dicts included);
    any other value as it is. A model without a twin class raises ``TypeError``."""
    from pydantic import BaseModel  # only when a catalogue is stored, after validating it

    if isinstance(value, BaseModel):
        cls = TWINS.get(type(value).__name__)
        if cls is None or type(value).__module__ not in _MODEL_MODULES:
            raise TypeError(f"no plain twin for {type(value).__qualname__}")
        if value.__pydantic_extra__ or value.__pydantic_private__:
            raise TypeError(f"{type(value).__qualname__} holds more than its fields")
        made = cls.__new__(cls)
        made.__dict__.update(
            {name: twin(getattr(value, name)) for name in type(value).model_fields}
        )
        return made
    if isinstance(value, list):
        return [twin(v) for v in value]
    if isinstance(value, tuple):
        return tuple(twin(v) for v in value)
    if isinstance(value, dict):
        return {k: twin(v) for k, v in value.items()}
    return value


_MODEL_MODULES = (
    "treatyflow.definitions.procedure",
    "treatyflow.definitions.treaty",
    "treatyflow.evidence",
)
