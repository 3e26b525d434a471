"""Shots that start from the shot before them; a film's soundtrack

generations.waits_for_shot_id: a take whose shot continues from (last frame) or extends the
previous shot waits, queued and reserved, until that shot has a finished take.
movies.soundtrack_*: the music a creator uploaded for the film, replacing or mixed under the shots' sound.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waits_for_shot_id", sa.String(length=32), nullable=True))
    with op.batch_alter_table("movies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("soundtrack_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("soundtrack_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("soundtrack_mode", sa.String(length=8), nullable=False, server_default="mix"))
        batch_op.add_column(sa.Column("soundtrack_level", sa.Float(), nullable=False, server_default="0.5"))


def downgrade() -> None:
    with op.batch_alter_table("movies", schema=None) as batch_op:
        for column in ("soundtrack_level", "soundtrack_mode", "soundtrack_name", "soundtrack_key"):
            batch_op.drop_column(column)
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_column("waits_for_shot_id")
