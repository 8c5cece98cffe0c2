"""What reading a feed document produces, as plain values (no parser imported here).

Entries are named tuples: a worker process returns thousands of them, and a tuple pickles and
unpickles at a fraction of a dataclass's cost. The event loop's side of ingest imports these
types without loading the parsers, which only a changed body needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


class ParseError(Exception):
    """The document is not a feed we can read; the message says why."""


class RawEntry(NamedTuple):
    """One entry as the document gave it: keys final, text not yet normalised."""

    guid: str | None
    link: str | None
    title: str
    """The title as feedparser gave it (HTML possibly inside)."""
    summary: str
    """The summary, or the first content when there is none, as feedparser gave it."""
    author: str | None
    published_at: datetime | None
    raw_hash: str
    """Identity of ``title`` and ``summary`` and of the rules that normalise them: an entry
    whose stored item has the same one needs no text work (``bot.ingest.normalise``)."""


class ParsedItem(NamedTuple):
    """One entry, normalised to plain text."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    author: str | None
    published_at: datetime | None
    language: str
    content_hash: str
    raw_hash: str | None = None
    search_text: str | None = None
    """Title and summary in the indexable form of ``storage.search``, made where the text was."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document's metadata and its entries, in document order."""

    title: str | None
    site_url: str | None
    declared_language: str | None
    language: str
    """Detected from the entries' text; 'und' when there is none (or it was not needed)."""
    ttl_seconds: int | None
    items: tuple[ParsedItem, ...]


class Document(NamedTuple):
    """A changed body, read (``bot.ingest.reader.read_document``): what a parser worker sends
    back, defined here so that unpickling it loads no parser in the process that stores."""

    feed: ParsedFeed
    """Storable metadata, with every entry normalised, or none when ``entries`` is given."""
    note: str | None
    """For feed health: what of the document was left out (see ``bot.ingest.limits``)."""
    entries: tuple[RawEntry, ...] | None
    """Every entry as read, when the text work waits for the look-up of stored ones."""


@dataclass(frozen=True, slots=True)
class RawFeed:
    """A feed document as read, before any text work."""

    title: str | None
    site_url: str | None
    language: str | None
    ttl: str | None
    entries: tuple[RawEntry, ...]
