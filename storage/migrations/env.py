"""Alembic environment: always run through storage.db.upgrade with a live connection."""

from __future__ import annotations

from alembic import context

from storage.migrations_filter import include_object
from storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - alembic CLI use is not supported
    raise RuntimeError("run migrations with `shiftbrief db upgrade`")


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
