"""Persistence: SQLite (embedded default) and PostgreSQL through SQLAlchemy Core.

The only package that imports sqlalchemy/sqlmodel/alembic.
"""

from treatyflow.errors import StoreBusy
from treatyflow.redaction import redact, redact_url
from treatyflow.store.sql import CaseRecord, Store, open_store

__all__ = ["CaseRecord", "Store", "StoreBusy", "open_store", "redact", "redact_url"]
