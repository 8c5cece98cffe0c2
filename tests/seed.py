"""Small stored worlds for tests: classified news items, tenants and subscribers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.briefing.edition import ItemClassifier
from storage.models import Feed, FeedOwner, FeedState, Item, Subscriber, Tenant
from tests.conftest import Database

NEWS: Sequence[tuple[str, str | None, str, str]] = [
    (
        "Grid Weekly",
        "green",
        "Sodium-ion battery plant starts production in Sweden",
        "The factory will make 2 GWh of cells a year. A second line is planned for 2028.",
    ),
    (
        "Qubits Today",
        "quantum",
        "Neutral-atom quantum computer reaches 1,000 qubits",
        "The machine ran error-correction experiments on 48 logical qubits.",
    ),
    (
        "ML Daily",
        "ai",
        "Open large language model matches GPT-4 on reasoning benchmarks",
        "The weights are released under an open licence.",
    ),
    (
        "量子ニュース",
        None,
        "量子コンピュータで新薬候補を探索、製薬大手が共同研究",
        "量子アルゴリズムで分子の電子状態を計算する。成果は来年公開する予定。",
    ),
    (
        "Grid Weekly",
        "green",
        "Robot vacuum deals: 40% off this weekend",
        "Our favourite robot vacuums are on sale.",
    ),
]


async def seed_news(db: Database, now: datetime) -> None:
    """Store NEWS as classified news items published in the hours before ``now``."""
    classifier = ItemClassifier()
    async with db.sessionmaker.begin() as session:
        feeds: dict[str, Feed] = {}
        items = []
        for i, (source, hint, title, summary) in enumerate(NEWS):
            if source not in feeds:
                feed = Feed(
                    url=f"https://{len(feeds)}.example/rss",
                    title=source,
                    sector_hint=hint,
                    created_at=now,
                )
                feed.state = FeedState(next_check_at=now)
                session.add(feed)
                await session.flush()
                # The shared catalog: every tenant's readers see it.
                session.add(FeedOwner(feed_id=feed.id, tenant_id=None, created_at=now))
                feeds[source] = feed
            item = Item(
                feed_id=feeds[source].id,
                content_hash=f"h{i}",
                title=title,
                summary=summary,
                link=f"https://news.example/{i}",
                language="en",
                published_at=now - timedelta(hours=i + 1),
                first_seen_at=now,
            )
            session.add(item)
            items.append(item)
        await session.flush()
        await classifier(session, items)


async def add_subscribers(
    db: Database,
    count: int,
    *,
    now: datetime,
    platform: str = "chat",
    kind: str = "channel",
    delivery_time: str = "08:00",
    timezone: str = "UTC",
    sectors: Sequence[str] = ("green", "quantum", "ai"),
    tenant: str = "T1",
    prefix: str = "C",
) -> list[int]:
    """``count`` scheduled subscribers in one tenant; returns their ids."""
    async with db.sessionmaker.begin() as session:
        query = select(Tenant).where(Tenant.platform == platform, Tenant.external_id == tenant)
        row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            row = Tenant(platform=platform, external_id=tenant, created_at=now)
            session.add(row)
            await session.flush()
        subscribers = [
            Subscriber(
                tenant_id=row.id,
                kind=kind,
                external_id=f"{prefix}{i:04d}",
                sectors=list(sectors),
                follow=[],
                mute=[],
                days=[],
                delivery_time=delivery_time,
                timezone=timezone,
                created_at=now - timedelta(days=30),
                updated_at=now,
            )
            for i in range(count)
        ]
        session.add_all(subscribers)
        await session.flush()
        return [s.id for s in subscribers]
