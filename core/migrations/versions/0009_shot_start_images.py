"""A film's start images, and shots that start from one (optionally matched to the previous shot's colours)

movie_images: pictures a creator uploads for a film (checked like any upload); shots.start_image_id names
the one a shot starts from (first-frame mode); shots.match_colours recolours it to the previous shot's last
frame (histogram matching) before it is sent.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "movie_images",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("movie_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["movie_id"], ["movies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("movie_id", "name", name="uq_movie_images_movie_name"),
    )
    with op.batch_alter_table("shots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_image_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("match_colours", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("shots", schema=None) as batch_op:
        batch_op.drop_column("match_colours")
        batch_op.drop_column("start_image_id")
    op.drop_table("movie_images")
