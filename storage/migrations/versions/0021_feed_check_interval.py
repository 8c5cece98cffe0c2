"""keep the interval a feed's last successful check scheduled (the claim's lease hides it)

Revision ID: 0021_feed_check_interval
Revises: 0025_item_categories
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_feed_check_interval"
down_revision = "0025_item_categories"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Feeds checked before keep NULL until their next successful check; until then the
    # interval is read as before, from the next check and the last one.
    op.add_column("feed_states", sa.Column("check_interval", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed_states") as batch:
        batch.drop_column("check_interval")
