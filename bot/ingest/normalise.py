"""The text work on a feed's entries: HTML to plain text, boilerplate, cuts, hashes, language.

One normalisation for every entry: HTML to plain text (selectolax's lexbor parser), whitespace
collapsed, publishers' boilerplate removed (``bot.ingest.boilerplate``), long text cut at a word,
a content hash of title and summary that ignores dates and GUIDs, and a language
(``bot.ingest.language``) detected from the text, since feeds often declare the wrong one.

It runs once per entry that is not stored yet. Each entry read carries a raw hash of the text
feedparser gave and of everything that decides what this module makes of it
(:data:`NORMALISER_VERSION`, the boilerplate rules, selectolax's version); an entry whose stored
item has the same raw hash would come out as that item's text again, so ingest leaves it alone.
Change :data:`NORMALISER_VERSION` with any change here that alters the text made from the same
input: stored items are then normalised again when their feed next changes.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from html import unescape

from selectolax.lexbor import LexborHTMLParser

from bot.ingest.boilerplate import clean, rules_fingerprint
from bot.ingest.entries import ParsedFeed, ParsedItem, RawEntry, RawFeed
from bot.ingest.language import UNDETERMINED, detect_language, item_language
from storage.search import search_text

NORMALISER_VERSION = "1"
MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 4000
"""Longer summaries are cut at a word: briefings quote a few sentences, never whole articles."""
MAX_AUTHOR_CHARS = 500
MAX_URL_CHARS = 2048
SAMPLE_ENTRIES = 20
"""The feed's language is detected from its first entries' text."""

_WS = re.compile(r"\s+")
_TAG_LIKE = re.compile(r"<[a-zA-Z/!][^>]*>")
_CHAR_REF = re.compile(r"&#(?:[0-9]+|x[0-9A-Fa-f]+);")
_CDATA_MARKER = re.compile(r"<!\[CDATA\[|\]\]>")


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


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip() + "…"


def content_hash(title: str, summary: str) -> str:
    """The identity of an item's text: normalised title and summary, never its date or GUID."""
    key = f"{title.casefold()}\n{summary.casefold()}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@functools.cache
def _fingerprint() -> bytes:
    from selectolax import __version__ as selectolax_version

    return f"{NORMALISER_VERSION}|{selectolax_version}|{rules_fingerprint()}\n".encode()


def raw_hash(title: str, summary: str) -> str:
    """The identity of an entry's text as read, and of the rules that normalise it."""
    digest = hashlib.blake2b(_fingerprint(), digest_size=16)
    digest.update(title.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(summary.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def clean_url(value: str | None) -> str | None:
    """A GUID or link as stored: trimmed, numeric character references undone, bounded."""
    if not value:
        return None
    value = value.strip()
    if "&#" in value:
        # Escaped twice by the publisher ("20231017&amp;#45;gpt" in the XML): a numeric
        # character reference is never meant literally in a URL. Named ones are left alone,
        # since "?a=1&copy=2" is a real query string.
        value = _CHAR_REF.sub(lambda m: unescape(m.group(0)), value)
    return value[:MAX_URL_CHARS] if value else None


def entry_text(entry: RawEntry) -> tuple[str, str]:
    """An entry's title and summary as plain text; both empty when a reader would see nothing.

    Boilerplate goes before the cut, so a cut never leaves half of "The post ...".
    """
    title = cut(clean(html_to_text(entry.title), "title"), MAX_TITLE_CHARS)
    summary = cut(clean(html_to_text(entry.summary), "summary"), MAX_SUMMARY_CHARS)
    return title, summary


def _sample(texts: Iterator[tuple[str, str]]) -> str:
    parts: list[str] = []
    for title, summary in texts:
        if not title and not summary:
            continue
        parts.append(title)
        parts.append(summary[:200])
        if len(parts) >= 2 * SAMPLE_ENTRIES:
            break
    return " ".join(parts)


def _item(
    entry: RawEntry, title: str, summary: str, feed_language: str | Callable[[], str]
) -> ParsedItem:
    shown_title = title or cut(summary, 120)
    return ParsedItem(
        guid=entry.guid,
        link=entry.link,
        title=shown_title,
        summary=summary,
        author=cut(html_to_text(entry.author), MAX_AUTHOR_CHARS) if entry.author else None,
        published_at=entry.published_at,
        language=item_language(f"{title} {summary[:300]}", feed_language),
        content_hash=content_hash(title, summary),
        raw_hash=entry.raw_hash,
        search_text=search_text(shown_title, summary),
        categories=entry.categories,
    )


def _feed(raw: RawFeed, language: str, items: tuple[ParsedItem, ...]) -> ParsedFeed:
    title = clean(html_to_text(raw.title), "feed") if raw.title else None
    return ParsedFeed(
        title=cut(title, 500) if title else None,
        site_url=clean_url(raw.site_url),
        declared_language=(raw.language or "").strip()[:16] or None,
        language=language,
        ttl_seconds=_ttl_seconds(raw.ttl),
        items=items,
    )


def normalise_feed(raw: RawFeed) -> ParsedFeed:
    """Every entry of ``raw`` normalised (entries a reader would see nothing of are left out)."""
    texts = [entry_text(entry) for entry in raw.entries]
    feed_language = detect_language(_sample(iter(texts)))
    items = tuple(
        _item(entry, title, summary, feed_language)
        for entry, (title, summary) in zip(raw.entries, texts, strict=True)
        if title or summary
    )
    return _feed(raw, feed_language, items)


def feed_without_entries(raw: RawFeed) -> ParsedFeed:
    """``raw``'s metadata normalised; its entries are left to :func:`normalise_entries`."""
    return _feed(raw, UNDETERMINED, ())


def normalise_entries(
    entries: Sequence[RawEntry], wanted: Sequence[int]
) -> tuple[ParsedItem | None, ...]:
    """The entries at positions ``wanted`` normalised as :func:`normalise_feed` would (None
    where a reader would see nothing), doing no text work for the others unless the feed's
    language is needed: an entry whose own language is unclear takes the feed's, which is
    detected from the first entries of the whole document.
    """
    texts: dict[int, tuple[str, str]] = {i: entry_text(entries[i]) for i in wanted}

    def text_of(position: int) -> tuple[str, str]:
        if position not in texts:
            texts[position] = entry_text(entries[position])
        return texts[position]

    @functools.cache
    def feed_language() -> str:
        return detect_language(_sample(text_of(i) for i in range(len(entries))))

    return tuple(
        _item(entries[i], *texts[i], feed_language) if any(texts[i]) else None for i in wanted
    )


def _ttl_seconds(value: str | None) -> int | None:
    """RSS <ttl> is in minutes."""
    if not value or not value.strip().isdigit():
        return None
    minutes = int(value.strip())
    return minutes * 60 if 0 < minutes < 60 * 24 * 365 else None
