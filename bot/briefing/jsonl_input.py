"""Reading one JSON Lines item for ``shiftbrief classify`` and ``shiftbrief cluster``.

Both commands take one JSON object per line and answer a line they cannot read with its error
and the run goes on; this is the part of reading they share.
"""

from __future__ import annotations

import json
from typing import Any


class LineError(ValueError):
    """A line that is not an item, with the item's ``id`` when it could be read (else None)."""

    def __init__(self, message: str, item_id: object = None) -> None:
        super().__init__(message)
        self.item_id = item_id


def read_item(line: str, text_fields: dict[str, str | None]) -> tuple[object, dict[str, Any]]:
    """The ``id`` of the object on ``line`` and its fields.

    Args:
        text_fields: each optional string field and its default (absent, null or empty ->
            the default; a default of None keeps an absent field None);
            ``title`` is always required and a string.

    Raises:
        LineError: not JSON, not an object, or a field of the wrong type (``id`` given back
            when it is a plain value).
    """
    try:
        item = json.loads(line)
    except ValueError as exc:  # json.JSONDecodeError
        raise LineError(str(exc)) from None
    if not isinstance(item, dict):
        raise LineError("expected a JSON object")
    item_id = item.get("id")
    if isinstance(item_id, dict | list):
        item_id = None
    if not isinstance(item.get("title"), str):
        raise LineError("'title' must be a string", item_id)
    fields: dict[str, Any] = {"title": item["title"]}
    for key, default in text_fields.items():
        value = item.get(key)
        if default is not None:
            value = value or default  # absent, null or empty: the default
        if value is not None and not isinstance(value, str):
            raise LineError(f"{key!r} must be a string", item_id)
        fields[key] = value
    return item_id, {**item, **fields}
