"""Data care: retention of old items and deliveries, and configuration export and import
between SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from bot.datacare import TransferError, export_config, import_config
from bot.retention import LEDGER_MIN_DAYS, apply_retention, run_retention
from storage.models import (
    Delivery,
    Feed,
    Feedback,
    Item,
    ItemSector,
    RelatedReading,
    Sector,
    Subscriber,
    Tenant,
)
from storage.repositories.archive import search_items
from storage.repositories.feeds import add_feed, claim_due_feeds
from storage.repositories.sectors import add_reading, add_sector
from storage.repositories.subscribers import get_or_create_subscriber, get_or_create_tenant
from tests.conftest import Database

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


async def _configure(db: Database) -> None:
    """A small but varied configuration, made through the repositories the bot uses."""
    async with db.sessionmaker.begin() as session:
        await add_sector(
            session,
            key="space",
            name_en="Space",
            name_ja="宇宙",
            keywords=["satellite", "rocket", "人工衛星"],
            now=NOW,
        )
        green = await session.get(Sector, "green")
        assert green is not None
        green.keywords = ["heat pump", "ペロブスカイト"]
        await add_feed(session, url="https://grid.example/rss", now=NOW, sector_hint="green")
        quiet = await add_feed(session, url="https://quiet.example/atom", now=NOW, title="静かな")
        quiet.disabled, quiet.weight, quiet.site_url = True, 0.5, "https://quiet.example/"
        slack = await get_or_create_tenant(
            session, platform="slack", external_id="T0001", now=NOW, name="Acme"
        )
        discord = await get_or_create_tenant(
            session, platform="discord", external_id="90210", now=NOW
        )
        # (get_or_create_subscriber's defaults cannot set the list columns, so set them after.)
        user, _ = await get_or_create_subscriber(
            session, tenant_id=slack.id, kind="user", external_id="U42", now=NOW
        )
        user.sectors, user.follow, user.mute = ["space", "ai"], ["neutral atom"], ["crypto"]
        user.language, user.length, user.delivery_time = "ja", "short", "07:15"
        user.timezone, user.days = "Asia/Tokyo", ["mon", "wed", "fri"]
        channel, _ = await get_or_create_subscriber(
            session, tenant_id=discord.id, kind="channel", external_id="555", now=NOW
        )
        channel.sectors, channel.timezone = ["green"], "Europe/Berlin"
        channel.enabled, channel.disabled_reason = False, "channel not found"
        await add_reading(
            session,
            url="https://explain.example/qubits",
            title="What is a qubit?",
            sector_key="quantum",
            keyword=None,
            created_by="U42",
            now=NOW,
        )
        await add_reading(
            session,
            url="https://explain.example/lidar",
            title="LiDAR explained",
            sector_key=None,
            keyword="lidar",
            created_by=None,
            now=NOW,
        )


async def _export(db: Database, now: datetime = NOW) -> dict[str, Any]:
    async with db.sessionmaker() as session:
        document = await export_config(session, now=now)
    # Through JSON text, as the CLI writes and reads it.
    loaded: dict[str, Any] = json.loads(json.dumps(document, ensure_ascii=False))
    return loaded


def _without_time(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "exported_at"}


@pytest.mark.parametrize("direction", ["sqlite-to-postgresql", "postgresql-to-sqlite"])
async def test_export_then_import_into_an_empty_database_reproduces_the_configuration(
    sqlite_db: Database, postgres_db: Database, direction: str
) -> None:
    source, target = (
        (sqlite_db, postgres_db)
        if direction == "sqlite-to-postgresql"
        else (postgres_db, sqlite_db)
    )
    await _configure(source)
    exported = await _export(source)

    async with target.sessionmaker.begin() as session:
        report = await import_config(session, exported, now=NOW + timedelta(days=1))

    assert (report.feeds.created, report.tenants.created, report.subscribers.created) == (2, 2, 2)
    assert report.sectors.created == 1  # "space"; the five built-in sectors were seeded
    assert report.sectors.updated == 1  # "green" got its keywords
    assert report.related_reading.created == 2
    again = await _export(target, NOW + timedelta(days=1))
    assert _without_time(again) == _without_time(exported)


async def test_the_export_names_rows_by_natural_keys_and_holds_no_items_or_ledger(
    sqlite_db: Database,
) -> None:
    await _configure(sqlite_db)
    document = await _export(sqlite_db)

    assert document["format"] == "shiftbrief-export"
    assert document["version"] == 1
    assert document["exported_at"].startswith("2026-11-28T06:00:00")
    assert set(document) == {
        "format",
        "version",
        "exported_at",
        "sectors",
        "feeds",
        "tenants",
        "subscribers",
        "related_reading",
    }
    user = next(s for s in document["subscribers"] if s["kind"] == "user")
    assert user["tenant"] == {"platform": "slack", "external_id": "T0001"}
    assert "id" not in user and "tenant_id" not in user
    channel = next(s for s in document["subscribers"] if s["kind"] == "channel")
    assert channel["enabled"] is False
    assert channel["disabled_reason"] == "channel not found"
    space = next(s for s in document["sectors"] if s["key"] == "space")
    assert space == {
        "key": "space",
        "name_en": "Space",
        "name_ja": "宇宙",
        "keywords": ["satellite", "rocket", "人工衛星"],
        "builtin": False,
        "owner": None,  # added by the operator: the shared catalog
    }
    assert {s["key"] for s in document["sectors"] if s["builtin"]} == {
        "green",
        "quantum",
        "ai",
        "mobility",
        "life",
    }


async def test_imported_feeds_are_due_at_once_and_their_first_fetch_is_backlog(
    sqlite_db: Database, postgres_db: Database
) -> None:
    await _configure(postgres_db)
    document = await _export(postgres_db)
    later = NOW + timedelta(days=3)
    async with sqlite_db.sessionmaker.begin() as session:
        await import_config(session, document, now=later)
    async with sqlite_db.sessionmaker.begin() as session:
        due = await claim_due_feeds(session, now=later, lease=timedelta(minutes=10))
    assert [f.url for f in due] == ["https://grid.example/rss"]  # the other one is disabled
    assert due[0].state.backlog_done is False


async def test_importing_twice_changes_nothing(db: Database) -> None:
    source_document = await _exported_then_cleared(db)
    async with db.sessionmaker.begin() as session:
        first = await import_config(session, source_document, now=NOW)
    after_first = await _export(db)
    async with db.sessionmaker() as session:
        stamps = sorted((await session.execute(select(Subscriber.updated_at))).scalars())

    async with db.sessionmaker.begin() as session:
        second = await import_config(session, source_document, now=NOW + timedelta(hours=5))

    assert first.changed
    assert not second.changed, second.summary()
    assert second.subscribers.unchanged == 2
    assert _without_time(await _export(db)) == _without_time(after_first)
    async with db.sessionmaker() as session:
        assert sorted((await session.execute(select(Subscriber.updated_at))).scalars()) == stamps
        assert (await session.execute(select(func.count()).select_from(Feed))).scalar_one() == 2


async def _exported_then_cleared(db: Database) -> dict[str, Any]:
    """The test configuration's export, with ``db`` cleared of it again (but for the seeds)."""
    await _configure(db)
    document = await _export(db)
    async with db.sessionmaker.begin() as session:
        for model in (RelatedReading, Subscriber, Tenant, Feed):
            await session.execute(delete(model))
        await session.execute(delete(Sector).where(Sector.builtin.is_(False)))
    return document


async def test_import_updates_rows_with_the_same_natural_key_instead_of_duplicating(
    db: Database,
) -> None:
    await _configure(db)
    document = await _export(db)
    user = next(s for s in document["subscribers"] if s["kind"] == "user")
    user["delivery_time"] = "06:45"
    user["mute"] = []
    document["feeds"][0]["title"] = "Grid Weekly"

    async with db.sessionmaker.begin() as session:
        report = await import_config(session, document, now=NOW + timedelta(hours=1))

    assert (report.subscribers.updated, report.subscribers.unchanged) == (1, 1)
    assert (report.feeds.updated, report.feeds.unchanged) == (1, 1)
    assert report.subscribers.created == report.feeds.created == 0
    async with db.sessionmaker() as session:
        rows = list((await session.execute(select(Subscriber).order_by(Subscriber.id))).scalars())
    assert len(rows) == 2
    assert (rows[0].delivery_time, rows[0].mute) == ("06:45", [])
    assert rows[0].updated_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="opml"), "not a ShiftBrief export"),
        (lambda d: d.update(version=2), "version 2 is not supported"),
        (lambda d: d["feeds"][1].pop("url"), "feeds[1].url: Field required"),
        (
            lambda d: d["subscribers"][0].update(timezone="Mars/Olympus_Mons"),
            "subscribers[0].timezone",
        ),
        (lambda d: d["subscribers"][1].update(days=["monday"]), "subscribers[1].days[0]"),
        (lambda d: d["subscribers"][1].update(sectors=["astrology"]), "unknown sector 'astrology'"),
        (
            lambda d: d["tenants"].pop(0),
            "is not in tenants",
        ),
        (lambda d: d["feeds"].append(dict(d["feeds"][0])), "feeds repeats"),
        (lambda d: d["feeds"][0].update(password="hunter2"), "feeds[0].password"),
    ],
    ids=[
        "format",
        "version",
        "missing-url",
        "timezone",
        "day",
        "unknown-sector",
        "unknown-tenant",
        "duplicate",
        "unknown-field",
    ],
)
async def test_a_malformed_document_is_refused_with_a_clear_message_and_nothing_is_written(
    sqlite_db: Database, postgres_db: Database, change: Any, message: str
) -> None:
    await _configure(sqlite_db)
    document = await _export(sqlite_db)
    change(document)
    before = await _export(postgres_db)

    # Even a caller that swallows the error and commits has nothing written.
    async with postgres_db.sessionmaker.begin() as session:
        with pytest.raises(TransferError) as refused:
            await import_config(session, document, now=NOW)

    assert message in str(refused.value)
    assert _without_time(await _export(postgres_db)) == _without_time(before)


async def test_a_document_that_is_not_an_object_is_refused(sqlite_db: Database) -> None:
    async with sqlite_db.sessionmaker.begin() as session:
        with pytest.raises(TransferError, match="expected a JSON object"):
            await import_config(session, ["feeds"], now=NOW)


# --- Retention ------------------------------------------------------------------------------


async def _store_archive(db: Database) -> dict[str, int]:
    """Items first seen at various ages, one with feedback, and ledger rows in every state."""
    async with db.sessionmaker.begin() as session:
        feed = await add_feed(session, url="https://grid.example/rss", now=NOW)
        ages = {"ancient": 400, "old": 181, "edge": 179, "fresh": 1, "liked": 300}
        items: dict[str, Item] = {}
        for name, days in ages.items():
            items[name] = Item(
                feed_id=feed.id,
                content_hash=name,
                title=f"Perovskite tandem cell record {name}",
                summary="A solar cell efficiency record.",
                first_seen_at=NOW - timedelta(days=days),
                published_at=NOW - timedelta(days=days),
                language="en",
            )
        session.add_all(items.values())
        await session.flush()
        session.add_all(
            ItemSector(item_id=i.id, sector_key="green", score=3.0, matched=["perovskite"])
            for i in items.values()
        )
        session.add(
            Feedback(
                platform="slack",
                user_id="U42",
                story_key="s1",
                item_id=items["liked"].id,
                value=1,
                created_at=NOW,
            )
        )
        tenant = await get_or_create_tenant(session, platform="slack", external_id="T1", now=NOW)
        subscriber, _ = await get_or_create_subscriber(
            session, tenant_id=tenant.id, kind="user", external_id="U42", now=NOW
        )
        ledger = {
            "old-sent": ("sent", 120),
            "old-failed": ("failed", 95),
            "old-skipped": ("skipped", 91),
            "old-pending": ("pending", 200),
            "old-sending": ("sending", 100),
            "recent-sent": ("sent", 30),
        }
        for period, (status, days) in ledger.items():
            session.add(
                Delivery(
                    subscriber_id=subscriber.id,
                    period_key=period,
                    status=status,
                    platform="slack",
                    scheduled_for=NOW - timedelta(days=days),
                    created_at=NOW - timedelta(days=days),
                )
            )
        await session.flush()
        return {name: item.id for name, item in items.items()}


async def test_retention_deletes_exactly_the_old_rows(db: Database) -> None:
    ids = await _store_archive(db)
    async with db.sessionmaker() as session:
        assert len(await search_items(session, "perovskite", limit=20)) == 5

    async with db.sessionmaker.begin() as session:
        report = await apply_retention(session, now=NOW, items_days=180, deliveries_days=90)

    assert (report.items_deleted, report.items_kept_for_feedback) == (2, 1)
    assert report.deliveries_deleted == 3
    async with db.sessionmaker() as session:
        left = set((await session.execute(select(Item.content_hash))).scalars())
        assert left == {"edge", "fresh", "liked"}
        scored = set((await session.execute(select(ItemSector.item_id))).scalars())
        assert scored == {ids["edge"], ids["fresh"], ids["liked"]}
        found = await search_items(session, "perovskite", limit=20)
        assert {item.content_hash for item, _ in found} == {"edge", "fresh", "liked"}
        assert await search_items(session, "ancient") == []
        periods = set((await session.execute(select(Delivery.period_key))).scalars())
        assert periods == {"old-pending", "old-sending", "recent-sent"}
        feedback = (await session.execute(select(Feedback))).scalar_one()
        assert feedback.item_id == ids["liked"]


async def test_retention_zero_keeps_everything_and_the_ledger_keeps_its_last_week(
    db: Database,
) -> None:
    await _store_archive(db)
    async with db.sessionmaker.begin() as session:
        keep_all = await apply_retention(session, now=NOW, items_days=0, deliveries_days=0)
    assert (keep_all.items_deleted, keep_all.deliveries_deleted) == (0, 0)
    assert keep_all.items_before is None and keep_all.deliveries_before is None

    # One day asked for: rows from the last LEDGER_MIN_DAYS still stop a period sending twice.
    async with db.sessionmaker.begin() as session:
        for period, days in (("three-days", 3), ("ten-days", 10)):
            session.add(
                Delivery(
                    subscriber_id=(await session.execute(select(Subscriber.id))).scalar_one(),
                    period_key=period,
                    status="sent",
                    platform="slack",
                    scheduled_for=NOW - timedelta(days=days),
                    created_at=NOW - timedelta(days=days),
                )
            )
        report = await apply_retention(session, now=NOW, items_days=0, deliveries_days=1)
    assert report.deliveries_before == NOW - timedelta(days=LEDGER_MIN_DAYS)
    async with db.sessionmaker() as session:
        periods = set((await session.execute(select(Delivery.period_key))).scalars())
    assert periods == {"old-pending", "old-sending", "three-days"}
    async with db.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Item))).scalar_one() == 5


async def test_the_periodic_job_deletes_in_batches_with_the_same_result(db: Database) -> None:
    await _store_archive(db)
    report = await run_retention(
        db.sessionmaker, now=NOW, items_days=180, deliveries_days=90, batch_size=1
    )
    assert (report.items_deleted, report.items_kept_for_feedback) == (2, 1)
    assert report.deliveries_deleted == 3
    async with db.sessionmaker() as session:
        left = set((await session.execute(select(Item.content_hash))).scalars())
    assert left == {"edge", "fresh", "liked"}


async def test_a_channel_without_a_schedule_exports_and_imports(
    sqlite_db: Database, postgres_db: Database
) -> None:
    """Send-now on an unscheduled channel leaves it with no delivery time; export must cope."""
    async with sqlite_db.sessionmaker.begin() as session:
        tenant = await get_or_create_tenant(session, platform="slack", external_id="T9", now=NOW)
        await get_or_create_subscriber(
            session,
            tenant_id=tenant.id,
            kind="channel",
            external_id="C42",
            now=NOW,
            defaults={"delivery_time": ""},
        )
    async with sqlite_db.sessionmaker() as session:
        document = await export_config(session, now=NOW)
    [channel] = document["subscribers"]
    assert channel["delivery_time"] == ""
    async with postgres_db.sessionmaker.begin() as session:
        await import_config(session, document, now=NOW)
    async with postgres_db.sessionmaker() as session:
        again = await export_config(session, now=NOW)
    assert again["subscribers"] == document["subscribers"]
