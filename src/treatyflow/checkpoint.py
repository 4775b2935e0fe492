"""Checkpoints: the chain heads, written down outside the database.

A hash chain shows that no event was edited *unless* whoever edited it rewrote every hash
after it (and the case row) too — which anyone who can write to the database can do. A
checkpoint closes that gap: keep the file somewhere else (mail it, commit it, print it),
and ``treatyflow verify --checkpoint FILE`` later proves that the history it covers is
still there, unchanged: every checkpointed case exists, has at least the checkpointed
number of events, and its event at the checkpointed seq still has the checkpointed hash
(and, since every chain verifies, so does everything before it).

The file is deterministic JSON (sorted keys, cases by id; no timestamp of its own — it
names the newest ``recorded_at`` it covers), so the same database state always gives the
same bytes and the same digest. The digest is the same as a bundle trailer's
``heads_digest``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from treatyflow import __version__
from treatyflow.bundle import heads_digest
from treatyflow.chain import ChainFault
from treatyflow.errors import InvalidInput, ReportExists

FORMAT = "treatyflow.checkpoint/1"


def document(heads: list[tuple[str, int, str]], newest: str | None) -> dict[str, Any]:
    """The checkpoint document of these chain heads (``newest``: the newest ``recorded_at``)."""
    return {
        "format": FORMAT,
        "treatyflow_version": __version__,
        "covers_recorded_until": newest,
        "cases": [{"case": c, "version": v, "head": h} for c, v, h in heads],
        "count": len(heads),
        "digest": heads_digest(heads),
    }


def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: Path, doc: Mapping[str, Any], *, force: bool = False) -> None:
    """Write a checkpoint document to ``path`` (never over an existing file without ``force``)."""
    if path.exists() and not force:
        raise ReportExists(str(path))
    if not path.parent.is_dir():
        raise InvalidInput("output", str(path), f"the directory {path.parent} does not exist.")
    try:
        path.write_text(dumps(doc), encoding="utf-8")
    except OSError as exc:
        raise InvalidInput("output", str(path), f"cannot write {path}: {exc.strerror}.") from None


def load_checkpoint(path: Path) -> list[tuple[str, int, str]]:
    """The (case, version, head) entries of a checkpoint file, after checking its digest."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(
            "checkpoint", str(path), f"cannot read {path}: {exc.strerror}."
        ) from None
    except ValueError as exc:
        raise InvalidInput(
            "checkpoint", str(path), f"{path} is not a checkpoint (not JSON: {exc})."
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InvalidInput("checkpoint", str(path), f"{path} is not a {FORMAT} checkpoint file.")
    try:
        heads = [(str(c["case"]), int(c["version"]), str(c["head"])) for c in doc["cases"]]
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(
            "checkpoint", str(path), f"{path}: the list of cases is unreadable."
        ) from None
    if heads_digest(heads) != doc.get("digest"):
        raise InvalidInput(
            "checkpoint",
            str(path),
            f"{path}: the checkpoint's digest does not match its cases; the file itself "
            "was changed.",
        )
    return heads


def compare(
    heads: list[tuple[str, int, str]],
    current: Mapping[str, tuple[int, str]],
    hash_at: Callable[[str, int], str | None],
) -> list[ChainFault]:
    """What a checkpoint says that the current state contradicts.

    ``current`` maps case id to (version, head hash) now; ``hash_at(case, seq)`` is the
    hash of that event now (None if there is none).
    """
    faults: list[ChainFault] = []
    for case_id, version, head in heads:
        now = current.get(case_id)
        if now is None:
            faults.append(
                ChainFault(case_id, 1, f"the case is missing (checkpointed with {version} events)")
            )
            continue
        found = hash_at(case_id, version)
        if now[0] < version or found is None:
            faults.append(
                ChainFault(
                    case_id,
                    min(now[0] + 1, version),
                    f"history truncated: the case now has {now[0]} events, the checkpoint "
                    f"recorded {version}",
                )
            )
        elif found != head:
            faults.append(
                ChainFault(
                    case_id,
                    version,
                    "history rewritten: the event at this seq no longer has the "
                    f"checkpointed hash {head[:19]}...",
                )
            )
    return faults
