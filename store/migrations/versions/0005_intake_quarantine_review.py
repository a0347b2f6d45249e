"""intake quarantine review: why a row is quarantined, its candidate fields, ignored field names, review

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00

Hand-written.  Adds nullable columns, so existing rows stay valid (their problems are simply unknown).  Rows
quarantined before this revision whose bodies were already purged (honeypot hits, purged with delivered rows)
can never be reviewed or released, so they are marked discarded instead of waiting for review for good.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intake_inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quarantine_problems", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("candidate", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("ignored_fields", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", store.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=True))
    op.execute(
        "UPDATE intake_inbox SET status = 'discarded', review_note = 'purged before quarantine review existed' "
        "WHERE status = 'quarantined' AND body_purged_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("intake_inbox", schema=None) as batch_op:
        batch_op.drop_column("review_note")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("ignored_fields")
        batch_op.drop_column("candidate")
        batch_op.drop_column("quarantine_problems")
