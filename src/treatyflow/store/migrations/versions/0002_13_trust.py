"""Trust: signed events (signature, key, recorded_by), the key registry, and on PostgreSQL
the server-side guards (recorded_by set to session_user; events and registry append-only).

Revision ID: 0002_13
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_13"
down_revision = "0001"
branch_labels = None
depends_on = None

#: The log tables: append-only, and stamped with the login role that inserted each row.
LOG_TABLES = ("events", "registry")

#: Sets recorded_by to the login role, whatever the client sent.
RECORDED_BY_FUNCTION = """
CREATE OR REPLACE FUNCTION treatyflow_recorded_by() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.recorded_by := session_user;
    RETURN NEW;
END
$$
"""

#: Refuses UPDATE, DELETE and TRUNCATE on a log table to every role but a superuser and
#: the table's owner (who could drop the trigger anyway): a misconfigured grant cannot
#: rewrite the log.
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION treatyflow_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
       OR pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID),
                      'MEMBER') THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'treatyflow: % on % refused for role %: the log is append-only',
        TG_OP, TG_TABLE_NAME, session_user
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.add_column("events", sa.Column("signature", sa.String(120), nullable=True))
    op.add_column("events", sa.Column("key", sa.String(80), nullable=True))
    op.add_column("events", sa.Column("recorded_by", sa.String(200), nullable=True))
    op.create_index("ix_events_key", "events", ["key"])
    op.create_table(
        "registry",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("data", sa.String, nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("prev_hash", sa.String(80), nullable=True),
        sa.Column("hash", sa.String(80), nullable=False),
        sa.Column("key", sa.String(80), nullable=True),
        sa.Column("signature", sa.String(120), nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=True),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(RECORDED_BY_FUNCTION)
    op.execute(APPEND_ONLY_FUNCTION)
    for table in LOG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_recorded_by BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION treatyflow_recorded_by()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION treatyflow_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION treatyflow_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in LOG_TABLES:
            for suffix in ("recorded_by", "append_only", "no_truncate"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS treatyflow_append_only()")
        op.execute("DROP FUNCTION IF EXISTS treatyflow_recorded_by()")
    op.drop_table("registry")
    op.drop_index("ix_events_key", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("recorded_by")
        batch.drop_column("key")
        batch.drop_column("signature")
