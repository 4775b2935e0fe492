"""Sources and evidence levels: what every event and definition cites."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from treatyflow.evidence_levels import OFFICIAL_KINDS as OFFICIAL_KINDS
from treatyflow.evidence_levels import EvidenceLevel as EvidenceLevel
from treatyflow.evidence_levels import default_level as default_level


class Source(BaseModel):
    """A citation backing an event or a definition."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    citation: str = Field(
        min_length=1, max_length=2000, description="What the source is, as a lawyer would cite it."
    )
    url: str | None = Field(
        default=None, max_length=2000, description="An http(s) link to the source."
    )
    date: dt.date | None = Field(default=None, description="The date of the document itself.")
    level: EvidenceLevel = Field(
        default=EvidenceLevel.REPORTED,
        description="Evidence level; when not given, official for an official kind of "
        "document (a decree, a note verbale, ...), else reported.",
    )
    kind: str | None = Field(
        default=None,
        max_length=100,
        description="What sort of evidence it is, e.g. 'decree', 'depositary-notification'.",
    )
    reference: str | None = Field(
        default=None, max_length=300, description="A document number: decree no., C.N. reference."
    )

    @model_validator(mode="before")
    @classmethod
    def _level_from_kind(cls, data: Any) -> Any:
        # An explicit level always wins; only a missing one follows the kind.
        if isinstance(data, dict) and data.get("level") is None and data.get("kind"):
            kind = data["kind"]
            if isinstance(kind, str):
                return {**data, "level": default_level(kind).value}
        return data

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError(
                f"a source URL must start with http:// or https://, not {value[:40]!r}"
            )
        return value


#: How a document is cited: ``sha256:`` and the 64 lowercase hex digits of its SHA-256.
DOCUMENT_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class EventSource(Source):
    """A source an event cites: a :class:`Source` that may also be a document attached to
    the database (``case attach``), named by its digest. The digest is checked against the
    stored documents when the event is written."""

    document: str | None = Field(
        default=None,
        pattern=DOCUMENT_DIGEST.pattern,
        description="The digest (sha256:<64 hex digits>) of an attached document.",
    )
