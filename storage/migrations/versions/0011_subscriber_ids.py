"""subscriber ids never reused on SQLite (they are the schedule ids admins type)

A deleted channel schedule's id went to the next subscriber created, so a stale
``schedule remove 2`` removed another channel's schedule. AUTOINCREMENT, as feeds have had
since 0005.

Revision ID: 0011_subscriber_ids
Revises: 0010_tenants
"""

from __future__ import annotations

from alembic import op

revision = "0011_subscriber_ids"
down_revision = "0018_learning_since"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        # SQLite cannot add AUTOINCREMENT to a table: rebuild it (storage.db.upgrade turns
        # foreign keys off around migrations, so dropping the old table cascades nowhere).
        with op.batch_alter_table(
            "subscribers", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        with op.batch_alter_table(
            "subscribers", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
