"""Read a fetched feed document with feedparser. Pure and CPU-bound: run it off the loop.

feedparser reads every document, with the response's headers, so encodings, relative links and
xml:base resolve as the publisher meant and broken or exotic feeds still come through. Before
feedparser sees a document, its entity declarations are checked, so an entity-expansion bomb is
refused without being expanded. :func:`read_feed` gives the entries as read (keys final, text
raw); ``bot.ingest.normalise`` does the text work, and :func:`parse_feed` does both for a whole
document.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime
from typing import Any

import feedparser

from bot.ingest.entries import (
    ParsedFeed,
    ParsedItem,
    ParseError,
    RawEntry,
    RawFeed,
    tidy_categories,
)
from bot.ingest.limits import storable_optional
from bot.ingest.normalise import clean_url, content_hash, html_to_text, normalise_feed, raw_hash

__all__ = [
    "ParseError",
    "ParsedFeed",
    "ParsedItem",
    "check_entity_declarations",
    "content_hash",
    "html_to_text",
    "parse_feed",
    "read_feed",
    "response_headers",
    "warm_up",
]

_ENTITY_DECL = re.compile(
    r"<!ENTITY\s+(%\s+)?[^\s>]+\s+(SYSTEM|PUBLIC|\"[^\"]*\"|'[^']*')", re.IGNORECASE
)
_CHAR_REF = re.compile(r"&#(?:[0-9]+|x[0-9A-Fa-f]+);")
_MAX_SAFE_ENTITY_VALUE = 64
_MAX_ENTITY_DECLS = 256


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    content_language: str | None = None,
) -> ParsedFeed:
    """Parse and normalise one feed document.

    Args:
        body: the document as fetched (decompressed).
        url: where it came from after redirects; relative links resolve against it.
        content_type: the HTTP Content-Type, whose charset can override the XML declaration.
        content_language: the HTTP Content-Language, for feeds that declare none themselves.

    Raises:
        ParseError: the document is empty, not a feed, unreadable, or declares XML entities
            in a way that could expand without bound.
    """
    raw = read_feed(body, url=url, content_type=content_type, content_language=content_language)
    return normalise_feed(raw)


def read_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    content_language: str | None = None,
) -> RawFeed:
    """The document's metadata and entries as read: GUIDs and links as stored, text as given.

    Raises:
        ParseError: as :func:`parse_feed`.
    """
    if not body.strip():
        raise ParseError("the document is empty")
    check_entity_declarations(body)
    headers = response_headers(
        url=url, content_type=content_type, content_language=content_language
    )
    return _read(body, headers=headers)


def warm_up() -> None:
    """Load the lazy parts of reading and normalising (the language model) once per process."""
    from bot.ingest.language import detect_language

    detect_language("warm up the language model")


def check_entity_declarations(body: bytes) -> None:
    """Refuse documents whose entity declarations could expand without bound ("billion laughs").

    Short literal entities such as ``<!ENTITY nbsp "&#160;">`` occur in real feeds and are
    kept; entities that refer to other entities, parameter entities and external entities are
    refused before any XML parser sees them. (expat 2.4+ also limits amplification, but its
    failure costs seconds of CPU and feedparser then retries with its loose parser.)

    Raises:
        ParseError: a dangerous declaration was found.
    """
    text = _ascii_view(body)
    if "<!ENTITY" not in text:  # XML keywords are case-sensitive
        return
    decls = _ENTITY_DECL.findall(text)
    if len(decls) > _MAX_ENTITY_DECLS:
        raise ParseError("refused: the feed declares too many XML entities")
    for is_param, value in decls:
        if is_param or value.upper() in ("SYSTEM", "PUBLIC"):
            raise ParseError("refused: the feed declares external or parameter XML entities")
        inner = _CHAR_REF.sub("", value[1:-1])  # &#160; is a character, not an entity
        if "&" in inner or "%" in inner or len(inner) > _MAX_SAFE_ENTITY_VALUE:
            raise ParseError(
                "refused: the feed declares nested XML entities (entity-expansion attack)"
            )


def _ascii_view(body: bytes) -> str:
    """The document as text good enough to find markup, whatever its encoding."""
    head = body[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) == 4 and 0 in head):
        for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            try:
                return body.decode(codec)
            except UnicodeDecodeError:
                continue
    return body.decode("latin-1")


# --- reading with feedparser ---------------------------------------------------------------


def response_headers(
    *, url: str, content_type: str | None = None, content_language: str | None = None
) -> dict[str, str]:
    """The HTTP headers feedparser needs to read a document the way its server meant it.

    Content-Location is the final URL, which relative links resolve against (after any
    xml:base); Content-Type carries the charset that can override the XML declaration;
    Content-Language is the feed's language when the document does not declare one. A missing
    Content-Type becomes ``application/xml`` without a charset, so the document is decoded by
    its own declaration (its BOM or ``<?xml encoding=...?>``, else UTF-8, as XML says): given
    headers without one, feedparser would fall back to ISO-8859-1 and turn UTF-8 into mojibake.
    """
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    if content_language:
        headers["content-language"] = content_language
    return headers


def _read(body: bytes, *, headers: dict[str, str]) -> RawFeed:
    try:
        # We strip HTML to text ourselves, so feedparser's sanitizer and its rewriting of links
        # inside HTML would only cost time; links of entries and of the feed still resolve.
        result: Any = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser's loose parser can fail in unexpected ways
        raise ParseError(f"the feed could not be parsed ({exc.__class__.__name__}: {exc})") from exc
    entries = result.get("entries") or []
    if not entries and not result.get("version"):
        if result.get("bozo"):
            reason = result.get("bozo_exception")
            raise ParseError(f"not a readable RSS or Atom feed ({reason})")
        raise ParseError("not an RSS or Atom feed")
    feed = result.get("feed") or {}
    return RawFeed(
        title=_str(feed.get("title")),
        site_url=_str(feed.get("link")),
        language=_str(feed.get("language")),
        ttl=_str(feed.get("ttl")),
        entries=tuple(_entry(e) for e in entries),
    )


def _entry(e: Any) -> RawEntry:
    title = _str(e.get("title")) or ""
    summary = _str(e.get("summary")) or _first_content(e) or ""
    return RawEntry(
        guid=storable_optional(clean_url(_str(e.get("id")))),
        link=storable_optional(clean_url(_str(e.get("link")))),
        title=title,
        summary=summary,
        author=_str(e.get("author")),
        published_at=_entry_date(e),
        raw_hash=raw_hash(title, summary),
        categories=_categories(e),
    )


def _categories(entry: Any) -> tuple[str, ...]:
    """The entry's categories (RSS ``<category>``, Atom ``category term``: feedparser's
    ``tags``)."""
    tags = entry.get("tags") or ()
    return tidy_categories(t.get("term") for t in tags if isinstance(t, dict))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _first_content(entry: Any) -> str | None:
    content = entry.get("content")
    if isinstance(content, list) and content:
        return _str(content[0].get("value"))
    return None


def _entry_date(entry: Any) -> datetime | None:
    # feedparser gives every date as a struct_time in UTC, whatever zone the feed wrote.
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            return _struct_to_datetime(parsed)
    return None


def _struct_to_datetime(parsed: time.struct_time | None) -> datetime | None:
    if parsed is None:
        return None
    try:
        when = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return when if 1990 <= when.year <= 2200 else None
