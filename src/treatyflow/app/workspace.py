"""The public Python API: :func:`open` a database and work with its cases.

::

    import treatyflow
    with treatyflow.open("t.db", actor="analyst", create=True) as ws:
        case = ws.open_case(country="LTU", treaty="ottawa", at="notified", on="2025-06-27")
        case.effective_on            # datetime.date(2025, 12, 27)

Every method is one call of the app layer: a change is one database transaction (nothing is
written when it fails), a read is one consistent snapshot. Results are typed
(:mod:`treatyflow.results`); their ``to_dict()`` is exactly what the CLI prints with
``--json``. Errors are :class:`treatyflow.TreatyflowError` subclasses carrying their data.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from treatyflow.app import clocks, queries, writes
from treatyflow.app.core import Core
from treatyflow.app.views import case_view
from treatyflow.catalog import Catalog
from treatyflow.definitions.treaty import FactValue
from treatyflow.errors import ActorMismatch, InvalidInput
from treatyflow.events import Event
from treatyflow.evidence import Source
from treatyflow.legal.dates import LegalDate
from treatyflow.store.sql import Store

if TYPE_CHECKING:
    from treatyflow.app.casefiles import Loaded
    from treatyflow.app.reports import Filters
    from treatyflow.keys import Signer
    from treatyflow.results import (
        Attached,
        BundleResult,
        CalendarList,
        CaseConformance,
        CaseFileImport,
        CaseSummary,
        CaseView,
        Changes,
        CheckpointResult,
        DefinitionDiff,
        Fired,
        KeyInfo,
        MigrationResult,
        PendingItem,
        PendingList,
        RecordedSince,
        SearchResult,
        TickResult,
        VerifyResult,
    )

#: A legal date: a ``datetime.date`` or its ISO 8601 text (``"2025-06-27"``). Where a step is
#: dated (``on=`` of the writes but ``correct``), text may also give a range when only that is
#: known: ``"<=2025-12-01"`` (on or before), ``"2025-05-12..2025-05-16"`` or ``"2025-07"``.
DateLike = dt.date | str

#: A source: a :class:`Source`, its fields as a mapping, or text as ``--source`` takes it
#: (``"Decree No. 441/2025; level=official; kind=decree"``).
SourceLike = Source | Mapping[str, Any] | str


def open(
    db: str | os.PathLike[str],
    *,
    actor: str | None = None,
    workflows: str | os.PathLike[str] | None = None,
    create: bool = False,
    key: str | os.PathLike[str] | None = None,
) -> Workspace:
    """Open the treatyflow database ``db``: a SQLite file path, ``":memory:"``, or an
    SQLAlchemy URL (``sqlite:///t.db``, ``postgresql+psycopg://...``).

    Args:
        actor: who records the changes made through this workspace (default: the
            ``TREATYFLOW_ACTOR`` environment variable, else the login name). ``system`` is
            reserved for the clocks ``tick`` fires.
        workflows: a directory of extra definitions (``treaties/``, ``procedures/``) that
            add to, or override by id, the shipped ones.
        create: create the database if it does not exist and bring its schema up to date
            (like ``treatyflow init``). Without it the database must exist.
        key: an Ed25519 private key file (OpenSSH format; default: the ``TREATYFLOW_KEY``
            environment variable; ``""``: none) that signs every event written through
            this workspace; the actor is then the key's registered name (docs/trust.md).

    Raises:
        DatabaseNotInitialised: there is no database there (and ``create`` is false).
        InvalidInput: ``workflows`` is not a directory.
        KeyFileError: ``key`` is not a readable Ed25519 private key.
    """
    from treatyflow.store import open_store

    dirs = workflow_dirs(workflows)
    if key is None:
        key = os.environ.get("TREATYFLOW_KEY")
    signer = load_key(key) if key else None
    store = open_store(os.fspath(db), create=create)
    try:
        if create:
            from treatyflow.store import migrate  # Alembic: loaded only to change the schema

            migrate.upgrade(store)
    except BaseException:
        store.engine.dispose()
        raise
    return Workspace(Core(store, lambda: _load_catalog(dirs)), actor=actor, key=signer)


def load_key(path: str | os.PathLike[str]) -> Signer:
    """The Ed25519 private key at ``path`` (OpenSSH format), to sign with."""
    from treatyflow.keys import load_signer

    return load_signer(path)


def generate_key(path: str | os.PathLike[str], *, force: bool = False) -> str:
    """Write a new Ed25519 private key to ``path`` (mode 0600; ``path.pub`` beside it) and
    return its public key in OpenSSH format (``ssh-ed25519 AAAA...``).

    Raises:
        ReportExists: ``path`` or ``path.pub`` exists (and ``force`` is false).
    """
    from treatyflow.keys import generate

    return generate(Path(path), force=force).openssh


def workflow_dirs(extra: str | os.PathLike[str] | None) -> list[Path]:
    """The shipped definitions' directory, and ``extra`` after it (it overrides by id)."""
    from treatyflow.catalog import shipped_workflows

    dirs = [shipped_workflows()]
    if extra is not None:
        if not os.path.isdir(extra):  # unlike Path.is_dir, never raises (a name too long)
            raise InvalidInput(
                "workflows", os.fspath(extra), f"{os.fspath(extra)!r} is not a directory."
            )
        dirs.append(Path(extra))
    return dirs


def _load_catalog(dirs: Sequence[Path]) -> Catalog:
    from treatyflow.catalog import load_catalog

    return load_catalog(dirs)


def default_actor() -> str:
    """``TREATYFLOW_ACTOR``, else the login name, else ``unknown``."""
    env = os.environ.get("TREATYFLOW_ACTOR")
    if env:
        return env
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def verify_bundle(
    path: str | os.PathLike[str], *, checkpoint: str | os.PathLike[str] | None = None
) -> BundleResult:
    """Check an exported bundle offline (no database needed); ``.ok`` and ``.problems``."""
    from treatyflow.app import bundles

    return bundles.verify_bundle(
        Path(path), checkpoint=None if checkpoint is None else Path(checkpoint)
    )


class Workspace:
    """One database and the definitions its cases run under.

    Use it as a context manager (or call :meth:`close`) so its connections are released.
    ``actor`` is who records the changes; each write also takes ``actor=`` for one call.
    With ``key`` (a :class:`treatyflow.keys.Signer`, see :func:`load_key`) every event is
    signed and the actor is the key's registered name; an ``actor`` that differs is refused.
    """

    def __init__(self, core: Core, *, actor: str | None = None, key: Signer | None = None) -> None:
        self._core = core
        self._explicit_actor = actor
        self.actor = actor or default_actor()
        core.signer = key
        self._key_name: str | None = None

    # ------------------------------------------------------------------ lifetime
    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections (SQLite checkpoints its WAL)."""
        self._core.store.engine.dispose()

    @property
    def store(self) -> Store:
        """The store underneath (for tools of treatyflow's own, e.g. ``doctor``)."""
        return self._core.store

    @property
    def catalog(self) -> Catalog:
        """The treaty and procedure definitions (loaded on first use)."""
        return self._core.catalog

    def today(self) -> dt.date:
        """The date reads default to (``as_of``)."""
        return self._core.today()

    # ------------------------------------------------------------------ writing
    def open_case(
        self,
        *,
        country: str,
        treaty: str,
        on: DateLike | LegalDate | None = None,
        id: str | None = None,
        at: str | None = None,
        procedure: str | None = None,
        action: str = "withdrawal",
        facts: Mapping[str, FactValue] | None = None,
        sources: Iterable[SourceLike] = (),
        note: str | None = None,
        out_of_procedure: str | None = None,
        actor: str | None = None,
    ) -> CaseView:
        """Open a case: ``country`` (ISO 3166-1 alpha-3) leaving ``treaty`` by ``action``.

        ``at`` opens it already in a later state (tracking that starts mid-procedure), with
        ``on`` (default today) as the opening's legal date; ``facts`` hold from ``on``;
        ``procedure`` defaults to the country's own where one exists, else the generic one;
        ``id`` defaults to ``ISO3-treaty-year`` (``-2``, ``-3`` ... when taken).

        Raises:
            CaseExists, NoticeTooEarly, InvalidInput, TreatyNotFound, ProcedureNotFound.
        """
        when = _legal(on, "on")
        opened = writes.open_case(
            self._core,
            country=country,
            treaty=treaty,
            actor=self._who(actor),
            on=None if when is None else when.latest,
            occurred=when,
            procedure=procedure,
            action=action,
            case_id=id,
            at=at,
            facts=facts,
            sources=_sources(sources),
            note=note,
            out_of_procedure=out_of_procedure,
        )
        with self._core.store.read() as conn:
            defs = self._core.definitions_for(conn, opened.record)
        return case_view(
            self._core, opened.record, defs, [opened.first], as_of=None, known_at=None
        )

    def advance(
        self,
        case_id: str,
        trigger: str,
        *,
        on: DateLike,
        sources: Iterable[SourceLike] = (),
        note: str | None = None,
        out_of_procedure: str | None = None,
        to: str | None = None,
        backdate: str | None = None,
        actor: str | None = None,
    ) -> CaseView:
        """Fire ``trigger`` on the case as of the legal date ``on``.

        The step must be allowed from the case's state, its guards must hold and its evidence
        be cited; ``out_of_procedure=REASON`` records it anyway, flagged (``to`` names the
        state a trigger the procedure does not know leads to). ``backdate=REASON`` allows a
        date before the case's last one.

        Raises:
            TransitionNotAllowed, GuardsNotMet, EvidenceMissing, NoticeTooEarly, OutOfOrder,
            ClockDueFirst, CaseNotFound, ConcurrentUpdate.
        """
        when = _required_legal(on, "on")
        record, ctx = writes.advance(
            self._core,
            case_id,
            trigger,
            on=when.latest,
            occurred=when,
            actor=self._who(actor),
            sources=_sources(sources),
            note=note,
            out_of_procedure=out_of_procedure,
            to=to,
            backdate=backdate,
        )
        return self._after(record, ctx)

    def set_fact(
        self,
        case_id: str,
        name: str,
        value: FactValue,
        *,
        on: DateLike,
        sources: Iterable[SourceLike] = (),
        note: str | None = None,
        backdate: str | None = None,
        actor: str | None = None,
    ) -> CaseView:
        """Record that the fact ``name`` has ``value`` from the legal date ``on`` on.

        ``value`` is typed (``True``, a ``date``, a number, text) or its text (``"true"``);
        it is checked against the fact's declared type.
        """
        when = _required_legal(on, "on")
        record, ctx = writes.set_fact(
            self._core,
            case_id,
            name,
            value,
            on=when.latest,
            occurred=when,
            actor=self._who(actor),
            sources=_sources(sources),
            note=note,
            backdate=backdate,
        )
        return self._after(record, ctx)

    def note(
        self,
        case_id: str,
        text: str,
        *,
        on: DateLike | None = None,
        sources: Iterable[SourceLike] = (),
        actor: str | None = None,
    ) -> CaseView:
        """Add a note (and sources) to the case's log, dated ``on`` (default today)."""
        when = _legal(on, "on")
        record, ctx = writes.note(
            self._core,
            case_id,
            text,
            on=None if when is None else when.latest,
            occurred=when,
            actor=self._who(actor),
            sources=_sources(sources),
        )
        return self._after(record, ctx)

    def attach(
        self,
        case_id: str,
        file: str | os.PathLike[str] | bytes,
        *,
        name: str | None = None,
        kind: str | None = None,
        level: str | None = None,
        on: DateLike | None = None,
        note: str | None = None,
        sources: Iterable[SourceLike] = (),
        actor: str | None = None,
    ) -> Attached:
        """Keep a document with the case's log: the bytes of ``file`` (a path, or the bytes
        themselves with ``name``) are stored once under their SHA-256 digest, and an
        ``attach`` event dated ``on`` (default today) cites that digest, so it is under the
        hash chain. ``kind`` and ``level`` say what evidence it is, as a source's do.

        Later events may cite it: a source ``{"citation": ..., "document": "sha256:..."}``
        (or ``"...; document=sha256:..."`` as text). The size limit is 10 MiB
        (``TREATYFLOW_MAX_DOCUMENT_BYTES`` may lower it); see docs/documents.md.

        Raises:
            DocumentTooLarge, InvalidInput (unreadable file, no name, bad level),
            CaseNotFound, ConcurrentUpdate.
        """
        from treatyflow.app import documents
        from treatyflow.results import Attached

        if isinstance(file, bytes | bytearray | memoryview):
            if name is None:
                raise InvalidInput("name", None, "attaching bytes needs a file name.")
            content = bytes(file)
        else:
            path = Path(file)
            content = documents.read_file(path, documents.size_limit())
            name = path.name if name is None else name
        when = _legal(on, "on")
        record, ctx, info, stored = documents.attach(
            self._core,
            case_id,
            content,
            name=name,
            actor=self._who(actor),
            on=None if when is None else when.latest,
            occurred=when,
            kind=kind,
            level=level,
            note=note,
            sources=_sources(sources),
        )
        return Attached(case=self._after(record, ctx), document=info, stored=stored)

    def document(self, digest: str) -> bytes:
        """The bytes of the attached document ``digest`` (``sha256:...`` or the 64 hex
        digits), checked against the digest.

        Raises:
            DocumentNotFound, DocumentCorrupt (the stored bytes were changed), InvalidInput.
        """
        from treatyflow.app import documents

        return documents.read(self._core, digest)

    def record(
        self,
        case_id: str,
        record_type: str,
        *,
        on: DateLike,
        by: str | None = None,
        sources: Iterable[SourceLike] = (),
        note: str | None = None,
        actor: str | None = None,
    ) -> CaseView:
        """Record an event that changes no state: ``objection``, ``finding``, ``judgment``,
        ``press-report``, ``statement`` or ``other`` (``by``: the State or body)."""
        when = _required_legal(on, "on")
        record, ctx = writes.record(
            self._core,
            case_id,
            record_type,
            on=when.latest,
            occurred=when,
            actor=self._who(actor),
            by=by,
            sources=_sources(sources),
            note=note,
        )
        return self._after(record, ctx)

    def correct(
        self,
        case_id: str,
        seq: int,
        *,
        on: DateLike,
        reason: str,
        sources: Iterable[SourceLike] = (),
        actor: str | None = None,
    ) -> CaseView:
        """Correct the legal date of event ``seq`` to ``on``; the old event stays in the log
        and the correction records the due dates before and after."""
        record, ctx = writes.correct(
            self._core,
            case_id,
            seq,
            on=_required_date(on, "on"),
            reason=reason,
            actor=self._who(actor),
            sources=_sources(sources),
        )
        return self._after(record, ctx)

    def tick(
        self, *, as_of: DateLike | None = None, progress: Callable[[], None] | None = None
    ) -> TickResult:
        """Fire every clock due on or before ``as_of`` (default today), as events by
        ``system``; each case in a transaction of its own. Running it twice adds nothing.
        A case that cannot be fired is listed in ``failed``; the others still fire.
        ``progress`` is called once per case looked at (for a progress bar)."""
        return clocks.tick(self._core, _date(as_of, "as_of"), seen=progress)

    def tick_case(self, case_id: str, *, as_of: DateLike | None = None) -> list[Fired]:
        """Fire every clock of one case due on or before ``as_of`` (default today)."""
        day = _date(as_of, "as_of") or self._core.today()
        return clocks.tick_case(self._core, case_id, day)

    def retract(
        self,
        case_id: str,
        seq: int,
        *,
        reason: str,
        actor: str | None = None,
    ) -> CaseView:
        """Take back event ``seq``, a step recorded by mistake (wrong case, wrong trigger):
        it stays in the log, struck through in reports, but no longer counts; the state,
        facts and clocks are recomputed without it.

        Raises:
            RetractionRefused: later steps depend on it (they are named), or it is the
                opening, a clock firing, a correction or a retraction, or already retracted.
            InvalidInput: no event ``seq``, or no reason.
        """
        record, ctx = writes.retract(
            self._core, case_id, seq, reason=reason, actor=self._who(actor)
        )
        return self._after(record, ctx)

    def load_case_file(self, path: str | os.PathLike[str]) -> Loaded:
        """Replay a case file (the format of ``examples/ottawa-2025``) into a new case, in
        one transaction; :meth:`import_case_file` also accepts a case that exists."""
        from treatyflow.app.casefiles import replay  # reads YAML: loaded only when used

        return replay(self, Path(path))

    # ------------------------------------------------------------------ definition versions
    def workflow_diff(self, ident: str) -> DefinitionDiff:
        """The versions of the treaty or procedure ``ident`` that cases run (or ran) on, what
        changed from each to the current definitions (states, transitions, guards, evidence
        rules, clocks, clause fields) and the cases pinned to each.

        Raises:
            NotFound (no such treaty or procedure, current or stored), InvalidInput (a part).
        """
        from treatyflow.app import versions

        return versions.diff(self._core, ident)

    def migrate(
        self,
        case_ids: Sequence[str] = (),
        *,
        all: bool = False,
        to: str = "current",
        map: Mapping[str, str] | None = None,
        dry_run: bool = False,
        actor: str | None = None,
    ) -> MigrationResult:
        """Move ``case_ids`` (or, with ``all``, every case not on the current definitions)
        to the current versions of their procedure and treaty.

        Per case the result says what changes: state, ``effective_on``, the clocks whose
        dates move, guards that no longer hold, evidence the new rules find missing. A state
        the case has been in that the new procedure lacks must be mapped (``map={OLD: NEW}``).
        Unless ``dry_run``, each case gets one ``migrated`` event (old and new hashes, the map
        and the plan) in a transaction of its own and is re-pinned; a read ``known_at`` a time
        before the migration still gives the old dates. Nothing is written if any case cannot
        be planned. (Team mode review: see the hook in ``treatyflow.app.versions``.)

        Raises:
            StateUnmapped, InvalidInput (an unknown state in ``map``, no cases named),
            CaseNotFound, ProcedureNotFound, TreatyNotFound, ConcurrentUpdate.
        """
        from treatyflow.app import versions

        return versions.migrate(
            self._core,
            case_ids,
            all_cases=all,
            to=to,
            mapping=map,
            dry_run=dry_run,
            actor=self._who(actor),
        )

    def import_case_file(
        self, path: str | os.PathLike[str], *, actor: str | None = None
    ) -> CaseFileImport:
        """Import a case file (docs/case-files.md) in one transaction: the whole case or
        nothing. Idempotent: a case the log already holds step for step adds nothing; a
        file with new steps after those the log holds adds only them.

        Raises:
            CaseFileConflict: the log and the file differ before the file's last step (the
                first differing step is named, with each field's two values).
            InvalidWorkflow: the file is not a valid case file (file:line).
        """
        return self.import_case_files([path], actor=actor)[0]

    def import_case_files(
        self, paths: Iterable[str | os.PathLike[str]], *, actor: str | None = None
    ) -> list[CaseFileImport]:
        """:meth:`import_case_file` for each of ``paths``, all in one transaction (every
        file imported, or none)."""
        from treatyflow.app.casefiles import import_files  # reads YAML: loaded when used

        before, self.actor = self.actor, actor or self.actor
        try:
            return import_files(self, self._core, [Path(p) for p in paths])
        finally:
            self.actor = before

    # ------------------------------------------------------------------ reading
    def case(
        self, case_id: str, *, as_of: DateLike | None = None, known_at: str | None = None
    ) -> CaseView:
        """The case as of the legal date ``as_of`` (default today), from what had been
        recorded by the UTC timestamp ``known_at`` (default: everything)."""
        return queries.show(
            self._core, case_id, as_of=_date(as_of, "as_of"), known_at=_stamp(known_at)
        )

    def cases(
        self, *, country: str | None = None, treaty: str | None = None, state: str | None = None
    ) -> list[CaseSummary]:
        """Every case (filtered by country, treaty or current state), in id order."""
        return queries.cases(self._core, country=country, treaty=treaty, state=state)

    def count_cases(self) -> int:
        """How many cases the database holds."""
        return queries.count_cases(self._core)

    def views(
        self,
        *,
        as_of: DateLike | None = None,
        known_at: str | None = None,
        case_ids: Sequence[str] | None = None,
    ) -> Iterator[CaseView]:
        """Every case's view (or ``case_ids``'), one at a time, in id order."""
        return queries.views(
            self._core, as_of=_date(as_of, "as_of"), known_at=_stamp(known_at), case_ids=case_ids
        )

    def history(
        self, case_id: str, *, as_of: DateLike | None = None, known_at: str | None = None
    ) -> list[Event]:
        """The case's events as stored, oldest first: those recorded by ``known_at`` and
        in force by ``as_of`` (corrections applied to decide which)."""
        return queries.history(
            self._core, case_id, as_of=_date(as_of, "as_of"), known_at=_stamp(known_at)
        )

    def pending(
        self,
        *,
        as_of: DateLike | None = None,
        known_at: str | None = None,
        group_by: str | None = None,
        due_within: int | None = None,
    ) -> PendingList:
        """Every open case: next steps, who must act, clocks; nearest next date first.
        ``group_by``: ``actor``, ``country`` or ``treaty``. ``due_within``: only the cases
        whose next date falls within that many days of ``as_of`` (overdue ones included)."""
        return queries.pending(
            self._core,
            as_of=_date(as_of, "as_of"),
            known_at=_stamp(known_at),
            group_by=group_by,
            due_within=due_within,
        )

    def iter_pending(
        self, *, as_of: DateLike | None = None, known_at: str | None = None
    ) -> Iterator[PendingItem]:
        """:meth:`pending`'s items one at a time, in case id order (flat memory)."""
        return queries.iter_pending(
            self._core, as_of=_date(as_of, "as_of"), known_at=_stamp(known_at)
        )

    def write_pending_json(
        self,
        out: IO[bytes],
        *,
        as_of: DateLike | None = None,
        known_at: str | None = None,
        group_by: str | None = None,
        due_within: int | None = None,
    ) -> int:
        """:meth:`pending`'s ``to_dict()`` document as JSON, written to ``out`` as the
        cases are read (flat memory over any number of cases); the number of cases."""
        return queries.write_pending_json(
            self._core,
            out,
            as_of=_date(as_of, "as_of"),
            known_at=_stamp(known_at),
            group_by=group_by,
            due_within=due_within,
        )

    def changes(
        self,
        *,
        since: str | dt.date | dt.datetime,
        until: str | dt.date | dt.datetime | None = None,
        as_of: DateLike | None = None,
    ) -> Changes:
        """Every case whose state, effective date, clock dates, facts or flags differ
        between what had been recorded by ``since`` and by ``until`` (default now), both read
        as of the legal date ``as_of`` (default today): old -> new, the weekly brief.

        ``since`` and ``until`` are UTC timestamps (ISO text or aware datetimes) or dates:
        a date as ``since`` means the start of that day (changes recorded on it count), as
        ``until`` the end of it. Only cases with events recorded in between are read twice.

        Raises:
            InvalidInput: a value that is not a timestamp or date, or ``until`` before
                ``since``.
        """
        from treatyflow.app import changes as diff

        return diff.changes(
            self._core,
            since=_bound(since, "since", start=True),
            until=None if until is None else _bound(until, "until", start=False),
            as_of=_date(as_of, "as_of"),
        )

    def conformance(self, case_ids: Sequence[str] = ()) -> list[CaseConformance]:
        """Per case (or per ``case_ids``), every deviation from its procedure."""
        from treatyflow.app import conformance

        return list(conformance.conformance(self._core, case_ids))

    def search(self, text: str, *, case_id: str | None = None, limit: int = 20) -> SearchResult:
        """Events whose notes or sources (citation, reference, URL) hold every word of
        ``text``, best match first: at most ``limit`` (1 to 200), in ``case_id`` if given.

        ``text`` is plain words, never a query language (quotes, ``*``, ``OR`` and the like
        are words or punctuation); at most 200 characters and 16 words. Raises
        :class:`InvalidInput` for a text with no word or over the limits, and
        :class:`CaseNotFound` for an unknown ``case_id``."""
        from treatyflow.app import search as finding

        return finding.search(self._core, text, case_id=case_id, limit=limit)

    def recorded_since(self, since: DateLike, *, limit: int = 500) -> RecordedSince:
        """The events recorded at or after ``since`` (a date: from the start of that UTC
        day; or a UTC timestamp), per case, oldest first; at most ``limit`` (1 to 5000)."""
        from treatyflow.app import search as finding

        text = since.isoformat() if isinstance(since, dt.date) else since
        return finding.recorded_since(self._core, text, limit=limit)

    def revision(self) -> tuple[int, str | None]:
        """A value that changes whenever an event is recorded (the number of events and the
        newest record time): what a cache of a read may be keyed on."""
        from treatyflow.app import search as finding

        return finding.revision(self._core)

    # ------------------------------------------------------------------ reports
    def report(
        self,
        kind: str = "portfolio",
        fmt: str = "md",
        *,
        case_ids: Sequence[str] = (),
        country: Sequence[str] = (),
        treaty: Sequence[str] = (),
        state: Sequence[str] = (),
        as_of: DateLike | None = None,
        known_at: str | None = None,
        generated_at: str | None = None,
    ) -> str:
        """A ``case`` report (of ``case_ids``) or a ``portfolio`` report (filtered) in
        ``fmt``: ``md``, ``html``, ``json`` or ``csv``."""
        from treatyflow.app import reports as report_assembly

        return report_assembly.render_report(
            self._core,
            kind,
            fmt,
            case_ids=case_ids,
            filters=self._filters(country, treaty, state),
            as_of=_date(as_of, "as_of") or self.today(),
            known_at=_stamp(known_at),
            generated_at=generated_at,
        )

    def write_portfolio_json(
        self,
        out: IO[bytes],
        *,
        country: Sequence[str] = (),
        treaty: Sequence[str] = (),
        state: Sequence[str] = (),
        as_of: DateLike | None = None,
        known_at: str | None = None,
        generated_at: str | None = None,
        progress: Callable[[], None] | None = None,
    ) -> int:
        """The JSON portfolio report written to ``out`` case by case; the number of cases."""
        from treatyflow.app import reports as report_assembly

        return report_assembly.write_portfolio_json(
            self._core,
            out,
            self._filters(country, treaty, state),
            as_of=_date(as_of, "as_of") or self.today(),
            known_at=_stamp(known_at),
            generated_at=generated_at,
            seen=progress,
        )

    def matrix(
        self, fmt: str = "text", *, as_of: DateLike | None = None, known_at: str | None = None
    ) -> str:
        """The country-by-step matrix in ``fmt``: ``text``, ``md``, ``csv`` or ``json``."""
        from treatyflow.app import reports as report_assembly

        return report_assembly.render_matrix(
            self._core, fmt, as_of=_date(as_of, "as_of"), known_at=_stamp(known_at)
        )

    def calendar(
        self, *, as_of: DateLike | None = None, alarms: Sequence[int] = ()
    ) -> tuple[bytes, int]:
        """Upcoming legal dates as iCalendar bytes (stable UIDs), and how many dates;
        ``alarms``: a VALARM reminder on each date that many days before it (0 to 3650)."""
        from treatyflow.app import reports as report_assembly

        day = _date(as_of, "as_of") or self.today()
        return report_assembly.render_calendar(self._core, as_of=day, alarms=alarms)

    def calendar_items(
        self, *, as_of: DateLike | None = None, alarms: Sequence[int] = ()
    ) -> CalendarList:
        """The upcoming legal dates :meth:`calendar` writes, typed (``calendar --json``)."""
        from treatyflow.app import reports as report_assembly

        day = _date(as_of, "as_of") or self.today()
        return report_assembly.calendar_list(self._core, as_of=day, alarms=alarms)

    def write_example_reports(
        self, out: str | os.PathLike[str], *, as_of: DateLike, force: bool = False
    ) -> list[Path]:
        """The demo's set of reports in the directory ``out``; the paths written. Without
        ``force`` nothing is written when any of those files exists already."""
        from treatyflow.app import reports as report_assembly

        day = _required_date(as_of, "as_of")
        return report_assembly.write_example_reports(self._core, Path(out), as_of=day, force=force)

    # ------------------------------------------------------------------ integrity
    def verify(self, *, checkpoint: str | os.PathLike[str] | None = None) -> VerifyResult:
        """Check every case's hash chain (``.ok``, ``.problems`` naming case and first bad
        seq); with ``checkpoint``, also that nothing it recorded was truncated or rewritten."""
        from treatyflow.app import integrity

        path = None if checkpoint is None else Path(checkpoint)
        return integrity.verify(self._core, checkpoint=path)

    def checkpoint(self, path: str | os.PathLike[str], *, force: bool = False) -> CheckpointResult:
        """Write every case's chain head and a digest over them to ``path``, to keep
        elsewhere (``verify(checkpoint=path)`` checks against it later)."""
        from treatyflow.app import integrity
        from treatyflow.results import CheckpointResult

        doc = integrity.write_checkpoint(self._core, Path(path), force=force)
        return CheckpointResult(
            checkpoint=os.fspath(path), cases=doc["count"], digest=doc["digest"]
        )

    def export(self, path: str | os.PathLike[str], *, force: bool = False) -> BundleResult:
        """Write the whole database as a verifiable JSON Lines bundle (atomically)."""
        from treatyflow.app import bundles

        return bundles.export(self._core, Path(path), force=force)

    def import_bundle(self, path: str | os.PathLike[str]) -> BundleResult:
        """Load a bundle into this (empty) database; refuses one that does not verify."""
        from treatyflow.app import bundles

        return bundles.import_(self._core, Path(path))

    # ------------------------------------------------------------------ trust
    def approve(self, case_id: str, seq: int, *, note: str | None = None) -> CaseView:
        """Approve the proposed step ``seq`` (four eyes): applied with the proposal's legal
        date. Needs a reviewer's key that did not propose it.

        Raises:
            SelfApproval, NotAuthorised, InvalidInput (no open proposal ``seq``).
        """
        record, ctx = writes.approve(self._core, case_id, seq, actor=self._who(None), note=note)
        return self._after(record, ctx)

    def reject(self, case_id: str, seq: int, *, reason: str) -> CaseView:
        """Reject the proposed step ``seq`` (a reviewer, or its proposer withdrawing it)."""
        record, ctx = writes.reject(self._core, case_id, seq, actor=self._who(None), reason=reason)
        return self._after(record, ctx)

    def list_keys(self) -> list[KeyInfo]:
        """Every key of the registry (retired ones too), oldest first."""
        from treatyflow.app import trust

        return trust.keys(self._core)

    def add_key(
        self, name: str, public_key: str | os.PathLike[str], *, roles: Sequence[str] = ()
    ) -> KeyInfo:
        """Register ``public_key`` (an OpenSSH line, or a file holding one) under ``name``
        with ``roles`` (``analyst`` by default; ``reviewer``, ``admin``). The first key may
        be added by anyone; every later change needs this workspace's key to be an admin's.
        """
        from treatyflow.app import trust

        return trust.add_key(self._core, name, os.fspath(public_key), roles)

    def retire_key(self, name: str) -> KeyInfo:
        """Retire ``name``'s key (admin): it signs nothing new; its old signatures hold."""
        from treatyflow.app import trust

        return trust.retire_key(self._core, name)

    def require_signatures(self, on: bool = True) -> bool:
        """Turn team mode on or off (admin): when on, every write needs a registered key
        and review-required steps become proposals."""
        from treatyflow.app import trust

        return trust.set_require_signatures(self._core, on)

    def signatures_required(self) -> bool:
        """Whether the database requires signed writes now."""
        from treatyflow.app import trust

        return trust.require_signatures(self._core)

    def grant(self, role: str, *, as_: str) -> dict[str, Any]:
        """PostgreSQL: give the login ``role`` the privileges of ``as_`` (``analyst``,
        ``reviewer`` or ``admin``) through a group role; none may rewrite the log."""
        from treatyflow.app import trust

        return trust.grant(self._core, role, as_)

    # ------------------------------------------------------------------ internals
    def _who(self, actor: str | None) -> str:
        """Who a write is recorded as: with a key, its registered name (an explicit actor
        that differs is refused); without one, ``actor`` or the workspace's."""
        explicit = actor or self._explicit_actor
        if self._core.signer is None:
            return explicit or self.actor
        if self._key_name is None:
            with self._core.store.read() as conn:
                record = self._core.signer_record(self._core.registry(conn))
            assert record is not None
            self._key_name = record.name
        if explicit and explicit != self._key_name:
            raise ActorMismatch(explicit, self._key_name)
        return self._key_name

    def _after(self, record: Any, ctx: Any) -> CaseView:
        return case_view(self._core, record, ctx.defs, ctx.events, as_of=None, known_at=None)

    @staticmethod
    def _filters(country: Sequence[str], treaty: Sequence[str], state: Sequence[str]) -> Filters:
        from treatyflow.app import reports as report_assembly
        from treatyflow.values import check_country

        return report_assembly.Filters(
            country=tuple(check_country(c) for c in country),
            treaty=tuple(treaty),
            state=tuple(state),
        )


def _date(value: DateLike | None, field: str) -> dt.date | None:
    """A legal date from a date or its ISO text; None stays None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        raise InvalidInput(field, value, f"{field} is a legal date (a date), not a date and time.")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        from treatyflow.values import parse_date

        return parse_date(value, field)
    raise InvalidInput(field, value, f"{field} must be a date, not {type(value).__name__}.")


def _legal(value: DateLike | LegalDate | None, field: str) -> LegalDate | None:
    """The legal date of a step: a day (a ``date`` or ``"2025-06-27"``), or a day known only
    within a range: ``"<=2025-12-01"`` (on or before), ``"2025-05-12..2025-05-16"`` (between)
    or ``"2025-07"`` (a month)."""
    if value is None or isinstance(value, LegalDate):
        return value
    if isinstance(value, str):
        from treatyflow.values import parse_on

        return parse_on(value, field)
    day = _date(value, field)
    assert day is not None
    return LegalDate.day(day)


def _required_legal(value: DateLike | LegalDate, field: str) -> LegalDate:
    when = _legal(value, field)
    if when is None:
        raise InvalidInput(field, value, f"{field} (a legal date) is required.")
    return when


def _required_date(value: DateLike, field: str) -> dt.date:
    day = _date(value, field)
    if day is None:
        raise InvalidInput(field, value, f"{field} (a legal date) is required.")
    return day


def _stamp(value: str | dt.datetime | None) -> str | None:
    """A record time (UTC) in its stored form, from ISO text or an aware datetime."""
    if value is None:
        return None
    from treatyflow.values import parse_timestamp

    text = value.isoformat() if isinstance(value, dt.datetime) else value
    return parse_timestamp(text, "known_at")


def _bound(value: str | dt.date | dt.datetime, field: str, *, start: bool) -> str:
    """A record time from a timestamp or a date (a date is its first or last instant)."""
    from treatyflow.values import parse_timestamp

    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InvalidInput(field, value, f"{field} must be an aware (UTC) datetime.")
        return parse_timestamp(value.isoformat(), field)
    if isinstance(value, dt.date):
        value = value.isoformat()
    if not isinstance(value, str):
        raise InvalidInput(field, value, f"{field} must be a timestamp or a date.")
    text = value.strip()
    if start and len(text) == 10:
        from treatyflow.values import parse_date

        return f"{parse_date(text, field).isoformat()}T00:00:00.000000Z"
    return parse_timestamp(text, field)


def _sources(sources: Iterable[SourceLike]) -> list[Source]:
    from treatyflow.values import parse_source

    out: list[Source] = []
    for s in sources:
        if isinstance(s, Source):
            out.append(s)
        elif isinstance(s, str):
            out.append(parse_source(s))
        elif isinstance(s, Mapping):
            out.append(_source_from_mapping(s))
        else:
            raise InvalidInput("sources", s, f"a source cannot be {type(s).__name__} {s!r}.")
    return out


def _source_from_mapping(fields: Mapping[str, Any]) -> Source:
    from pydantic import ValidationError

    from treatyflow.evidence import EventSource
    from treatyflow.values import document_digest

    data = dict(fields)
    if isinstance(data.get("document"), str):
        # the digest in its one stored form; a citation of the document alone gets its name
        data["document"] = document_digest(data["document"], "sources")
        data.setdefault("citation", data["document"])
    try:
        return EventSource.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "source"
        raise InvalidInput("sources", dict(fields), f"source {where}: {first['msg']}.") from None
