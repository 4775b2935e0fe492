"""Parties to treaties: ISO 3166-1 States and the international organisations treatyflow knows.

A case's ``country`` is a party code. States use their ISO 3166-1 alpha-3 code (pycountry).
Organisations that can be parties to treaties have no ISO code, so they get one here:

- ``EUU``: the European Union, as the World Bank writes it (it is no ISO 3166-1 code; ISO only
  reserves the alpha-2 ``EU``).
- ``XEA``: the European Atomic Energy Community (Euratom). No common code exists, so it takes one
  from ISO 3166-1's user-assigned range (``XAA``-``XZZ``), which ISO will never allocate to a
  State.

New organisations get a code in the same user-assigned range unless a widely used one exists.
See docs/treaties.md ("Parties that are not States").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ORGANIZATIONS",
    "Party",
    "PartyKind",
    "find_party",
    "party_name",
]


class PartyKind(StrEnum):
    """What sort of party a code stands for; treaties say which kinds they admit."""

    STATE = "state"
    """A State with an ISO 3166-1 alpha-3 code."""
    REIO = "regional-economic-integration-organization"
    """An organisation its member States have transferred competence to (ECT Art. 1(3),
    Paris Art. 20, Kyoto Art. 24, Istanbul Convention Art. 75): the EU and Euratom."""
    ORGANIZATION = "international-organization"
    """Any other intergovernmental organisation admitted as a party."""


@dataclass(frozen=True)
class Party:
    """A code, the name shown beside it, and its kind."""

    code: str
    name: str
    kind: PartyKind


ORGANIZATIONS: dict[str, Party] = {
    party.code: party
    for party in (
        Party("EUU", "European Union", PartyKind.REIO),
        Party("XEA", "European Atomic Energy Community (Euratom)", PartyKind.REIO),
    )
}


@functools.lru_cache(maxsize=1024)
def find_party(code: str) -> Party | None:
    """The party a code stands for (case-insensitive), or ``None`` if it is no known code.

    Cached: pending names the party of every case it lists (#19)."""
    import pycountry

    value = (code or "").strip().upper()
    if value in ORGANIZATIONS:
        return ORGANIZATIONS[value]
    if len(value) != 3 or not value.isalpha():
        return None
    found = pycountry.countries.get(alpha_3=value)
    if found is None:
        return None
    name = getattr(found, "common_name", None) or found.name
    return Party(str(found.alpha_3), str(name), PartyKind.STATE)


def party_name(code: str) -> str:
    """The name shown beside a code ("Lithuania", "European Union"); the code if unknown."""
    party = find_party(code)
    return party.name if party is not None else code
