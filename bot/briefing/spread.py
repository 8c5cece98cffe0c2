"""Share a briefing's places among feeds, so one prolific feed cannot fill it.

A journal that publishes a thousand papers at once (IEEE TGRS in the corpus) would otherwise
lead every sector section. A feed leads at most ``FEED_STORIES_PER_SECTION`` stories of a
section and ``FEED_STORIES`` of a briefing's sections while other feeds have stories for those
places; places no other feed can fill still go to it, after the others, so a reader with a single
feed keeps full sections.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from bot.models import Story

FEED_STORIES_PER_SECTION = 2
"""A section takes more than this many stories led by one feed only when no other feed has one."""
FEED_STORIES = 4
"""A briefing's sections take more than this many stories led by one feed only where no other
feed has one."""

Ranked = list[tuple[float, Story]]
Select = Callable[[int, Callable[[Story], bool]], Ranked]
"""``select(k, allow)``: the best ``k`` stories of a section that ``allow`` lets through, best
first, with their scores."""


def spread_over_feeds(
    select: Select,
    n: int,
    used: Counter[int],
    first: Callable[[Story], bool] = lambda story: True,
) -> Ranked:
    """The best ``n`` stories of a section, at most a few led by any one feed.

    Args:
        select: picks a section's best stories among those allowed.
        n: the section's places.
        used: stories per feed id in the briefing's earlier sections (not changed here).
        first: the stories that go first among those chosen within the feeds' shares (the ones
            the reader can read); a feed's stories beyond its share still come after them all.
    """

    def room(feed: int) -> int:
        return max(0, min(FEED_STORIES_PER_SECTION, FEED_STORIES - used[feed]))

    def more(chosen: Sequence[tuple[float, Story]], allow: Callable[[int], bool]) -> Ranked:
        taken = {story.key for _, story in chosen}
        return select(n - len(chosen), lambda s: allow(s.lead.feed_id) and s.key not in taken)

    kept: Ranked = []
    capped = {feed for feed in used if not room(feed)}
    while True:
        # Each round caps one more feed: keep its allowed stories, look again for the rest.
        top = more(kept, lambda feed: feed not in capped)
        count = Counter(story.lead.feed_id for _, story in kept)
        over = next(
            (
                feed
                for feed, many in Counter(s.lead.feed_id for _, s in top).items()
                if count[feed] + many > room(feed)
            ),
            None,
        )
        if over is None:
            chosen = sorted([*kept, *top], key=lambda p: (not first(p[1]), -p[0]))
            break
        kept.extend([p for p in top if p[1].lead.feed_id == over][: room(over)])
        capped.add(over)
    if len(chosen) < n and capped:
        # Places left: first feeds still under the briefing's cap, then any.
        in_section = Counter(story.lead.feed_id for _, story in chosen)
        chosen += more(chosen, lambda feed: used[feed] + in_section[feed] < FEED_STORIES)
    if len(chosen) < n and capped:
        chosen += more(chosen, lambda feed: True)
    return chosen
