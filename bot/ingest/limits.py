"""What of a parsed feed may reach the database: text it accepts, and a bounded number of items.

Feed text is untrusted. PostgreSQL refuses a NUL character in any text value and a driver
cannot encode a lone surrogate (``&#xD800;`` decodes to one), and either would fail the whole
feed's transaction on every pass; both are dropped from every text field here, on every backend,
so a feed stores the same text wherever it runs. A feed with more entries than an ingest pass
should store keeps its newest ones, and says so in feed health.

Failures are reported by their reason, never their payload: a database error's text carries the
statement and every bound value (megabytes for a large feed), which belong in no log line.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from datetime import UTC, datetime

from bot.ingest.entries import ParsedFeed, ParsedItem
from storage.search import search_text

_REFUSED = re.compile("[\x00\ud800-\udfff]")
"""Characters no database column can hold: NUL (PostgreSQL) and lone surrogates (UTF-8)."""
_CHAR_REF = re.compile(rb"&#(x[0-9a-fA-F]{1,8}|[0-9]{1,10});")
_OLDEST = datetime.min.replace(tzinfo=UTC)
MAX_REASON_CHARS = 300


def storable_text(value: str) -> str:
    """``value`` without the characters a database refuses."""
    return _REFUSED.sub("", value) if _REFUSED.search(value) else value


def _refused_code(code: int) -> bool:
    return code == 0 or 0xD800 <= code <= 0xDFFF


def _drop_refused_reference(match: re.Match[bytes]) -> bytes:
    digits = match.group(1)
    code = int(digits[1:], 16) if digits[:1] == b"x" else int(digits)
    return b"" if _refused_code(code) else match.group(0)


def drop_refused_references(body: bytes) -> bytes:
    """``body`` without character references to NUL or a surrogate (``&#0;``, ``&#xD800;``):
    feedparser decodes them into text that no encoder accepts, and the whole feed fails."""
    if b"&#" not in body:
        return body
    return _CHAR_REF.sub(_drop_refused_reference, body)


def storable_optional(value: str | None) -> str | None:
    """``value`` without the characters a database refuses; None when nothing is left."""
    if value is None:
        return None
    return storable_text(value) or None


def storable_item(item: ParsedItem) -> ParsedItem:
    """``item`` with storable text, and its search text made from the text that is stored."""
    fields = (item.guid, item.link, item.title, item.summary, item.author)
    if any(value and _REFUSED.search(value) for value in fields):
        item = item._replace(
            guid=storable_optional(item.guid),
            link=storable_optional(item.link),
            title=storable_text(item.title),
            summary=storable_text(item.summary),
            author=storable_optional(item.author),
        )
    return item._replace(search_text=search_text(item.title, item.summary))


def storable_feed(parsed: ParsedFeed, *, max_items: int) -> tuple[ParsedFeed, str | None]:
    """The part of a parsed feed that is stored, and a note for feed health when some was left.

    Args:
        parsed: the feed as parsed.
        max_items: entries kept at most; the newest by date (entries without one count as
            older than any dated entry, and ties keep document order, newest-first by custom).

    Returns:
        The feed with storable text and at most ``max_items`` entries, in document order; a
        note saying how many entries were left out, or None.
    """
    items = parsed.items
    note = None
    if len(items) > max_items:
        ranked = sorted(
            range(len(items)),
            key=lambda i: (items[i].published_at or _OLDEST, -i),
            reverse=True,
        )
        kept = sorted(ranked[:max_items])
        note = (
            f"the feed has {len(items)} entries; only the newest {max_items} were read "
            f"(max_items_per_feed)"
        )
        items = tuple(items[i] for i in kept)
    cleaned = tuple(storable_item(item) for item in items)
    return (
        dataclasses.replace(
            parsed,
            title=storable_optional(parsed.title),
            site_url=storable_optional(parsed.site_url),
            declared_language=storable_optional(parsed.declared_language),
            items=cleaned,
        ),
        note,
    )


def failure_reason(exc: BaseException) -> str:
    """One line saying why ``exc`` happened, without the statement or values it carried.

    A SQLAlchemy error's text is the driver's message followed by the SQL and its parameters;
    only the driver's message (its first line) is kept.
    """
    cause: BaseException = exc
    name = exc.__class__.__name__
    # Only a process that loaded SQLAlchemy can hold its error; parser workers and the pass
    # over a migrated SQLite file (bot.ingest.plain_pass) never load it.
    if "sqlalchemy.exc" in sys.modules:
        from sqlalchemy.exc import StatementError

        if isinstance(exc, StatementError) and exc.orig is not None:
            cause = exc.orig
            name = f"{exc.__class__.__name__} ({cause.__class__.__name__})"
    text = str(cause).strip().splitlines()
    first = storable_text(text[0]) if text else ""
    if len(first) > MAX_REASON_CHARS:
        first = first[: MAX_REASON_CHARS - 1] + "…"
    return f"{name}: {first}" if first else name


def parse_storable(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    content_language: str | None,
    max_items: int,
) -> tuple[ParsedFeed, str | None]:
    """:func:`parse_feed`, then :func:`storable_feed`: one call for a thread or a worker."""
    from bot.ingest.parse import parse_feed

    parsed = parse_feed(
        drop_refused_references(body),
        url=url,
        content_type=content_type,
        content_language=content_language,
    )
    return storable_feed(parsed, max_items=max_items)
