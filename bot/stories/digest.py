"""Since your last briefing: a reader's digest leaves out what they received, unless it has news.

``for_reader`` turns a reader's profile into one that hides the tracked stories they received
with nothing new since, marks those with news as updates that say what is new, and carries
what the reader's votes taught the ranking (``bot.stories.learning``);
``remember`` records, once a digest (or ``/brief today``) went out, what it held.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.briefing.compose import BriefingContext
from bot.models import Briefing, Profile
from bot.stories.identity import story_id_of
from bot.stories.learning import learned_weights
from bot.stories.news import news_since, snapshot, update_note
from storage.models import Subscriber
from storage.repositories import stories as repo


@dataclasses.dataclass(frozen=True, slots=True)
class ReaderView:
    profile: Profile
    hidden: int
    """Stories left out: received before, nothing new since."""


async def for_reader(
    session: AsyncSession,
    subscriber_id: int,
    edition: BriefingContext,
    profile: Profile,
    *,
    before: datetime | None = None,
) -> ReaderView:
    """``profile`` with the edition's stories this reader already received hidden or marked;
    with ``before``, only what they had received by then counts (a resumed digest)."""
    tracked = {sid: key for key in edition.stories if (sid := story_id_of(key)) is not None}
    received = await repo.receipts(session, subscriber_id, tracked)
    if before is not None:
        received = {k: r for k, r in received.items() if r.received_at < before}
    hide: set[str] = set()
    updates: list[tuple[str, str]] = []
    for story_id, receipt in received.items():
        key = tracked[story_id]
        news = news_since(receipt.snapshot, snapshot(edition.stories[key]))
        if news:
            updates.append((key, update_note(news, profile.language)))
        else:
            hide.add(key)
    reader = await session.get(Subscriber, subscriber_id)
    learned = await learned_weights(session, reader, now=edition.now) if reader else {}
    view = dataclasses.replace(
        profile,
        hide=frozenset(hide),
        updates=tuple(updates),
        learned=tuple(sorted(learned.items())),
    )
    return ReaderView(profile=view, hidden=len(hide))


def shown_keys(briefing: Briefing) -> Iterator[str]:
    """Every story the briefing shows, wherever it shows it."""
    for section in briefing.sections:
        yield section.lead.story_key
        yield from (e.story_key for e in section.more)
    for synergy in briefing.synergies:
        yield from (e.story_key for e in synergy.stories)
    yield from (w.story.story_key for w in briefing.watch)
    yield from (p.story_key for p in briefing.key_points)


async def remember(
    session: AsyncSession,
    subscriber_id: int,
    briefing: Briefing,
    edition: BriefingContext,
) -> None:
    """Record what ``briefing`` gave this reader, so the next one can leave it out."""
    snapshots = {
        sid: snapshot(edition.stories[key])
        for key in dict.fromkeys(shown_keys(briefing))
        if (sid := story_id_of(key)) is not None and key in edition.stories
    }
    await repo.record_receipts(session, subscriber_id, snapshots, now=briefing.generated_at)
