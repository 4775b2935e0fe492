"""The key registry: who may sign, with which roles, from when to when; and the checks of
signed events against it.

The registry is itself a hash-chained, signed log (one entry per change): ``add`` registers
a public key under a name with roles, ``retire`` ends a key's validity, ``policy`` turns
required signatures on or off. The first entry (the first key) may be written by anyone;
every later one must be signed by a key with the ``admin`` role that is valid at that point
of the registry. A key's validity is judged as of each event's record time: a key signs
events recorded after it was added and before it was retired, and those stay valid after it
is retired.

Pure: entries and event rows in, verdicts out (the signatures are checked with
:mod:`treatyflow.keys`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from treatyflow import keys
from treatyflow.chain import ChainFault, digest
from treatyflow.events import SYSTEM_ACTOR

ROLES = ("analyst", "reviewer", "admin")
#: The name under which a problem of the registry's own chain is reported by ``verify``.
REGISTRY_CASE = "<key registry>"
KINDS = ("add", "retire", "policy")
#: Stored fields of an entry (what a bundle's ``registry`` lines hold), hash first-class.
ENTRY_FIELDS = (
    "seq",
    "kind",
    "name",
    "data",
    "recorded_at",
    "actor",
    "prev_hash",
    "hash",
    "key",
    "signature",
)


@dataclass(frozen=True)
class Entry:
    """One change of the key registry."""

    seq: int
    kind: str
    name: str | None
    data: dict[str, Any]
    """add: public_key, fingerprint, roles; retire: fingerprint; policy: require_signatures."""
    recorded_at: str
    actor: str
    prev_hash: str | None = None
    hash: str = ""
    key: str | None = None
    """Fingerprint of the key that signed the entry (None: the unsigned first entry)."""
    signature: str | None = None
    recorded_by: str | None = None

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "name": self.name,
            "data": self.data,
            "recorded_at": self.recorded_at,
            "actor": self.actor,
            "prev_hash": self.prev_hash,
        }

    def sealed(self) -> Entry:
        from dataclasses import replace

        return replace(self, hash=digest(self.hashed_fields()))

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.hashed_fields(),
            "hash": self.hash,
            "key": self.key,
            "signature": self.signature,
        }


@dataclass
class KeyRecord:
    """A registered key as the registry has it now."""

    name: str
    public_key: str
    fingerprint: str
    roles: tuple[str, ...]
    added_at: str
    retired_at: str | None = None

    def valid_at(self, when: str) -> bool:
        return self.added_at <= when and (self.retired_at is None or when < self.retired_at)


@dataclass
class Registry:
    """The registry folded from its entries: every key ever added, and the policy."""

    keys: dict[str, KeyRecord] = field(default_factory=dict)
    policy: list[tuple[str, bool]] = field(default_factory=list)
    """(recorded_at, require_signatures) in order."""
    entries: int = 0
    head: str | None = None

    @classmethod
    def fold(cls, entries: Iterable[Entry]) -> Registry:
        reg = cls()
        for entry in entries:
            reg.apply(entry)
        return reg

    def apply(self, entry: Entry) -> None:
        # tolerant of a tampered entry (check_entries reports it): never raises
        data = entry.data if isinstance(entry.data, dict) else {}
        roles = data.get("roles")
        if entry.kind == "add" and "fingerprint" in data:
            fp = str(data["fingerprint"])
            self.keys[fp] = KeyRecord(
                name=str(entry.name),
                public_key=str(data.get("public_key")),
                fingerprint=fp,
                roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
                added_at=str(entry.recorded_at),
            )
        elif entry.kind == "retire":
            record = self.keys.get(str(data.get("fingerprint")))
            if record is not None and record.retired_at is None:
                record.retired_at = entry.recorded_at
        elif entry.kind == "policy":
            self.policy.append((entry.recorded_at, bool(data.get("require_signatures"))))
        self.entries += 1
        self.head = entry.hash

    @property
    def empty(self) -> bool:
        return self.entries == 0

    @property
    def required(self) -> bool:
        """Signatures are required now (team mode)."""
        return bool(self.policy) and self.policy[-1][1]

    def required_at(self, when: str) -> bool:
        """Signatures were required at the record time ``when``."""
        state = False
        for at, value in self.policy:
            if at > when:
                break
            state = value
        return state

    def active(self, fingerprint: str) -> KeyRecord | None:
        """The key if it is registered and not retired."""
        record = self.keys.get(fingerprint)
        return record if record is not None and record.retired_at is None else None

    def active_name(self, name: str) -> KeyRecord | None:
        return next((k for k in self.keys.values() if k.name == name and not k.retired_at), None)

    def signers(self) -> list[KeyRecord]:
        return sorted(self.keys.values(), key=lambda k: (k.added_at, k.name))


# ---------------------------------------------------------------------------- checks
def check_entries(entries: Sequence[Entry]) -> tuple[int, str] | None:
    """The first problem of the registry's own chain, as (seq, reason), or None.

    Each entry must follow on (seq, prev_hash), hash to its hash, and (after the first) be
    signed by an admin key valid at that point; the first must add a key, and if it is
    signed, by that key.
    """
    reg = Registry()
    prev: str | None = None
    for n, entry in enumerate(entries, start=1):
        if entry.seq != n:
            return n, f"expected registry entry {n}, found {entry.seq}"
        if entry.prev_hash != prev:
            return n, "prev_hash does not match the previous entry"
        try:
            computed = digest(entry.hashed_fields())
        except (TypeError, ValueError):
            return n, "its content is not canonical JSON"
        if computed != entry.hash:
            return n, "its content does not match its hash"
        if entry.kind not in KINDS:
            return n, f"unknown kind {entry.kind!r}"
        if n == 1:
            if entry.kind != "add":
                return n, "the first entry must add a key"
            if entry.key is not None or entry.signature is not None:
                own = str(entry.data.get("public_key"))
                if entry.key != entry.data.get("fingerprint") or not _verifies(
                    own, entry.signature, entry.hash
                ):
                    return n, "its signature does not verify"
        else:
            signer = reg.keys.get(entry.key or "")
            if entry.key is None or entry.signature is None:
                return n, "it is not signed (only the first entry may be unsigned)"
            if signer is None or not signer.valid_at(entry.recorded_at):
                return n, "it is signed by a key that was not valid then"
            if "admin" not in signer.roles:
                return n, f"it is signed by {signer.name!r}, who is not an admin"
            if entry.actor != signer.name:
                return n, f"it names {entry.actor!r} but is signed by {signer.name!r}"
            if not _verifies(signer.public_key, entry.signature, entry.hash):
                return n, "its signature does not verify"
        if entry.kind == "add":
            fp = entry.data.get("fingerprint")
            try:
                if keys.fingerprint(str(entry.data.get("public_key"))) != fp:
                    return n, "the fingerprint is not the public key's"
            except (ValueError, IndexError):
                return n, "the public key is not readable"
        reg.apply(entry)
        prev = entry.hash
    return None


def is_clock_firing(row: Mapping[str, Any]) -> bool:
    """An event ``tick`` writes: a take-effect, or a step fired by a named clock."""
    data = row.get("data")
    return row.get("kind") == "take-effect" or (
        row.get("kind") == "advance" and isinstance(data, dict) and bool(data.get("clock"))
    )


def check_event(row: Mapping[str, Any], reg: Registry) -> str | None:
    """What is wrong with one event's author (its signature, key, actor), or None.

    ``row`` holds ``kind``, ``actor``, ``recorded_at``, ``hash``, ``signature``, ``key`` and
    ``data``. Only a clock firing may name the actor ``system``; a signed event must be
    signed by the registered key of its actor (a clock firing: by any valid key), valid at
    its record time; an unsigned one is wrong if signatures were required then.
    """
    actor, when = row.get("actor"), str(row.get("recorded_at"))
    clock = is_clock_firing(row)
    if actor == SYSTEM_ACTOR and not clock:
        return f"the actor {SYSTEM_ACTOR!r} is reserved for clocks, this is not a clock firing"
    signature, fp = row.get("signature"), row.get("key")
    if signature is None and fp is None:
        if reg.required_at(when):
            return "it is not signed, and signatures were required when it was recorded"
        return None
    if signature is None or fp is None:
        return "it has a signature without a key, or a key without a signature"
    record = reg.keys.get(str(fp))
    if record is None:
        return f"it is signed by the key {fp}, which is not in the registry"
    if when < record.added_at:
        return f"it is signed by the key of {record.name!r} before that key was registered"
    if record.retired_at is not None and when >= record.retired_at:
        return f"it is signed by the key of {record.name!r}, retired at {record.retired_at}"
    if actor != record.name and not clock:
        return f"it names {actor!r} but is signed by the key of {record.name!r}"
    if not _verifies(record.public_key, signature, str(row.get("hash"))):
        return f"its signature (the key of {record.name!r}) does not verify"
    return None


def _verifies(public_key: str, signature: Any, message: str) -> bool:
    try:
        return keys.verify(public_key, str(signature), message)
    except (ValueError, IndexError, AssertionError):
        return False


def signature_faults(
    entries: Sequence[Entry], rows: Iterable[Mapping[str, Any]]
) -> list[ChainFault]:
    """The faults of the registry ``entries`` and of the event ``rows`` (by case and seq)
    against it: one per case, the first."""
    faults: list[ChainFault] = []
    problem = check_entries(entries)
    if problem is not None:
        faults.append(ChainFault(REGISTRY_CASE, problem[0], problem[1]))
    reg = Registry.fold(entries)
    seen: set[Any] = set()
    for row in rows:
        case_id = row["case_id"]
        if case_id in seen:
            continue
        reason = check_event(row, reg)
        if reason is not None:
            faults.append(ChainFault(case_id, row["seq"], reason))
            seen.add(case_id)
    return faults
