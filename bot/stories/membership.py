"""Which reports are one story: the one place this package asks the clustering module.

Everything in ``bot.stories`` that needs "are these reports one event" calls here, so the rule
can change (``bot.briefing.cluster`` is being rewritten to decide per pair of reports rather than
per batch) by pointing these functions at the new one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from bot.briefing.cluster import cluster_articles
from bot.models import Article, Story


def group_reports(articles: Sequence[Article]) -> list[Story]:
    """The stories ``articles`` make, each with its lead first (see ``cluster_articles``)."""
    return cluster_articles(articles)


def join_known(stories: Sequence[Story], known: Mapping[int, Sequence[Article]]) -> dict[str, int]:
    """Which known story each of ``stories`` joins, by key (stories that join none are left
    out): the known story most of whose reports fall in one story with it when everything is
    grouped together. This is how a report that arrives days later finds its story.
    """
    if not stories or not known:
        return {}
    owner = {a.item_id: story_id for story_id, reports in known.items() for a in reports}
    new_of = {a.item_id: s.key for s in stories for a in s.articles}
    pool = [a for s in stories for a in s.articles]
    pool += [a for reports in known.values() for a in reports if a.item_id not in new_of]
    joined: dict[str, int] = {}
    for group in cluster_articles(pool):
        ids = [a.item_id for a in group.articles]
        owners = Counter(owner[i] for i in ids if i in owner and i not in new_of)
        if not owners:
            continue
        story_id = owners.most_common(1)[0][0]
        for i in ids:
            if i in new_of:
                joined.setdefault(new_of[i], story_id)
    return joined
