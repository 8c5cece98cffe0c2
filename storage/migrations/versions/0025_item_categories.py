"""keep the publisher's categories of each item (evidence of its sector)

Revision ID: 0025_item_categories
Revises: 0020_item_raw_hash
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_item_categories"
down_revision = "0020_item_raw_hash"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Items stored before have none (their sectors were decided without); an entry edited
    # later gets its categories with its new text.
    # A plain ADD COLUMN on SQLite as well: rebuilding the table would drop its search triggers.
    op.add_column("items", sa.Column("categories", sa.JSON(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN as well (SQLite has one since 3.35), for the same reason.
    op.drop_column("items", "categories")
