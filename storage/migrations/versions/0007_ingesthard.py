"""feed_states.note: what the last successful check left out (feed health)

Revision ID: 0007_ingesthard
Revises: 0006_deliver
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_ingesthard"
down_revision = "0006_deliver"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed_states", schema=None) as batch_op:
        batch_op.drop_column("note")
