"""movies, shots and characters; generations know the movie and shot they are a take of; videos' quality flags

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "movies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("style", sa.String(length=16), nullable=False),
        sa.Column("style_prompt", sa.Text(), nullable=False),
        sa.Column("style_negative", sa.Text(), nullable=False),
        sa.Column("aspect_ratio", sa.String(length=8), nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assembly_status", sa.String(length=16), nullable=False),
        sa.Column("assembly_seq", sa.Integer(), nullable=False),
        sa.Column("assembly_takes", sa.JSON(), nullable=True),
        sa.Column("assembly_message", sa.Text(), nullable=True),
        sa.Column("assembly_report", sa.JSON(), nullable=True),
        sa.Column("assembled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_movies_user_created", "movies", ["user_id", "created_at"], unique=False)
    op.create_table(
        "shots",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("movie_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("join", sa.String(length=16), nullable=False),
        sa.Column("chosen_generation_id", sa.String(length=32), nullable=True),
        sa.Column("character_ids", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["movie_id"], ["movies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("movie_id", "position", name="uq_shots_movie_position"),
    )
    op.create_table(
        "characters",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("movie_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["movie_id"], ["movies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("movie_id", "name", name="uq_characters_movie_name"),
    )
    op.create_table(
        "character_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("character_id", sa.String(length=32), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["character_id"], ["characters.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("character_id", "index", name="uq_character_images_index"),
    )
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("movie_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("shot_id", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_generations_movie_id", ["movie_id"], unique=False)
        batch_op.create_index("ix_generations_shot_id", ["shot_id"], unique=False)
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quality_flags", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_column("quality_flags")
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_index("ix_generations_shot_id")
        batch_op.drop_index("ix_generations_movie_id")
        batch_op.drop_column("shot_id")
        batch_op.drop_column("movie_id")
    op.drop_table("character_images")
    op.drop_table("characters")
    op.drop_table("shots")
    op.drop_index("ix_movies_user_created", table_name="movies")
    op.drop_table("movies")
