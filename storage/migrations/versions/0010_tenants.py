"""tenants own feeds, sectors and related reading; NULL is the operator's shared catalog

An install with exactly one tenant gives it its existing feeds, admin-made sectors and
related reading, so its admins keep managing them in chat; with several tenants (or none)
they become the shared catalog, which every tenant sees read-only. Built-in sectors are
always shared.

Revision ID: 0010_tenants
Revises: 0009_embed
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0010_tenants"
down_revision = "0009_embed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_owners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_feed_owners_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_feed_owners_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_owners")),
        sa.UniqueConstraint("feed_id", "tenant_id", name=op.f("uq_feed_owners_feed_id")),
    )
    op.create_index("ix_feed_owners_tenant_id", "feed_owners", ["tenant_id"])
    op.create_index(
        "uq_feed_owners_shared",
        "feed_owners",
        ["feed_id"],
        unique=True,
        sqlite_where=sa.text("tenant_id IS NULL"),
        postgresql_where=sa.text("tenant_id IS NULL"),
    )
    for table in ("sectors", "related_reading"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("tenant_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                op.f(f"fk_{table}_tenant_id_tenants"),
                "tenants",
                ["tenant_id"],
                ["id"],
                ondelete="CASCADE",
            )
            batch_op.create_index(op.f(f"ix_{table}_tenant_id"), ["tenant_id"], unique=False)

    bind = op.get_bind()
    tenants = bind.execute(sa.text("SELECT id FROM tenants ORDER BY id LIMIT 2")).scalars().all()
    owner = tenants[0] if len(tenants) == 1 else None
    bind.execute(
        sa.text(
            "INSERT INTO feed_owners (feed_id, tenant_id, created_at) "
            "SELECT id, :owner, created_at FROM feeds"
        ),
        {"owner": owner},
    )
    if owner is not None:
        bind.execute(
            sa.text("UPDATE sectors SET tenant_id = :owner WHERE builtin = :no"),
            {"owner": owner, "no": False},
        )
        bind.execute(sa.text("UPDATE related_reading SET tenant_id = :owner"), {"owner": owner})


def downgrade() -> None:
    for table in ("related_reading", "sectors"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(op.f(f"ix_{table}_tenant_id"))
            batch_op.drop_constraint(op.f(f"fk_{table}_tenant_id_tenants"), type_="foreignkey")
            batch_op.drop_column("tenant_id")
    op.drop_index("uq_feed_owners_shared", table_name="feed_owners")
    op.drop_index("ix_feed_owners_tenant_id", table_name="feed_owners")
    op.drop_table("feed_owners")
