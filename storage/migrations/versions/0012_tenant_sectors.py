"""sector keys and feed sector hints belong to the tenant

A tenant's own sector is stored under ``key@tenant_id`` (``storage.repositories.sectors``), so
two tenants can each have ``robots`` and neither learns of the other's; shared sectors keep
their keys. Item scores and reading links follow the rename. A feed's sector hint moves to
each tenant's follow (``feed_owners.sector_hint``): a tenant's hint for a URL another tenant
follows is kept, and nobody sees another's. ``feeds.sector_hint`` stays the shared catalog's.

Revision ID: 0012_tenant_sectors
Revises: 0011_subscriber_ids
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_tenant_sectors"
down_revision = "0011_subscriber_ids"
branch_labels = None
depends_on = None

_KEY_COLUMNS = (
    ("sectors", "key", False),
    ("item_sectors", "sector_key", False),
    ("related_reading", "sector_key", True),
)


_CHILDREN = tuple(
    sa.table(name, sa.column("sector_key", sa.String()))
    for name in ("item_sectors", "related_reading")
)
"""The tables that refer to a sector by key."""


def _widen(length: int, old: int) -> None:
    for table, column, nullable in _KEY_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=old),
                type_=sa.String(length=length),
                existing_nullable=nullable,
            )


def _rename(bind: sa.Connection, old: str, new: str) -> None:
    """Move sector ``old`` to key ``new``, with its item scores and reading links."""
    bind.execute(
        sa.text(
            "INSERT INTO sectors (key, name_en, name_ja, keywords, builtin, created_at, "
            "tenant_id) SELECT :new, name_en, name_ja, keywords, builtin, created_at, tenant_id "
            "FROM sectors WHERE key = :old"
        ),
        {"old": old, "new": new},
    )
    for table in _CHILDREN:
        bind.execute(table.update().where(table.c.sector_key == old).values(sector_key=new))
    bind.execute(sa.text("DELETE FROM sectors WHERE key = :old"), {"old": old})


def upgrade() -> None:
    _widen(64, 32)
    with op.batch_alter_table("feed_owners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sector_hint", sa.String(length=64), nullable=True))

    bind = op.get_bind()
    owned = bind.execute(
        sa.text("SELECT key, tenant_id FROM sectors WHERE tenant_id IS NOT NULL")
    ).all()
    for key, tenant_id in owned:
        _rename(bind, key, f"{key}@{tenant_id}")
    shared = set(bind.execute(sa.text("SELECT key FROM sectors WHERE tenant_id IS NULL")).scalars())
    own = {(key, tenant_id) for key, tenant_id in owned}
    follows = bind.execute(
        sa.text(
            "SELECT feed_owners.id, feed_owners.tenant_id, feeds.sector_hint FROM feed_owners "
            "JOIN feeds ON feeds.id = feed_owners.feed_id "
            "WHERE feeds.sector_hint IS NOT NULL AND feed_owners.tenant_id IS NOT NULL"
        )
    ).all()
    for owner_id, tenant_id, hint in follows:
        # The hint as this tenant sees it: its own sector, a shared one, or none it can see.
        if (hint, tenant_id) in own:
            stored: str | None = f"{hint}@{tenant_id}"
        elif hint in shared:
            stored = hint
        else:
            stored = None
        bind.execute(
            sa.text("UPDATE feed_owners SET sector_hint = :hint WHERE id = :id"),
            {"hint": stored, "id": owner_id},
        )
    # feeds.sector_hint is the shared catalog's hint from now on.
    bind.execute(
        sa.text(
            "UPDATE feeds SET sector_hint = NULL WHERE id NOT IN "
            "(SELECT feed_id FROM feed_owners WHERE tenant_id IS NULL)"
        )
    )


def downgrade() -> None:
    bind = op.get_bind()
    # A feed's hint comes back from a follow when the shared catalog has none.
    rows = bind.execute(
        sa.text(
            "SELECT feed_id, sector_hint FROM feed_owners WHERE sector_hint IS NOT NULL ORDER BY id"
        )
    ).all()
    for feed_id, hint in rows:
        bind.execute(
            sa.text("UPDATE feeds SET sector_hint = :hint WHERE id = :id AND sector_hint IS NULL"),
            {"hint": hint.partition("@")[0], "id": feed_id},
        )
    with op.batch_alter_table("feed_owners", schema=None) as batch_op:
        batch_op.drop_column("sector_hint")
    taken = set(bind.execute(sa.text("SELECT key FROM sectors")).scalars())
    for key in sorted(k for k in taken if "@" in k):
        plain = key.partition("@")[0]
        if plain in taken:  # another tenant's of the same name came first: it goes
            for table in _CHILDREN:
                bind.execute(table.delete().where(table.c.sector_key == key))
            bind.execute(sa.text("DELETE FROM sectors WHERE key = :key"), {"key": key})
            continue
        _rename(bind, key, plain)
        taken.add(plain)
    _widen(32, 64)
