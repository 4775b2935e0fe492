"""Treaty definitions: identity, depositary, and each action's clause as data.

A clause's parameters say *how* a legal date is computed; :mod:`treatyflow.legal` is the
pure interpreter of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

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

from treatyflow.definitions.basics import ID_PATTERN as ID_PATTERN
from treatyflow.definitions.basics import Anchor as Anchor
from treatyflow.definitions.basics import Convention as Convention
from treatyflow.definitions.basics import FactType as FactType
from treatyflow.definitions.basics import FactValue as FactValue
from treatyflow.definitions.basics import check_duration
from treatyflow.definitions.basics import parse_duration as parse_duration
from treatyflow.definitions.factories import empty_dict, empty_list
from treatyflow.evidence import Source
from treatyflow.parties import PartyKind


class FactSpec(BaseModel):
    """A fact a clock or a guard may read; facts vary over legal time."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: FactType
    description: str = ""
    default: FactValue | None = Field(
        default=None, description="The value assumed while no event has set the fact."
    )
    assumed: StrictBool = Field(
        default=False,
        description=(
            "The default stands in for an assessment nobody has recorded (armed_conflict: "
            "false): a clock that relies on it keeps its date but is flagged 'unassessed' "
            "until an event records a value."
        ),
    )

    @model_serializer(mode="wrap")
    def _omit_new_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_defaults(self, handler, ("assumed",))


class FixedAnnualDate(BaseModel):
    """ICRW style: effect on a fixed day each year if notice arrived on or before a cut-off."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    effect: str = Field(pattern=r"^\d{2}-\d{2}$", description="MM-DD, e.g. '06-30'.")
    notice_by: str = Field(pattern=r"^\d{2}-\d{2}$", description="MM-DD cut-off, e.g. '01-01'.")


class EarliestNotice(BaseModel):
    """Paris Art. 28(1) style: no notice before a period after entry into force for the Party."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    after: str = Field(description="ISO 8601 duration, e.g. 'P3Y'.")
    from_fact: str = Field(
        default="entry_into_force_for_party",
        description="The fact holding the date the treaty entered into force for the Party.",
    )
    basis: str = Field(min_length=1)

    @field_validator("after")
    @classmethod
    def _duration(cls, value: str) -> str:
        return check_duration(value)


class NoticeRequirement(BaseModel):
    """What a notice must contain or whom it must reach (NPT Art. X(1), APMBC Art. 20(2)).

    A notification recorded without evidence of it is accepted but its clock is flagged
    ``defective-notice``. The evidence is a source of one of ``evidence_kinds`` on any event of
    the case (the notification itself, or a later note once the statement is found).
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    content: str = Field(
        pattern=ID_PATTERN,
        description="What is required, e.g. 'statement-of-reasons', 'security-council-notice'.",
    )
    basis: str = Field(min_length=1, description="The article and its words, for the flag.")
    evidence_kinds: list[str] = Field(
        min_length=1,
        description="Source kinds that show the requirement was met, e.g. 'statement-of-reasons'.",
    )


class SurvivalPeriod(BaseModel):
    """Obligations that outlive the withdrawal (ECT Art. 47(3): 20 years for investments).

    With ``period`` the case gets a clock ``name`` running from the date the withdrawal takes
    effect; without it (ICSID Art. 72: consent given before the notice, no end date) the rule is
    an explained note added to the effect clock's explanation.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(default="survival", pattern=r"^[a-z][a-z0-9_]*$")
    period: str | None = Field(
        default=None, description="ISO 8601 duration from the effect date, e.g. 'P20Y'."
    )
    basis: str = Field(min_length=1, description="A one-line citation shown with the clock.")
    what: str = Field(min_length=1, description="What survives, in a sentence.")

    @field_validator("period")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return None if value is None else check_duration(value)


class Condition(BaseModel):
    """A fact that must hold before the action can take effect (e.g. WHO dues, US 1948)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    fact: str
    equals: FactValue = True
    countries: list[str] = Field(
        default_factory=empty_list,
        description="ISO 3166-1 alpha-3 codes it applies to; empty: all.",
    )
    basis: str = Field(min_length=1)


class Clause(BaseModel):
    """One action's clause (withdrawal, denunciation, suspension) as computable data."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    article: str = Field(min_length=1, description="The article, e.g. 'Art. 20'.")
    basis: str = Field(
        min_length=1,
        description="A one-line citation shown with every date the clause yields.",
    )
    text: str = Field(min_length=1, description="The clause's text, verbatim where found.")
    anchor: Anchor = Anchor.RECEIPT
    convention: Convention
    period: str | None = Field(default=None, description="ISO 8601 duration, e.g. 'P6M'.")
    days: int | None = Field(default=None, ge=1, description="For convention 'days'.")
    offset_days: int = Field(
        default=0,
        ge=0,
        description=(
            "Extra days added after the convention's date, e.g. 1 for the CFE, where effect "
            "began at 00:00 on the day after the 150th day (see docs/legal-time.md)."
        ),
    )
    fixed_annual: FixedAnnualDate | None = None
    later_date_fact: str | None = Field(
        default=None,
        description="A fact naming a later date the notification may specify (Rome Art. 127(1)).",
    )
    postpone_while: str | None = Field(
        default=None,
        description="A boolean fact that, true on expiry, postpones effect until it is false.",
    )
    earliest_notice: EarliestNotice | None = None
    conditions: list[Condition] = Field(default_factory=empty_list)
    notice_requirements: list[NoticeRequirement] = Field(
        default_factory=empty_list,
        description="What the notice must contain or whom it must reach (flag: defective-notice).",
    )
    survival: list[SurvivalPeriod] = Field(
        default_factory=empty_list, description="Obligations that survive the withdrawal's effect."
    )
    available_to: list[str] = Field(
        default_factory=empty_list,
        description=(
            "Party codes that hold the right (WHO: only the USA, by its 1948 reservation); "
            "empty: every party. For any other party the clock is unknown, with `unavailable`."
        ),
    )
    unavailable: str | None = Field(
        default=None,
        description="Why parties outside `available_to` have no computable date.",
    )
    contested: str | None = Field(
        default=None, description="Why the right or the rule itself is disputed, if it is."
    )
    uncertain: str | None = Field(
        default=None, description="What about this clause is uncertain, and why."
    )
    sources: list[Source] = Field(default_factory=empty_list)

    @field_validator("period")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return None if value is None else check_duration(value)

    @model_serializer(mode="wrap")
    def _omit_new_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_defaults(
            self, handler, ("notice_requirements", "survival", "available_to", "unavailable")
        )

    @model_validator(mode="after")
    def _parameters_fit_convention(self) -> Clause:
        conv = self.convention
        if conv is Convention.DAYS and self.days is None:
            raise ValueError("convention 'days' needs 'days'")
        if conv is Convention.FIXED_ANNUAL_DATE and self.fixed_annual is None:
            raise ValueError("convention 'fixed-annual-date' needs 'fixed_annual'")
        needs_period = conv in (
            Convention.SAME_DAY,
            Convention.PLUS_ONE_DAY,
            Convention.FIRST_OF_FOLLOWING_MONTH,
        )
        if needs_period and self.period is None:
            raise ValueError(f"convention {conv.value!r} needs 'period'")
        if self.available_to and not self.unavailable:
            raise ValueError("'available_to' needs 'unavailable' (why others have no date)")
        return self


class Depositary(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(min_length=1)
    kind: Literal[
        "un-secretary-general",
        "government",
        "international-organization",
        "other-party",
        "none",
    ]


class Treaty(BaseModel):
    """A treaty and the clauses that govern leaving (or suspending) it."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    short_name: str = Field(min_length=1)
    adopted_on: dt.date | None = None
    entry_into_force_on: dt.date | None = None
    depositary: Depositary
    bilateral: StrictBool = False
    actions: dict[str, Clause] = Field(
        description="Clause per action id: 'withdrawal', 'denunciation', 'suspension', ..."
    )
    parties: list[PartyKind] = Field(
        default_factory=lambda: [PartyKind.STATE],
        min_length=1,
        description="Kinds of party the treaty admits (default: States only).",
    )
    facts: dict[str, FactSpec] = Field(default_factory=empty_dict)
    sources: list[Source] = Field(default_factory=empty_list)
    notes: str = ""

    @model_serializer(mode="wrap")
    def _omit_new_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if self.parties == [PartyKind.STATE]:
            data.pop("parties", None)
        return data  # type: ignore[no-any-return]


def _omit_defaults(
    model: BaseModel, handler: SerializerFunctionWrapHandler, names: tuple[str, ...]
) -> dict[str, Any]:
    """Dump ``model`` without the named fields while they hold their default.

    Fields added after definitions were first pinned (#14) stay out of the dump until used, so
    a definition that does not use them keeps its content hash and no existing case is flagged
    ``procedure-changed`` by an upgrade.
    """
    data: dict[str, Any] = handler(model)
    for name in names:
        field = type(model).model_fields[name]
        if getattr(model, name) == field.get_default(call_default_factory=True):
            data.pop(name, None)
    return data
