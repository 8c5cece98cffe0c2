"""A slow model never holds a digest back (issue 19, item 2).

The model here is a loopback endpoint that sends its headers and then one byte now and then
(``tests.drip_model``): a per-read timeout never fires against it. Calls are held to a deadline,
digests go out through the real scheduler and delivery worker with the text that is ready, and
what the model finishes later is used by the next edition.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.briefing.compose import BriefingContext
from bot.briefing.editor.base import Editor
from bot.briefing.editor.factory import close_editor, make_editor, make_text_reader
from bot.config import Settings
from bot.delivery.deliver import DeliveryService
from bot.delivery.schedule import DigestScheduler
from bot.metrics import Metrics
from tests.chat_api import ChatApiConfig, HttpChatAdapter, serve_chat_api
from tests.conftest import Database
from tests.drip_model import DripModel
from tests.openai_api import OpenAIAPI
from tests.seed import add_subscribers, seed_news
from tests.test_editor_llm import ARTICLES, PIECES, SECTORS, briefings, metric


def _settings(base_url: str, **kw: Any) -> Settings:
    return Settings(llm_base_url=base_url, llm_model="m", **kw)


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def _editors(settings: Settings, db: Database) -> AsyncIterator[tuple[Editor, Editor | None]]:
    """The editor and the reader the bot makes (``shiftbrief.runner``), closed at the end as
    the bot closes them: their model clients go with this test's loop."""
    editor = make_editor(settings, sessionmaker=db.sessionmaker, clock=_now)
    reader = make_text_reader(settings, sessionmaker=db.sessionmaker, clock=_now)
    try:
        yield editor, reader
    finally:
        await close_editor(editor)
        await close_editor(reader)


async def test_a_dripping_model_cannot_hold_a_call_past_its_deadline(sqlite_db: Database) -> None:
    """A byte every 0.2 s keeps a per-read timeout of 1 s happy forever; the call still ends
    at 1 s, counted as a timeout, and after two the endpoint is left alone (not the whole
    edition budget spent on it, which would count every piece as a "deadline" fallback)."""
    metrics = Metrics()
    async with DripModel(interval=0.2) as model:
        settings = _settings(
            model.base_url, llm_timeout=1, llm_budget_seconds=30, llm_concurrency=1
        )
        editor = make_editor(
            settings, sessionmaker=sqlite_db.sessionmaker, clock=_now, metrics=metrics
        )
        context = BriefingContext.prepare(ARTICLES, SECTORS, (), _now())
        await context.edit(editor, ["en", "ja"])
        await close_editor(editor)
    assert model.calls == 2
    assert metric(metrics, "calls", result="timeout") == 2
    assert metric(metrics, "fallbacks", reason="call_failed") == PIECES
    assert metric(metrics, "fallbacks", reason="deadline") == 0
    for briefing in briefings(context):
        assert not briefing.machine_written and briefing.sections


async def _delivered(api: Any, count: int) -> None:
    while len(api.messages) < count:
        await asyncio.sleep(0.05)


async def test_every_digest_goes_out_on_time_while_the_model_drips(sqlite_db: Database) -> None:
    """Three tenants' digests due now, a model that trickles and never answers: each digest
    goes out with extractive text before any call to the model has even ended (the issue saw
    them 121, 241 and 361 s late)."""
    now = _now()
    await seed_news(sqlite_db, now)
    due = now.strftime("%H:%M")
    for n in range(3):
        await add_subscribers(
            sqlite_db, 1, now=now, tenant=f"T{n}", prefix=f"C{n}-", delivery_time=due
        )
    stop = asyncio.Event()
    # A per-call deadline far beyond the digests: they must not wait for any call to end.
    slow = {"llm_timeout": 60, "llm_budget_seconds": 300}
    async with (
        DripModel(interval=0.5) as model,
        _editors(_settings(model.base_url, **slow), sqlite_db) as (editor, reader),
    ):
        with serve_chat_api(ChatApiConfig()) as api:
            adapter = HttpChatAdapter(base_url=api.base_url)
            service = DeliveryService(
                sessionmaker=sqlite_db.sessionmaker,
                adapters={"chat": adapter},  # type: ignore[dict-item]
                clock=_now,
                worker_id="w",
                editor=editor,
                reader=reader,
            )
            scheduler = DigestScheduler(
                sessionmaker=sqlite_db.sessionmaker,
                sink=service,
                clock=_now,
                grace=timedelta(hours=1),
                name="drip",
            )
            worker = asyncio.create_task(service.run(stop, shutdown_grace=1))
            started = time.monotonic()
            await scheduler.start()  # the minute is due: caught up at once, as at a restart
            try:
                async with asyncio.timeout(50):
                    await _delivered(api, 3)
            finally:
                stop.set()
                await scheduler.shutdown()
                await worker
                await adapter.close()
            calls = model.calls
    assert sorted(api.per_channel()) == ["channel-C0-0000", "channel-C1-0000", "channel-C2-0000"]
    assert calls > 0  # the model was being asked, beside the delivery
    # No call could have ended before 60 s: the digests did not wait for one.
    assert all(at - started < 60 for _channel, _text, at in api.messages)
    assert not any("In brief:" in text for _channel, text, _at in api.messages)


async def test_text_the_model_finishes_late_is_used_by_the_next_edition(
    sqlite_db: Database,
) -> None:
    """The first digest goes out without waiting for a model that takes 2 s a call; the
    writing goes on, is kept, and the next edition uses it without asking the model again."""
    now = _now()
    await seed_news(sqlite_db, now)
    # Two readers: the second digest goes to another reader, since one who received the
    # first would be told only what is new since (bot.stories).
    ids = await add_subscribers(sqlite_db, 2, now=now)
    async with (
        DripModel(interval=0.2, finish_after=2) as model,
        _editors(_settings(model.base_url, llm_timeout=30, llm_budget_seconds=60), sqlite_db) as (
            editor,
            reader,
        ),
    ):
        with serve_chat_api(ChatApiConfig()) as api:
            adapter = HttpChatAdapter(base_url=api.base_url)
            service = DeliveryService(
                sessionmaker=sqlite_db.sessionmaker,
                adapters={"chat": adapter},  # type: ignore[dict-item]
                clock=_now,
                worker_id="w",
                editor=editor,
                reader=reader,
                editor_wait=0.1,
                edition_ttl=timedelta(0),
            )
            assert await service.send_now(ids[0])
            await service.deliver_all()
            first = api.messages[-1][1]
            async with asyncio.timeout(30):
                await service.editions.idle()
            calls = model.calls
            assert await service.send_now(ids[1])
            await service.deliver_all()
            second = api.messages[-1][1]
            await service.editions.close()
            await adapter.close()
    assert model.finished == calls > 0
    assert "In brief:" not in first
    assert "In brief:" in second
    assert model.calls == calls  # everything came from what was written before


async def test_an_edition_is_written_ahead_of_its_digest(sqlite_db: Database) -> None:
    """A digest due in two minutes has its edition written now, so at its time it goes out
    with the model's text at once; a digest due in hours is left for later."""
    now = _now()
    await seed_news(sqlite_db, now)
    soon = (now + timedelta(minutes=2)).strftime("%H:%M")
    later = (now + timedelta(hours=5)).strftime("%H:%M")
    ids = await add_subscribers(sqlite_db, 1, now=now, tenant="T1", delivery_time=soon)
    await add_subscribers(sqlite_db, 1, now=now, tenant="T2", delivery_time=later)
    async with (
        OpenAIAPI() as model,
        _editors(_settings(model.base_url), sqlite_db) as (editor, reader),
    ):
        with serve_chat_api(ChatApiConfig()) as api:
            adapter = HttpChatAdapter(base_url=api.base_url)
            service = DeliveryService(
                sessionmaker=sqlite_db.sessionmaker,
                adapters={"chat": adapter},  # type: ignore[dict-item]
                clock=_now,
                worker_id="w",
                editor=editor,
                reader=reader,
                editor_wait=0,
                write_ahead=timedelta(minutes=3),
            )
            started = await service.editions.prepare_due(now)
            assert len(started) == 1
            assert await service.editions.prepare_due(now) == []  # once per due time
            async with asyncio.timeout(30):
                await service.editions.idle()
            asked = model.count()
            assert await service.open_digest(ids[0], now + timedelta(minutes=2))
            await service.deliver_all()
            await service.editions.close()
            await adapter.close()
    assert "In brief:" in api.messages[-1][1]
    assert model.count() == asked
