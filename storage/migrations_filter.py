"""Which database objects Alembic's autogenerate compares (used by env.py and a drift test)."""

from __future__ import annotations


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Skip the FTS5 shadow tables and APScheduler's job table: they are not ours to manage."""
    if type_ == "table" and name is not None:
        return not name.startswith(("items_fts", "apscheduler"))
    return not (type_ == "index" and name == "ix_items_search")
