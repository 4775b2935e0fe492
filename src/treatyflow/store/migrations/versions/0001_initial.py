"""The first schema: cases, events (append-only), definitions.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("country", sa.String(3), nullable=False),
        sa.Column("treaty", sa.String(100), nullable=False),
        sa.Column("procedure", sa.String(100), nullable=False),
        sa.Column("procedure_hash", sa.String(80), nullable=False),
        sa.Column("treaty_hash", sa.String(80), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("state", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(80), nullable=False),
        sa.Column("opened_on", sa.String(10), nullable=False),
        sa.Column("last_on", sa.String(10), nullable=False),
        sa.Column("facts", sa.String, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_cases_country", "cases", ["country"])
    op.create_index("ix_cases_treaty", "cases", ["treaty"])
    op.create_index("ix_cases_state", "cases", ["state"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(200), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("trigger", sa.String(100), nullable=True),
        sa.Column("from_state", sa.String(100), nullable=True),
        sa.Column("to_state", sa.String(100), nullable=True),
        sa.Column("occurred_on", sa.String(10), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("sources", sa.String, nullable=False),
        sa.Column("note", sa.String, nullable=True),
        sa.Column("data", sa.String, nullable=False),
        sa.Column("prev_hash", sa.String(80), nullable=True),
        sa.Column("hash", sa.String(80), nullable=False),
        sa.UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
    )
    op.create_index("ix_events_recorded_at", "events", ["recorded_at"])
    op.create_table(
        "definitions",
        sa.Column("hash", sa.String(80), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("definition_id", sa.String(100), nullable=False),
        sa.Column("content", sa.String, nullable=False),
        sa.Column("stored_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("definitions")
    op.drop_index("ix_events_recorded_at", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_cases_state", table_name="cases")
    op.drop_index("ix_cases_treaty", table_name="cases")
    op.drop_index("ix_cases_country", table_name="cases")
    op.drop_table("cases")
