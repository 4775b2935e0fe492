"""Export, offline verification and import of a whole database as a JSON Lines bundle.

A bundle (``treatyflow.bundle/1``) is one JSON object per line, written with sorted keys:

1. ``{"type": "header", "format": "treatyflow.bundle/1", "treatyflow_version": ...,
   "exported_at": ..., "schema_revision": ..., "source": <redacted database URL>}``
2. one ``{"type": "definition", "hash", "kind", "definition_id", "stored_at", "content"}`` per
   treaty or procedure snapshot (``content`` is the stored JSON text; ``hash`` is
   recomputable from it, exactly as :func:`treatyflow.catalog.content_hash` does);
   then, when the database has a key registry, one ``{"type": "registry", ...}`` per
   registry entry (:data:`treatyflow.registry.ENTRY_FIELDS`), by seq;
3. one ``{"type": "case", ...}`` per case row (``facts`` as an object), by id;
4. one ``{"type": "event", ...}`` per event (the hashed fields plus ``hash``, and
   ``signature`` and ``key`` when it is signed), by case, seq;
5. ``{"type": "trailer", "counts": {...}, "heads": n, "heads_digest": ...,
   "body_digest": ...}`` — ``heads_digest`` is the digest over every case's
   (id, version, head hash), the same as a checkpoint's; ``body_digest`` is SHA-256 over
   the bytes of every line before the trailer (it catches accidental damage; the chain
   and definition hashes catch any edit that was not carefully re-hashed, and a
   checkpoint kept elsewhere catches the rest). ``counts`` has ``registry`` only when the
   bundle carries registry entries.

Signatures are checked offline against the bundle's own registry, as it stood when each
event was recorded (:func:`treatyflow.registry.signature_faults`).

:func:`read_bundle` needs no database; :func:`import_bundle` refuses a bundle that does
not verify and a database that is not empty, and writes everything in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treatyflow import __version__
from treatyflow.chain import digest, verify_events
from treatyflow.errors import BundleInvalid, InvalidInput, ReportExists, StoreError
from treatyflow.registry import ENTRY_FIELDS, REGISTRY_CASE, Entry, signature_faults

if TYPE_CHECKING:
    from treatyflow.store.sql import Store

FORMAT = "treatyflow.bundle/1"
MAX_PROBLEMS = 50

CASE_FIELDS = (
    "id",
    "country",
    "treaty",
    "procedure",
    "procedure_hash",
    "treaty_hash",
    "action",
    "state",
    "version",
    "head_hash",
    "opened_on",
    "last_on",
    "facts",
    "created_at",
    "updated_at",
)
EVENT_FIELDS = (
    "case_id",
    "seq",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "occurred_on",
    "recorded_at",
    "actor",
    "sources",
    "note",
    "data",
    "prev_hash",
    "hash",
)
DEFINITION_FIELDS = ("hash", "kind", "definition_id", "stored_at", "content")
#: Fields an event line has when the event is signed.
SIGNATURE_FIELDS = ("signature", "key")


def heads_digest(heads: Iterable[tuple[str, int, str]]) -> str:
    """The digest over chain heads (case id, version, head hash), in case id order."""
    items = [{"case": c, "version": v, "head": h} for c, v, h in sorted(heads)]
    return digest(items)


def definition_hash(content: str) -> str:
    """The content hash of a stored definition snapshot (its ``model_dump_json`` text).

    Parsing the snapshot gives ``model_dump(mode="json")``; this is then hashed exactly as
    :func:`treatyflow.catalog.content_hash` does (sorted keys, compact, UTF-8).
    """
    data = json.loads(content)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _line(obj: Mapping[str, Any]) -> bytes:
    return (json.dumps(obj, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


# ====================================================================== export
def export_bundle(store: Store, path: Path, *, force: bool = False) -> dict[str, Any]:
    """Write the whole database to ``path`` (atomically); returns the trailer."""
    from treatyflow.redaction import redact
    from treatyflow.store import migrate

    if not path.name:
        raise InvalidInput("-o", str(path), "-o needs a file name.")
    if path.exists() and not force:
        raise ReportExists(str(path))
    if not path.parent.is_dir():
        raise InvalidInput("-o", str(path), f"the directory {path.parent} does not exist.")
    revision = migrate.current(store)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    body = hashlib.sha256()
    try:
        with tmp.open("wb") as out, store.read() as conn:

            def put(obj: Mapping[str, Any]) -> None:
                data = _line(obj)
                body.update(data)
                out.write(data)

            put(
                {
                    "type": "header",
                    "format": FORMAT,
                    "treatyflow_version": __version__,
                    "exported_at": _utc_now(),
                    "schema_revision": revision,
                    "source": redact(store.url, store.url),
                }
            )
            counts = {"definitions": 0, "cases": 0, "events": 0}
            for d in store.all_definitions(conn):
                put({"type": "definition", **{k: d[k] for k in DEFINITION_FIELDS}})
                counts["definitions"] += 1
            for entry in store.registry_entries(conn):
                put({"type": "registry", **entry.to_dict()})
                counts["registry"] = counts.get("registry", 0) + 1
            heads = []
            for record in store.list_cases(conn):
                row = {k: getattr(record, k) for k in CASE_FIELDS}
                put({"type": "case", **row})
                heads.append((record.id, record.version, record.head_hash))
                counts["cases"] += 1
            for ev in store.event_rows(conn, signed=True):
                put({"type": "event", **ev})
                counts["events"] += 1
            trailer = {
                "type": "trailer",
                "counts": counts,
                "heads": len(heads),
                "heads_digest": heads_digest(heads),
                "body_digest": "sha256:" + body.hexdigest(),
            }
            out.write(_line(trailer))
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except OSError as exc:
        raise InvalidInput("-o", str(path), f"cannot write {path}: {exc.strerror}.") from None
    finally:
        tmp.unlink(missing_ok=True)
    return trailer


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ====================================================================== reading and verifying
@dataclass
class Bundle:
    """A parsed bundle and everything wrong with it (``problems`` empty: it verifies)."""

    path: str
    header: dict[str, Any] = field(default_factory=dict)
    definitions: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    registry: list[dict[str, Any]] = field(default_factory=list)
    trailer: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def heads(self) -> list[tuple[str, int, str]]:
        return sorted((c["id"], int(c["version"]), c["head_hash"]) for c in self.cases)

    def counts(self) -> dict[str, int]:
        out = {
            "definitions": len(self.definitions),
            "cases": len(self.cases),
            "events": len(self.events),
        }
        if self.registry:
            out["registry"] = len(self.registry)
        return out

    def event_hash_at(self, case_id: str, seq: int) -> str | None:
        for ev in self._by_case().get(case_id, []):
            if ev.get("seq") == seq:
                return str(ev.get("hash"))
        return None

    def _by_case(self) -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for ev in self.events:
            groups.setdefault(str(ev.get("case_id")), []).append(ev)
        return groups

    def summary(self) -> dict[str, Any]:
        return {
            "bundle": self.path,
            "ok": self.ok,
            "format": self.header.get("format"),
            "treatyflow_version": self.header.get("treatyflow_version"),
            "exported_at": self.header.get("exported_at"),
            "counts": self.counts(),
            "heads_digest": heads_digest(self.heads()) if self.cases else None,
            "problems": self.problems,
        }


def read_bundle(path: Path) -> Bundle:
    """Parse and verify the bundle at ``path``; no database is touched."""
    bundle = Bundle(path=str(path))
    problems = bundle.problems
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(f"cannot read {path}: {exc.strerror}")
        return bundle
    lines = raw.splitlines(keepends=True)
    if not lines:
        problems.append("the file is empty")
        return bundle
    body = hashlib.sha256()
    for number, data in enumerate(lines, start=1):
        where = f"line {number}"
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{where}: not a JSON line ({exc})")
            body.update(data)
            continue
        if not isinstance(obj, dict):
            problems.append(f"{where}: not a JSON object")
            body.update(data)
            continue
        kind = obj.pop("type", None)
        if bundle.trailer is not None:
            problems.append(f"{where}: data after the trailer")
        if kind == "trailer":
            bundle.trailer = obj
            bundle.trailer["body_digest_computed"] = "sha256:" + body.hexdigest()
            continue
        body.update(data)
        if number == 1:
            if kind != "header":
                problems.append("line 1: the bundle does not start with a header")
            bundle.header = obj
            continue
        if kind == "definition":
            if _check_keys(obj, DEFINITION_FIELDS, where, problems):
                bundle.definitions.append({**obj, "_line": number})
        elif kind == "case":
            if _check_keys(obj, CASE_FIELDS, where, problems):
                bundle.cases.append({**obj, "_line": number})
        elif kind == "event":
            if _check_keys(obj, EVENT_FIELDS, where, problems, optional=SIGNATURE_FIELDS):
                bundle.events.append({**obj, "_line": number})
        elif kind == "registry":
            if _check_keys(obj, ENTRY_FIELDS, where, problems):
                bundle.registry.append({**obj, "_line": number})
        else:
            problems.append(f"{where}: unknown line type {kind!r}")
    _verify(bundle)
    del problems[MAX_PROBLEMS:]
    return bundle


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
    missing = [k for k in keys if k not in obj]
    extra = sorted(set(obj) - set(keys) - set(optional))
    keys = keys + tuple(k for k in optional if k in obj)
    if missing:
        out.append(f"{where}: missing {', '.join(missing)}")
    if extra:
        out.append(f"{where}: unexpected {', '.join(extra)}")
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


def _verify(bundle: Bundle) -> None:
    problems = bundle.problems
    header = bundle.header
    if header.get("format") != FORMAT:
        problems.append(
            f"the header's format is {header.get('format')!r}, not {FORMAT!r} "
            "(not a treatyflow bundle, or one from a newer treatyflow)"
        )
    # definitions: recompute every content hash
    known: set[str] = set()
    for d in bundle.definitions:
        line = d.get("_line")
        try:
            computed = definition_hash(str(d.get("content")))
        except (TypeError, ValueError):
            problems.append(f"line {line}: definition {d.get('hash')!r}: content is not JSON")
            continue
        if computed != d.get("hash"):
            problems.append(
                f"line {line}: definition {d.get('definition_id')!r}: its content hashes "
                f"to {computed}, not {d.get('hash')}"
            )
        if d.get("hash") in known:
            problems.append(f"line {line}: definition {d.get('hash')!r} appears twice")
        known.add(str(d.get("hash")))
    # cases and their chains
    by_case = bundle._by_case()
    seen: set[str] = set()
    for case in bundle.cases:
        case_id, line = str(case.get("id")), case.get("_line")
        if case_id in seen:
            problems.append(f"line {line}: case {case_id!r} appears twice")
            continue
        seen.add(case_id)
        for key in ("procedure_hash", "treaty_hash"):
            if case.get(key) not in known:
                problems.append(
                    f"line {line}: case {case_id!r}: its {key} {case.get(key)!r} is not "
                    "among the bundle's definitions"
                )
        evs = by_case.get(case_id, [])
        if not evs:
            problems.append(f"line {line}: case {case_id!r} has no events")
            continue
        try:
            fault = verify_events(
                case_id,
                [{k: e[k] for k in EVENT_FIELDS if k in e} for e in evs],
                expected_head=case.get("head_hash"),
                expected_count=int(case.get("version", -1)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"case {case_id!r}: events unreadable ({exc})")
            continue
        if fault is not None:
            bad = next((e.get("_line") for e in evs if e.get("seq") == fault.seq), None)
            where = f"line {bad}: " if bad else ""
            problems.append(f"{where}{fault}")
    for case_id in sorted(set(by_case) - seen):
        line = by_case[case_id][0].get("_line")
        problems.append(f"line {line}: events of case {case_id!r}, which the bundle lacks")
    _verify_signatures(bundle)
    # trailer
    trailer = bundle.trailer
    if trailer is None:
        problems.append("the bundle has no trailer (it is truncated)")
        return
    if trailer.get("counts") != bundle.counts():
        problems.append(
            f"the trailer counts {trailer.get('counts')}, the bundle holds {bundle.counts()}"
        )
    if trailer.get("heads_digest") != heads_digest(bundle.heads()):
        problems.append("the trailer's heads_digest does not match the chain heads")
    if trailer.get("body_digest") != trailer.get("body_digest_computed"):
        problems.append("the trailer's body_digest does not match the bundle's lines")
    trailer.pop("body_digest_computed", None)


def _verify_signatures(bundle: Bundle) -> None:
    """Every event's author against the bundle's own key registry (offline)."""
    signed = any("key" in e or "signature" in e for e in bundle.events)
    if not bundle.registry and not signed:
        return
    try:
        entries = [
            Entry(**{k: r[k] for k in ENTRY_FIELDS}) for r in sorted(bundle.registry, key=_seq)
        ]
    except (KeyError, TypeError) as exc:
        bundle.problems.append(f"the key registry is unreadable ({exc})")
        return
    rows = sorted(bundle.events, key=lambda e: (str(e.get("case_id")), _seq(e)))
    for fault in signature_faults(entries, rows):
        if fault.case_id == REGISTRY_CASE:
            line = next((r["_line"] for r in bundle.registry if r.get("seq") == fault.seq), None)
        else:
            line = next(
                (
                    e["_line"]
                    for e in bundle.events
                    if e.get("case_id") == fault.case_id and e.get("seq") == fault.seq
                ),
                None,
            )
        bundle.problems.append(f"line {line}: {fault}" if line else str(fault))


def _seq(row: Mapping[str, Any]) -> int:
    seq = row.get("seq")
    return seq if isinstance(seq, int) else 0


# ====================================================================== import
def import_bundle(store: Store, bundle: Bundle) -> dict[str, Any]:
    """Load a verified bundle into an empty database in one transaction (batched inserts)."""
    from treatyflow.store import migrate

    if not bundle.ok:
        raise BundleInvalid(bundle.problems)
    _refuse_non_empty(store)
    migrate.upgrade(store)
    with store.write() as conn:
        _refuse_non_empty(store, conn)
        store.bulk_insert(conn, "definitions", DEFINITION_FIELDS, _definition_rows(bundle))
        store.bulk_insert(conn, "registry", ENTRY_FIELDS, _registry_rows(bundle))
        store.bulk_insert(conn, "cases", CASE_FIELDS, _case_rows(bundle))
        store.bulk_insert(conn, "events", EVENT_FIELDS + SIGNATURE_FIELDS, _event_rows(bundle))
        heads = store.heads(conn)
        if heads != bundle.heads():
            raise StoreError("the imported chain heads differ from the bundle's; nothing written.")
    return {
        "imported": bundle.counts(),
        "heads_digest": heads_digest(heads),
    }


def _refuse_non_empty(store: Store, conn: Any = None) -> None:
    from treatyflow.redaction import redact
    from treatyflow.store.sql import table_names

    if conn is None:
        if "cases" not in table_names(store):
            return
        with store.read() as c:
            counts = store.counts(c)
            keys = store.registry_count(c) if "registry" in table_names(store) else 0
    else:
        counts = store.counts(conn)
        keys = store.registry_count(conn)
    if counts["cases"] or counts["events"] or keys:
        raise InvalidInput(
            "--db",
            redact(store.url, store.url),
            f"the database {redact(store.url, store.url)} is not empty "
            f"({counts['cases']} case(s), {counts['events']} event(s), {keys} key "
            "registry entries); "
            "import into a new, empty database.",
        )


def _definition_rows(bundle: Bundle) -> Iterator[tuple[Any, ...]]:
    for d in bundle.definitions:
        yield tuple(d[k] for k in DEFINITION_FIELDS)


def _registry_rows(bundle: Bundle) -> Iterator[tuple[Any, ...]]:
    for r in bundle.registry:
        yield tuple(_json_text(r[k]) if k == "data" else r[k] for k in ENTRY_FIELDS)


def _case_rows(bundle: Bundle) -> Iterator[tuple[Any, ...]]:
    """Tuples of CASE_FIELDS' values, ``facts`` as the JSON text the store keeps."""
    for c in bundle.cases:
        yield (
            c["id"],
            c["country"],
            c["treaty"],
            c["procedure"],
            c["procedure_hash"],
            c["treaty_hash"],
            c["action"],
            c["state"],
            c["version"],
            c["head_hash"],
            c["opened_on"],
            c["last_on"],
            _FACTS_ENCODE(c["facts"]),
            c["created_at"],
            c["updated_at"],
        )


def _event_rows(bundle: Bundle) -> Iterator[tuple[Any, ...]]:
    """Tuples of EVENT_FIELDS' values, ``sources`` and ``data`` as the store's JSON text
    (the bulk path of a million-event import: no dict per row, no encoder per value)."""
    for e in bundle.events:
        yield (
            e["case_id"],
            e["seq"],
            e["kind"],
            e["trigger"],
            e["from_state"],
            e["to_state"],
            e["occurred_on"],
            e["recorded_at"],
            e["actor"],
            _json_text(e["sources"]),
            e["note"],
            _json_text(e["data"]),
            e["prev_hash"],
            e["hash"],
            e.get("signature"),
            e.get("key"),
        )


#: ``json.dumps(value, sort_keys=True, ensure_ascii=False)``, with one encoder for all:
#: how the store writes an event's sources and data (``store.sql.event_row``).
_ENCODE = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
#: ``json.dumps(facts, sort_keys=True)``: how the store writes a case's facts
#: (``CaseRecord.to_row``).
_FACTS_ENCODE = json.JSONEncoder(sort_keys=True).encode


def _json_text(value: Any) -> str:
    if value == {} and type(value) is dict:
        return "{}"
    if value == [] and type(value) is list:
        return "[]"
    return _ENCODE(value)
