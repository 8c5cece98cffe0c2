"""Readers teach the ranking: the "More like this" / "Less like this" buttons on a story, and
👍 / 👎 reactions on the message a story leads (a vote taken back counts 0).

Each vote on a tracked story counts for the story's facets: its sector, its subjects (the
terms that placed it in that sector) and its outlets, +1 or -1, halving every two weeks; each
facet then counts against the others of its kind (more like this outlet than the others). The
weights a reader has built raise or lower stories with those facets in that reader's briefing
(by at most a factor of two either way); they never bring back a muted subject, and a reader
who never votes gets the same briefing as before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.stories.identity import story_id_of
from bot.stories.reports import articles_by_ids
from storage.models import Subscriber
from storage.repositories import feedback as feedback_repo
from storage.repositories import sectors as sector_repo
from storage.repositories import stories as story_repo

HALF_LIFE = timedelta(days=14)
"""A vote counts half after two weeks, a quarter after four."""
HORIZON = timedelta(days=90)
"""Votes older than this no longer count at all."""


async def _voted_facets(
    session: AsyncSession, story_id: int, sector: str | None
) -> dict[str, float]:
    """The facets one vote on a story teaches, each with its share of the vote: the sector
    whole, the subjects and the outlets sharing one vote each (a story with many terms does
    not outweigh one with few)."""
    ids = await story_repo.items_of(session, story_id)
    articles = await articles_by_ids(session, ids)
    outlets = {a.source for a in articles.values()}
    sectors: set[str] = set()
    subjects: set[str] = set()
    rows = await sector_repo.item_sectors(session, list(articles))
    for item_rows in rows.values():
        for row in item_rows:
            if sector is None or row.sector_key == sector:
                sectors.add(row.sector_key)
                subjects.update(t.casefold() for t in row.matched)
    shares = {f"sector:{k}": 1.0 / len(sectors) for k in sectors}
    shares.update({f"subject:{t}": 1.0 / len(subjects) for t in subjects})
    shares.update({f"outlet:{o}": 1.0 / len(outlets) for o in outlets})
    return shares


async def learned_weights(
    session: AsyncSession, subscriber: Subscriber, *, now: datetime
) -> dict[str, float]:
    """What this reader's votes taught: facet -> weight (positive: more like this)."""
    if subscriber.kind != "user":
        return {}  # a channel is many readers; its votes are not one person's taste
    since = now - HORIZON
    if subscriber.learning_since is not None:
        since = max(since, subscriber.learning_since)
    votes = await feedback_repo.votes_since(
        session,
        platform=subscriber.tenant.platform,
        user_id=subscriber.external_id,
        since=since,
    )
    weights: dict[str, float] = {}
    for vote in votes:
        story_id = story_id_of(vote.story_key)
        reset = subscriber.learning_since
        if story_id is None or not vote.value or (reset is not None and vote.created_at <= reset):
            continue
        age = max(timedelta(0), now - vote.created_at)
        weight = (1 if vote.value > 0 else -1) * 0.5 ** (age / HALF_LIFE)
        for facet, share in (await _voted_facets(session, story_id, vote.sector_key)).items():
            weights[facet] = weights.get(facet, 0.0) + weight * share
    return {k: round(v, 4) for k, v in _relative(weights).items() if abs(v) >= 0.01}


def _relative(weights: dict[str, float]) -> dict[str, float]:
    """Each facet against the others of its kind: a reader who votes on stories of one outlet
    only says nothing about outlets, and what all their voted stories share (the one sector
    they read) would otherwise push every story down alike and drown the subjects."""
    kinds: dict[str, list[float]] = {}
    for facet, weight in weights.items():
        kinds.setdefault(facet.partition(":")[0], []).append(weight)
    means = {kind: sum(ws) / len(ws) for kind, ws in kinds.items()}
    return {f: w - means[f.partition(":")[0]] for f, w in weights.items()}
