"""``/brief why``: why a story is in a reader's briefing, from what is stored about it.

Its sector and how that was decided (the words that matched, or its meaning), the outlets and
languages merged into it, the ranking reasons (how recent, how many sources, the reader's
followed keywords it holds) and whether it came as an update.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.briefing.cluster import make_story
from bot.briefing.outlets import distinct_sources
from bot.briefing.rank import keyword_pattern
from bot.models import Article, Story
from bot.stories.identity import key_of, story_id_of
from bot.stories.news import News, news_since, snapshot
from bot.stories.reports import articles_by_ids
from storage.models import Subscriber
from storage.repositories import sectors as sector_repo
from storage.repositories import stories as repo
from storage.search import query_words


@dataclass(frozen=True, slots=True)
class Why:
    story: Story
    sectors: tuple[tuple[str, float, tuple[str, ...]], ...]
    """(sector key, score, the words that matched: empty when decided by meaning)."""
    outlets: tuple[str, ...]
    languages: tuple[str, ...]
    hours_old: int
    followed: tuple[str, ...]
    news: News | None
    """What was new when it came back as an update; None when the reader got it once."""


async def _received(session: AsyncSession, subscriber_id: int) -> dict[int, datetime]:
    rows = await repo.receipts_of(session, subscriber_id)
    return {r.story_id: r.received_at for r in rows}


def _matches(query: str, story: Story) -> int:
    words = query_words(query)
    text = " ".join(a.title for a in story.articles).casefold()
    return sum(1 for w in words if w in text)


async def explain(
    session: AsyncSession, subscriber: Subscriber, query: str, *, now: datetime
) -> Why | None:
    """Why the story ``query`` names (its key, or words of its title) reached this reader;
    None when no story they received matches.

    A key (from a "Why this?" button) also names a story another subscriber of the reader's
    tenant received, such as the channel digest the reader pressed it under."""
    received = await _received(session, subscriber.id)
    keyed = story_id_of(query.strip())
    if keyed is not None and keyed not in received:
        shared = await repo.received_in_tenant(session, subscriber.tenant_id, keyed)
        if shared is not None:
            received[keyed] = shared
    if not received:
        return None
    stories: dict[int, Story] = {}
    for story_id in received:
        ids = await repo.items_of(session, story_id)
        found = await articles_by_ids(session, ids)
        articles: list[Article] = [found[i] for i in ids if i in found]
        if articles:
            stories[story_id] = dataclasses.replace(make_story(articles), key=key_of(story_id))
    wanted = story_id_of(query.strip())
    if wanted is None:
        scored = [(_matches(query, s), received[sid], sid) for sid, s in stories.items()]
        scored = [x for x in scored if x[0] > 0]
        if not scored:
            return None
        wanted = max(scored)[2]
    if wanted not in stories:
        return None
    story = stories[wanted]
    rows = await sector_repo.item_sectors(session, [a.item_id for a in story.articles])
    best: dict[str, tuple[float, tuple[str, ...]]] = {}
    for item_rows in rows.values():
        for row in item_rows:
            if row.score > best.get(row.sector_key, (0.0, ()))[0]:
                best[row.sector_key] = (row.score, tuple(row.matched))
    text = " ".join(f"{a.title} {a.summary or ''}" for a in story.articles)
    followed = tuple(
        k for k in subscriber.follow if (p := keyword_pattern(k)) is not None and p.search(text)
    )
    receipt = (await repo.receipts(session, subscriber.id, [wanted])).get(wanted)
    news = None
    if receipt is not None and receipt.snapshot != snapshot(story):
        news = news_since(receipt.snapshot, snapshot(story)) or None
    return Why(
        story=story,
        sectors=tuple(sorted(((k, s, m) for k, (s, m) in best.items()), key=lambda x: -x[1])[:2]),
        outlets=tuple(sorted({a.source for a in distinct_sources(story.articles)})),
        languages=tuple(sorted({a.language for a in story.articles})),
        hours_old=max(0, int((now - story.when).total_seconds() // 3600)),
        followed=followed,
        news=news,
    )
