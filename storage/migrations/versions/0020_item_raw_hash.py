"""keep the raw hash of the text each item was stored from (ingest skips the text work of
entries stored unchanged)

Revision ID: 0020_item_raw_hash
Revises: 0010_tenants
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_item_raw_hash"
down_revision = "0031_embedding_model_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Items stored before have none: their entries are normalised once more when their feed
    # next changes, and get one then.
    # A plain ADD COLUMN on SQLite as well: rebuilding the table would drop its search triggers.
    op.add_column("items", sa.Column("raw_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN as well (SQLite has one since 3.35), for the same reason.
    op.drop_column("items", "raw_hash")
