"""export delivery: funder tokens, download log, covering index for outcome aggregates

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funder_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("funder", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=True),
        sa.Column("created_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funder_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_funder_tokens_token_hash")),
    )
    with op.batch_alter_table("funder_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_funder_tokens_funder"), ["funder"], unique=False)

    op.create_table(
        "export_downloads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("requested", sa.String(length=80), nullable=False),
        sa.Column("funder", sa.String(length=80), nullable=True),
        sa.Column("token_id", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_downloads")),
    )
    with op.batch_alter_table("export_downloads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_downloads_funder"), ["funder"], unique=False)

    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_survey_responses_pairs",
            ["cohort", "measure", "participant", "phase", "value", "collected_on"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_responses_pairs")
    with op.batch_alter_table("export_downloads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_downloads_funder"))
    op.drop_table("export_downloads")
    with op.batch_alter_table("funder_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funder_tokens_funder"))
    op.drop_table("funder_tokens")
