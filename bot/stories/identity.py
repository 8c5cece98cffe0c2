"""A story keeps its identity from one edition to the next.

Each edition is grouped afresh; ``track`` then gives every group the stored story its reports
already belong to, or, for a group of reports seen for the first time, the recent stored story it
joins (a report that arrives days later), or a new one. Stories are re-keyed ``t<id>`` so what a
reader received can be recognised in the next edition.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.briefing.cluster import make_story
from bot.models import Story
from bot.stories.membership import join_known
from bot.stories.reports import articles_by_ids
from storage.repositories import stories as repo

LOOKBACK = timedelta(days=7)
"""How far back a late report looks for the story it belongs to."""


def key_of(story_id: int) -> str:
    return f"t{story_id}"


def story_id_of(key: str) -> int | None:
    """The stored story id of a tracked story's key (None for an untracked key)."""
    return int(key[1:]) if key.startswith("t") and key[1:].isdigit() else None


async def track(session: AsyncSession, stories: Sequence[Story], *, now: datetime) -> list[Story]:
    """``stories`` with their stored identities (new reports joined, new stories stored)."""
    owner = await repo.stories_of_items(session, [a.item_id for s in stories for a in s.articles])
    fresh = [s for s in stories if not any(a.item_id in owner for a in s.articles)]
    joined: dict[str, int] = {}
    if fresh:
        recent = await repo.recent_stories(
            session, since=now - LOOKBACK, excluding=set(owner.values())
        )
        if recent:
            found = await articles_by_ids(session, [i for ids in recent.values() for i in ids])
            known = {sid: [found[i] for i in ids if i in found] for sid, ids in recent.items()}
            joined = join_known(fresh, {k: v for k, v in known.items() if v})
    grouped: dict[int, list[Story]] = {}
    for story in stories:
        votes = Counter(owner[a.item_id] for a in story.articles if a.item_id in owner)
        if votes:
            story_id = votes.most_common(1)[0][0]
        elif story.key in joined:
            story_id = joined[story.key]
        else:
            story_id = await repo.new_story(session, now=now)
        new = [a.item_id for a in story.articles if a.item_id not in owner]
        placed = await repo.add_items(session, story_id, new, now=now)
        owner.update(placed)
        if placed and story_id not in placed.values():
            # Another process stored these reports a moment ago: theirs is the story.
            story_id = Counter(placed.values()).most_common(1)[0][0]
        grouped.setdefault(story_id, []).append(story)
    tracked = []
    for story_id, parts in grouped.items():
        story = parts[0] if len(parts) == 1 else make_story([a for p in parts for a in p.articles])
        tracked.append(dataclasses.replace(story, key=key_of(story_id)))
    return tracked
