"""analytics columns: provider time, spend by model that survives deletes; rollups of sealed days

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 4)


def upgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_done_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_generations_created", ["created_at"], unique=False)
        batch_op.create_index("ix_generations_finished", ["finished_at"], unique=False)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("charged_usd", MONEY, nullable=True))
        batch_op.create_index("ix_ledger_kind_created", ["kind", "created_at"], unique=False)
        batch_op.create_index("ix_ledger_created", ["created_at"], unique=False)
    # The Analytics page's rollups, filled by core.services.rollups as days are sealed.
    op.create_table(
        "rollup_generations",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("generations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model", "status"),
    )
    op.create_table(
        "rollup_durations",
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("generations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "day", "model", "stage", "bucket"),
    )
    op.create_table(
        "rollup_spend",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("charged_usd", MONEY, nullable=False),
        sa.Column("settles", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model"),
    )
    op.create_table(
        "rollup_budget",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("committed_usd", MONEY, nullable=False),
        sa.Column("charged_usd", MONEY, nullable=False),
        sa.Column("settles", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "user_id", "period"),
    )
    op.create_index("ix_rollup_budget_period", "rollup_budget", ["period", "day"], unique=False)
    # Backfill from the generations that still exist: their model, and a settled generation's real cost.
    op.execute(
        "UPDATE ledger_entries SET model = (SELECT g.model FROM generations g WHERE g.id = ledger_entries.generation_id)"
        " WHERE generation_id IS NOT NULL"
    )
    op.execute(
        "UPDATE ledger_entries SET charged_usd = (SELECT g.cost_usd FROM generations g"
        " WHERE g.id = ledger_entries.generation_id) WHERE kind = 'settle' AND generation_id IS NOT NULL"
    )
    op.execute("UPDATE ledger_entries SET model = '' WHERE model IS NULL")


def downgrade() -> None:
    op.drop_index("ix_rollup_budget_period", table_name="rollup_budget")
    op.drop_table("rollup_budget")
    op.drop_table("rollup_spend")
    op.drop_table("rollup_durations")
    op.drop_table("rollup_generations")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_created")
        batch_op.drop_index("ix_ledger_kind_created")
        batch_op.drop_column("charged_usd")
        batch_op.drop_column("model")
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_index("ix_generations_finished")
        batch_op.drop_index("ix_generations_created")
        batch_op.drop_column("provider_done_at")
