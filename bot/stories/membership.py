"""Which reports are one story: the one place this package asks the clustering module.

Everything in ``bot.stories`` that needs "are these reports one event" calls here, so the rule
can change (``bot.briefing.cluster`` is being rewritten to decide per pair of reports rather than
per batch) by pointing these functions at the new one.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.briefing.cluster import cluster_articles
from bot.models import Article, Story


def group_reports(articles: Sequence[Article]) -> list[Story]:
    """The stories ``articles`` make, each with its lead first (see ``cluster_articles``)."""
    return cluster_articles(articles)
