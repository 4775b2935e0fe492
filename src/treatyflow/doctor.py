"""Health checks for ``treatyflow doctor``: every problem, each with the command that fixes it.

:func:`run_checks` opens nothing it does not need, never writes, and turns every failure it
meets (a corrupt file, an unreachable server, an unreadable definition) into a finding rather
than an exception. The checks, in order:

``database``      the database can be opened (a file exists; a server answers)
``integrity``     SQLite ``PRAGMA integrity_check`` (SQLite only)
``migrations``    the schema revision is the newest this treatyflow knows
``permissions``   the database file and its ``-wal``/``-shm`` are private (0600)
``catalog``       the treaty and procedure definitions load and lint clean
``chain``         every case's hash chain verifies (one finding per broken case)
``snapshots``     every stored definition version re-hashes to the hash cases are pinned to,
                  and none a case was opened under is missing
``definitions``   no case runs under a definition whose content has changed since it was pinned
``clocks``        no clock has come due without ``treatyflow tick`` firing it
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from treatyflow.app.workspace import Workspace

CHECKS = (
    "database",
    "integrity",
    "migrations",
    "permissions",
    "catalog",
    "chain",
    "snapshots",
    "definitions",
    "clocks",
    "projection",
    "search-index",
)

#: Permission bits a database file must not have: anything for group or others.
PRIVATE_MASK = 0o077


@dataclass(frozen=True)
class Finding:
    """One result: ``ok``, or a ``problem`` with the ``fix_command`` that fixes it."""

    check: str
    ok: bool
    problem: str | None = None
    fix_command: str | None = None
    detail: str | None = None
    """What was checked (for a passing check)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def passed(check: str, detail: str) -> Finding:
    return Finding(check, True, detail=detail)


def failed(check: str, problem: str, fix_command: str) -> Finding:
    return Finding(check, False, problem=problem, fix_command=fix_command)


def sqlite_path(db: str) -> Path | None:
    """The file of a SQLite database (path or ``sqlite:///`` URL); None for anything else."""
    from treatyflow.store.sql import url_parts

    return url_parts(db).sqlite_file


def run_checks(
    db: str,
    workflow_dirs: Sequence[Path],
    *,
    today: dt.date | None = None,
    extra_dir: Path | None = None,
) -> list[Finding]:
    """Run every check on the database ``db`` with the definitions in ``workflow_dirs``."""
    day = today or dt.date.today()
    findings: list[Finding] = []
    path = sqlite_path(db)

    # File modes first: opening the database may create (and SQLite may re-mode) -wal/-shm.
    regular = path is not None and path.is_file()
    modes = _guard("permissions", lambda: _permissions(path)) if path and regular else []
    store = _open(db, path, findings)
    if store is None:
        return findings + modes
    try:
        if store.is_sqlite:
            findings += _guard("integrity", lambda: _integrity(store, path))
        at_head = _run_migrations(db, store, findings)
        findings += modes
        catalog = _load_catalog(workflow_dirs, extra_dir, findings)
        if not at_head:
            return findings
        from treatyflow.app.core import Core
        from treatyflow.app.workspace import Workspace
        from treatyflow.catalog import Catalog

        ws = Workspace(Core(store, catalog or Catalog(), today=lambda: day))
        findings += _guard("chain", lambda: _chain(ws))
        findings += _guard("snapshots", lambda: _snapshots(ws))
        if catalog is not None:
            findings += _guard("definitions", lambda: _definitions(ws))
        findings += _guard("clocks", lambda: _clocks(ws, day))
        findings += _guard("projection", lambda: _projection(ws, db))
        findings += _guard("search-index", lambda: _search_index(ws, db))
        return findings
    finally:
        store.engine.dispose()


# ---------------------------------------------------------------------------- checks
def _open(db: str, path: Path | None, findings: list[Finding]) -> Any:
    from treatyflow.errors import TreatyflowError
    from treatyflow.redaction import redact_url
    from treatyflow.store.sql import open_store

    if path is not None and not path.exists():
        findings.append(failed("database", f"there is no database at {path}.", _cmd(db, "init")))
        return None
    if path is not None and not path.is_file():
        findings.append(
            failed(
                "database",
                f"{path} is not a regular file (a directory, device, FIFO or socket), so it "
                "cannot be a SQLite database.",
                "treatyflow --db PATH doctor  # with the path of the database file",
            )
        )
        return None
    try:
        store = open_store(db)
        with store.read() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        known = isinstance(exc, TreatyflowError)
        problem = _one_line(str(exc)) if known else f"cannot open it ({_describe(exc)})."
        findings.append(failed("database", problem, _unreachable_fix(db, path)))
        return None
    findings.append(passed("database", f"opened {redact_url(db)}"))
    return store


def _unreachable_fix(db: str, path: Path | None) -> str:
    if path is not None:
        return f"cp BACKUP.db {shlex.quote(str(path))}  # it is not a readable SQLite database"
    from treatyflow.store.sql import url_parts

    url = url_parts(db)
    if url.backend != "postgresql":
        return "treatyflow --db URL_OR_PATH doctor  # with a valid path or URL"
    host = shlex.quote(url.host or "localhost")
    return f"pg_isready -h {host} -p {url.port or 5432}  # then check the URL's user and database"


def _integrity(store: Any, path: Path | None) -> list[Finding]:
    from treatyflow.store.sql import sqlite_integrity

    lines = sqlite_integrity(store)
    if not lines:
        return [passed("integrity", "PRAGMA integrity_check: ok")]
    more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
    target = shlex.quote(str(path)) if path is not None else "DB"
    return [
        failed(
            "integrity",
            f"PRAGMA integrity_check reports: {_one_line(lines[0])}{more}.",
            f"sqlite3 {target} .recover | sqlite3 recovered.db",
        )
    ]


def _run_migrations(db: str, store: Any, findings: list[Finding]) -> bool:
    """Append the migrations finding; True when the schema is at head (tables usable)."""
    from treatyflow.store import migrate

    try:
        current, head = migrate.current(store), migrate.head()
        known = {rev for rev, _down, _msg in migrate.history()}
    except Exception as exc:
        findings.append(
            failed(
                "migrations",
                f"the schema revision cannot be read ({_describe(exc)}).",
                _cmd(db, "db current"),
            )
        )
        return False
    if current == head:
        findings.append(passed("migrations", f"schema at revision {head} (newest)"))
        return True
    if current is None:
        findings.append(
            failed("migrations", "the database has no treatyflow schema yet.", _cmd(db, "init"))
        )
        return False
    if current not in known:
        findings.append(
            failed(
                "migrations",
                f"the schema is at revision {current}, which this treatyflow does not know "
                f"(newest known: {head}); the database was written by a newer version.",
                "pip install --upgrade treatyflow",
            )
        )
        return False
    findings.append(
        failed(
            "migrations",
            f"the schema is at revision {current}; {head} is pending.",
            _cmd(db, "db upgrade"),
        )
    )
    return False


def _permissions(path: Path) -> list[Finding]:
    out: list[Finding] = []
    checked = []
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = candidate.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        checked.append(candidate.name)
        if mode & PRIVATE_MASK:
            out.append(
                failed(
                    "permissions",
                    f"{candidate} has mode {mode:04o}: others can read the records; "
                    "it should be 0600.",
                    f"chmod 600 {shlex.quote(str(candidate))}",
                )
            )
    if not out:
        out.append(passed("permissions", f"{', '.join(checked)}: 0600"))
    return out


def _load_catalog(
    workflow_dirs: Sequence[Path], extra_dir: Path | None, findings: list[Finding]
) -> Any:
    from treatyflow.catalog import load_catalog
    from treatyflow.errors import TreatyflowError

    try:
        catalog = load_catalog(workflow_dirs)
    except TreatyflowError as exc:
        target = f" {shlex.quote(str(extra_dir))}" if extra_dir is not None else ""
        findings.append(
            failed("catalog", _one_line(str(exc)), f"treatyflow workflow lint{target}")
        )
        return None
    findings.append(
        passed(
            "catalog",
            f"{len(catalog.treaties)} treaties, {len(catalog.whole_procedures())} procedures",
        )
    )
    return catalog


def _chain(ws: Workspace) -> list[Finding]:
    result = ws.verify()
    faults = result.problems
    if not faults:
        return [passed("chain", f"{result.cases} case(s), every hash chain verifies")]
    return [
        failed(
            "chain",
            f"{fault} - the log was changed outside treatyflow; restore the case from a "
            "backup or a verified export bundle.",
            "treatyflow --db FRESH.db import BUNDLE.jsonl",
        )
        for fault in faults
    ]


def _snapshots(ws: Workspace) -> list[Finding]:
    from treatyflow.app.integrity import snapshot_faults

    faults, count = snapshot_faults(ws._core)
    if not faults:
        return [
            passed(
                "snapshots",
                f"{count} stored definition version(s) re-hash; none a case uses is missing",
            )
        ]
    return [
        failed(
            "snapshots",
            f"{fault}.",
            "treatyflow --db FRESH.db import BUNDLE.jsonl  # a bundle exported before the change",
        )
        for fault in faults
    ]


def _definitions(ws: Workspace) -> list[Finding]:
    from treatyflow.app.queries import pinned_definitions
    from treatyflow.catalog import content_hash
    from treatyflow.errors import NotFound

    changed: dict[tuple[str, str], list[str]] = {}
    records = pinned_definitions(ws._core)
    for case_id, pairs in records:
        for kind, ident, pinned in pairs:
            try:
                model = (
                    ws.catalog.procedure(ident)
                    if kind == "procedure"
                    else ws.catalog.treaty(ident)
                )
                current: str | None = content_hash(model)
            except NotFound:
                current = None
            if current != pinned:
                changed.setdefault((kind, ident), []).append(case_id)
    if not changed:
        return [passed("definitions", f"{len(records)} case(s) run under current definitions")]
    out = []
    for (kind, ident), case_ids in sorted(changed.items()):
        out.append(
            failed(
                "definitions",
                f"the {kind} {ident!r} has changed (or gone) since {_some(case_ids)} "
                "were pinned to it; those cases keep the version they are pinned to - "
                "review the change, then move them with 'treatyflow case migrate', or "
                "restore the file if it was not intended.",
                f"treatyflow workflow diff {shlex.quote(ident)}",
            )
        )
    return out


def _clocks(ws: Workspace, day: dt.date) -> list[Finding]:
    overdue: list[str] = []
    for view in ws.views(as_of=day):
        for clock in view.clocks:
            if clock.status.value == "due":
                due = clock.due_on.isoformat() if clock.due_on else None
                overdue.append(f"{view.id} ({clock.name}, due {due})")
    if not overdue:
        return [passed("clocks", f"no clock due on or before {day.isoformat()} is unfired")]
    return [
        failed(
            "clocks",
            f"{len(overdue)} clock(s) came due on or before {day.isoformat()} but have not "
            f"fired: {_some(overdue)}.",
            f"treatyflow tick --as-of {day.isoformat()}",
        )
    ]


def _projection(ws: Workspace, db: str) -> list[Finding]:
    """The case projection (#19) against the logs: rows missing or stale (written outside
    treatyflow: reads fold those cases, slower but right) and rows that disagree with their
    log (which reads would use: wrong)."""
    from treatyflow.app.projections import check

    missing, stale, wrong = check(ws._core)
    if not (missing or stale or wrong):
        return [passed("projection", "every case's projection row agrees with its log")]
    parts = []
    if wrong:
        parts.append(f"{len(wrong)} case(s) whose row disagrees with the log: {_some(wrong)}")
    if stale:
        parts.append(f"{len(stale)} case(s) whose row is stale: {_some(stale)}")
    if missing:
        parts.append(f"{len(missing)} case(s) without a row: {_some(missing)}")
    return [
        failed(
            "projection",
            "; ".join(parts) + " (the case projection that pending and tick read).",
            _cmd(db, "db reproject" + (" --all" if wrong else "")),
        )
    ]


def _search_index(ws: Workspace, db: str) -> list[Finding]:
    """The search index (SQLite's FTS5 table) against the events: no event missing or
    indexed by other words, no row of no event, the index's structure sound. Not evidence
    (the chain covers the events), but an edited index makes ``search`` miss events."""
    from treatyflow.app.search import check_index

    found = check_index(ws._core)
    if found is None:
        return [passed("search-index", "PostgreSQL keeps the search index itself")]
    if found.ok:
        return [passed("search-index", "every event is indexed for search as it reads")]
    parts = []
    if found.unindexed_count:
        count = found.unindexed_count
        events = [f"{case} seq {seq}" for case, seq in found.unindexed[:5]]
        more = f" and {count - len(events)} more" if count > len(events) else ""
        parts.append(
            f"{count} event(s) missing from it or indexed by other words: "
            f"{', '.join(events)}{more}"
        )
    if found.extra:
        parts.append(f"{found.extra} indexed row(s) of no event")
    if found.damaged:
        parts.append("its inner structure does not match its own text")
    return [
        failed(
            "search-index",
            "The search index was changed outside treatyflow: " + "; ".join(parts) + ".",
            _cmd(db, "db reindex"),
        )
    ]


# ---------------------------------------------------------------------------- helpers
def _guard(check: str, run: Callable[[], list[Finding]]) -> list[Finding]:
    """Run one check; an unexpected failure is itself a finding, never a crash."""
    try:
        return run()
    except Exception as exc:
        return [
            failed(
                check,
                f"the check could not run ({_describe(exc)}); the database may be damaged.",
                "restore the database from a backup",
            )
        ]


def _describe(exc: BaseException) -> str:
    from treatyflow.errors import TreatyflowError
    from treatyflow.redaction import redact_url

    text = str(exc) if isinstance(exc, TreatyflowError) else f"{type(exc).__name__}: {exc}"
    return _one_line(redact_url(text))[:300]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _some(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _cmd(db: str, command: str) -> str:
    from treatyflow.redaction import redact_url

    if db == os.environ.get("TREATYFLOW_DB") or db == "treatyflow.db":
        return f"treatyflow {command}"
    return f"treatyflow --db {shlex.quote(redact_url(db))} {command}"
