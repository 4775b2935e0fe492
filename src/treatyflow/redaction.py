"""Keeping database passwords out of every message, log line and traceback.

No third-party imports: the CLI's error path uses this without loading SQLAlchemy.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^:/@\s'\"]*:)[^\s'\"]*@")
_KEYWORD_PASSWORD = re.compile(r"(?i)(password\s*=\s*)('[^']*'|[^\s&'\"]+)")


def redact_url(url: str) -> str:
    """The text with the password of every URL in it (and any ``password=...``) as ***.

    A password may itself contain ``@``: everything up to the last ``@`` of the URL is
    hidden (over-redacting a user name is harmless; leaking part of a password is not).
    """
    text = _URL_PASSWORD.sub(r"\1***@", url)
    return _KEYWORD_PASSWORD.sub(r"\1***", text)


def redact(text: str, db: str | None = None) -> str:
    """``redact_url`` plus every literal occurrence of ``db``'s password (if it has one)."""
    out = redact_url(text)
    if db:
        for secret in _passwords(db):
            out = out.replace(secret, "***")
    return out


def _passwords(db: str) -> list[str]:

    found: list[str] = []
    try:
        password = urlsplit(db).password if "://" in db else None
    except ValueError:
        password = None
    match = re.search(r"://[^:/@\s]*:(.*)@", db)
    for candidate in (password, match.group(1) if match else None):
        if candidate and len(candidate) >= 3:
            found += [candidate, quote(candidate, safe=""), unquote(candidate)]
            # a password with an unencoded '@': a reader that splits at the first '@' takes
            # its tail for the host and prints it; hide every piece of it
            found += [piece for piece in unquote(candidate).split("@")[1:] if len(piece) >= 3]
    return sorted(set(found), key=len, reverse=True)
