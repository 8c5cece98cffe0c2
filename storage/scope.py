"""Which tenant's catalog rows a query sees: one tenant's view, the shared catalog, or all."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.orm import InstrumentedAttribute

EVERY: Literal["every"] = "every"

Scope = int | None | Literal["every"]
"""A tenant id (the shared catalog plus that tenant's own rows), None (the shared catalog
only) or ``EVERY`` (every row: ingest, classification, the operator's listings)."""


def visible(column: InstrumentedAttribute[int | None], scope: Scope) -> ColumnElement[bool]:
    """The condition that a row owned by ``column`` is seen in ``scope``."""
    if scope == EVERY:
        return true()
    if scope is None:
        return column.is_(None)
    return or_(column.is_(None), column == scope)
