"""index item_embeddings.created_at: the ask index loads only vectors stored since its last look

Revision ID: 0016_embedding_times
Revises: 0015_search_words
"""

from __future__ import annotations

from alembic import op

revision = "0016_embedding_times"
down_revision = "0015_search_words"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_item_embeddings_created_at", "item_embeddings", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_item_embeddings_created_at", table_name="item_embeddings")
