"""Which database objects Alembic's autogenerate compares (used by env.py and a drift test)."""

from __future__ import annotations


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Skip tables that are not ours to manage: the FTS5 shadow tables, APScheduler's job table
    and slack_sdk's installation and OAuth state tables (each library creates its own)."""
    if type_ == "table" and name is not None:
        return not name.startswith(("items_fts", "apscheduler", "slack_"))
    return not (type_ == "index" and name == "ix_items_search")
