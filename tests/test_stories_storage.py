"""Story storage on both backends: a report placed by another worker keeps its story."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage.models import Feed, FeedState, Item, Subscriber
from storage.repositories import stories as repo
from tests.conftest import Database
from tests.seed import add_subscribers

NOW = datetime(2026, 8, 15, 9, 0, tzinfo=UTC)


async def test_a_report_already_in_a_story_stays_there(db: Database) -> None:
    async with db.sessionmaker.begin() as session:
        feed = Feed(url="https://f.example/rss", title="F", created_at=NOW)
        feed.state = FeedState(next_check_at=NOW)
        session.add(feed)
        await session.flush()
        item = Item(feed_id=feed.id, content_hash="h", title="t", first_seen_at=NOW)
        session.add(item)
        await session.flush()
        first = await repo.new_story(session, now=NOW)
        assert await repo.add_items(session, first, [item.id], now=NOW) == {item.id: first}
    async with db.sessionmaker.begin() as session:
        # A second worker, preparing the same edition, would have put it in a new story.
        second = await repo.new_story(session, now=NOW)
        assert await repo.add_items(session, second, [item.id], now=NOW) == {item.id: first}
        assert await repo.items_of(session, first) == [item.id]
        assert await repo.items_of(session, second) == []


async def test_a_story_received_in_a_tenant_is_known_to_that_tenant_only(db: Database) -> None:
    [channel] = await add_subscribers(db, 1, now=NOW, tenant="T1")
    [elsewhere] = await add_subscribers(db, 1, now=NOW, tenant="T2")
    async with db.sessionmaker.begin() as session:
        story = await repo.new_story(session, now=NOW)
        await repo.record_receipts(session, channel, {story: {}}, now=NOW)
        tenants = {
            s.id: s.tenant_id
            for s in await session.scalars(
                select(Subscriber).where(Subscriber.id.in_([channel, elsewhere]))
            )
        }
    async with db.sessionmaker() as session:
        assert await repo.received_in_tenant(session, tenants[channel], story) == NOW
        assert await repo.received_in_tenant(session, tenants[elsewhere], story) is None
