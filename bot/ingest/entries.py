"""What reading a feed document produces, as plain values (no parser imported here).

Entries are named tuples: a worker process returns thousands of them, and a tuple pickles and
unpickles at a fraction of a dataclass's cost. The event loop's side of ingest imports these
types without loading the parsers, which only a changed body needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

MAX_CATEGORIES = 20
"""Categories kept per entry: a feed that tags an entry with dozens of keywords says no more."""
MAX_CATEGORY_CHARS = 100
"""A longer category is a sentence, not a section's name; it is cut to this length."""
_REFUSED = "\x00"


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
    categories: tuple[str, ...] = ()
    """The publisher's categories of the entry (``tidy_categories``)."""


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
    categories: tuple[str, ...] = ()
    """The publisher's categories (RSS ``<category>``, Atom ``category term``), evidence of the
    item's sector (``bot.briefing.categories``)."""


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


def tidy_categories(terms: Iterable[object]) -> tuple[str, ...]:
    """The categories of an entry as they are stored: strings only, spaces collapsed, NUL
    dropped, cut to ``MAX_CATEGORY_CHARS``, without repeats (ignoring case), at most
    ``MAX_CATEGORIES``. ``shiftbrief classify`` reads a line's ``categories`` the same way."""
    kept: dict[str, str] = {}
    for term in terms:
        if not isinstance(term, str):
            continue
        text = " ".join(term.replace(_REFUSED, " ").split())[:MAX_CATEGORY_CHARS]
        if text and text.casefold() not in kept:
            kept[text.casefold()] = text
            if len(kept) >= MAX_CATEGORIES:
                break
    return tuple(kept.values())
