"""Turn a fetched feed document into normalised items. Pure and CPU-bound: run it off the loop.

feedparser reads every document, with the response's headers, so encodings, relative links and
xml:base resolve as the publisher meant and broken or exotic feeds still come through. One
normalisation follows: HTML to plain text, whitespace collapsed, publishers' boilerplate
removed (``bot.ingest.boilerplate``), dates in aware UTC, a language (``bot.ingest.language``)
detected from the text (feeds often declare the wrong one), and a content hash of title and
summary that ignores dates and GUIDs. Before feedparser sees a document, its entity declarations
are checked, so an entity-expansion bomb is refused without being expanded.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from typing import Any

import feedparser
from selectolax.lexbor import LexborHTMLParser

from bot.ingest.boilerplate import clean
from bot.ingest.language import detect_language, item_language

MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 4000
"""Longer summaries are cut at a word: briefings quote a few sentences, never whole articles."""
MAX_AUTHOR_CHARS = 500
MAX_URL_CHARS = 2048

_WS = re.compile(r"\s+")
_TAG_LIKE = re.compile(r"<[a-zA-Z/!][^>]*>")
_ENTITY_DECL = re.compile(
    r"<!ENTITY\s+(%\s+)?[^\s>]+\s+(SYSTEM|PUBLIC|\"[^\"]*\"|'[^']*')", re.IGNORECASE
)
_CHAR_REF = re.compile(r"&#(?:[0-9]+|x[0-9A-Fa-f]+);")
_CDATA_MARKER = re.compile(r"<!\[CDATA\[|\]\]>")
_MAX_SAFE_ENTITY_VALUE = 64
_MAX_ENTITY_DECLS = 256


class ParseError(Exception):
    """The document is not a feed we can read; the message says why."""


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One entry, normalised to plain text."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    author: str | None
    published_at: datetime | None
    language: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document's metadata and its entries, in document order."""

    title: str | None
    site_url: str | None
    declared_language: str | None
    language: str
    """Detected from the entries' text; 'und' when there is none."""
    ttl_seconds: int | None
    items: tuple[ParsedItem, ...]


@dataclass(slots=True)
class _RawEntry:
    guid: str | None = None
    link: str | None = None
    title: str = ""
    summary: str = ""
    author: str | None = None
    published_at: datetime | None = None


@dataclass(slots=True)
class _RawFeed:
    title: str | None
    site_url: str | None
    language: str | None
    ttl: str | None
    entries: list[_RawEntry]


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
    if not body.strip():
        raise ParseError("the document is empty")
    check_entity_declarations(body)
    headers = response_headers(
        url=url, content_type=content_type, content_language=content_language
    )
    return _normalise(_read(body, headers=headers))


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


def _read(body: bytes, *, headers: dict[str, str]) -> _RawFeed:
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
    raw_entries = [
        _RawEntry(
            guid=_str(e.get("id")),
            link=_str(e.get("link")),
            title=_str(e.get("title")) or "",
            summary=_str(e.get("summary")) or _first_content(e) or "",
            author=_str(e.get("author")),
            published_at=_entry_date(e),
        )
        for e in entries
    ]
    return _RawFeed(
        title=_str(feed.get("title")),
        site_url=_str(feed.get("link")),
        language=_str(feed.get("language")),
        ttl=_str(feed.get("ttl")),
        entries=raw_entries,
    )


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


# --- normalisation -------------------------------------------------------------------------


def html_to_text(value: str) -> str:
    """Plain text from an HTML fragment: tags dropped, entities unescaped, whitespace collapsed.

    Text escaped twice (``&amp;lt;p&amp;gt;``, seen in real feeds) is unwrapped once more, and
    so is a CDATA section that arrives as text (GIGAZINE escapes its CDATA): an HTML parser would
    take ``<![CDATA[`` for the start of a comment and drop everything up to the next ``>``.
    """
    text = value
    for _ in range(2):
        if "<" not in text and "&" not in text:
            break
        if "<![CDATA[" in text:
            text = _CDATA_MARKER.sub("", text)
        tree = LexborHTMLParser(text)
        for junk in tree.css("script, style"):
            junk.decompose()
        text = tree.text(separator=" ") or ""
        if not _TAG_LIKE.search(text):
            break
    return _WS.sub(" ", text).strip()


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def content_hash(title: str, summary: str) -> str:
    """The identity of an item's text: normalised title and summary, never its date or GUID."""
    key = f"{title.casefold()}\n{summary.casefold()}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _sample(entries: Iterable[tuple[str, str]]) -> str:
    parts: list[str] = []
    for title, summary in entries:
        parts.append(title)
        parts.append(summary[:200])
        if len(parts) >= 40:
            break
    return " ".join(parts)


def _clean_url(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if "&#" in value:
        # Escaped twice by the publisher ("20231017&amp;#45;gpt" in the XML): a numeric
        # character reference is never meant literally in a URL. Named ones are left alone,
        # since "?a=1&copy=2" is a real query string.
        value = _CHAR_REF.sub(lambda m: unescape(m.group(0)), value)
    return value[:MAX_URL_CHARS] if value else None


def _normalised_entries(raw: _RawFeed) -> Iterator[tuple[_RawEntry, str, str]]:
    for entry in raw.entries:
        # Boilerplate goes before the cut, so a cut never leaves half of "The post ...".
        title = _cut(clean(html_to_text(entry.title), "title"), MAX_TITLE_CHARS)
        summary = _cut(clean(html_to_text(entry.summary), "summary"), MAX_SUMMARY_CHARS)
        if not title and not summary:
            continue  # nothing a reader could see
        yield entry, title, summary


def _normalise(raw: _RawFeed) -> ParsedFeed:
    rows = list(_normalised_entries(raw))
    feed_language = detect_language(_sample((t, s) for _e, t, s in rows))
    items = tuple(
        ParsedItem(
            guid=_clean_url(entry.guid),
            link=_clean_url(entry.link),
            title=title or _cut(summary, 120),
            summary=summary,
            author=_cut(html_to_text(entry.author), MAX_AUTHOR_CHARS) if entry.author else None,
            published_at=entry.published_at,
            language=item_language(f"{title} {summary[:300]}", feed_language),
            content_hash=content_hash(title, summary),
        )
        for entry, title, summary in rows
    )
    title = clean(html_to_text(raw.title), "feed") if raw.title else None
    return ParsedFeed(
        title=_cut(title, 500) if title else None,
        site_url=_clean_url(raw.site_url),
        declared_language=(raw.language or "").strip()[:16] or None,
        language=feed_language,
        ttl_seconds=_ttl_seconds(raw.ttl),
        items=items,
    )


def _ttl_seconds(value: str | None) -> int | None:
    """RSS <ttl> is in minutes."""
    if not value or not value.strip().isdigit():
        return None
    minutes = int(value.strip())
    return minutes * 60 if 0 < minutes < 60 * 24 * 365 else None
