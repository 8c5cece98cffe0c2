"""Turn a fetched feed document into normalised items. Pure and CPU-bound: run it in a thread.

Two readers produce the same raw fields. A fast one builds an ElementTree (C expat) for the
well-formed RSS 2.0, RSS 1.0 and Atom 1.0 documents that make up nearly all real feeds; anything
it is unsure of (a parse error, an unknown format, an HTTP charset that contradicts the XML
declaration, entity declarations) goes to feedparser, which copes with broken and exotic feeds
but costs several times more. Both paths then share one normalisation: HTML to plain text,
whitespace collapsed, dates in aware UTC, a language detected from the text (feeds often declare
the wrong one), and a content hash of title and summary that ignores dates and GUIDs.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XMLParseError

import feedparser
import py3langid
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from selectolax.lexbor import LexborHTMLParser

MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 4000
"""Longer summaries are cut at a word: briefings quote a few sentences, never whole articles."""
MAX_AUTHOR_CHARS = 500
MAX_URL_CHARS = 2048

_RSS_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_DC = "{http://purl.org/dc/elements/1.1/}"
_ATOM = "{http://www.w3.org/2005/Atom}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_WS = re.compile(r"\s+")
_TAG_LIKE = re.compile(r"<[a-zA-Z/!][^>]*>")
_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_LATIN = re.compile(r"[A-Za-z]")
_ENTITY_DECL = re.compile(
    r"<!ENTITY\s+(%\s+)?[^\s>]+\s+(SYSTEM|PUBLIC|\"[^\"]*\"|'[^']*')", re.IGNORECASE
)
_XML_DECL_ENCODING = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_CHAR_REF = re.compile(r"&#(?:[0-9]+|x[0-9A-Fa-f]+);")
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
    parser: str
    """Which reader produced it ("fast" or "feedparser"); for diagnostics and benchmarks."""


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
    parser: str


class _NotFast(Exception):
    """Internal: the fast reader declines this document; feedparser takes it."""


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse and normalise one feed document.

    Args:
        body: the document as fetched (decompressed).
        url: where it came from after redirects; relative links resolve against it.
        content_type: the HTTP Content-Type, whose charset can override the XML declaration.

    Raises:
        ParseError: the document is empty, not a feed, unreadable, or declares XML entities
            in a way that could expand without bound.
    """
    if not body.strip():
        raise ParseError("the document is empty")
    check_entity_declarations(body)
    try:
        raw = _read_fast(body, url=url, content_type=content_type)
    except _NotFast:
        raw = _read_feedparser(body, url=url, content_type=content_type)
    return _normalise(raw)


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


# --- the fast reader -----------------------------------------------------------------------


def _read_fast(body: bytes, *, url: str, content_type: str | None) -> _RawFeed:
    doc = body.lstrip()  # some servers send blank lines before the XML declaration
    if not doc.startswith(b"<"):
        raise _NotFast
    _check_charset_agrees(doc, content_type)
    try:
        root = safe_fromstring(doc, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (XMLParseError, DefusedXmlException, ValueError, LookupError) as exc:
        raise _NotFast from exc
    tag = root.tag
    if tag == "rss":
        return _read_rss2(root, url)
    if tag == f"{_RDF}RDF" and root.find(f"{_RSS1}channel") is not None:
        return _read_rss1(root, url)
    if tag == f"{_ATOM}feed":
        return _read_atom(root, url)
    raise _NotFast


def _check_charset_agrees(doc: bytes, content_type: str | None) -> None:
    """Decline when HTTP names a charset other than the document's (feedparser arbitrates)."""
    if not content_type:
        return
    msg = Message()
    msg["content-type"] = content_type
    charset = msg.get_param("charset")
    if not isinstance(charset, str):
        return
    match = _XML_DECL_ENCODING.match(doc)
    declared = match.group(1).decode("ascii") if match else "utf-8"
    if _codec_name(charset) != _codec_name(declared):
        raise _NotFast


def _codec_name(name: str) -> str:
    import codecs

    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return name.lower()


def _text(el: Element | None) -> str | None:
    if el is None:
        return None
    return el.text if el.text is not None else ""


def _child_text(parent: Element, *tags: str) -> str | None:
    for tag in tags:
        value = _text(parent.find(tag))
        if value:
            return value
    return None


def _read_rss2(root: Element, url: str) -> _RawFeed:
    channel = root.find("channel")
    if channel is None:
        raise _NotFast
    site = _child_text(channel, "link")
    entries: list[_RawEntry] = []
    for item in channel.iter("item"):
        link = _child_text(item, "link")
        guid_el = item.find("guid")
        guid = (guid_el.text or "").strip() if guid_el is not None else None
        permalink = guid_el is not None and guid_el.get("isPermaLink", "true").lower() == "true"
        if not link and guid and permalink:
            link = guid
        entries.append(
            _RawEntry(
                guid=guid or None,
                link=_absolute(link, url),
                title=_child_text(item, "title") or "",
                summary=_child_text(item, "description", _RSS_CONTENT) or "",
                author=_child_text(item, f"{_DC}creator", "author"),
                published_at=_date(_child_text(item, "pubDate", f"{_DC}date")),
            )
        )
    return _RawFeed(
        title=_child_text(channel, "title"),
        site_url=_absolute(site, url),
        language=_child_text(channel, "language", f"{_DC}language"),
        ttl=_child_text(channel, "ttl"),
        entries=entries,
        parser="fast",
    )


def _read_rss1(root: Element, url: str) -> _RawFeed:
    channel = root.find(f"{_RSS1}channel")
    assert channel is not None
    entries = [
        _RawEntry(
            guid=item.get(f"{_RDF}about") or None,
            link=_absolute(_child_text(item, f"{_RSS1}link"), url),
            title=_child_text(item, f"{_RSS1}title") or "",
            summary=_child_text(item, f"{_RSS1}description", _RSS_CONTENT, f"{_DC}description")
            or "",
            author=_child_text(item, f"{_DC}creator"),
            published_at=_date(_child_text(item, f"{_DC}date")),
        )
        for item in root.iter(f"{_RSS1}item")
    ]
    return _RawFeed(
        title=_child_text(channel, f"{_RSS1}title"),
        site_url=_absolute(_child_text(channel, f"{_RSS1}link"), url),
        language=_child_text(channel, f"{_DC}language"),
        ttl=None,
        entries=entries,
        parser="fast",
    )


def _atom_text(el: Element | None) -> str | None:
    if el is None:
        return None
    if el.get("type") == "xhtml":
        return "".join(el.itertext())
    return el.text or ""


def _atom_link(el: Element, base: str) -> str | None:
    fallback = None
    for link in el.findall(f"{_ATOM}link"):
        href = link.get("href")
        if not href:
            continue
        rel = link.get("rel", "alternate")
        if rel == "alternate" and link.get("type", "text/html") in (
            "text/html",
            "application/xhtml+xml",
        ):
            return _absolute(href, base)
        if rel == "alternate" and fallback is None:
            fallback = href
    return _absolute(fallback, base)


def _read_atom(root: Element, url: str) -> _RawFeed:
    feed_base = urljoin(url, root.get(_XML_BASE, ""))
    entries: list[_RawEntry] = []
    for entry in root.iter(f"{_ATOM}entry"):
        base = urljoin(feed_base, entry.get(_XML_BASE, ""))
        author_el = entry.find(f"{_ATOM}author")
        summary = _atom_text(entry.find(f"{_ATOM}summary"))
        if not summary:
            summary = _atom_text(entry.find(f"{_ATOM}content"))
        entries.append(
            _RawEntry(
                guid=(_text(entry.find(f"{_ATOM}id")) or "").strip() or None,
                link=_atom_link(entry, base),
                title=_atom_text(entry.find(f"{_ATOM}title")) or "",
                summary=summary or "",
                author=_child_text(author_el, f"{_ATOM}name") if author_el is not None else None,
                published_at=_date(
                    _child_text(entry, f"{_ATOM}published", f"{_ATOM}updated", f"{_DC}date")
                ),
            )
        )
    return _RawFeed(
        title=_atom_text(root.find(f"{_ATOM}title")),
        site_url=_atom_link(root, feed_base),
        language=root.get(_XML_LANG),
        ttl=None,
        entries=entries,
        parser="fast",
    )


def _absolute(link: str | None, base: str) -> str | None:
    if not link:
        return None
    link = link.strip()
    if not link:
        return None
    if "://" in link[:12]:
        return link
    try:
        return urljoin(base, link)
    except ValueError:
        return link


def _date(value: str | None) -> datetime | None:
    """An aware UTC datetime from an RFC 822 or ISO 8601 date (or the many variants seen)."""
    if not value:
        return None
    text = value.strip()
    when: datetime | None = None
    if text[:4].isdigit():
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            when = None
    if when is None:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            when = None
    if when is None:
        return _struct_to_datetime(feedparser.datetimes._parse_date(text))
    if when.tzinfo is None:
        when = when.replace(
            tzinfo=UTC
        )  # dates without a zone: take them as UTC, as feedparser does
    return _plausible(when.astimezone(UTC))


def _struct_to_datetime(parsed: time.struct_time | None) -> datetime | None:
    if parsed is None:
        return None
    try:
        return _plausible(datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC))
    except (OverflowError, ValueError, OSError):
        return None


def _plausible(when: datetime) -> datetime | None:
    return when if 1990 <= when.year <= 2200 else None


# --- the feedparser reader -----------------------------------------------------------------


def _read_feedparser(body: bytes, *, url: str, content_type: str | None) -> _RawFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        # We strip HTML to text ourselves, so feedparser's sanitizer and link rewriting would
        # only cost time.
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
            link=_absolute(_str(e.get("link")), url),
            title=_str(e.get("title")) or "",
            summary=_str(e.get("summary")) or _first_content(e) or "",
            author=_str(e.get("author")),
            published_at=_entry_date(e),
        )
        for e in entries
    ]
    return _RawFeed(
        title=_str(feed.get("title")),
        site_url=_absolute(_str(feed.get("link")), url),
        language=_str(feed.get("language")),
        ttl=_str(feed.get("ttl")),
        entries=raw_entries,
        parser="feedparser",
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _first_content(entry: Any) -> str | None:
    content = entry.get("content")
    if isinstance(content, list) and content:
        return _str(content[0].get("value"))
    return None


def _entry_date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            return _struct_to_datetime(parsed)
    return None


# --- normalisation -------------------------------------------------------------------------


def html_to_text(value: str) -> str:
    """Plain text from an HTML fragment: tags dropped, entities unescaped, whitespace collapsed.

    Text escaped twice (``&amp;lt;p&amp;gt;``, seen in real feeds) is unwrapped once more.
    """
    text = value
    for _ in range(2):
        if "<" not in text and "&" not in text:
            break
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


_LANGID_LOCK = threading.Lock()


def _classify(text: str) -> str:
    # py3langid loads its model lazily into a global on first use; ingest parses in several
    # threads at once, and without the lock each would load its own copy (seconds of CPU and
    # about 100 MB each).
    with _LANGID_LOCK:
        lang, _score = py3langid.classify(text)
    return str(lang)


def detect_language(text: str) -> str:
    """A language code for ``text``: kana means Japanese; otherwise py3langid; 'und' if empty."""
    if not text.strip():
        return "und"
    if _KANA.search(text):
        return "ja"
    return _classify(text[:2000])


def _item_language(text: str, feed_language: str) -> str:
    # py3langid costs about a millisecond a call, so items inherit the feed's language unless
    # their script disagrees with it.
    if not text:
        return feed_language
    if _KANA.search(text):
        return "ja"
    if feed_language in ("ja", "zh"):
        if _HAN.search(text):
            return feed_language
        return detect_language(text) if _LATIN.search(text) else feed_language
    if _HAN.search(text):
        return detect_language(text)
    return feed_language


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
    return value[:MAX_URL_CHARS] if value else None


def _normalised_entries(raw: _RawFeed) -> Iterator[tuple[_RawEntry, str, str]]:
    for entry in raw.entries:
        title = _cut(html_to_text(entry.title), MAX_TITLE_CHARS)
        summary = _cut(html_to_text(entry.summary), MAX_SUMMARY_CHARS)
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
            language=_item_language(f"{title} {summary[:300]}".strip(), feed_language),
            content_hash=content_hash(title, summary),
        )
        for entry, title, summary in rows
    )
    title = html_to_text(raw.title) if raw.title else None
    return ParsedFeed(
        title=_cut(title, 500) if title else None,
        site_url=_clean_url(raw.site_url),
        declared_language=(raw.language or "").strip()[:16] or None,
        language=feed_language,
        ttl_seconds=_ttl_seconds(raw.ttl),
        items=items,
        parser=raw.parser,
    )


def _ttl_seconds(value: str | None) -> int | None:
    """RSS <ttl> is in minutes."""
    if not value or not value.strip().isdigit():
        return None
    minutes = int(value.strip())
    return minutes * 60 if 0 < minutes < 60 * 24 * 365 else None
