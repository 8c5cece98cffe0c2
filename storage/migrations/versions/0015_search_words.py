"""search text: Latin words glued to Japanese text are split from it

``storage.search`` once read "GWシティで自動運転バス" as one Latin-led token, so no query for
自動運転バス found such a headline. The indexable text of every stored item is written again
with the corrected tokenizer; the SQLite FTS5 triggers and PostgreSQL's expression index follow.

Revision ID: 0015_search_words
Revises: 0010_tenants
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.search import search_text

revision = "0015_search_words"
down_revision = "0010_tenants"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    conn = op.get_bind()
    items = sa.table(
        "items",
        sa.column("id", sa.Integer),
        sa.column("title", sa.Text),
        sa.column("summary", sa.Text),
        sa.column("search_text", sa.Text),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(items.c.id, items.c.title, items.c.summary, items.c.search_text)
            .where(items.c.id > last)
            .order_by(items.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        changed = [
            {"item_id": row.id, "text": new}
            for row in rows
            if (new := search_text(row.title or "", row.summary or "")) != row.search_text
        ]
        if changed:
            conn.execute(
                items.update()
                .where(items.c.id == sa.bindparam("item_id"))
                .values(search_text=sa.bindparam("text")),
                changed,
            )
        last = rows[-1].id


def downgrade() -> None:
    # The old text only missed matches; the corrected one is a fine index for older code too.
    pass
