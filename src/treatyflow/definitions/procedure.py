"""Procedure definitions: the steps a State takes, as states and transitions.

A procedure is either a whole procedure (``country`` is an ISO 3166-1 alpha-3 code or
``generic``) or a reusable *part* (``part: true``), such as the international end every
withdrawal shares. Procedures ``include`` parts; :func:`Procedure.compose` merges them.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    field_validator,
    model_serializer,
    model_validator,
)

from treatyflow.definitions.basics import GuardReads, ProcedureReads, TransitionReads
from treatyflow.definitions.factories import empty_dict, empty_list
from treatyflow.definitions.treaty import ID_PATTERN, Clause, FactSpec, FactValue
from treatyflow.evidence import EvidenceLevel, Source

STATE_PATTERN = r"^[a-z][a-z0-9_]*$"

#: Comparable milestones across countries' procedures, in the order the matrix shows them.
MILESTONES = (
    "proposal",
    "decision",
    "bill",
    "committee",
    "parliament",
    "second-chamber",
    "head-of-state",
    "publication",
    "instrument",
    "notified",
    "objection-period",
    "suspended",
    "disputed",
    "effective",
    "revoked",
    "abandoned",
)
Milestone = Literal[
    "proposal",
    "decision",
    "bill",
    "committee",
    "parliament",
    "second-chamber",
    "head-of-state",
    "publication",
    "instrument",
    "notified",
    "objection-period",
    "suspended",
    "disputed",
    "effective",
    "revoked",
    "abandoned",
]
TRIGGER_PATTERN = r"^[a-z][a-z0-9_-]*$"

#: States every withdrawal procedure must have (contract: "Vocabulary every withdrawal
#: procedure shares").
INTERNATIONAL_STATES = ("notified", "effective", "revoked")


class Contest(BaseModel):
    """A step whose necessity or validity is disputed, with the sources on each side."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    question: str = Field(min_length=1)
    sources_for: list[Source] = Field(default_factory=empty_list)
    sources_against: list[Source] = Field(default_factory=empty_list)


class StateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str = Field(pattern=STATE_PATTERN)
    title: str = Field(min_length=1)
    institution: str | None = Field(default=None, description="Who acts to leave this state.")
    legal_basis: str | None = None
    description: str = ""
    final: StrictBool = False
    contested: Contest | None = None
    milestone: Milestone | None = Field(
        default=None,
        description="The column this step fills in the country-by-step matrix.",
    )


class Guard(GuardReads, BaseModel):
    """A condition over a fact that must hold for a transition."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    fact: str
    equals: FactValue | None = Field(default=None, description="Default: true.")
    not_equals: FactValue | None = None
    basis: str = ""

    @model_validator(mode="after")
    def _one_test(self) -> Guard:
        if self.equals is not None and self.not_equals is not None:
            raise ValueError("a guard has either 'equals' or 'not_equals', not both")
        if self.equals is None and self.not_equals is None:
            self.equals = True
        return self


class EvidenceRequirement(BaseModel):
    """A transition needs a source of this kind, at this level or better."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    kind: str | None = Field(default=None, description="Source kind, e.g. 'decree'.")
    min_level: EvidenceLevel = EvidenceLevel.REPORTED
    reference: StrictBool = Field(
        default=False, description="The source must carry a reference number."
    )
    description: str = ""

    def as_json(self) -> dict[str, object]:
        """``model_dump(mode="json")`` without pydantic's serialiser (which a read would
        otherwise build at its first use, a cost of start-up): every field is plain."""
        return {
            name: value.value if isinstance(value, Enum) else value
            for name in type(self).model_fields
            for value in (getattr(self, name),)
        }


#: Who may act in a team (the key registry's roles).
Role = Literal["analyst", "reviewer", "admin"]


def _without_unset_trust(data: dict[str, object]) -> dict[str, object]:
    """Drop ``roles``/``review``/``corrections`` left at their defaults, so that a definition
    that does not use them hashes as it did before they existed (cases stay pinned)."""
    for key in ("roles", "review", "corrections"):
        if key in data and data[key] in (None, []):
            del data[key]
    return data


class TransitionSpec(TransitionReads, BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    trigger: str = Field(pattern=TRIGGER_PATTERN)
    source: str | list[str]
    dest: str = Field(pattern=STATE_PATTERN)
    title: str = ""
    institution: str | None = None
    guards: list[Guard] = Field(default_factory=empty_list)
    evidence: list[EvidenceRequirement] = Field(default_factory=empty_list)
    clock: str | None = Field(
        default=None,
        description="Fired by `tick` when this clock is due; analysts cannot fire it.",
    )
    optional: StrictBool = False
    contested: Contest | None = None
    description: str = ""
    roles: list[Role] = Field(
        default_factory=empty_list,
        description="In a team (signed writes): only keys with one of these roles may fire it.",
    )
    review: Literal["required"] | None = Field(
        default=None,
        description="'required': in team mode the step is a proposal until another "
        "reviewer approves it (four eyes).",
    )

    @model_serializer(mode="wrap")
    def _serialise(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        return _without_unset_trust(handler(self))


class CorrectionPolicy(BaseModel):
    """Who may correct a legal date (``case correct``), and whether it needs review."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    roles: list[Role] = Field(default_factory=empty_list)
    review: Literal["required"] | None = None


class ClockSpec(BaseModel):
    """A legal deadline: starts when the case enters ``starts_at``; fires ``fires`` when due."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(pattern=STATE_PATTERN)
    starts_at: str = Field(pattern=STATE_PATTERN)
    rule: Literal["treaty"] | Clause = Field(
        description="'treaty': the treaty's clause for the case's action; or a clause of its own."
    )
    fires: str | None = Field(default=None, description="The trigger it fires when due.")
    void_in: list[str] = Field(
        default_factory=empty_list, description="States that void the clock."
    )


class Procedure(ProcedureReads, BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    country: str | None = Field(
        default=None, description="ISO 3166-1 alpha-3 code, or 'generic'; none for a part."
    )
    part: StrictBool = Field(default=False, description="A reusable fragment, not openable alone.")
    actions: list[str] = Field(default_factory=empty_list)
    treaties: list[str] = Field(
        default_factory=empty_list, description="Treaty ids it is written for; empty: any treaty."
    )
    include: list[str] = Field(
        default_factory=empty_list, description="Parts merged into this one."
    )
    initial: str | None = Field(default=None, pattern=STATE_PATTERN)
    states: list[StateSpec] = Field(default_factory=empty_list)
    transitions: list[TransitionSpec] = Field(default_factory=empty_list)
    clocks: list[ClockSpec] = Field(default_factory=empty_list)
    facts: dict[str, FactSpec] = Field(default_factory=empty_dict)
    sources: list[Source] = Field(default_factory=empty_list)
    description: str = ""
    corrections: CorrectionPolicy | None = Field(
        default=None,
        description="Corrections of a legal date: roles and review (a part's applies when "
        "the procedure sets none).",
    )

    @model_serializer(mode="wrap")
    def _serialise(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        return _without_unset_trust(handler(self))

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        if value is None or value == "generic":
            return value
        return value.upper()

    def compose(self, parts: dict[str, Procedure]) -> Procedure:
        """This procedure with its included parts merged in (states, transitions, clocks, facts).

        The procedure's own definitions come first and win over a part's on the same id.
        """
        if not self.include:
            return self
        states = list(self.states)
        transitions = list(self.transitions)
        clocks = list(self.clocks)
        facts = dict(self.facts)
        sources = list(self.sources)
        corrections = self.corrections
        seen_states = {s.id for s in states}
        seen_clocks = {c.name for c in clocks}
        for name in self.include:
            part = parts[name].compose(parts)
            states += [s for s in part.states if s.id not in seen_states]
            seen_states |= {s.id for s in part.states}
            transitions += part.transitions
            clocks += [c for c in part.clocks if c.name not in seen_clocks]
            seen_clocks |= {c.name for c in part.clocks}
            for key, spec in part.facts.items():
                facts.setdefault(key, spec)
            sources += [s for s in part.sources if s not in sources]
            corrections = corrections or part.corrections
        return self.model_copy(
            update={
                "include": [],
                "states": states,
                "transitions": transitions,
                "clocks": clocks,
                "facts": facts,
                "sources": sources,
                "corrections": corrections,
            }
        )
