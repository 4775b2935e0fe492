"""Trust: the key registry (add, list, retire, the signatures policy), the check of every
event's signature against it, and PostgreSQL's group roles (``grant``).

Registry changes are entries of their own signed hash chain (:mod:`treatyflow.registry`),
each appended in one write transaction: the first key by anyone, every later change signed
by an admin's registered key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from treatyflow.app.core import Core, retry
from treatyflow.chain import ChainFault
from treatyflow.errors import InvalidInput, NotAuthorised
from treatyflow.keys import parse_public_key
from treatyflow.registry import ROLES, Entry, Registry
from treatyflow.results import KeyInfo
from treatyflow.signcheck import signature_faults
from treatyflow.values import check_actor

#: PostgreSQL group role of each treatyflow role (``db grant``).
GROUP_ROLES = {r: f"treatyflow_{r}" for r in ROLES}


def keys(core: Core) -> list[KeyInfo]:
    """Every key ever registered, oldest first."""
    with core.store.read() as conn:
        reg = core.registry(conn)
    return [_info(k) for k in reg.signers()]


def require_signatures(core: Core) -> bool:
    """Whether the database requires signed writes now (team mode)."""
    with core.store.read() as conn:
        return core.registry(conn).required


def add_key(core: Core, name: str, public_key: str, roles: Sequence[str] = ()) -> KeyInfo:
    """Register ``public_key`` (OpenSSH line or file) under ``name`` with ``roles``."""
    name = check_actor(name)
    wanted = tuple(dict.fromkeys(roles or ("analyst",)))
    unknown = [r for r in wanted if r not in ROLES]
    if unknown:
        raise InvalidInput(
            "role", unknown[0], f"{unknown[0]!r} is not a role ({', '.join(ROLES)})."
        )
    pub = parse_public_key(public_key)
    data = {"public_key": pub.openssh, "fingerprint": pub.fingerprint, "roles": list(wanted)}

    def check(reg: Registry) -> None:
        same = reg.keys.get(pub.fingerprint)
        if same is not None:
            raise InvalidInput(
                "public_key", public_key, f"this key is registered already, as {same.name!r}."
            )
        if reg.active_name(name) is not None:
            raise InvalidInput(
                "name", name, f"a key named {name!r} is registered already; retire it first."
            )

    _append(core, "add", name, data, check, first_signer=pub.fingerprint)
    with core.store.read() as conn:
        return _info(core.registry(conn).keys[pub.fingerprint])


def retire_key(core: Core, name: str) -> KeyInfo:
    """End the validity of ``name``'s key: it signs nothing new; what it signed stays valid."""
    found: dict[str, str] = {}

    def check(reg: Registry) -> None:
        record = reg.active_name(name)
        if record is None:
            raise InvalidInput("name", name, f"no registered key is named {name!r}.")
        admins = [k for k in reg.keys.values() if k.retired_at is None and "admin" in k.roles]
        if admins == [record]:
            raise InvalidInput(
                "name", name, f"{name!r} holds the last admin key; add another admin first."
            )
        found["fingerprint"] = record.fingerprint

    _append(core, "retire", name, found, check)
    with core.store.read() as conn:
        return _info(core.registry(conn).keys[found["fingerprint"]])


def set_require_signatures(core: Core, on: bool) -> bool:
    """Turn team mode on or off (an admin-signed registry entry); the new setting."""

    def check(reg: Registry) -> None:
        if reg.empty:
            raise NotAuthorised(None, "register a key (an admin's) before requiring signatures.")

    _append(core, "policy", None, {"require_signatures": on}, check)
    return on


def _append(
    core: Core,
    kind: str,
    name: str | None,
    data: dict[str, Any],
    check: Any,
    *,
    first_signer: str | None = None,
) -> Entry:
    """Append one registry entry in one write transaction, after ``check(registry)``."""

    def attempt() -> Entry:
        with core.store.write() as conn:
            entries = core.store.registry_entries(conn)
            reg = Registry.fold(entries)
            check(reg)
            entry = Entry(
                seq=len(entries) + 1,
                kind=kind,
                name=name,
                data=dict(data),
                recorded_at=core.now(),
                actor=name or "",
                prev_hash=reg.head,
            )
            signer = core.signer
            if reg.empty:
                entry = entry.sealed()
                if signer is not None and signer.fingerprint == first_signer:
                    entry = replace(
                        entry, key=signer.fingerprint, signature=signer.sign(entry.hash)
                    )
            else:
                record = core.signer_record(reg)
                if record is None or "admin" not in record.roles:
                    who = record.name if record else None
                    raise NotAuthorised(
                        who, "only an admin's registered key may change the key registry."
                    )
                assert signer is not None
                entry = replace(entry, actor=record.name).sealed()
                entry = replace(entry, key=signer.fingerprint, signature=signer.sign(entry.hash))
            core.store.append_registry(conn, entry)
            return entry

    return retry(attempt)


def _info(record: Any) -> KeyInfo:
    return KeyInfo(
        name=record.name,
        fingerprint=record.fingerprint,
        public_key=record.public_key,
        roles=tuple(record.roles),
        added=record.added_at,
        retired=record.retired_at,
    )


# ---------------------------------------------------------------------------- verify
def check_signatures(core: Core) -> list[ChainFault]:
    """Every event's author against the registry as it stood when the event was recorded,
    and the registry's own chain; the first fault per case. The signatures are checked by
    one worker process per core (:mod:`treatyflow.signcheck`)."""
    with core.store.read() as conn:
        entries = core.store.registry_entries(conn)
        if not entries and not core.store.has_signed_events(conn):
            return []  # a single analyst's database: nothing is signed, nothing to check
        rows = core.store.signature_rows(conn, signed_only=not entries)
        return signature_faults(entries, rows)


# ---------------------------------------------------------------------------- PostgreSQL
def grant(core: Core, role: str, as_: str) -> dict[str, Any]:
    """Give the login ``role`` a treatyflow role on PostgreSQL (creating the group roles):
    every role reads, inserts events and updates the case rows; none may update, delete or
    truncate events or the registry (a trigger refuses it too); admins also append to the
    key registry."""
    if core.store.is_sqlite:
        raise InvalidInput(
            "db", core.store.url, "roles and grants are PostgreSQL's; SQLite has none."
        )
    if as_ not in ROLES:
        raise InvalidInput("as", as_, f"{as_!r} is not a role ({', '.join(ROLES)}).")
    check_actor(role)
    return core.store.grant_role(role, GROUP_ROLES[as_], admin=as_ == "admin")
