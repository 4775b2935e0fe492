"""Verifying a bundle as a stream (``treatyflow verify --bundle``; the checks of ``import``)."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treatyflow import bundle_documents
from treatyflow.bundle.checks import _case_problem, _check_keys, _event_problem
from treatyflow.bundle.format import (
    _FACTS_ENCODE,
    CASE_FIELDS,
    DEFINITION_FIELDS,
    EVENT_FIELDS,
    FORMAT,
    MAX_PROBLEMS,
    SIGNATURE_FIELDS,
    _seq,
    definition_hash,
    heads_digest,
)
from treatyflow.bundle.lines import _lines, _objects, _open_regular
from treatyflow.chain import HASH_PREFIX, ChainFault, verify_events, verify_states
from treatyflow.errors import InvalidInput
from treatyflow.identity import identity_fault
from treatyflow.registry import (
    ENTRY_FIELDS,
    REGISTRY_CASE,
    Entry,
    Registry,
    check_entries,
)
from treatyflow.signcheck import CaseSignatures
from treatyflow.values import printable

if TYPE_CHECKING:
    from treatyflow.bundle.load import Sink


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
        self._entries: list[Entry] = []
        #: each signed case's authors, checked by worker processes while the read goes on
        #: (:class:`~treatyflow.signcheck.CaseSignatures`); made for the first such case
        self._signatures: CaseSignatures | None = None

    # -- the pass ------------------------------------------------------------------------
    def read(self, path: Path) -> None:
        bundle = self.bundle
        try:
            handle = _open_regular(path)
        except InvalidInput as exc:
            bundle.problems.append(str(exc))
            return
        empty = True
        try:
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
            self._signature_problems()
        finally:
            if self._signatures is not None:
                self._signatures.close()
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
            self._entries = entries
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
            self.sink.definition(d)

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
            self.sink.case(case, self.bundle.registry)

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
        case = _unpack_case(case_id, packed)
        hashed = rows  # the checks read the hashed fields (and ignore ``_line``)
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
            # Every event's author against the bundle's own key registry, offline, by
            # worker processes (an Ed25519 check is ~100 us): the case's fault, if any, is
            # put where it would have been among the problems when the read ends
            # (:meth:`_signature_problems`). A fault makes the bundle invalid, so what is
            # done with the case meanwhile (kept, written by import's sink) is undone.
            if self._signatures is None:
                self._signatures = CaseSignatures(self._entries, reg or Registry.fold([]))
            lines = {e["seq"]: e["_line"] for e in rows}
            self._signatures.add((len(self.problems), case_id, lines), rows)
        self.cases[case_id] = (packed[-1],)  # verified: only its line number is needed now
        if self.keep_hashes:
            self.bundle._hashes[case_id] = b"".join(bytes.fromhex(e["hash"][7:]) for e in rows)
        if self.sink is not None and not self.problems:
            self.sink.events(case_id, case, rows)

    def _signature_problems(self) -> None:
        """Put each signed case's first author fault where the case's problem would have
        been had it been checked when its events ended (its token: how many problems were
        known then)."""
        if self._signatures is None:
            return
        found = self._signatures.finish()
        for shift, ((at, case_id, lines), seq, reason) in enumerate(found):
            fault = ChainFault(case_id, seq, reason)
            self.problems.insert(at + shift, f"line {lines.get(seq)}: {printable(str(fault))}")

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


# ====================================================================== compact case rows
#: The case row's columns kept until its events are verified (then only its line number):
#: short, much repeated values (shared), then the two timestamps.
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
    "last_on",
)
_UNSHARED = ("created_at", "updated_at")


def _pack_case(case: Mapping[str, Any]) -> tuple[Any, ...]:
    """A case row as a small tuple: its columns, repeated strings shared
    (:func:`sys.intern`), the facts as their JSON text, then the line number."""
    values = [sys.intern(v) if isinstance(v, str) else v for v in (case[k] for k in _PACKED)]
    facts = sys.intern(_FACTS_ENCODE(case["facts"]))
    return (*values, *(case[k] for k in _UNSHARED), facts, case["_line"])


def _unpack_case(case_id: str, packed: tuple[Any, ...]) -> dict[str, Any]:
    """The case row (every column of :data:`CASE_FIELDS`) of a packed one."""
    n = len(_PACKED)
    row = dict(zip(_PACKED, packed[:n], strict=True))
    row.update(zip(_UNSHARED, packed[n : n + len(_UNSHARED)], strict=True))
    row["id"] = case_id
    row["facts"] = json.loads(packed[n + len(_UNSHARED)])
    return row
