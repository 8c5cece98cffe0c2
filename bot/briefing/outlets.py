"""Count a story's sources by outlet: one article carried by two feeds is one source.

Feeds repeat each other: a publisher's main feed and its section feed carry the same article,
one link tagged with ``utm_*`` parameters and one not; an aggregator's feed links to the
original article. Links are compared in w3lib's canonical form (parameters sorted, fragment
dropped, host lower-cased, ``www.`` and the scheme ignored) after tracking parameters are
removed. Different articles of one host stay different sources: one host can carry many
outlets (an aggregator, a blog platform). Links shown to readers lose the same tracking
parameters (``shown_link``) but keep their form otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, urlsplit

from w3lib.url import canonicalize_url, url_query_cleaner

from bot.models import Article, Story

_TRACKING_PREFIXES = ("utm_",)
_TRACKING = frozenset(
    {"fbclid", "gclid", "mc_cid", "mc_eid", "cmpid", "ncid", "wt_mc", "wt.mc_id", "yclid"}
)
"""Parameters that say where a reader came from, never which article it is."""
_FEED_MARKERS = frozenset({"ref", "source", "src", "from", "via", "rss"})
_FEED_VALUE = re.compile(r"(?i)^(?:1|rss.*|.*(?:feed|atom|newsletter|email|picked).*)$")
"""Parameters such as ``src=rss``, ``ref=picked-news_9980`` or ``rss=1``: tracking when their
value names the feed or newsletter the reader came from (``ref=main`` may choose a page)."""


def _tracking_names(query: str, *, every_marker: bool) -> list[str]:
    names = set()
    for name, value in parse_qsl(query, keep_blank_values=True):
        lowered = name.lower()
        if (
            lowered.startswith(_TRACKING_PREFIXES)
            or lowered in _TRACKING
            or (lowered in _FEED_MARKERS and (every_marker or _FEED_VALUE.match(value)))
        ):
            names.add(name)
    return sorted(names)


def _http_parts(url: str | None) -> SplitResult | None:
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


@lru_cache(maxsize=4096)
def shown_link(url: str | None) -> str | None:
    """``url`` as a reader is shown it: without tracking parameters (``utm_*``, ``src=rss``,
    ``wt_mc``, ``ref=rss`` ...), otherwise as the feed gave it; unchanged when not http(s)."""
    parts = _http_parts(url)
    if parts is None or url is None:
        return url
    names = _tracking_names(parts.query, every_marker=False)
    if not names:
        return url.strip()
    return str(url_query_cleaner(url.strip(), names, remove=True, keep_fragments=True))


@lru_cache(maxsize=4096)
def canonical_link(url: str | None) -> str | None:
    """``url`` without tracking parameters, in canonical form; None when it is not http(s)."""
    parts = _http_parts(url)
    if parts is None or url is None:
        return None
    # Comparing is bolder than showing: any "ref" or "source" is where a reader came from.
    names = _tracking_names(parts.query, every_marker=True)
    cleaned = url_query_cleaner(url.strip(), names, remove=True) if names else url.strip()
    canonical = canonicalize_url(cleaned)
    # http and https, with or without "www.", are one page.
    split = urlsplit(canonical)
    host = (split.hostname or "").removeprefix("www.")
    return f"{host}{split.path or '/'}" + (f"?{split.query}" if split.query else "")


def distinct_sources(articles: Sequence[Article]) -> list[Article]:
    """One article per outlet, in the given order (the first article of each outlet).

    Articles are one outlet when they come from one feed or share a canonical link.
    """
    chosen: list[Article] = []
    feeds: set[int] = set()
    links: set[str] = set()
    for article in articles:
        link = canonical_link(article.link)
        seen = article.feed_id in feeds or (link is not None and link in links)
        feeds.add(article.feed_id)
        if link is not None:
            links.add(link)
        if not seen:
            chosen.append(article)
    return chosen


def outlet_keys(story: Story) -> frozenset[str]:
    """Where ``story``'s articles come from: their feeds and the hosts their links are on.

    Two stories share an outlet when these meet: one feed, or one publisher's two feeds (a
    main feed and its AI section), or one aggregator.
    """
    keys = {f"feed:{a.feed_id}" for a in story.articles}
    for article in story.articles:
        link = canonical_link(article.link)
        if link is not None:
            keys.add("host:" + link.split("/", 1)[0])
    return frozenset(keys)
