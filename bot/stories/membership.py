"""Which reports are one story: the one place this package asks the clustering module.

Everything in ``bot.stories`` that needs "are these reports one event" calls here, so the rule
can change in one place. Both rest on the batch-independent pair rule of
``bot.briefing.story_rule``: whether a late report joins a story told days ago depends on the
two, never on what else arrived that day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from bot.briefing.cluster import cluster_articles, story_for
from bot.models import Article, Story


def group_reports(articles: Sequence[Article]) -> list[Story]:
    """The stories ``articles`` make, each with its lead first (see ``cluster_articles``)."""
    return cluster_articles(articles)


def join_known(stories: Sequence[Story], known: Mapping[int, Sequence[Article]]) -> dict[str, int]:
    """Which known story each of ``stories`` joins, by key (stories that join none are left
    out): the known story most of its reports join by ``story_for``, the clustering rule for
    one report and the stories already told. This is how a report that arrives days later
    finds its story; nothing but the two stories' own reports is looked at.
    """
    if not stories or not known:
        return {}
    told = [
        Story(key=str(story_id), articles=tuple(reports), sectors=())
        for story_id, reports in sorted(known.items())
        if reports
    ]
    joined: dict[str, int] = {}
    for story in stories:
        votes: Counter[int] = Counter()
        for article in story.articles:
            found = story_for(article, told)
            if found is not None:
                votes[int(found.key)] += 1
        if votes:
            joined[story.key] = votes.most_common(1)[0][0]
    return joined
