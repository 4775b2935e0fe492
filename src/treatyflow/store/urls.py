"""Database paths and URLs: what ``--db`` names, read without connecting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from treatyflow.errors import StoreUnavailable
from treatyflow.redaction import redact_url


def to_url(db: str) -> str:
    """A SQLAlchemy URL from a path or a URL (``postgresql://`` means psycopg 3).

    A password holding an unencoded ``@`` (``postgresql://u:abc@def@host/db``) is
    percent-encoded, so that the host is what follows the *last* ``@`` (as for
    :func:`urllib.parse.urlsplit`), never the password's tail.
    """
    if "://" not in db:
        return f"sqlite:///{db}"
    db = _encode_at_in_password(db)
    for plain in ("postgresql://", "postgres://"):
        if db.startswith(plain):
            return "postgresql+psycopg://" + db[len(plain) :]
    return db


def _encode_at_in_password(db: str) -> str:
    scheme, _, rest = db.partition("://")
    at = rest.rfind("@")
    if scheme.startswith("sqlite") or at == -1 or re.search(r"[/?#]", rest[:at]):
        return db
    user, colon, password = rest[:at].partition(":")
    if not colon or "@" not in password:
        return db
    return f"{scheme}://{user}:{quote(password, safe='')}@{rest[at + 1 :]}"


#: A libpq keyword/value connection string (``host=... dbname=... password=...``).
_KEYWORD_DSN = re.compile(
    r"^\s*(host|hostaddr|port|dbname|user|password|passfile|sslmode|service|options|"
    r"connect_timeout|application_name)\s*=",
    re.IGNORECASE,
)


def is_keyword_dsn(db: str) -> bool:
    """Whether ``db`` is a libpq keyword connection string rather than a path or URL."""
    return "://" not in db and _KEYWORD_DSN.match(db) is not None


def _refuse_keyword_dsn(db: str) -> None:
    if is_keyword_dsn(db):
        raise StoreUnavailable(
            f"{redact_url(db)!r} is a libpq keyword connection string (host=... "
            "password=...), which treatyflow does not read; give a URL instead: "
            "postgresql://USER:PASSWORD@HOST:PORT/DBNAME (percent-encode '@', ':' and '/' "
            "in the password)."
        )


@dataclass(frozen=True)
class UrlParts:
    """What treatyflow needs to know of a database path or URL, without connecting."""

    backend: str | None
    """``sqlite``, ``postgresql`` ... or None when it is not a URL SQLAlchemy can read."""
    sqlite_file: Path | None
    host: str | None = None
    port: int | None = None


def url_parts(db: str) -> UrlParts:
    if is_keyword_dsn(db):
        return UrlParts(None, None)
    if "://" not in db:
        return UrlParts("sqlite", Path(db))
    try:
        url = sa.engine.make_url(to_url(db))
        port = url.port
    except (sa.exc.ArgumentError, ValueError):
        return UrlParts(None, None)
    backend = url.get_backend_name()
    file = None
    if backend == "sqlite" and url.database and url.database != ":memory:":
        file = Path(url.database)
    return UrlParts(backend, file, url.host, port)
