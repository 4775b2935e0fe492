"""Evidence levels and the kinds of source that are official: what sources and evidence
requirements say, without the pydantic models of :mod:`treatyflow.evidence` (a read of a
case with a cached catalogue needs these and no model)."""

from __future__ import annotations

from enum import StrEnum


class EvidenceLevel(StrEnum):
    """How strongly a source establishes a fact, weakest first."""

    REPORTED = "reported"
    """Press or secondary reporting."""
    OFFICIAL = "official"
    """A gazette, decree, depositary notification or parliamentary record."""
    CONFIRMED = "confirmed"
    """Two or more independent sources agree."""

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {EvidenceLevel.REPORTED: 0, EvidenceLevel.OFFICIAL: 1, EvidenceLevel.CONFIRMED: 2}

#: Kinds of source that are official documents in themselves: a source of one of these kinds
#: that does not state its level is ``official`` (docs/concepts.md, "Evidence"). Any other
#: kind (``press-report``, ``commentary``, ``statement``, ...) or none stays ``reported``.
OFFICIAL_KINDS = frozenset(
    {
        "bill",
        "court-publication",
        "decision",
        "decree",
        "depositary-notification",
        "gazette",
        "instrument",
        "judgment",
        "law",
        "note-verbale",
        "official-journal",
        "parliamentary-record",
        "resolution",
        "statement-of-reasons",
        "statute",
        "treaty-text",
    }
)


def default_level(kind: str | None) -> EvidenceLevel:
    """The level of a source that does not state one: ``official`` for a kind in
    :data:`OFFICIAL_KINDS` (spelt with hyphens, spaces or underscores, any case), else
    ``reported``."""
    if kind and "-".join(kind.replace("_", " ").lower().split()) in OFFICIAL_KINDS:
        return EvidenceLevel.OFFICIAL
    return EvidenceLevel.REPORTED
