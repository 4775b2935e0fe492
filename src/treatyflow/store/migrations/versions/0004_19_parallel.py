"""PostgreSQL: the search text functions are ``PARALLEL UNSAFE``, not ``PARALLEL SAFE``.

``treatyflow_event_text`` (revision ``0002_16``) reads an event's ``sources`` inside a
``BEGIN ... EXCEPTION`` block, so that a row edited outside treatyflow into something that is
not JSON still yields its note. An exception block opens a subtransaction, which no process
may do during a parallel operation (PostgreSQL's manual: a function that "establishes an
EXCEPTION block" must be ``PARALLEL UNSAFE``; not even the leader may run it while a parallel
plan runs, so ``RESTRICTED`` fails the same way). When the planner chose a parallel plan for a
query calling the function (a large table, or ``force_parallel_mode``), the query failed with
"cannot start subtransactions during a parallel operation". ``PARALLEL UNSAFE`` keeps such a
query out of parallel mode; the search reads the GIN index, which a parallel plan would not
speed up. (PostgreSQL 15 has no way to test text for JSON without an exception: 16's
``IS JSON`` would let the function lose its exception block.) ``treatyflow_event_document``
calls it, so it is unsafe too (PostgreSQL trusts the label and does not look inside).

SQLite has no such functions: nothing to do. Nothing here is evidence.

Revision ID: 0004_19
Revises: 0003_19
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0004_19"
down_revision = "0003_19"
branch_labels = None
depends_on = None

FUNCTIONS = ("treatyflow_event_text(text, text)", "treatyflow_event_document(text, text)")


def _label(label: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} PARALLEL {label}")


def upgrade() -> None:
    _label("UNSAFE")


def downgrade() -> None:
    _label("SAFE")
