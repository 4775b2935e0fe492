"""What each line of a bundle must hold: its keys and their types, and what the command line
would accept in a case row or an event."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from treatyflow.errors import InvalidInput
from treatyflow.events import EventKind
from treatyflow.values import printable

#: Fields that are not plain (non-null) strings, and what they must be instead.
_TYPES: dict[str, tuple[type, ...]] = {
    "version": (int,),
    "seq": (int,),
    "facts": (dict,),
    "data": (dict,),
    "sources": (list,),
    "trigger": (str, type(None)),
    "from_state": (str, type(None)),
    "to_state": (str, type(None)),
    "note": (str, type(None)),
    "prev_hash": (str, type(None)),
    "name": (str, type(None)),
    "size": (int,),
    "key": (str, type(None)),
    "signature": (str, type(None)),
}


def _check_keys(
    obj: dict[str, Any],
    keys: tuple[str, ...],
    where: str,
    out: list[str],
    *,
    optional: tuple[str, ...] = (),
) -> bool:
    """Every key present (``optional`` ones may be), no other, each of its type; False
    (with problems) otherwise."""
    plan = _PLANS.get((keys, optional))
    if plan is None:
        plan = _PLANS[(keys, optional)] = _plan(keys, optional)
    required, allowed, checks = plan
    names = obj.keys()
    if required <= names <= allowed:  # the usual case, checked quickly
        for k, types, counted in checks:
            value = obj.get(k)
            if value is None and k not in obj:
                continue  # an optional key absent
            if not isinstance(value, types) or (counted and value.__class__ is bool):
                break
        else:
            return True
    missing = [k for k in keys if k not in obj]
    extra = sorted(set(obj) - set(keys) - set(optional))
    keys = keys + tuple(k for k in optional if k in obj)
    if missing:
        out.append(f"{where}: missing {', '.join(missing)}")
    if extra:
        out.append(f"{where}: unexpected {', '.join(printable(k) for k in extra)}")
    wrong = [
        k
        for k in keys
        if k in obj
        and (
            not isinstance(obj[k], _TYPES.get(k, (str,)))
            or (isinstance(obj[k], bool) and k in ("version", "seq"))
        )
    ]
    if wrong:
        out.append(f"{where}: wrong type of {', '.join(wrong)}")
    return not (missing or extra or wrong)


_Plan = tuple[frozenset[str], frozenset[str], tuple[tuple[str, tuple[type, ...], bool], ...]]
_PLANS: dict[tuple[tuple[str, ...], tuple[str, ...]], _Plan] = {}


def _plan(keys: tuple[str, ...], optional: tuple[str, ...]) -> _Plan:
    """What :func:`_check_keys` checks of a line kind: required and allowed keys, each
    key's types (and whether it is a count, where a bool is refused)."""
    checks = tuple((k, _TYPES.get(k, (str,)), k in ("version", "seq")) for k in keys + optional)
    return frozenset(keys), frozenset(keys + optional), checks


# ---------------------------------------------------------------------------- line contents
def _case_problem(case: Mapping[str, Any]) -> str | None:
    """What the command line would refuse in a case row (None: nothing)."""
    from treatyflow.values import check_case_id, check_country

    try:
        if check_case_id(case["id"], "its id") != case["id"]:
            return "its id is not in Unicode NFC"
        if check_country(case["country"]) != case["country"]:
            return f"country {printable(case['country'])!r} is not an ISO 3166-1 alpha-3 code"
        for key in ("treaty", "procedure", "action", "state"):
            _check_name(case[key], key)
        for key in ("opened_on", "last_on"):
            _check_date(case[key], key)
        for key in ("created_at", "updated_at", "head_hash"):
            _check_name(case[key], key)
        if case["version"] < 1:
            return f"version {case['version']} is not a positive count"
        _check_strings(case["facts"], "facts")
    except InvalidInput as exc:
        return str(exc)
    return None


#: Combinations of an event's short, much repeated fields (kind, actor, trigger, states,
#: legal date) already found acceptable: checked once, not once per event. Emptied when
#: it reaches _PASSED_MAX entries (memory stays bounded).
_PASSED: set[tuple[Any, ...]] = set()
_PASSED_MAX = 65_536


def _event_problem(ev: Mapping[str, Any]) -> str | None:
    """What the command line would refuse in an event (None: nothing)."""
    from treatyflow.events import SYSTEM_ACTOR
    from treatyflow.values import check_actor, check_text

    data = ev["data"]
    fired_by_a_clock = (
        ev["actor"] == SYSTEM_ACTOR and isinstance(data, Mapping) and "clock" in data
    )
    short = (
        ev["kind"],
        ev["actor"],
        fired_by_a_clock,
        ev["trigger"],
        ev["from_state"],
        ev["to_state"],
        ev["occurred_on"],
    )
    if short in _PASSED:
        try:
            check_text(ev["note"], "its note")
            _check_name(ev["recorded_at"], "recorded_at")
            return _rest_problem(ev)
        except InvalidInput as exc:
            return str(exc)
    try:
        if ev["kind"] not in _EVENT_KINDS:
            return f"kind {printable(ev['kind'])!r} is not one of {', '.join(_EVENT_KINDS)}"
        if not fired_by_a_clock and check_actor(ev["actor"]) != ev["actor"]:
            return "its actor has surrounding spaces"
        check_text(ev["note"], "its note")
        for key in ("trigger", "from_state", "to_state"):
            if ev[key] is not None:
                _check_name(ev[key], key)
        _check_date(ev["occurred_on"], "occurred_on")
        _check_name(ev["recorded_at"], "recorded_at")
        problem = _rest_problem(ev)
    except InvalidInput as exc:
        return str(exc)
    if problem is None:
        if len(_PASSED) >= _PASSED_MAX:
            _PASSED.clear()
        _PASSED.add(short)
    return problem


def _rest_problem(ev: Mapping[str, Any]) -> str | None:
    """The checks of an event's hashes, sources and data (InvalidInput or a sentence)."""
    for key in ("prev_hash", "hash"):
        if ev[key] is not None and not _is_hash(ev[key]):
            return f"its {key} is not a sha256:<64 hex digits> hash"
    _check_sources(ev["sources"])
    _check_strings(ev["data"], "data")
    return None


_EVENT_KINDS = tuple(str(kind) for kind in EventKind)


_HASH = re.compile(r"sha256:[0-9a-f]{64}\Z")


def _is_hash(value: str) -> bool:
    return _HASH.match(value) is not None


def _check_name(value: str, field: str) -> None:
    from treatyflow.values import check_text

    check_text(value, field, 200)


def _check_date(value: str, field: str) -> None:
    from treatyflow.values import parse_date

    if parse_date(value, field).isoformat() != value:
        raise InvalidInput(field, value, f"{field} {value!r} is not an ISO 8601 date.")


def _check_sources(sources: list[Any]) -> None:
    from pydantic import ValidationError

    from treatyflow.evidence import EventSource
    from treatyflow.values import check_sources, check_text

    check_sources(sources, "sources")
    for source in sources:
        if not isinstance(source, dict):
            raise InvalidInput("sources", source, "a source is not an object.")
        try:
            EventSource.model_validate(source)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(
                "sources", source, f"a source is invalid ({where}: {first['msg']})."
            ) from None
        for key, value in source.items():
            if isinstance(value, str):
                check_text(value, f"source {key}")


def _check_strings(value: Any, field: str) -> None:
    """Every string in ``value`` (keys included) passes ``check_text``."""
    from treatyflow.values import check_text

    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            check_text(item, field)
        elif isinstance(item, dict):
            for key, inner in item.items():
                check_text(key, field, 200)
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
