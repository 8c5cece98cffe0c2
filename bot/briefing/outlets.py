"""Count a story's sources by outlet: one article carried by two feeds is one source.

Feeds repeat each other: a publisher's main feed and its section feed carry the same article,
one link tagged with ``utm_*`` parameters and one not; an aggregator's feed links to the
original article. Links are compared in w3lib's canonical form (parameters sorted, fragment
dropped, host lower-cased, ``www.`` and the scheme ignored) after tracking parameters are
removed. Different articles of one host stay different sources: one host can carry many
outlets (an aggregator, a blog platform).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from w3lib.url import canonicalize_url, url_query_cleaner

from bot.models import Article

_TRACKING_PREFIXES = ("utm_",)
_TRACKING = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid", "ref", "source", "cmpid", "ncid"})
"""Parameters that say where a reader came from, never which article it is."""


@lru_cache(maxsize=4096)
def canonical_link(url: str | None) -> str | None:
    """``url`` without tracking parameters, in canonical form; None when it is not http(s)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    names = {
        name
        for name, _ in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower().startswith(_TRACKING_PREFIXES) or name.lower() in _TRACKING
    }
    cleaned = url_query_cleaner(url.strip(), sorted(names), remove=True) if names else url.strip()
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
