"""Alembic environment: runs on the connection treatyflow hands over (no ini file)."""

from __future__ import annotations

from alembic import context

from treatyflow.store.migrate import include_name
from treatyflow.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
