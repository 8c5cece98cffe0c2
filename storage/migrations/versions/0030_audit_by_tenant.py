"""audit log read per tenant, newest first (``/brief admin audit``)

Revision ID: 0030_audit_by_tenant
Revises: 0010_tenants
"""

from __future__ import annotations

from alembic import op

revision = "0030_audit_by_tenant"
down_revision = "0012_tenant_sectors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_tenant_id_at", ["tenant_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_tenant_id_at")
