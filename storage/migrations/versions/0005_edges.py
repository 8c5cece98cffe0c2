"""seen signed requests (replay refusal); feed ids never reused on SQLite

Revision ID: 0005_edges
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0005_edges"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_requests",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_seen_requests")),
    )
    with op.batch_alter_table("seen_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_seen_requests_expires_at"), ["expires_at"], unique=False
        )
    if op.get_context().dialect.name == "sqlite":
        # SQLite cannot add AUTOINCREMENT to a table: rebuild it (storage.db.upgrade turns
        # foreign keys off around migrations, so dropping the old table cascades nowhere).
        with op.batch_alter_table(
            "feeds", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        with op.batch_alter_table(
            "feeds", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
    with op.batch_alter_table("seen_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seen_requests_expires_at"))
    op.drop_table("seen_requests")
