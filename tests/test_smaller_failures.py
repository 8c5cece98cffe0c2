"""Issue 19, item 8: schedule ids are never reused on SQLite; ``/brief today`` and ``send-now``
at the same time store what the model wrote; a tenant's feeds are limited."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.console import ConsoleAdapter
from bot.commands.dispatcher import Dispatcher, Reply
from bot.commands.grammar import CommandRequest, CommandText, Invocation
from bot.delivery.deliver import DeliveryService
from shiftbrief.runner import Schedules
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import Delivery, EditorText, FeedOwner, Subscriber
from tests.chat_api import ChatApiConfig, HttpChatAdapter, serve_chat_api
from tests.conftest import Database
from tests.openai_api import OpenAIAPI
from tests.seed import seed_news
from tests.test_editor_wiring import NOW as WIRING_NOW
from tests.test_editor_wiring import llm_editor

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
STORED_NOW = "2026-11-28 09:00:00.000000"


def admin_console() -> ConsoleAdapter:
    return ConsoleAdapter(stdout=io.StringIO(), is_admin=True)


async def _channel_ids(db: Database) -> dict[str, int]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(Subscriber.external_id, Subscriber.id).where(Subscriber.kind == "channel")
        )
        return {name: sid for name, sid in rows.all()}


async def test_a_removed_schedules_id_is_never_given_to_another_channel(db: Database) -> None:
    dispatcher = Dispatcher(sessionmaker=db.sessionmaker, clock=lambda: NOW)
    console = admin_console()
    for channel in ("#a", "#b"):
        reply = await console.ask(dispatcher, f"/brief admin schedule set {channel} 08:00 UTC")
        assert not reply.error, reply.text
    removed = (await _channel_ids(db))["#b"]
    reply = await console.ask(dispatcher, f"/brief admin schedule remove {removed}")
    assert reply.text == f"Removed channel digest {removed}."
    await console.ask(dispatcher, "/brief admin schedule set #c 09:00 UTC")
    assert (await _channel_ids(db))["#c"] > removed
    # A stale `schedule remove` (an admin's scrollback) must not hit #c.
    stale = await console.ask(dispatcher, f"/brief admin schedule remove {removed}")
    assert "Removed" not in stale.text, stale.text
    assert sorted(await _channel_ids(db)) == ["#a", "#c"]


async def test_the_migration_keeps_every_subscriber_and_delivery(tmp_path: Path) -> None:
    """Rebuilding subscribers for AUTOINCREMENT must not cascade into their deliveries."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await upgrade(engine, "0010_tenants")
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO tenants (platform, external_id, created_at) VALUES ('slack', 'T1', ?)",
            (STORED_NOW,),
        )
        for n in range(3):
            await conn.exec_driver_sql(
                "INSERT INTO subscribers (tenant_id, kind, external_id, sectors, follow, mute, "
                "language, length, delivery_time, timezone, days, enabled, created_at, "
                "updated_at) VALUES (1, 'channel', ?, '[]', '[]', '[]', 'en', 'full', '08:00', "
                "'UTC', '[]', 1, ?, ?)",
                (f"#c{n}", STORED_NOW, STORED_NOW),
            )
            await conn.exec_driver_sql(
                "INSERT INTO deliveries (subscriber_id, period_key, status, scheduled_for, "
                "attempts, late, platform, created_at) VALUES (?, '2026-11-28', 'sent', ?, 1, 0, "
                "'slack', ?)",
                (n + 1, STORED_NOW, STORED_NOW),
            )
        await conn.exec_driver_sql("DELETE FROM subscribers WHERE id = 3")
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        kept = [(s.id, s.external_id) for s in await session.scalars(select(Subscriber))]
        deliveries = sorted((await session.scalars(select(Delivery.subscriber_id))).all())
        await session.delete(await session.get(Subscriber, 2))
        await session.flush()
        session.add(
            Subscriber(
                tenant_id=1,
                kind="channel",
                external_id="#new",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        await session.flush()
        new_id = (
            await session.scalars(select(Subscriber.id).where(Subscriber.external_id == "#new"))
        ).one()
    await engine.dispose()
    assert kept == [(1, "#c0"), (2, "#c1")] and deliveries == [1, 2]
    assert new_id == 3  # not 2, the id of the channel just removed


async def test_brief_today_and_send_now_together_store_what_the_model_wrote(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Before, the command's transaction held SQLite's write lock while the model wrote, so
    the editor (of the command and of the digest beside it) could not store the texts: "could
    not store written texts: database is locked" after 30 s, and the model was asked again
    the next time."""
    await seed_news(sqlite_db, WIRING_NOW)
    async with OpenAIAPI(delay=0.2) as api, llm_editor(api, sqlite_db) as editor:
        with serve_chat_api(ChatApiConfig(per_channel=(100, 1.0))) as chat:
            adapter = HttpChatAdapter(base_url=chat.base_url)
            deliveries = DeliveryService(
                sessionmaker=sqlite_db.sessionmaker,
                adapters={"chat": adapter},
                clock=lambda: WIRING_NOW,
                worker_id="t",
                editor=editor,
            )
            dispatcher = Dispatcher(
                sessionmaker=sqlite_db.sessionmaker,
                clock=lambda: WIRING_NOW,
                editor=editor,
                schedules=Schedules(deliveries=deliveries),
            )

            def asked(text: str, user: str, *, admin: bool = False) -> CommandRequest:
                invocation = Invocation("chat", "T1", user, "C1", is_admin=admin)
                return CommandRequest(CommandText(text), invocation)

            async def send_now() -> Reply:
                reply = await dispatcher.handle(
                    asked("admin schedule send-now <#C42|news>", "boss", admin=True)
                )
                await deliveries.deliver_all()
                return reply

            # HTTP clients earlier tests dropped close themselves when the garbage collector
            # finds them, on this test's loop, and fail there ("Event loop is closed"): let
            # that happen before the records this test reads.
            gc.collect()
            await asyncio.sleep(0.1)
            gc.collect()
            caplog.clear()
            with caplog.at_level(logging.INFO):
                today, sent = await asyncio.gather(
                    dispatcher.handle(asked("today", "reader")), send_now()
                )
            assert today.briefing is not None and today.briefing.machine_written
            assert not sent.error and [c for c, _, _ in chat.messages] == ["channel-C42"]
            assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
            async with sqlite_db.sessionmaker() as session:
                stored = await session.scalar(select(func.count()).select_from(EditorText))
            assert stored and stored > 0
            # The next reader's briefing is written from what was stored: no new call.
            calls = api.count()
            again = await dispatcher.handle(asked("today", "another"))
            assert again.briefing is not None and again.briefing.machine_written
            assert api.count() == calls
            await adapter.close()


async def test_a_tenants_admins_cannot_follow_more_feeds_than_the_limit(db: Database) -> None:
    dispatcher = Dispatcher(sessionmaker=db.sessionmaker, clock=lambda: NOW, max_feeds_per_tenant=3)
    console = admin_console()
    other = ConsoleAdapter(stdout=io.StringIO(), is_admin=True, tenant_id="other")
    for n in range(3):
        added = await console.ask(dispatcher, f"/brief admin feeds add https://f{n}.example/rss")
        assert added.text.startswith(f"Added feed {n + 1}"), added.text
    refused = await console.ask(dispatcher, "/brief admin feeds add https://f3.example/rss")
    assert refused.error and "3 feeds, the most allowed here (3)" in refused.text
    assert "feeds remove" in refused.text
    # Another workspace has its own allowance, and removing one makes room again.
    assert not (await other.ask(dispatcher, "/brief admin feeds add https://f3.example/rss")).error
    await console.ask(dispatcher, "/brief admin feeds remove 1")
    again = await console.ask(dispatcher, "/brief admin feeds add https://f3.example/rss")
    assert not again.error, again.text
    async with db.sessionmaker() as session:
        owners = (await session.scalars(select(FeedOwner.tenant_id))).all()
    assert len(owners) == 4
