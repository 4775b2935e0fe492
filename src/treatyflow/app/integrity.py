"""Integrity: verifying every case's hash chain (and every signature, against the key
registry: :func:`treatyflow.app.trust.check_signatures`; and every attached document's bytes
against the digest its events cite: :func:`treatyflow.app.documents.document_faults`), and
checkpoints of the chain heads.

A fast pass (:mod:`treatyflow.store.chainscan`, on SQLite and PostgreSQL) clears the cases
whose chain is certainly intact; the rest are checked here the exact way (:func:`verify_case`),
in one snapshot. The same pass checks every case row's identity against its log and collects
what a checkpoint is compared with, so ``verify`` (with or without ``--checkpoint``) reads the
log once. Where the pass gave up, every case is checked the exact way in one snapshot, and
identities and checkpoints by their own queries. (The pass's worker processes read
snapshots of their own; a case they cleared was intact then, and logs are append-only.)
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from pathlib import Path
from typing import Any

from treatyflow import checkpoint as checkpoints
from treatyflow.app.core import Core, id_order
from treatyflow.chain import ChainFault, verify_events, verify_states
from treatyflow.errors import RowUnreadable
from treatyflow.identity import identity_fault
from treatyflow.results import VerifyResult
from treatyflow.store.sql import ChainHead

#: A checkpoint's entries: (case id, version, head hash).
Heads = list[tuple[str, int, str]]

_NO_CASE_YET = object()


def verify(core: Core, *, checkpoint: Path | None = None) -> VerifyResult:
    """Every case's chain (and, with ``checkpoint``, that nothing it recorded was truncated or
    rewritten). A database holding text that is not UTF-8 (SQLite keeps whatever bytes a
    client writes, which the driver cannot read) is reported as one fault per such value,
    naming the case and seq of an event, or the row of another table."""
    try:
        return _verify(core, checkpoint=checkpoint)
    except RowUnreadable:
        found = core.store.undecodable()
        if not found:
            raise
        with core.store.read() as conn:
            count = len(core.store.case_ids(conn))
        faults = [
            ChainFault(key if table in ("cases", "events") else f"<{table} {key}>", seq,
                       f"its {column} is not UTF-8 text (changed outside treatyflow)")
            for table, key, seq, column in found
        ]  # fmt: skip
        return VerifyResult(cases=count, problems=tuple(first_per_case(faults)))


def _verify(core: Core, *, checkpoint: Path | None = None) -> VerifyResult:
    from treatyflow.app.documents import document_faults
    from treatyflow.app.trust import check_signatures

    heads = checkpoints.load_checkpoint(checkpoint) if checkpoint is not None else None
    want = {case_id: version for case_id, version, _ in heads} if heads is not None else None
    scan = core.store.chain_scan(want=want)  # before any read: it may fork worker processes
    count, faults = check_chains(core, scan)
    failed = {f.case_id for f in faults}
    if scan is None:
        identities = check_identities(core, skip=failed)
    else:
        identities = [
            ChainFault(case_id, 1, fault)
            for case_id, fault in scan.identity.items()
            if case_id not in failed
        ]
    citing = None if scan is None else scan.citing
    documents = document_faults(core, citing)
    found = faults + identities + check_signatures(core) + documents
    faults = first_per_case(found + projection_faults(core, scan))
    info = None
    if heads is not None:
        against = check_against(core, heads) if scan is None else scanned_against(scan, heads)
        faults = sorted(faults + against, key=lambda f: (id_order(f.case_id), f.seq))
        info = {"path": str(checkpoint), "cases": len(heads)}
    return VerifyResult(cases=count, problems=tuple(faults), checkpoint=info)


_SCAN = object()


def check_chains(core: Core, scan: Any = _SCAN) -> tuple[int, list[ChainFault]]:
    """(number of cases, the faults by case id); ``scan``: the fast pass's result (None: it
    gave up), made here when not given."""
    from treatyflow.store.snapshots import snapshot_case_faults

    if scan is _SCAN:
        scan = core.store.chain_scan()  # before the read: it may fork worker processes
    with core.store.read() as conn:
        if scan is None:
            count, faults = _verify_all(core, conn)
        else:
            count, faults = scan.cases, []
            for case_id in sorted(set(scan.suspects), key=id_order):
                head = core.store.chain_head(conn, case_id)
                fault = verify_case(case_id, list(core.store.event_rows(conn, case_id)), head)
                if fault:
                    faults.append(fault)
        # Events of no case (NULL case id) and definition snapshots a case's dates depend on
        # that are missing or do not re-hash.
        faults += core.store.orphan_faults(conn)
        faults += snapshot_case_faults(core.store, conn)
    return count, sorted(faults, key=lambda f: (id_order(f.case_id), f.seq))


def _verify_all(core: Core, conn: Any) -> tuple[int, list[ChainFault]]:
    """Every case the exact way, from one stream of event rows ordered by (case, seq).

    A row whose case id is NULL belongs to no chain: ``Store.orphan_faults`` reports it.
    """
    faults: list[ChainFault] = []
    records = core.store.chain_heads(conn)
    seen: set[Any] = set()
    current: Any = _NO_CASE_YET
    batch: list[dict[str, Any]] = []
    for row in core.store.event_rows(conn):
        if row["case_id"] is None:
            continue  # an event of no case: Store.orphan_faults reports it
        if row["case_id"] != current or current is _NO_CASE_YET:
            if current is not _NO_CASE_YET:
                _add(faults, verify_case(current, batch, records.get(current)))
            current, batch = row["case_id"], []
            seen.add(current)
        batch.append(row)
    if current is not _NO_CASE_YET:
        _add(faults, verify_case(current, batch, records.get(current)))
    for case_id in sorted(set(records) - seen, key=id_order):
        _add(faults, verify_case(case_id, [], records[case_id]))
    return len(records), sorted(faults, key=lambda f: id_order(f.case_id))


def projection_faults(core: Core, scan: Any = None) -> list[ChainFault]:
    """Every case whose case projection row (what ``pending``, ``tick`` and every change's
    checks read) was edited outside treatyflow: its seal does not match. Such a row is never
    read (the case is folded from its log), but a changed ``final``, ``horizon`` or
    ``next_fire`` can still keep the case out of ``pending`` or ``tick`` until it is
    rewritten. The fault is at the case's last seq, so a fault of the log itself (at or
    before it) is the one reported. ``scan``: the fast pass's result, whose workers checked
    the seals already (when it read them); else they are read here."""
    from treatyflow.store import projections

    if scan is not None and scan.unsealed is not None:
        found = scan.unsealed
    else:
        with core.store.read() as conn:
            if not projections.available(core.store, conn):
                return []
            found = list(projections.unsealed(conn))
    return [
        ChainFault(
            case_id,
            version,
            "its case projection row was changed outside treatyflow; reprojecting "
            "every case rewrites it from the log",
        )
        for case_id, version in found
    ]


def first_per_case(faults: Sequence[ChainFault]) -> list[ChainFault]:
    """The first fault (lowest seq) of each case, by case id."""
    first: dict[Any, ChainFault] = {}
    for f in faults:
        if f.case_id not in first or f.seq < first[f.case_id].seq:
            first[f.case_id] = f
    return sorted(first.values(), key=lambda f: id_order(f.case_id))


def _add(faults: list[ChainFault], fault: ChainFault | None) -> None:
    if fault is not None:
        faults.append(fault)


def verify_case(
    case_id: Any, rows: Sequence[dict[str, Any]], head: ChainHead | None
) -> ChainFault | None:
    """The first fault of one case's log (its rows by seq) against its case row, if any."""
    if head is None:
        if not rows:
            return None
        return ChainFault(case_id, rows[0]["seq"], "events of a case that does not exist")
    if not rows:
        return ChainFault(case_id, 1, "the case has no events")
    fault = verify_events(
        case_id, list(rows), expected_head=head.head_hash, expected_count=head.version
    )
    return fault or verify_states(case_id, list(rows), expected_state=head.state)


def check_identities(core: Core, *, skip: Set[Any] = frozenset()) -> list[ChainFault]:
    """Every case row against what its log says it is (:mod:`treatyflow.identity`): the
    country, treaty, action, pinned definitions, opening day and facts. Cases in ``skip``
    (whose chain already failed) are not checked again."""
    faults: list[ChainFault] = []
    with core.store.read() as conn:
        known = core.store.case_ids(conn)
        groups = core.store.identity_events(conn)
        group = next(groups, None)
        for row in core.store.case_identities(conn):
            # Both streams are in the database's order of ids; events of no case are skipped
            # by membership (verify's chain check reports them).
            while group is not None and group[0] not in known:
                group = next(groups, None)
            events: list[dict[str, Any]] = []
            if group is not None and group[0] == row["id"]:
                events = group[1]
                group = next(groups, None)
            if row["id"] in skip:
                continue
            fault = identity_fault(row, events)
            if fault is not None:
                faults.append(ChainFault(row["id"], 1, fault))
    return faults


def check_against(core: Core, heads: Heads) -> list[ChainFault]:
    """What a checkpoint records that the database now contradicts."""
    with core.store.read() as conn:
        current = {c: (v, h) for c, v, h in core.store.heads(conn)}
        return checkpoints.compare(
            heads, current, lambda c, s: core.store.event_hash_at(conn, c, s)
        )


def scanned_against(scan: Any, heads: Heads) -> list[ChainFault]:
    """What a checkpoint records that the database contradicts, from what the fast pass
    collected (the same comparison as :func:`check_against`, without a query per case)."""
    current = {str(c): (int(v), str(h)) for c, (v, h) in scan.heads.items()}
    return checkpoints.compare(
        heads,
        current,
        lambda c, seq: None if scan.hashes.get(c) is None else str(scan.hashes[c]),
    )


def snapshot_faults(core: Core) -> tuple[list[str], int]:
    """Every stored definition snapshot that does not re-hash to its digest (or is not a valid
    definition), and every one a case is pinned to that is missing; and how many are stored."""
    from treatyflow.store.snapshots import definition_faults

    with core.store.read() as conn:
        return definition_faults(core.store, conn), core.store.counts(conn)["definitions"]


def make_checkpoint(core: Core) -> dict[str, Any]:
    """The checkpoint document of the database's current state (one consistent snapshot)."""
    from treatyflow.store.sql import newest_recorded_at

    with core.store.read() as conn:
        heads = core.store.heads(conn)
        newest = newest_recorded_at(conn)
    return checkpoints.document(heads, newest)


def write_checkpoint(core: Core, path: Path, *, force: bool = False) -> dict[str, Any]:
    """Write the checkpoint of the database's current state to ``path``; its document."""
    doc = make_checkpoint(core)
    checkpoints.write(path, doc, force=force)
    return doc
