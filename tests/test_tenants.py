"""Two tenants side by side (a Slack workspace and a Discord guild) on SQLite and PostgreSQL:
an admin of one can neither see nor change the other's feeds, sectors, reading, schedules or
deliveries, and each tenant's readers get the shared catalog plus their own."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from adapters.console import ConsoleAdapter
from bot.briefing.edition import ItemClassifier
from bot.commands.dispatcher import Dispatcher, Reply
from bot.commands.model import CommandRequest, CommandText, Invocation
from bot.delivery.deliver import DeliveryService
from storage.models import AuditLog, Delivery, Feed, FeedOwner, Item, Subscriber, Tenant
from storage.repositories import feeds as feed_repo
from storage.repositories import subscribers as sub_repo
from tests.conftest import Database
from tests.seed import add_subscribers, seed_news

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
A = ("slack", "TA")
B = ("discord", "GB")


async def ask(dispatcher: Dispatcher, tenant: tuple[str, str], text: str, **who: object) -> Reply:
    """A command typed in ``tenant`` by an admin (unless ``is_admin=False``)."""
    platform, external_id = tenant
    invocation = Invocation(
        platform=platform,
        tenant_id=external_id,
        user_id=str(who.get("user", f"admin-{external_id}")),
        channel_id="C1",
        is_admin=bool(who.get("is_admin", True)),
    )
    return await dispatcher.handle(CommandRequest(CommandText(text), invocation))


@pytest.fixture
def dispatcher(db: Database) -> Dispatcher:
    return Dispatcher(sessionmaker=db.sessionmaker, clock=lambda: NOW)


async def _feed_id(db: Database, url: str) -> int:
    async with db.sessionmaker() as session:
        feed = await feed_repo.get_feed_by_url(session, url)
    assert feed is not None
    return feed.id


async def _tenant_id(db: Database, tenant: tuple[str, str]) -> int:
    async with db.sessionmaker() as session:
        found = await sub_repo.find_tenant(session, platform=tenant[0], external_id=tenant[1])
    assert found is not None
    return found.id


async def test_feeds_of_one_tenant_are_invisible_and_untouchable_to_the_other(
    db: Database, dispatcher: Dispatcher
) -> None:
    url = "https://intranet-a.example/feed"
    assert "Added feed" in (await ask(dispatcher, A, f"/brief admin feeds add {url}")).text
    feed_id = await _feed_id(db, url)
    async with db.sessionmaker.begin() as session:
        feed = await session.get(Feed, feed_id)
        assert feed is not None
        feed.state.error_count, feed.state.last_error = 4, "HTTP 403 from the intranet"

    assert url in (await ask(dispatcher, A, "/brief admin feeds list")).text
    assert "HTTP 403" in (await ask(dispatcher, A, "/brief admin feeds health")).text
    listed = (await ask(dispatcher, B, "/brief admin feeds list")).text
    assert "intranet-a" not in listed and "No feeds yet" in listed
    health = (await ask(dispatcher, B, "/brief admin feeds health")).text
    assert "HTTP 403" not in health and "intranet-a" not in health

    refused = await ask(dispatcher, B, f"/brief admin feeds remove {feed_id}")
    assert f"No feed with id {feed_id}" in refused.text
    assert url in (await ask(dispatcher, A, "/brief admin feeds list")).text


async def test_the_same_url_followed_by_two_tenants_is_one_feed_fetched_once(
    db: Database, dispatcher: Dispatcher
) -> None:
    url = "https://both.example/feed"
    await ask(dispatcher, A, f"/brief admin feeds add {url}")
    reply = await ask(dispatcher, B, f"/brief admin feeds add {url}")
    assert "Added feed" in reply.text  # not "followed already": A's feeds are not B's business
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Feed)) == 1
        assert await session.scalar(select(func.count()).select_from(FeedOwner)) == 2
    feed_id = await _feed_id(db, url)
    # B stops following: A still follows, the feed and its items stay.
    assert "Removed feed" in (await ask(dispatcher, B, f"/brief admin feeds remove {feed_id}")).text
    assert url not in (await ask(dispatcher, B, "/brief admin feeds list")).text
    assert url in (await ask(dispatcher, A, "/brief admin feeds list")).text
    # The last owner's remove deletes the feed.
    await ask(dispatcher, A, f"/brief admin feeds remove {feed_id}")
    async with db.sessionmaker() as session:
        assert await session.get(Feed, feed_id) is None


async def test_the_shared_catalog_is_read_only_to_tenants(
    db: Database, dispatcher: Dispatcher
) -> None:
    async with db.sessionmaker.begin() as session:
        feed = await feed_repo.add_feed(session, url="https://shared.example/rss", now=NOW)
        shared_id = feed.id
    for tenant in (A, B):
        listed = (await ask(dispatcher, tenant, "/brief admin feeds list")).text
        assert "https://shared.example/rss" in listed and "(shared, read-only)" in listed
    reply = await ask(dispatcher, B, f"/brief admin feeds remove {shared_id}")
    assert "shared catalog" in reply.text
    again = await ask(dispatcher, A, "/brief admin feeds add https://shared.example/rss")
    assert "followed already" in again.text
    async with db.sessionmaker() as session:
        assert await session.get(Feed, shared_id) is not None


async def test_sectors_and_reading_stay_in_their_tenant(
    db: Database, dispatcher: Dispatcher
) -> None:
    reply = await ask(dispatcher, A, "/brief admin sectors add space Space 宇宙 rocket,orbit")
    assert "Added sector `space`" in reply.text
    assert "`space`" in (await ask(dispatcher, A, "/brief admin sectors list")).text
    assert "`space`" not in (await ask(dispatcher, B, "/brief admin sectors list")).text
    # B's readers cannot choose it, its admins cannot schedule it, its pickers do not offer it.
    subscribe = await ask(dispatcher, B, "/brief subscribe space", user="reader-b", is_admin=False)
    assert subscribe.error
    schedule = await ask(dispatcher, B, "/brief admin schedule set #news 07:30 UTC space")
    assert schedule.error
    assert "space" in {d.key for d in await dispatcher.sector_defs(*A)}
    assert "space" not in {d.key for d in await dispatcher.sector_defs(*B)}
    assert "ai" in {d.key for d in await dispatcher.sector_defs(*B)}  # built-ins are shared

    await ask(dispatcher, A, "/brief admin reading add ai https://learn-a.example/ai AI primer")
    await seed_news(db, NOW)
    for tenant, reader in ((A, "reader-a"), (B, "reader-b")):
        await ask(dispatcher, tenant, "/brief subscribe ai", user=reader, is_admin=False)
    brief_a = await ask(dispatcher, A, "/brief today", user="reader-a", is_admin=False)
    brief_b = await ask(dispatcher, B, "/brief today", user="reader-b", is_admin=False)
    assert brief_a.briefing is not None and brief_b.briefing is not None
    links_a = {r.url for s in brief_a.briefing.sections for r in s.reading}
    links_b = {r.url for s in brief_b.briefing.sections for r in s.reading}
    assert "https://learn-a.example/ai" in links_a
    assert "https://learn-a.example/ai" not in links_b


async def test_schedules_deliveries_and_audit_are_per_tenant(
    db: Database, dispatcher: Dispatcher
) -> None:
    await ask(dispatcher, A, "/brief admin schedule set #news 07:30 UTC")
    assert "#news" in (await ask(dispatcher, A, "/brief admin schedule list")).text
    assert "No channel digests" in (await ask(dispatcher, B, "/brief admin schedule list")).text
    async with db.sessionmaker.begin() as session:
        channel = (
            await session.execute(select(Subscriber).where(Subscriber.kind == "channel"))
        ).scalar_one()
        session.add(
            Delivery(
                subscriber_id=channel.id,
                period_key="2026-11-28",
                status="failed",
                scheduled_for=NOW - timedelta(hours=1),
                platform="slack",
                last_error="channel_not_found",
                created_at=NOW - timedelta(hours=1),
            )
        )
    removed = await ask(dispatcher, B, f"/brief admin schedule remove {channel.id}")
    assert "No channel digest with id" in removed.text
    assert "#news" in (await ask(dispatcher, A, "/brief admin schedule list")).text
    assert "channel_not_found" in (await ask(dispatcher, A, "/brief admin deliveries")).text
    theirs = (await ask(dispatcher, B, "/brief admin deliveries")).text
    assert "channel_not_found" not in theirs and "No digests" in theirs

    await ask(dispatcher, B, "/brief admin feeds add https://b-only.example/rss")
    async with db.sessionmaker() as session:
        rows = (await session.execute(select(AuditLog.tenant_id, AuditLog.action))).all()
    assert set(rows) == {
        (await _tenant_id(db, A), "schedule set"),
        (await _tenant_id(db, B), "feeds add"),
    }


async def _own_story(
    db: Database, tenant: tuple[str, str], title: str, now: datetime = NOW
) -> None:
    """A news item in a feed only ``tenant`` follows."""
    async with db.sessionmaker.begin() as session:
        row = await sub_repo.get_or_create_tenant(
            session, platform=tenant[0], external_id=tenant[1], now=now
        )
        feed = await feed_repo.add_feed(
            session,
            url=f"https://{tenant[1].lower()}.example/rss",
            title=f"{tenant[1]} wire",
            now=now,
            tenant_id=row.id,
        )
        item = Item(
            feed_id=feed.id,
            content_hash=title,
            title=title,
            summary=f"Only {tenant[1]}'s wire carried this: {title.lower()}.",
            link=f"https://{tenant[1].lower()}.example/story",
            language="en",
            published_at=now - timedelta(hours=2),
            first_seen_at=now - timedelta(hours=1),
        )
        session.add(item)
        await session.flush()
        await ItemClassifier()(session, [item])


async def test_readers_get_shared_feeds_plus_their_own_tenants(
    db: Database, dispatcher: Dispatcher
) -> None:
    await seed_news(db, NOW)
    await _own_story(db, A, "Lab A releases a new large language model for chip design")
    await _own_story(db, B, "Lab B open-sources an AI model for weather forecasts")
    for tenant, reader in ((A, "reader-a"), (B, "reader-b")):
        await ask(dispatcher, tenant, "/brief subscribe ai", user=reader, is_admin=False)
    seen = {}
    for tenant, reader in ((A, "reader-a"), (B, "reader-b")):
        reply = await ask(dispatcher, tenant, "/brief today", user=reader, is_admin=False)
        assert reply.briefing is not None
        b = reply.briefing
        seen[tenant] = {e.title for s in b.sections for e in (s.lead, *s.more)}
        seen[tenant] |= {p.text for p in b.key_points}  # a key point is listed once, up there
    assert any("Lab A" in t for t in seen[A]) and not any("Lab B" in t for t in seen[A])
    assert any("Lab B" in t for t in seen[B]) and not any("Lab A" in t for t in seen[B])
    found_a = await ask(dispatcher, A, "/brief search lab", user="reader-a", is_admin=False)
    assert {e.title for e in found_a.results} == {
        "Lab A releases a new large language model for chip design"
    }


async def test_digests_draw_on_each_tenants_own_edition(db: Database) -> None:
    """The delivery worker prepares one edition per tenant: a digest never carries another
    tenant's feeds."""
    now = datetime.now(UTC)
    await seed_news(db, now)
    tenants = (("console", "TA"), ("console", "TB"))
    ids = {}
    for tenant in tenants:
        ids[tenant] = await add_subscribers(
            db, 2, now=now, platform="console", tenant=tenant[1], sectors=("ai",), prefix=tenant[1]
        )
    await _own_story(db, tenants[0], "Lab A releases a new large language model for chips", now)
    await _own_story(db, tenants[1], "Lab B open-sources an AI model for weather", now)
    out = io.StringIO()
    service = DeliveryService(
        sessionmaker=db.sessionmaker,
        adapters={"console": ConsoleAdapter(stdout=out)},
        clock=lambda: datetime.now(UTC),
        worker_id="t",
    )
    for tenant in tenants:
        for sid in ids[tenant]:
            assert await service.open_digest(sid, now)
    await service.deliver_all()
    digests = [d for d in out.getvalue().split("[digest to ") if d]
    assert len(digests) == 4
    for digest in digests:
        ours, theirs = ("ta", "tb") if digest.startswith("channel TA") else ("tb", "ta")
        assert f"https://{ours}.example/story" in digest
        assert f"https://{theirs}.example/" not in digest and f"{theirs.upper()} wire" not in digest
    async with db.sessionmaker() as session:
        statuses = set((await session.scalars(select(Delivery.status))).all())
        tenant_count = await session.scalar(select(func.count()).select_from(Tenant))
    assert statuses == {"sent"} and tenant_count == 2
