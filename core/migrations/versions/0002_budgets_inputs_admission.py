"""budgets, inputs, admission

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 08:10:18.634537
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "generation_inputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation_id", sa.String(length=32), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["generation_id"], ["generations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("generation_id", "index", name="uq_inputs_generation_index"),
    )
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mode", sa.String(length=16), nullable=False, server_default="text"))
        batch_op.add_column(sa.Column("extend_of_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period", sa.String(length=7), nullable=False, server_default=""))
        batch_op.create_index("ix_ledger_user_period", ["user_id", "period"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("monthly_budget_usd", sa.Numeric(precision=12, scale=4), nullable=True))
        batch_op.add_column(sa.Column("max_open_generations", sa.Integer(), nullable=True))

    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_uri", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_column("provider_uri")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("max_open_generations")
        batch_op.drop_column("monthly_budget_usd")

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_user_period")
        batch_op.drop_column("period")

    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_column("submitted_at")
        batch_op.drop_column("not_before")
        batch_op.drop_column("request_hash")
        batch_op.drop_column("extend_of_id")
        batch_op.drop_column("mode")

    op.drop_table("generation_inputs")
