"""sync issues: the issue records the sync wrote to the CRM for development staff (issue 14)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:30:00

Hand-written.  A new table only; an existing database starts with none written, so the first run after the
upgrade writes an issue record for every problem row (within the per-run bound).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_issues",
        sa.Column("record_key", sa.String(length=80), nullable=False),
        sa.Column("step", sa.String(length=80), nullable=False),
        sa.Column("issue_key", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_key", "step"),
        sa.UniqueConstraint("issue_key"),
    )
    op.create_index("ix_sync_issues_status", "sync_issues", ["status"])


def downgrade() -> None:
    op.drop_index("ix_sync_issues_status", table_name="sync_issues")
    op.drop_table("sync_issues")
