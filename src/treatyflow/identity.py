"""A case's identity is bound to its log: the case row must say what the log says.

The case row (country, treaty, action, the procedure and treaty versions it is pinned to, the
day it was opened, its current facts) is what every command reads to compute legal dates, so
it must be covered by a hash. The opening event carries the identity in ``data["case"]``
(hashed with the event); a ``migrated`` event re-pins the case (``data["to"]``: the procedure
and treaty hashes it moved to). :func:`identity_fault` compares a case row with its log;
``verify``, ``verify --bundle`` and ``import`` run it on every case. Pure: rows in, a sentence out.

Logs written before identities were recorded (first round) have no ``data["case"]``: only the
columns the log implies anyway (``opened_on``, the facts) can be checked for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: The case row's columns the opening event records (``data["case"]``).
IDENTITY_FIELDS = ("country", "treaty", "action", "procedure", "procedure_hash", "treaty_hash")


def identity_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the opening event records of a new case row."""
    return {k: row[k] for k in IDENTITY_FIELDS}


def expected_row(events: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The identity columns and facts the log implies, from its events in seq order (each a
    mapping with ``seq``, ``kind``, ``occurred_on`` and ``data`` as a dict: the opening event,
    fact changes, migrations and retractions suffice); None without events.

    Keys absent from the result (a first-round log's identity) are not checked.
    """
    expected: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    seen = False
    events = list(events)
    gone = {
        ev["data"].get("target_seq")
        for ev in events
        if ev.get("kind") == "retract" and isinstance(ev.get("data"), Mapping)
    }
    for ev in events:
        if ev.get("seq") in gone:
            continue  # a retracted step no longer counts (its facts neither)
        data = ev.get("data")
        data = data if isinstance(data, Mapping) else {}
        if not seen:
            seen = True
            expected["opened_on"] = ev.get("occurred_on")
            case = data.get("case")
            if isinstance(case, Mapping):
                expected.update({k: case.get(k) for k in IDENTITY_FIELDS})
        elif ev.get("kind") == "migrated" and isinstance(data.get("to"), Mapping):
            # A migration re-pins the case (treatyflow.app.versions): data.to holds the hashes.
            to = data["to"]
            expected.update(procedure_hash=to.get("procedure"), treaty_hash=to.get("treaty"))
        if ev.get("kind") in ("open", "set-fact") and isinstance(data.get("facts"), Mapping):
            facts.update(data["facts"])
    if not seen:
        return None
    expected["facts"] = facts
    return expected


def identity_fault(row: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> str | None:
    """The first column of the case row that its log contradicts, as a sentence; None if the
    row says what the log says. ``row["facts"]`` is a dict."""
    expected = expected_row(events)
    if expected is None:
        return None
    for key, value in expected.items():
        if row.get(key) != value:
            return f"the case row's {key} {row.get(key)!r} is not the log's {value!r}"
    return None
