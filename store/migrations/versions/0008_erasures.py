"""erasures: the record `ignite-sync forget` leaves of a person; api_keys.role for the administrator's key

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:15:00

Hand-written.  A new table, and a role on API keys: existing keys become `import` keys (what they could do
before); `forget` over the API needs an `admin` key made with `ignite-sync api-key create NAME --admin`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("requested_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("crm_policy", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("crm_result", sa.JSON(), nullable=True),
        sa.Column("exports_delivered_before", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("completed_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("override_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("override_by", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_erasures_key_hash")),
    )
    op.create_index("ix_erasures_email_hash", "erasures", ["email_hash"])
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="import"))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("role")
    op.drop_index("ix_erasures_email_hash", table_name="erasures")
    op.drop_table("erasures")
