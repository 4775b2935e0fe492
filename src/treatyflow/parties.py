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
import importlib.util
import json
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

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


def find_party(code: str) -> Party | None:
    """The party a code stands for (case-insensitive), or ``None`` if it is no known code."""
    value = (code or "").strip().upper()
    if value in ORGANIZATIONS:
        return ORGANIZATIONS[value]
    if len(value) != 3 or not value.isalpha():
        return None
    name = state_names().get(value)
    if name is None:
        return None
    return Party(value, name, PartyKind.STATE)


#: Bumped when the cached table's layout or the choice of name changes.
_TABLE_FORMAT = 1


@functools.cache
def state_names() -> dict[str, str]:
    """ISO 3166-1 alpha-3 code -> the name shown (pycountry's ``common_name`` where it has
    one, else ``name``) of every State in pycountry's database.

    Importing pycountry and loading its database cost about a tenth of a command's start-up
    (it also reads its own package metadata and sets up logging), for a table of 249 rows
    that changes only when pycountry does. So the table is kept as JSON in treatyflow's cache
    directory (:mod:`treatyflow.parsecache`: owner-only, ``TREATYFLOW_NO_CACHE=1`` turns it
    off), keyed by the path, size and modification time of pycountry's database file: another
    pycountry makes another key, and the table is built from pycountry again.
    """
    from treatyflow import parsecache

    source = _database_file()
    where = parsecache.cache_dir()
    path = None
    if source is not None and where is not None:
        try:
            info = os.stat(source)
        except OSError:
            info = None
        if info is not None:
            key = f"{_TABLE_FORMAT}:{source}:{info.st_size}:{info.st_mtime_ns}"
            path = where / f"parties-{parsecache.digest(key.encode())[:20]}.json"
            cached = _read_table(parsecache.read_private(path))
            if cached is not None:
                return cached
    import pycountry

    table = {
        str(country.alpha_3): str(getattr(country, "common_name", None) or country.name)
        for country in pycountry.countries
    }
    if path is not None:
        parsecache.write_atomically(path, json.dumps(table, sort_keys=True).encode("utf-8"))
    return table


def _database_file() -> Path | None:
    """pycountry's ISO 3166-1 database, found without importing pycountry."""
    spec = importlib.util.find_spec("pycountry")
    for place in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(place) / "databases" / "iso3166-1.json"
        if candidate.is_file():
            return candidate
    return None


def _read_table(raw: bytes | None) -> dict[str, str] | None:
    """A cached table, if it is one: a JSON object of 3-letter codes to names."""
    if raw is None:
        return None
    try:
        table = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(table, dict) or not table:
        return None
    for code, name in table.items():
        if not (len(code) == 3 and code.isalpha() and code.isupper() and isinstance(name, str)):
            return None
    return table


def party_name(code: str) -> str:
    """The name shown beside a code ("Lithuania", "European Union"); the code if unknown."""
    party = find_party(code)
    return party.name if party is not None else code
