"""credentials with a lifetime: expiry on funder tokens and API keys, last use on funder tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 03:30:00

Hand-written.  Nullable columns only: existing tokens and keys keep working (NULL expiry means none) until an
administrator revokes them or issues replacements with a lifetime.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("funder_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", store.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", store.types.UtcDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", store.types.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("funder_tokens", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
