"""editor texts: what a language model wrote, keyed by content, language, model, prompt

Revision ID: 0008_editor
Revises: 0007_ingesthard
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008_editor"
down_revision = "0007_ingesthard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "editor_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_version", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_editor_texts")),
        sa.UniqueConstraint(
            "content_hash",
            "language",
            "model",
            "prompt_version",
            name=op.f("uq_editor_texts_content_hash"),
        ),
    )
    with op.batch_alter_table("editor_texts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_editor_texts_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("editor_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_editor_texts_created_at"))
    op.drop_table("editor_texts")
