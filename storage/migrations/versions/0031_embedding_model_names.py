"""room for an embedding server's model name next to each vector

A vector is stored with the name of the model that made it: the packaged model's, or (with
``SHIFTBRIEF_EMBED_MODEL``) the name an OpenAI-compatible server knows its model by, such as
``intfloat/multilingual-e5-small`` or ``jeffh/intfloat-multilingual-e5-small:q8_0``. Vectors of
another model are never read and are replaced as items are embedded again.

Revision ID: 0031_embedding_model_names
Revises: 0030_audit_by_tenant
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031_embedding_model_names"
down_revision = "0030_audit_by_tenant"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item_embeddings", schema=None) as batch_op:
        batch_op.alter_column(
            "model",
            existing_type=sa.String(length=64),
            type_=sa.String(length=200),
            existing_nullable=False,
        )


def downgrade() -> None:
    # Names longer than 64 characters are a server's: those vectors are made again on upgrade.
    op.execute(sa.text("DELETE FROM item_embeddings WHERE length(model) > 64"))
    with op.batch_alter_table("item_embeddings", schema=None) as batch_op:
        batch_op.alter_column(
            "model",
            existing_type=sa.String(length=200),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
