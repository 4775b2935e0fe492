"""The case projection (#19): per case, what its events add up to, kept in the transaction
of every event so that ``pending``, the dashboard and ``tick`` read rows instead of folding
every case's log.

The table is created empty: a case with no row (or a stale one) is read from its log, and
``treatyflow db reproject`` (or the next ``tick``) fills the rows. Nothing here is evidence:
the hash chain covers the ``events`` rows only.

Revision ID: 0003_19
Revises: 0003_17
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_19"
down_revision = "0003_17"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_projections",
        # no foreign key: derived data never stands in the way of a case row deleted by hand
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("head_hash", sa.String(80), nullable=False),
        sa.Column("horizon", sa.String(10), nullable=True),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("next_fire", sa.String(10), nullable=True),
        sa.Column("tally", sa.String, nullable=False),
    )
    op.create_index("ix_case_projections_next_fire", "case_projections", ["next_fire"])


def downgrade() -> None:
    op.drop_index("ix_case_projections_next_fire", table_name="case_projections")
    op.drop_table("case_projections")
