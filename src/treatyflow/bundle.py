"""Export, offline verification and import of a whole database as a JSON Lines bundle.

A bundle (``treatyflow.bundle/1``) is one JSON object per line, written with sorted keys:

1. ``{"type": "header", "format": "treatyflow.bundle/1", "treatyflow_version": ...,
   "exported_at": ..., "schema_revision": ..., "source": <redacted database URL>}``
2. one ``{"type": "definition", "hash", "kind", "definition_id", "stored_at", "content"}`` per
   treaty or procedure snapshot (``content`` is the stored JSON text; ``hash`` is
   recomputable from it, exactly as :func:`treatyflow.catalog.content_hash` does);
   then, when the database has a key registry, one ``{"type": "registry", ...}`` per
   registry entry (:data:`treatyflow.registry.ENTRY_FIELDS`), by seq; then one
   ``{"type": "document", "sha256", "size", "media_type", "name", "stored_at", "content"}``
   per attached document, by digest (``content`` in base64; :mod:`treatyflow.bundle_documents`);
3. one ``{"type": "case", ...}`` per case row (``facts`` as an object), by id;
4. one ``{"type": "event", ...}`` per event (the hashed fields plus ``hash``, and
   ``signature`` and ``key`` when it is signed), by case, seq;
5. ``{"type": "trailer", "counts": {...}, "heads": n, "heads_digest": ...,
   "body_digest": ...}`` — ``heads_digest`` is the digest over every case's
   (id, version, head hash), the same as a checkpoint's; ``body_digest`` is SHA-256 over
   the bytes of every line before the trailer (it catches accidental damage; the chain
   and definition hashes catch any edit that was not carefully re-hashed, and a
   checkpoint kept elsewhere catches the rest). ``counts`` has ``registry`` only when the
   bundle carries registry entries, ``documents`` only when it carries documents.

Signatures are checked offline against the bundle's own registry, as it stood when each
event was recorded (:func:`treatyflow.registry.check_event`, one case at a time).

:func:`read_bundle` needs no database; :func:`import_path` checks a bundle and loads it
into an empty database in one pass and one transaction, rolled back (nothing written) when
any problem is found anywhere in the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treatyflow import __version__, bundle_documents
from treatyflow.chain import HASH_PREFIX, ChainFault, digest, verify_events, verify_states
from treatyflow.errors import BundleInvalid, InvalidInput, ReportExists, StoreError
from treatyflow.events import EVENT_COLUMNS, EventKind
from treatyflow.identity import identity_fault
from treatyflow.registry import (
    ENTRY_FIELDS,
    REGISTRY_CASE,
    Entry,
    Registry,
    check_entries,
    check_event,
)
from treatyflow.values import printable

if TYPE_CHECKING:
    from treatyflow.store.sql import Store

FORMAT = "treatyflow.bundle/1"
#: Problems listed at most (the trailer's are always among them).
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
EVENT_FIELDS = EVENT_COLUMNS
DEFINITION_FIELDS = ("hash", "kind", "definition_id", "stored_at", "content")
#: Fields an event line has when the event is signed.
SIGNATURE_FIELDS = ("signature", "key")


def heads_digest(heads: Iterable[tuple[str, int, str]]) -> str:
    """The digest over chain heads (case id, version, head hash), in case id order."""
    items = [{"case": c, "version": v, "head": h} for c, v, h in sorted(heads)]
    return digest(items)


def definition_hash(content: str) -> str:
    """The content hash of a stored definition snapshot (its ``model_dump_json`` text),
    exactly :func:`treatyflow.catalog.content_hash` of the model it holds
    (:func:`treatyflow.catalog.snapshot_hash`)."""
    from treatyflow.catalog import snapshot_hash

    return snapshot_hash(content)


def _line(obj: Mapping[str, Any]) -> bytes:
    return (json.dumps(obj, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


# ====================================================================== export
def export_bundle(store: Store, path: Path, *, force: bool = False) -> dict[str, Any]:
    """Write the whole database to ``path``; returns the trailer.

    The file goes through the safe-output routine
    (:func:`treatyflow.reports.output.private_file`: atomic, owner-only, never through a
    symbolic link or into a special file, no temporary file left on failure). Refuses
    (:class:`~treatyflow.errors.StoreError`, nothing written) a database whose definition
    snapshots do not re-hash or miss one a case was opened under
    (:func:`treatyflow.store.snapshots.definition_faults`): such a bundle would fail its own
    verification.
    """
    from treatyflow.redaction import redact
    from treatyflow.reports.output import check_output_path, private_file
    from treatyflow.store import migrate
    from treatyflow.store.snapshots import definition_faults

    check_output_path(path)
    if path.exists() and not force:
        raise ReportExists(str(path))
    revision = migrate.current(store)
    body = hashlib.sha256()
    with store.read() as conn:
        faults = definition_faults(store, conn)
        if faults:
            more = f" (and {len(faults) - 1} more problem(s))" if len(faults) > 1 else ""
            raise StoreError(
                f"nothing exported: {faults[0]}{more}; 'treatyflow doctor' lists them all."
            )
        with private_file(path, force=force) as out:

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
            for document in _stored_documents(store, conn):
                put(bundle_documents.line(document))
                counts["documents"] = counts.get("documents", 0) + 1
            heads = []
            for record in store.iter_cases(conn):
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
    return trailer


def _stored_documents(store: Store, conn: Any) -> Iterator[Any]:
    from treatyflow.store import documents
    from treatyflow.store.sql import table_names

    if "documents" in table_names(store):
        yield from documents.iter_all(conn)


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ====================================================================== reading and verifying
#: The longest line read (a definition snapshot or a case's facts are far smaller); a longer
#: one ends the reading with a problem, so ``/dev/zero``-like input cannot exhaust memory.
MAX_LINE = 16 * 1024 * 1024


@dataclass
class Bundle:
    """A parsed bundle and everything wrong with it (``problems`` empty: it verifies).

    Definitions are kept, and each case row's chain head; events are not (a bundle is read
    as a stream, one case's events at a time): :meth:`iter_events` reads them again from the
    file, and :meth:`event_hash_at` answers from a compact index of every verified event's
    hash (kept only when asked for: ``read_bundle(path, hashes=True)``).
    """

    path: str
    header: dict[str, Any] = field(default_factory=dict)
    definitions: list[dict[str, Any]] = field(default_factory=list)
    case_heads: list[tuple[str, int, str]] = field(default_factory=list)
    """(id, version, head hash) of every case row, in the file's order."""
    registry: list[dict[str, Any]] = field(default_factory=list)
    documents: dict[str, int] = field(default_factory=dict)
    """The digest and size of every document the bundle carries (not their bytes)."""
    trailer: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    event_count: int = 0
    body_digest: str = ""
    """SHA-256 over every line before the trailer, as read (:func:`import_bundle` checks
    that the file it loads is the one that verified)."""
    _hashes: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event line (all in memory: for small bundles and tests; see iter_events)."""
        return list(self.iter_events())

    def iter_events(self) -> Iterator[dict[str, Any]]:
        """The event lines (without ``type``), read again from the file."""
        for _number, obj in _objects(Path(self.path)):
            if obj.get("type") == "event":
                del obj["type"]
                yield obj

    def heads(self) -> list[tuple[str, int, str]]:
        return sorted(self.case_heads)

    def counts(self) -> dict[str, int]:
        out = {
            "definitions": len(self.definitions),
            "cases": len(self.case_heads),
            "events": self.event_count,
        }
        if self.registry:
            out["registry"] = len(self.registry)
        if self.documents:
            out["documents"] = len(self.documents)
        return out

    def event_hash_at(self, case_id: str, seq: int) -> str | None:
        """The hash of the case's event ``seq`` (None when there is none); constant time."""
        packed = self._hashes.get(case_id)
        if packed is None or not isinstance(seq, int) or seq < 1 or seq * 32 > len(packed):
            return None
        return HASH_PREFIX + packed[(seq - 1) * 32 : seq * 32].hex()

    def summary(self) -> dict[str, Any]:
        return {
            "bundle": self.path,
            "ok": self.ok,
            "format": self.header.get("format"),
            "treatyflow_version": self.header.get("treatyflow_version"),
            "exported_at": self.header.get("exported_at"),
            "counts": self.counts(),
            "heads_digest": heads_digest(self.heads()) if self.case_heads else None,
            "problems": self.problems,
        }


def read_bundle(path: Path, *, hashes: bool = True) -> Bundle:
    """Parse and verify the bundle at ``path`` as a stream; no database is touched.

    Memory holds the definitions, a compact copy of each case row (until its events are
    verified; then its chain head), one case's events and, with ``hashes``, 32 bytes per
    event (for :meth:`Bundle.event_hash_at`), whatever the file's size. Checks, besides
    the format: every definition
    re-hashes to its hash and is a valid procedure or treaty; every case row and event
    holds what the command line would accept (ids, countries, actors, text); every case's
    events form its hash chain, end at its head and version, and pass through states that
    follow on to the case row's state (as ``verify`` checks a database); the trailer's
    counts and digests.
    """
    bundle = Bundle(path=str(path))
    _Reader(bundle, keep_hashes=hashes).read(path)
    return bundle


def _open_regular(path: Path) -> Any:
    """A binary file object of the regular file at ``path``; InvalidInput otherwise (a
    FIFO, ``/dev/zero``, a directory are refused without reading them)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InvalidInput("BUNDLE", str(path), f"cannot read {path}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidInput(
                "BUNDLE",
                str(path),
                f"{path} is not a regular file (a directory, device, FIFO or socket)",
            )
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _lines(handle: Any, problems: list[str]) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each line, at most MAX_LINE bytes each."""
    number = 0
    while True:
        data = handle.readline(MAX_LINE + 1)
        if not data:
            return
        number += 1
        if len(data) > MAX_LINE:
            problems.append(
                f"line {number}: longer than {MAX_LINE:,} bytes (not a bundle line); "
                "reading stopped there"
            )
            return
        yield number, data


def _objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The JSON object of each line of a bundle that verified (for the second reading)."""
    with _open_regular(path) as handle:
        for number, data in _lines(handle, []):
            yield number, json.loads(data)


class _Reader:
    """One pass over a bundle: parse, check each line, verify each case's chain when its
    events end, then the trailer."""

    def __init__(
        self, bundle: Bundle, *, sink: Sink | None = None, keep_hashes: bool = True
    ) -> None:
        self.bundle = bundle
        self.sink = sink
        self.keep_hashes = keep_hashes
        self.problems: list[str] = []
        self.known: set[str] = set()
        #: case id -> its row, compact (:func:`_pack_case`) until its events are verified
        self.cases: dict[str, tuple[Any, ...]] = {}
        self.done: set[str] = set()
        self.group: str | None = None
        self.rows: list[dict[str, Any]] = []
        self.seen_events = False
        self.body = hashlib.sha256()
        self._registry: Registry | None = None

    # -- the pass ------------------------------------------------------------------------
    def read(self, path: Path) -> None:
        bundle = self.bundle
        try:
            handle = _open_regular(path)
        except InvalidInput as exc:
            bundle.problems.append(str(exc))
            return
        empty = True
        with handle:
            try:
                for number, data in _lines(handle, self.problems):
                    empty = False
                    self.line(number, data)
            except OSError as exc:
                self.problems.append(f"cannot read {path}: {exc.strerror}")
        if empty and not self.problems:
            bundle.problems.append("the file is empty")
            return
        self.end_group()
        for case_id, case in self.cases.items():
            if case_id not in self.done:
                self.problems.append(f"line {case[-1]}: case {case_id!r} has no events")
        bundle.body_digest = "sha256:" + self.body.hexdigest()
        if bundle.header.get("format") != FORMAT:
            self.problems.insert(
                0,
                f"the header's format is {bundle.header.get('format')!r}, not {FORMAT!r} "
                "(not a treatyflow bundle, or one from a newer treatyflow)",
            )
        trailer = self.trailer_problems()
        shown = self.problems[: MAX_PROBLEMS - len(trailer)]
        hidden = len(self.problems) - len(shown)
        if hidden:
            shown[-1] = f"... and {hidden + 1} more problem(s)"
        # the trailer's problems (a truncated bundle) are never hidden by the cap
        bundle.problems = trailer + shown

    def line(self, number: int, data: bytes) -> None:
        bundle, problems = self.bundle, self.problems
        where = f"line {number}"
        try:
            obj = json.loads(data.decode("utf-8"))
        except RecursionError:
            problems.append(f"{where}: nested too deeply to be a bundle line")
            self.body.update(data)
            return
        except (UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{where}: not a JSON line ({exc})")
            self.body.update(data)
            return
        if not isinstance(obj, dict):
            problems.append(f"{where}: not a JSON object")
            self.body.update(data)
            return
        kind = obj.pop("type", None)
        if bundle.trailer is not None:
            problems.append(f"{where}: data after the trailer")
        if kind == "trailer":
            bundle.trailer = obj
            bundle.trailer["body_digest_computed"] = "sha256:" + self.body.hexdigest()
            return
        self.body.update(data)
        if number == 1:
            if kind != "header":
                problems.append("line 1: the bundle does not start with a header")
            bundle.header = obj
            return
        if kind == "event":
            self.seen_events = True
            if _check_keys(obj, EVENT_FIELDS, where, problems, optional=SIGNATURE_FIELDS):
                obj["_line"] = number
                self.event(obj)
        elif kind == "definition":
            if _check_keys(obj, DEFINITION_FIELDS, where, problems):
                self.definition({**obj, "_line": number})
        elif kind == "case":
            if self.seen_events:
                problems.append(f"{where}: a case after the events (not a bundle's order)")
            elif _check_keys(obj, CASE_FIELDS, where, problems):
                self.case({**obj, "_line": number})
        elif kind == "document":
            if self.seen_events or self.cases:
                problems.append(f"{where}: a document after the cases (not bundle order)")
            elif _check_keys(obj, bundle_documents.DOCUMENT_FIELDS, where, problems):
                self.document(number, obj)
        elif kind == "registry":
            if self.seen_events or self.cases:
                problems.append(f"{where}: a registry entry after the cases (not bundle order)")
            elif _check_keys(obj, ENTRY_FIELDS, where, problems):
                bundle.registry.append({**obj, "_line": number})
        else:
            problems.append(f"{where}: unknown line type {kind!r}")

    def registry(self) -> Registry | None:
        """The bundle's key registry, folded once (None: the bundle has none); a registry
        that does not verify is a problem of its own."""
        if not self.bundle.registry:
            return None
        if self._registry is None:
            try:
                entries = [
                    Entry(**{k: r[k] for k in ENTRY_FIELDS})
                    for r in sorted(self.bundle.registry, key=_seq)
                ]
            except (KeyError, TypeError) as exc:
                self.problems.append(f"the key registry is unreadable ({exc})")
                entries = []
            problem = check_entries(entries)
            if problem is not None:
                line = next(
                    (r["_line"] for r in self.bundle.registry if r.get("seq") == problem[0]), None
                )
                self.problems.append(
                    f"line {line}: {REGISTRY_CASE} seq {problem[0]}: {problem[1]}"
                )
            self._registry = Registry.fold(entries)
        return self._registry

    # -- each kind of line -----------------------------------------------------------------
    def document(self, number: int, obj: dict[str, Any]) -> None:
        digest = obj["sha256"]
        if digest in self.bundle.documents:
            self.problems.append(f"line {number}: document {printable(digest)} appears twice")
            return
        try:
            bundle_documents.decode(obj)
        except InvalidInput as exc:
            self.problems.append(f"line {number}: document {printable(str(digest))}: {exc}")
            return
        self.bundle.documents[digest] = obj["size"]
        if self.sink is not None and not self.problems:
            self.sink.document(obj)

    def definition(self, d: dict[str, Any]) -> None:
        from treatyflow.catalog import snapshot_problem

        line, digest = d["_line"], d["hash"]
        if digest in self.known:
            self.problems.append(f"line {line}: definition {digest!r} appears twice")
            return
        problem = snapshot_problem(digest, d["kind"], d["content"])
        if problem is not None:
            if "hashes to" in problem:
                computed = definition_hash(d["content"])
                problem = f"its content hashes to {computed}, not {digest}"
            self.problems.append(f"line {line}: definition {d['definition_id']!r}: {problem}")
            return
        self.known.add(digest)
        self.bundle.definitions.append(d)
        if self.sink is not None and not self.problems:
            self.sink.row("definitions", tuple(d[k] for k in DEFINITION_FIELDS))

    def case(self, case: dict[str, Any]) -> None:
        case_id, line = case["id"], case["_line"]
        if case_id in self.cases:
            self.problems.append(f"line {line}: case {case_id!r} appears twice")
            return
        problem = _case_problem(case)
        if problem is not None:
            self.problems.append(f"line {line}: case {printable(case_id)!r}: {problem}")
            return
        for key in ("procedure_hash", "treaty_hash"):
            if case[key] not in self.known:
                self.problems.append(
                    f"line {line}: case {case_id!r}: its {key} {case[key]!r} is not "
                    "among the bundle's definitions"
                )
        self.cases[case_id] = _pack_case(case)
        self.bundle.case_heads.append((case_id, case["version"], case["head_hash"]))
        if self.sink is not None and not self.problems:
            if self.bundle.registry and not self.sink.registry_written:
                self.sink.registry_written = True
                for r in sorted(self.bundle.registry, key=_seq):
                    self.sink.row("registry", _registry_row(r))
            self.sink.row("cases", _case_row(case))

    def event(self, ev: dict[str, Any]) -> None:
        self.bundle.event_count += 1
        case_id = ev["case_id"]
        if case_id != self.group:
            self.end_group()
            if case_id in self.done:
                self.problems.append(
                    f"line {ev['_line']}: events of case {case_id!r} after those of another "
                    "case (a case's events must be together, by seq)"
                )
            self.group, self.rows = case_id, []
        if case_id in self.done:
            return
        problem = _event_problem(ev)
        if problem is not None:
            self.problems.append(
                f"line {ev['_line']}: event {printable(str(case_id))!r} seq {ev['seq']}: {problem}"
            )
            self.done.add(case_id)  # the case's chain is not checked further
            self.rows = []
            return
        self.rows.append(ev)

    def end_group(self) -> None:
        """Verify the events gathered for one case against its case row."""
        case_id, rows = self.group, self.rows
        self.group, self.rows = None, []
        if case_id is None or case_id in self.done:
            return
        self.done.add(case_id)
        packed = self.cases.get(case_id)
        if packed is None:
            self.problems.append(
                f"line {rows[0]['_line']}: events of case {case_id!r}, which the bundle lacks"
            )
            return
        case = _unpack_case(packed)
        hashed = [{k: e[k] for k in EVENT_FIELDS} for e in rows]
        try:
            fault = verify_events(
                case_id, hashed, expected_head=case["head_hash"], expected_count=case["version"]
            ) or verify_states(case_id, hashed, expected_state=case["state"])
        except (KeyError, TypeError, ValueError) as exc:
            self.problems.append(f"case {case_id!r}: events unreadable ({exc})")
            return
        if fault is not None:
            bad = next((e["_line"] for e in rows if e["seq"] == fault.seq), None)
            where = f"line {bad}: " if bad else ""
            self.problems.append(f"{where}{fault}")
            return
        for row, cited in bundle_documents.uncited_problems(rows, set(self.bundle.documents)):
            self.problems.append(
                f"line {row['_line']}: event {printable(str(case_id))!r} seq {row['seq']} cites "
                f"document {printable(cited)}, which the bundle lacks"
            )
            return
        mismatch = identity_fault(case, hashed)
        if mismatch is not None:  # the case row must say what its log says (as verify checks)
            self.problems.append(f"case {printable(str(case_id))!r}: {mismatch}")
            return
        reg = self.registry()
        if reg is not None or any("key" in e or "signature" in e for e in rows):
            # Every event's author against the bundle's own key registry, offline.
            for e in rows:
                reason = check_event(e, reg or Registry.fold([]))
                if reason is not None:
                    fault = ChainFault(case_id, e["seq"], reason)
                    self.problems.append(f"line {e['_line']}: {printable(str(fault))}")
                    return
        self.cases[case_id] = (packed[-1],)  # verified: only its line number is needed now
        if self.keep_hashes:
            self.bundle._hashes[case_id] = b"".join(bytes.fromhex(e["hash"][7:]) for e in rows)
        if self.sink is not None and not self.problems:
            for e in rows:
                self.sink.row("events", _event_row(e))

    # -- the trailer -----------------------------------------------------------------------
    def trailer_problems(self) -> list[str]:
        bundle = self.bundle
        trailer = bundle.trailer
        if trailer is None:
            return ["the bundle has no trailer (it is truncated)"]
        out = []
        computed = trailer.pop("body_digest_computed", None)
        if trailer.get("counts") != bundle.counts():
            out.append(
                f"the trailer counts {trailer.get('counts')}, the bundle holds {bundle.counts()}"
            )
        if trailer.get("heads_digest") != heads_digest(bundle.heads()):
            out.append("the trailer's heads_digest does not match the chain heads")
        if trailer.get("body_digest") != computed:
            out.append("the trailer's body_digest does not match the bundle's lines")
        return out


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


def _seq(row: Mapping[str, Any]) -> int:
    seq = row.get("seq")
    return seq if isinstance(seq, int) else 0


# ====================================================================== compact case rows
#: The case row's columns kept until its events are verified (then only its line number).
_PACKED = (
    "country",
    "treaty",
    "action",
    "procedure",
    "procedure_hash",
    "treaty_hash",
    "state",
    "version",
    "head_hash",
    "opened_on",
)


def _pack_case(case: Mapping[str, Any]) -> tuple[Any, ...]:
    """A case row as a small tuple: the columns verification compares, repeated strings
    shared (:func:`sys.intern`), the facts as their JSON text, then the line number."""
    values = [sys.intern(v) if isinstance(v, str) else v for v in (case[k] for k in _PACKED)]
    return (*values, sys.intern(_FACTS_ENCODE(case["facts"])), case["_line"])


def _unpack_case(packed: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(_PACKED, packed, strict=False))
    row["facts"] = json.loads(packed[len(_PACKED)])
    return row


# ====================================================================== import
class Sink:
    """Where a verifying read puts each row once it has checked it: inserted in batches of
    :data:`treatyflow.store.sql.BATCH_SIZE`, tables in foreign-key order, on one
    connection (one transaction, which the caller rolls back when any problem is found)."""

    COLUMNS: Mapping[str, tuple[str, ...]] = {
        "definitions": DEFINITION_FIELDS,
        "registry": ENTRY_FIELDS,
        "cases": CASE_FIELDS,
        "events": EVENT_FIELDS + SIGNATURE_FIELDS,
    }

    def __init__(self, store: Store, conn: Any) -> None:
        from treatyflow.store.sql import BATCH_SIZE

        self.store, self.conn, self.size = store, conn, BATCH_SIZE
        self.batches: dict[str, list[tuple[Any, ...]]] = {t: [] for t in self.COLUMNS}
        self.registry_written = False

    def row(self, table: str, row: tuple[Any, ...]) -> None:
        batch = self.batches[table]
        batch.append(row)
        if len(batch) >= self.size:
            self.flush()

    def document(self, obj: Mapping[str, Any]) -> None:
        """Insert a document line that verified (its bytes decoded again: one at a time)."""
        from treatyflow.store import documents

        row = documents.DocumentRow(
            obj["sha256"],
            obj["size"],
            obj["media_type"],
            obj["name"],
            obj["stored_at"],
            bundle_documents.decode(obj),
        )
        documents.insert(self.conn, row)

    def flush(self) -> None:
        for table, batch in self.batches.items():  # definitions, registry, cases, events
            if batch:
                self.store.bulk_insert(self.conn, table, self.COLUMNS[table], batch)
                batch.clear()


def import_path(store: Store, path: Path) -> tuple[Bundle, dict[str, Any]]:
    """Verify the bundle at ``path`` and load it into an empty database in ONE pass and one
    transaction: each row is inserted (in batches) as soon as it has been checked, and the
    transaction is rolled back - nothing written - when any problem is found anywhere in
    the file, the trailer's included (:class:`~treatyflow.errors.BundleInvalid`).

    Memory is that of :func:`read_bundle` without the event hashes (a compact copy of each
    case row, one case's events, one batch of rows), however many events the file holds.
    """
    from treatyflow.store import migrate

    bundle = Bundle(path=str(path))
    try:  # a file that cannot be opened is refused before the database is touched
        _open_regular(path).close()
    except InvalidInput as exc:
        raise BundleInvalid([str(exc)]) from None
    _refuse_non_empty(store)
    migrate.upgrade(store)
    with store.write() as conn:
        _refuse_non_empty(store, conn)
        sink = Sink(store, conn)
        _Reader(bundle, sink=sink, keep_hashes=False).read(path)
        if not bundle.ok:
            raise BundleInvalid(bundle.problems)  # rolls the transaction back
        if bundle.registry and not sink.registry_written:  # a registry and no case
            for r in sorted(bundle.registry, key=_seq):
                sink.row("registry", _registry_row(r))
        sink.flush()
        heads = store.heads(conn)
        if sorted(heads) != bundle.heads():
            raise StoreError("the imported chain heads differ from the bundle's; nothing written.")
    return bundle, {"imported": bundle.counts(), "heads_digest": heads_digest(heads)}


def import_bundle(store: Store, bundle: Bundle) -> dict[str, Any]:
    """Load the file of a bundle :func:`read_bundle` verified into an empty database, in one
    transaction (read and checked again as it is loaded: the file must be the one that
    verified, or StoreError is raised and nothing is written)."""
    if not bundle.ok:
        raise BundleInvalid(bundle.problems)
    loaded, result = import_path(store, Path(bundle.path))
    if loaded.body_digest != bundle.body_digest:  # pragma: no cover - a race with an editor
        raise StoreError(
            f"{bundle.path} changed while it was being imported; nothing written - "
            "import it again."
        )
    return result


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


def _registry_row(r: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(_json_text(r[k]) if k == "data" else r[k] for k in ENTRY_FIELDS)


def _case_row(c: Mapping[str, Any]) -> tuple[Any, ...]:
    """CASE_FIELDS' values, ``facts`` as the JSON text the store keeps."""
    return (
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


def _event_row(obj: Mapping[str, Any]) -> tuple[Any, ...]:
    """EVENT_FIELDS' and SIGNATURE_FIELDS' values, ``sources`` and ``data`` as the store's
    JSON text (no dict per row, one encoder for all values)."""
    return (
        obj["case_id"],
        obj["seq"],
        obj["kind"],
        obj["trigger"],
        obj["from_state"],
        obj["to_state"],
        obj["occurred_on"],
        obj["recorded_at"],
        obj["actor"],
        _json_text(obj["sources"]),
        obj["note"],
        _json_text(obj["data"]),
        obj["prev_hash"],
        obj["hash"],
        obj.get("signature"),
        obj.get("key"),
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
