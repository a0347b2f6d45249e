"""intake inbox and API keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00

Hand-written (the lead relinks the chain at merge).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0004"
# Assigned "0001"; set to "0002" on this branch once the job queue (0002) was merged in, so there is one head.
# The lead relinks the chain at merge.
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("receipt_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.String(length=255), nullable=False),
        sa.Column("received_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("raw_body", sa.LargeBinary(), nullable=True),
        sa.Column("body_purged_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("submission", sa.JSON(), nullable=True),
        sa.Column("email_hash", sa.String(length=24), nullable=True),
        sa.Column("quarantined", sa.Boolean(), nullable=False),
        sa.Column("quarantine_reason", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("crm_object", sa.String(length=40), nullable=True),
        sa.Column("crm_id", sa.String(length=40), nullable=True),
        sa.Column("processed_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_inbox")),
        sa.UniqueConstraint("receipt_id", name=op.f("uq_intake_inbox_receipt_id")),
        sa.UniqueConstraint("source", "delivery_id", name="uq_intake_inbox_source_delivery_id"),
    )
    with op.batch_alter_table("intake_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_intake_inbox_received_at", ["received_at"], unique=False)
        batch_op.create_index("ix_intake_inbox_status", ["status"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("name", name=op.f("uq_api_keys_name")),
        sa.UniqueConstraint("key_id", name=op.f("uq_api_keys_key_id")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    with op.batch_alter_table("intake_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_inbox_status")
        batch_op.drop_index("ix_intake_inbox_received_at")
    op.drop_table("intake_inbox")
