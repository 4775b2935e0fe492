"""Documents kept with the log (#17): the ``documents`` table, each attached file's bytes
stored once under their SHA-256 digest. Events cite a document by that digest (the
``attach`` event and any source with a ``document`` field), so the digest is under the
hash chain; ``verify`` re-hashes the bytes. On PostgreSQL the table is append-only like the
log (the trigger function of revision ``0002_13``).

Only a table is created here: the ``events`` table is not altered (on SQLite a batch rebuild
of it would drop the search triggers of ``0002_16``).

Revision ID: 0003_17
Revises: 0002_16
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_17"
down_revision = "0002_16"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("sha256", sa.String(80), primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("media_type", sa.String(200), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("stored_at", sa.String(32), nullable=False),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TRIGGER documents_append_only BEFORE UPDATE OR DELETE ON documents "
        "FOR EACH ROW EXECUTE FUNCTION treatyflow_append_only()"
    )
    op.execute(
        "CREATE TRIGGER documents_no_truncate BEFORE TRUNCATE ON documents "
        "FOR EACH STATEMENT EXECUTE FUNCTION treatyflow_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for suffix in ("append_only", "no_truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS documents_{suffix} ON documents")
    op.drop_table("documents")
