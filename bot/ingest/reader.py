"""What is done with a changed feed body off the event loop: read it, then the text work its
entries need. Both calls take and return plain values, so they run in a thread or in a parser
worker process (``bot.ingest.workers``) alike.

A feed never stored before is read and normalised in one call (every entry is new). A feed with
stored items comes back from :func:`read_document` as entries read but not normalised; ingest
looks up which of them are stored with the same raw text (``bot.ingest.matching``) and asks
:func:`finish_entries` for the rest only. A document whose entries repeat a GUID or a link, or
that has more entries than are stored from one document, is normalised whole, as before: which
entries count then depends on all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.ingest.entries import Document, ParsedItem, RawEntry
from bot.ingest.limits import drop_refused_references, storable_feed, storable_item
from bot.ingest.normalise import feed_without_entries, normalise_entries, normalise_feed
from bot.ingest.parse import read_feed

__all__ = ["Document", "finish_entries", "read_document"]


def read_document(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    content_language: str | None,
    max_items: int,
    stored: bool,
) -> Document:
    """Read ``body``; normalise its entries too unless ``stored`` (the feed has stored items).

    Raises:
        ParseError: the body is not a feed we can read (see ``bot.ingest.parse``).
    """
    raw = read_feed(
        drop_refused_references(body),
        url=url,
        content_type=content_type,
        content_language=content_language,
    )
    if stored and len(raw.entries) <= max_items and _keys_distinct(raw.entries):
        feed, _note = storable_feed(feed_without_entries(raw), max_items=max_items)
        return Document(feed, None, raw.entries)
    feed, note = storable_feed(normalise_feed(raw), max_items=max_items)
    return Document(feed, note, None)


def finish_entries(entries: Sequence[RawEntry], wanted: Sequence[int]) -> tuple[ParsedItem, ...]:
    """The entries at positions ``wanted``, normalised and storable, in document order;
    entries a reader would see nothing of are left out."""
    return tuple(storable_item(i) for i in normalise_entries(entries, wanted) if i is not None)


def _keys_distinct(entries: Sequence[RawEntry]) -> bool:
    # With no GUID or link repeated, ingest's matching uses both keys for every entry, as it
    # does for any subset of the entries: the ones not normalised cannot change the outcome.
    for key in ("guid", "link"):
        values = [getattr(e, key) for e in entries if getattr(e, key)]
        if len(values) != len(set(values)):
            return False
    return True
