"""The case projection's rows are sealed: rows written by earlier revisions are dropped.

From this revision every ``case_projections`` row carries a seal (the SHA-256 of its columns
and tally, stored as the tally text's first key: :mod:`treatyflow.store.projections`). A row
whose seal does not match is never read, and ``verify`` names it, so that a row edited with
a database client cannot make ``tick`` write a wrong date, a change skip a check, or
``pending`` show one. The rows of earlier revisions have no seal: they are deleted here, and
``tick``, ``import`` and ``treatyflow db reproject`` write them again (until then every read
folds the case's log, as on a database without the table). Nothing here is evidence: the
projection is derived from the events.

Revision ID: 0005_19
Revises: 0004_19
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0005_19"
down_revision = "0004_19"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM case_projections")


def downgrade() -> None:
    # Earlier revisions would read a sealed row without checking its seal: drop the rows,
    # and let `tick` or `db reproject` write them again.
    op.execute("DELETE FROM case_projections")
