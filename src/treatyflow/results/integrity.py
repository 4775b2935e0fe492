"""Verification, bundles, checkpoints and signing keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from treatyflow.chain import ChainFault


@dataclass(frozen=True)
class KeyInfo:
    """A key in the registry (``keys list``)."""

    name: str
    fingerprint: str
    """OpenSSH's ``SHA256:...`` fingerprint, as events' ``key`` names it."""
    public_key: str
    roles: tuple[str, ...]
    added: str
    """UTC record time of its registration."""
    retired: str | None
    """UTC record time of its retirement; None while it is valid."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "public_key": self.public_key,
            "roles": list(self.roles),
            "added": self.added,
            "retired": self.retired,
        }


@dataclass(frozen=True)
class VerifyResult:
    """``verify``: every case's chain checked; ``problems`` name the case and first bad seq."""

    cases: int
    problems: tuple[ChainFault, ...]
    checkpoint: Mapping[str, Any] | None = None
    """With a checkpoint: its path and the number of cases it covers."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "ok": self.ok,
            "cases": self.cases,
            "problems": [
                {"case": f.case_id, "seq": f.seq, "reason": f.reason} for f in self.problems
            ],
        }
        if self.checkpoint is not None:
            doc["checkpoint"] = dict(self.checkpoint)
        return doc


@dataclass(frozen=True)
class BundleResult:
    """What ``export``, ``import`` or ``verify --bundle`` did with a bundle file.

    ``counts`` are the numbers of definitions, cases and events; ``heads_digest`` is the
    digest over every case's chain head (the same as a checkpoint's). ``details`` are the
    other keys the command prints with ``--json``.
    """

    bundle: str
    counts: Mapping[str, int]
    heads_digest: str | None
    problems: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"bundle": self.bundle, **self.details}


@dataclass(frozen=True)
class CheckpointResult:
    """A checkpoint written: where, how many cases it covers and its digest."""

    checkpoint: str
    cases: int
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "cases": self.cases, "digest": self.digest}
