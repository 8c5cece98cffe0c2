"""Commands as a chat user types them, through the console adapter, against a real database."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.console import ConsoleAdapter
from bot.commands.dispatcher import Dispatcher, Reply
from storage.models import AuditLog, Delivery, Feed, FeedOwner, FeedState, ItemSector, Subscriber
from tests.conftest import Database
from tests.seed import NEWS
from tests.seed import seed_news as _seed_news

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _console(**kwargs: object) -> tuple[ConsoleAdapter, io.StringIO]:
    out = io.StringIO()
    return ConsoleAdapter(stdout=out, **kwargs), out  # type: ignore[arg-type]


@pytest.fixture
def dispatcher(sqlite_db: Database) -> Dispatcher:
    return Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW)


async def test_today_shows_only_subscribed_sectors_with_sources_and_links(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    await _seed_news(sqlite_db, NOW)
    console, out = _console(user_id="u1")
    await console.ask(dispatcher, "/brief subscribe green")
    reply = await console.ask(dispatcher, "/brief today")
    assert reply.briefing is not None
    assert [s.key for s in reply.briefing.sections] == ["green"]
    text = out.getvalue()
    assert "Sodium-ion battery plant starts production in Sweden" in text
    assert "https://news.example/0" in text
    assert "Neutral-atom" not in text
    assert "Robot vacuum" not in text


async def test_settings_and_keywords_are_stored_per_user(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    console, _ = _console(user_id="u2", tenant_id="T1")
    await console.ask(dispatcher, "/brief settings time 7:30 tz asia/tokyo days weekdays lang ja")
    await console.ask(dispatcher, '/brief mute "robot vacuum"')
    await console.ask(dispatcher, "/brief follow 量子")
    async with sqlite_db.sessionmaker() as session:
        user = (await session.execute(select(Subscriber))).scalar_one()
    assert (user.delivery_time, user.timezone, user.language) == ("07:30", "Asia/Tokyo", "ja")
    assert user.days == ["mon", "tue", "wed", "thu", "fri"]
    assert user.mute == ["robot vacuum"]
    assert user.follow == ["量子"]
    reply = await console.ask(dispatcher, "/brief unfollow 量子")
    assert "解除" in reply.text


async def test_a_japanese_user_gets_japanese_errors_with_usage(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    console, _ = _console(user_id="u3", locale="ja-JP")
    reply = await console.ask(dispatcher, "/brief subscribe space")
    assert "space" in reply.text and "使い方" in reply.text
    reply = await console.ask(dispatcher, "/brief settings tz Mars/Olympus")
    assert "タイムゾーン" in reply.text


async def test_mistakes_get_short_english_answers(dispatcher: Dispatcher) -> None:
    console, _ = _console(user_id="u4")
    for text, expected in [
        ("/brief todya", "today"),
        ("/brief settings time 25:99", "Usage"),
        ("/brief sector", "Usage"),
        ("/brief sector robots", "green"),
    ]:
        reply = await console.ask(dispatcher, text)
        assert expected in reply.text, (text, reply.text)
        assert reply.briefing is None


async def test_mute_removes_stories_from_the_briefing(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    await _seed_news(sqlite_db, NOW)
    console, _ = _console(user_id="u5")
    await console.ask(dispatcher, "/brief subscribe green quantum")
    await console.ask(dispatcher, "/brief mute sodium")
    reply = await console.ask(dispatcher, "/brief today")
    assert reply.briefing is not None
    titles = [e.title for s in reply.briefing.sections for e in (s.lead, *s.more)]
    assert titles and not any("Sodium" in t for t in titles)


async def test_search_finds_english_and_japanese_items(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    await _seed_news(sqlite_db, NOW)
    console, _ = _console(user_id="u6")
    reply = await console.ask(dispatcher, "/brief search qubits")
    assert [r.title for r in reply.results] == [NEWS[1][2]]
    reply = await console.ask(dispatcher, "/brief search 新薬候補")
    assert [r.title for r in reply.results] == [NEWS[3][2]]
    reply = await console.ask(dispatcher, "/brief search fusion reactor")
    assert reply.results == () and "Nothing" in reply.text


async def test_a_search_hit_is_dated_by_the_readers_day(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    # Published at 22:30 UTC on November 27, it is November 28 in Tokyo.
    await _seed_news(sqlite_db, datetime(2026, 11, 28, 0, 30, tzinfo=UTC))
    console, out = _console(user_id="u6t")
    await console.ask(dispatcher, "/brief settings tz Asia/Tokyo")
    reply = await console.ask(dispatcher, "/brief search qubits")
    (hit,) = reply.results
    assert hit.published_at is not None and hit.published_at.date().isoformat() == "2026-11-28"
    assert "Qubits Today, 2026-11-28)" in out.getvalue()
    london, _ = _console(user_id="u6l")
    (hit,) = (await london.ask(dispatcher, "/brief search qubits")).results
    assert hit.published_at is not None and hit.published_at.date().isoformat() == "2026-11-27"


async def test_admin_commands_need_rights_and_are_audited(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    user, _ = _console(user_id="u7")
    reply = await user.ask(dispatcher, "/brief admin feeds add https://feeds.example/rss ai")
    assert "admin" in reply.text.lower()
    admin, _ = _console(user_id="boss", is_admin=True)
    reply = await admin.ask(dispatcher, "/brief admin feeds add https://feeds.example/rss ai")
    assert "Added feed" in reply.text
    reply = await admin.ask(dispatcher, "/brief admin feeds add https://feeds.example/rss")
    assert "already" in reply.text
    reply = await admin.ask(dispatcher, "/brief admin feeds add file:///etc/passwd")
    assert "http" in reply.text
    reply = await admin.ask(dispatcher, "/brief admin feeds list")
    assert "https://feeds.example/rss" in reply.text
    reply = await admin.ask(dispatcher, "/brief admin feeds remove 999")
    assert "999" in reply.text
    async with sqlite_db.sessionmaker() as session:
        entries = (await session.execute(select(AuditLog))).scalars().all()
    assert [(e.actor, e.action, e.detail["url"]) for e in entries] == [
        ("console:boss", "feeds add", "https://feeds.example/rss")
    ]
    assert entries[0].at == NOW


async def test_feeds_health_lists_failing_feeds_with_reason(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    async with sqlite_db.sessionmaker.begin() as session:
        feed = Feed(url="https://broken.example/rss", title="Broken", created_at=NOW)
        feed.state = FeedState(
            next_check_at=NOW + timedelta(hours=2), error_count=3, last_error="HTTP 500"
        )
        session.add(feed)
        await session.flush()
        session.add(FeedOwner(feed_id=feed.id, tenant_id=None, created_at=NOW))
    admin, _ = _console(user_id="boss", is_admin=True)
    reply = await admin.ask(dispatcher, "/brief admin feeds health")
    assert "https://broken.example/rss" in reply.text
    assert "HTTP 500" in reply.text and "3" in reply.text


async def test_a_new_sector_classifies_recent_items_without_restart(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    await _seed_news(sqlite_db, NOW)
    admin, _ = _console(user_id="boss", is_admin=True)
    reply = await admin.ask(
        dispatcher, '/brief admin sectors add batteries "Batteries" "電池" sodium-ion battery'
    )
    assert "batteries" in reply.text, reply.text
    async with sqlite_db.sessionmaker() as session:
        rows = (
            # The tenant's own sector, stored as batteries@<tenant id>.
            (
                await session.execute(
                    select(ItemSector).where(ItemSector.sector_key.startswith("batteries@"))
                )
            )
            .scalars()
            .all()
        )
    assert [r.item_id for r in rows] == [1]
    reply = await admin.ask(dispatcher, "/brief subscribe batteries")
    assert "Batteries" in reply.text


async def test_related_reading_appears_in_the_sector_section(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    await _seed_news(sqlite_db, NOW)
    admin, _ = _console(user_id="boss", is_admin=True)
    await admin.ask(
        dispatcher, "/brief admin reading add green https://explain.example/bess What is a BESS?"
    )
    reply = await admin.ask(dispatcher, "/brief sector green")
    assert reply.briefing is not None
    reading = [r.url for s in reply.briefing.sections for r in s.reading]
    assert reading == ["https://explain.example/bess"]


async def test_an_internal_failure_gets_an_apology_not_a_traceback(
    sqlite_db: Database,
) -> None:
    def broken_clock() -> datetime:
        raise RuntimeError("clock exploded")

    dispatcher = Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=broken_clock)
    console, out = _console(user_id="u8")
    reply = await console.ask(dispatcher, "/brief today")
    assert isinstance(reply, Reply)
    assert "Sorry" in reply.text
    assert "Traceback" not in out.getvalue()


async def test_dispatch_works_on_postgresql_too(postgres_db: Database) -> None:
    await _seed_news(postgres_db, NOW)
    dispatcher = Dispatcher(sessionmaker=postgres_db.sessionmaker, clock=lambda: NOW)
    console, _ = _console(user_id="pg")
    await console.ask(dispatcher, "/brief subscribe quantum")
    reply = await console.ask(dispatcher, "/brief today")
    assert reply.briefing is not None
    assert reply.briefing.sections[0].lead.title == NEWS[1][2]
    reply = await console.ask(dispatcher, "/brief search 量子コンピュータ")
    assert [r.title for r in reply.results] == [NEWS[3][2]]


class _Schedules:
    """Records what the dispatcher asks of the scheduler (the real one is tested elsewhere)."""

    def __init__(self) -> None:
        self.resyncs = 0
        self.sent_now: list[int] = []

    async def changed(self) -> None:
        self.resyncs += 1

    async def send_now(self, subscriber_id: int) -> bool:
        self.sent_now.append(subscriber_id)
        return True


async def test_admins_manage_channel_digests(sqlite_db: Database) -> None:
    schedules = _Schedules()
    dispatcher = Dispatcher(
        sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW, schedules=schedules
    )
    admin, _ = _console(user_id="boss", is_admin=True)
    reply = await admin.ask(
        dispatcher, "/brief admin schedule set #news 07:30 Europe/Berlin mon-fri ai green"
    )
    assert "#news" in reply.text and "07:30 Europe/Berlin" in reply.text
    assert "2026-11-30 07:30 CET" in reply.text  # the next weekday, in the channel's zone
    assert schedules.resyncs == 1
    listed = await admin.ask(dispatcher, "/brief admin schedule list")
    assert "#news" in listed.text and "mon, tue, wed, thu, fri" in listed.text
    async with sqlite_db.sessionmaker() as session:
        channel = (
            await session.execute(select(Subscriber).where(Subscriber.kind == "channel"))
        ).scalar_one()
    assert (channel.delivery_time, channel.sectors) == ("07:30", ["ai", "green"])
    reply = await admin.ask(dispatcher, "/brief admin schedule send-now #news")
    assert schedules.sent_now == [channel.id] and "#news" in reply.text
    reply = await admin.ask(dispatcher, f"/brief admin schedule remove {channel.id}")
    assert str(channel.id) in reply.text
    assert "No channel digests" in (await admin.ask(dispatcher, "/brief admin schedule list")).text
    reply = await admin.ask(dispatcher, f"/brief admin schedule remove {channel.id}")
    assert "No channel digest with id" in reply.text
    async with sqlite_db.sessionmaker() as session:
        actions = [a.action for a in (await session.execute(select(AuditLog))).scalars()]
    assert actions == ["schedule set", "schedule send-now", "schedule remove"]


async def test_send_now_needs_the_running_bot(dispatcher: Dispatcher) -> None:
    admin, _ = _console(user_id="boss", is_admin=True)
    reply = await admin.ask(dispatcher, "/brief admin schedule send-now #news")
    assert "shiftbrief run" in reply.text


async def test_admin_deliveries_reports_sent_late_and_failed_with_reasons(
    sqlite_db: Database, dispatcher: Dispatcher
) -> None:
    admin, _ = _console(user_id="boss", is_admin=True)
    await admin.ask(dispatcher, "/brief admin schedule set #news 07:30 UTC")
    await admin.ask(dispatcher, "/brief admin schedule set #ops 08:00 UTC")
    async with sqlite_db.sessionmaker.begin() as session:
        channels = (
            (
                await session.execute(
                    select(Subscriber).where(Subscriber.kind == "channel").order_by(Subscriber.id)
                )
            )
            .scalars()
            .all()
        )
        session.add_all(
            [
                Delivery(
                    subscriber_id=channels[0].id,
                    period_key="2026-11-28",
                    status="sent",
                    late=True,
                    platform="console",
                    scheduled_for=NOW - timedelta(hours=2),
                    created_at=NOW - timedelta(hours=1),
                ),
                Delivery(
                    subscriber_id=channels[1].id,
                    period_key="2026-11-28",
                    status="failed",
                    platform="console",
                    last_error="channel is gone",
                    scheduled_for=NOW - timedelta(hours=1),
                    created_at=NOW - timedelta(hours=1),
                ),
            ]
        )
    reply = await admin.ask(dispatcher, "/brief admin deliveries today")
    assert "1 failed, 1 sent, 1 late" in reply.text
    assert "(late)" in reply.text and "channel is gone" in reply.text
    user, _ = _console(user_id="nobody")
    assert "admin" in (await user.ask(dispatcher, "/brief admin deliveries")).text.lower()
