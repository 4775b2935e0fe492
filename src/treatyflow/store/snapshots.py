"""Definition snapshots: the stored treaty and procedure versions cases are pinned to.

A case records the content hash of the procedure and treaty it was opened under
(``cases.procedure_hash``, ``cases.treaty_hash``), and the ``definitions`` table keeps the
JSON of each version under that hash. When the catalogue on disk no longer holds a case's
version (a ``--workflows`` override, an upgrade), the case runs under the stored snapshot,
so a snapshot decides legal dates: every snapshot is re-hashed whenever it is used
(:meth:`treatyflow.store.sql.Store.load_definition`), and :func:`definition_faults` re-hashes
all of them for ``verify``, ``doctor`` and ``export``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from treatyflow.catalog import snapshot_problem
from treatyflow.chain import ChainFault
from treatyflow.store.schema import cases, definitions

__all__ = ["definition_faults", "snapshot_case_faults", "snapshot_problem"]

#: Cases named in one fault (the rest are counted).
SHOWN_CASES = 5


def definition_faults(store: Any, conn: Connection) -> list[str]:
    """Every stored snapshot that does not re-hash to its hash (or is not a valid
    definition), and every snapshot a case was opened under that is missing; one sentence
    each, empty when all is well. Reads every snapshot and the cases' pinned hashes (the
    cases streamed)."""
    faults: list[str] = []
    stored: set[str] = set()
    query = sa.select(
        definitions.c.hash, definitions.c.kind, definitions.c.definition_id, definitions.c.content
    ).order_by(definitions.c.hash)
    for digest, kind, ident, content in conn.execute(query):
        stored.add(digest)
        problem = snapshot_problem(str(digest), str(kind), content)
        if problem is not None:
            faults.append(
                f"the stored {kind} {ident!r} version {str(digest)[:19]}... cannot be "
                f"trusted: {problem}; it was changed outside treatyflow - restore it from a "
                "backup or a verified bundle"
            )
    missing: dict[tuple[str, str, str], list[str]] = {}
    counts: dict[tuple[str, str, str], int] = {}
    rows = conn.execution_options(stream_results=True, yield_per=2000).execute(
        sa.select(
            cases.c.id,
            cases.c.procedure,
            cases.c.procedure_hash,
            cases.c.treaty,
            cases.c.treaty_hash,
        ).order_by(cases.c.id)
    )
    for case_id, procedure, procedure_hash, treaty, treaty_hash in rows:
        for kind, ident, digest in (
            ("procedure", procedure, procedure_hash),
            ("treaty", treaty, treaty_hash),
        ):
            if digest in stored:
                continue
            key = (kind, str(ident), str(digest))
            counts[key] = counts.get(key, 0) + 1
            if len(names := missing.setdefault(key, [])) < SHOWN_CASES:
                names.append(str(case_id))
    for (kind, ident, digest), names in sorted(missing.items()):
        opened = _cases(names, counts[(kind, ident, digest)])
        faults.append(
            f"the {kind} {ident!r} version {digest[:19]}... that {opened} "
            "opened under is missing from the database - restore it from a backup or a "
            "verified bundle"
        )
    return faults


def _cases(names: Sequence[str], total: int) -> str:
    shown = ", ".join(repr(n) for n in names)
    more = total - len(names)
    word = "case" if total == 1 else "cases"
    return (
        f"{word} {shown}"
        + (f" and {more} more" if more > 0 else "")
        + (" was" if total == 1 else " were")
    )


def snapshot_case_faults(store: Any, conn: Connection) -> list[ChainFault]:
    """For ``verify``: one fault per case whose procedure or treaty snapshot is missing or
    cannot be trusted (an edited, unreadable or invalid one), at seq 1 (the event that
    pinned it), by case id. Cases whose version is still in the catalogue on disk are not
    spared: the stored snapshot is what a later ``--workflows`` change would fall back to."""
    bad: dict[str, str] = {}
    query = sa.select(
        definitions.c.hash, definitions.c.kind, definitions.c.definition_id, definitions.c.content
    )
    stored: set[str] = set()
    for digest, kind, _ident, content in conn.execute(query):
        stored.add(digest)
        problem = snapshot_problem(str(digest), str(kind), content)
        if problem is not None:
            bad[digest] = f"cannot be trusted: {problem}"
    faults: list[ChainFault] = []
    # The versions the cases pin (two DISTINCT scans in the database): when every one is
    # stored and sound, no case can have a fault, and the cases are not read one by one.
    pinned = {
        digest
        for column in (cases.c.procedure_hash, cases.c.treaty_hash)
        for (digest,) in conn.execute(sa.select(column).distinct())
    }
    if all(digest in stored and digest not in bad for digest in pinned):
        return faults
    rows = conn.execution_options(stream_results=True, yield_per=2000).execute(
        sa.select(
            cases.c.id,
            cases.c.procedure,
            cases.c.procedure_hash,
            cases.c.treaty,
            cases.c.treaty_hash,
        ).order_by(cases.c.id)
    )
    for case_id, procedure, procedure_hash, treaty, treaty_hash in rows:
        for kind, ident, digest in (
            ("procedure", procedure, procedure_hash),
            ("treaty", treaty, treaty_hash),
        ):
            why = bad.get(digest) if digest in stored else "is missing from the database"
            if why is not None:
                faults.append(
                    ChainFault(
                        str(case_id),
                        1,
                        f"its {kind} {ident!r} version {str(digest)[:19]}... {why}",
                    )
                )
                break
    return faults
