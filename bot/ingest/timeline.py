"""When an item happened as far as a briefing cares: a plausible date, and news or archive.

Two rules about feeds' dates, both seen on real feeds:

* A published time later than the moment we first saw the item (beyond a little clock skew) is
  wrong: heise online dated its entries 2035, and they led "today's" briefing for years. Such an
  item counts as published when we first saw it.
* What a feed carries when it is added is news only if it was published inside the news window;
  older or undated entries are archive (searchable, never in a briefing). So a user who adds a
  feed that posted an hour ago sees that post in the next briefing, not months of back issues.
"""

from __future__ import annotations

from datetime import datetime, timedelta

NEWS_WINDOW = timedelta(hours=24)
"""A briefing covers what was published (or first seen, for undated items) in the last day."""

CLOCK_SKEW = timedelta(minutes=15)
"""A published time this far ahead of our clock is the publisher's clock, not a wrong date."""


def is_future(published_at: datetime | None, *, seen_at: datetime) -> bool:
    """Whether ``published_at`` lies after ``seen_at`` by more than the clock skew allowance."""
    return published_at is not None and published_at > seen_at + CLOCK_SKEW


def plausible_published(published_at: datetime | None, *, seen_at: datetime) -> datetime | None:
    """``published_at``, or ``seen_at`` when the feed dated the item in the future."""
    return seen_at if is_future(published_at, seen_at=seen_at) else published_at


def is_archive(
    published_at: datetime | None,
    *,
    seen_at: datetime,
    first_fetch: bool,
    window: timedelta = NEWS_WINDOW,
) -> bool:
    """Whether an item first seen at ``seen_at`` belongs to the archive rather than the news.

    Args:
        published_at: the date the feed gave, as parsed (before ``plausible_published``).
        seen_at: when we first saw the item.
        first_fetch: the item came with the feed's first successful fetch.
        window: how far back a briefing looks.

    Only a new feed's entries can be archive: later entries are news whatever their date (the
    briefing's window still decides whether they are shown). A date in the future tells
    nothing, so such an entry of a new feed counts as undated.
    """
    if not first_fetch:
        return False
    if published_at is None or is_future(published_at, seen_at=seen_at):
        return True
    return published_at < seen_at - window
