"""Delivery against a local chat API with rate limits, 429s, 5xx and timeouts: once, always."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.briefing.edition import ItemClassifier
from bot.delivery.deliver import DeliveryService, RetryPolicy
from bot.delivery.pacing import Pacer, RateLimit
from bot.platform import (
    Destination,
    MessageRef,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from storage.models import AuditLog, Delivery, Feed, Item, Subscriber
from tests.chat_api import ChatApiConfig, HttpChatAdapter, serve_chat_api
from tests.conftest import Database
from tests.seed import add_subscribers, seed_news

ROOT = Path(__file__).resolve().parents[1]


def _now() -> datetime:
    return datetime.now(UTC)


async def _statuses(db: Database) -> dict[int, list[str]]:
    async with db.sessionmaker() as session:
        rows = (await session.execute(select(Delivery))).scalars().all()
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row.subscriber_id, []).append(row.status)
    return found


def _service(db: Database, adapters: dict[str, object], **options: object) -> DeliveryService:
    """A delivery worker on ``db`` with the real clock (tests override what they need)."""
    return DeliveryService(
        sessionmaker=db.sessionmaker,
        adapters=adapters,  # type: ignore[arg-type]
        clock=_now,
        worker_id=str(options.pop("worker_id", "t")),
        **options,  # type: ignore[arg-type]
    )


async def _open_all(service: DeliveryService, ids: list[int], fire: datetime) -> None:
    for sid in ids:
        assert await service.open_digest(sid, fire)


async def test_every_digest_arrives_once_despite_429_5xx_and_timeouts(sqlite_db: Database) -> None:
    now = _now()
    await seed_news(sqlite_db, now)
    ids = await add_subscribers(sqlite_db, 30, now=now)
    config = ChatApiConfig(
        per_channel=(5, 1.0),
        overall=(200, 1.0),
        rate_429=0.15,
        rate_5xx=0.1,
        rate_hang=0.05,
        rate_lost_reply=0.05,
        hang_seconds=1.5,
        retry_after=0.05,
    )
    with serve_chat_api(config) as api:
        adapter = HttpChatAdapter(
            base_url=api.base_url, timeout=0.4, pacer=Pacer(per_destination=RateLimit(5, 1.0))
        )
        service = _service(
            sqlite_db, {"chat": adapter}, retry=RetryPolicy(max_attempts=10, base=0.02, cap=0.1)
        )
        await _open_all(service, ids, now)
        async with asyncio.timeout(60):
            await service.deliver_all()
        await adapter.close()
        counts = api.per_channel()
        injected = dict(api.injected)
    assert injected.get("429") and injected.get("5xx") and injected.get("hang")
    assert injected.get("lost_reply")
    assert sorted(counts.values()) == [1] * 30
    assert await _statuses(sqlite_db) == {sid: ["sent"] for sid in ids}


async def test_a_second_trigger_for_the_same_period_sends_nothing_more(
    db: Database,
) -> None:
    now = _now()
    await seed_news(db, now)
    ids = await add_subscribers(db, 3, now=now)
    with serve_chat_api(ChatApiConfig()) as api:
        adapter = HttpChatAdapter(base_url=api.base_url)
        service = _service(db, {"chat": adapter})
        await _open_all(service, ids, now)
        await service.deliver_all()
        assert not await service.open_digest(ids[0], now)  # the same period again
        await service.deliver_all()
        await adapter.close()
        assert sorted(api.per_channel().values()) == [1, 1, 1]


async def test_a_gone_channel_disables_its_subscription_with_a_notice(
    sqlite_db: Database,
) -> None:
    now = _now()
    await seed_news(sqlite_db, now)
    ids = await add_subscribers(sqlite_db, 3, now=now)
    with serve_chat_api(ChatApiConfig(gone_channels=frozenset({"channel-C0001"}))) as api:
        adapter = HttpChatAdapter(base_url=api.base_url)
        service = _service(sqlite_db, {"chat": adapter})
        await _open_all(service, ids, now)
        await service.deliver_all()
        await adapter.close()
        assert api.requests == 3  # the permanent failure was not retried
    assert await _statuses(sqlite_db) == {ids[0]: ["sent"], ids[1]: ["failed"], ids[2]: ["sent"]}
    async with sqlite_db.sessionmaker() as session:
        gone = await session.get(Subscriber, ids[1])
        notice = (await session.execute(select(AuditLog))).scalar_one()
    assert gone is not None and not gone.enabled
    assert gone.disabled_reason is not None and "gone" in gone.disabled_reason
    assert notice.action == "subscription disabled"


async def test_transient_failures_stop_after_the_bounded_attempts(sqlite_db: Database) -> None:
    now = _now()
    await seed_news(sqlite_db, now)
    [sid] = await add_subscribers(sqlite_db, 1, now=now)
    config = ChatApiConfig(rate_5xx=1.0)
    with serve_chat_api(config) as api:
        adapter = HttpChatAdapter(base_url=api.base_url)
        service = _service(
            sqlite_db, {"chat": adapter}, retry=RetryPolicy(max_attempts=3, base=0.01, cap=0.02)
        )
        await service.open_digest(sid, now)
        await service.deliver_all()
        await adapter.close()
        assert api.requests == 3
    async with sqlite_db.sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
        subscriber = await session.get(Subscriber, sid)
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "HTTP 502")
    assert subscriber is not None and subscriber.enabled  # transient trouble disables nothing


class _SlowAdapter:
    """Takes ``delay`` seconds for destination C0000 only."""

    platform = "chat"

    def __init__(self, inner: HttpChatAdapter, delay: float) -> None:
        self.inner, self.delay = inner, delay
        self.finished: list[str] = []

    async def send_briefing(self, dest: Destination, briefing, **kwargs):  # type: ignore[no-untyped-def]
        if dest.external_id == "C0000":
            await asyncio.sleep(self.delay)
        ref = await self.inner.send_briefing(dest, briefing, **kwargs)
        self.finished.append(dest.external_id)
        return ref


async def test_one_slow_destination_does_not_delay_the_others(sqlite_db: Database) -> None:
    now = _now()
    await seed_news(sqlite_db, now)
    ids = await add_subscribers(sqlite_db, 5, now=now)
    with serve_chat_api(ChatApiConfig()) as api:
        inner = HttpChatAdapter(base_url=api.base_url)
        slow = _SlowAdapter(inner, delay=1.0)
        service = _service(sqlite_db, {"chat": slow})  # type: ignore[dict-item]
        await _open_all(service, ids, now)
        await service.deliver_all()
        await inner.close()
    assert slow.finished[-1] == "C0000"
    assert sorted(slow.finished[:-1]) == ["C0001", "C0002", "C0003", "C0004"]


async def test_a_half_sent_briefing_resumes_from_the_next_part(sqlite_db: Database) -> None:
    now = _now()
    await seed_news(sqlite_db, now)
    [sid] = await add_subscribers(sqlite_db, 1, now=now)
    with serve_chat_api(ChatApiConfig()) as api:
        adapter = HttpChatAdapter(base_url=api.base_url, parts=3)
        calls: list[int] = []

        class FailAfterFirstPart:
            """Posts part 0 for real, then fails as a timeout would."""

            platform = "chat"

            async def send_briefing(  # type: ignore[no-untyped-def]
                self,
                dest,
                briefing,
                *,
                start_part=0,
                idempotency_key=None,
                on_sent=None,
                resume_since=None,
            ):
                calls.append(start_part)
                if len(calls) == 1:
                    one = HttpChatAdapter(base_url=api.base_url, parts=3)
                    first = await _send_first_part(one, dest, briefing)
                    await one.close()
                    raise TransientDeliveryError("timed out", sent_message_ids=(first,))
                return await adapter.send_briefing(
                    dest,
                    briefing,
                    start_part=start_part,
                    idempotency_key=idempotency_key,
                    on_sent=on_sent,
                )

        service = _service(
            sqlite_db,
            {"chat": FailAfterFirstPart()},  # type: ignore[dict-item]
            retry=RetryPolicy(base=0.01, cap=0.01),
        )
        await service.open_digest(sid, now)
        await service.deliver_all()
        await adapter.close()
        assert calls == [0, 1]
        assert len(api.messages) == 3
    async with sqlite_db.sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
    assert row.status == "sent"
    assert row.message_ref is not None and len(row.message_ref["message_ids"]) == 3


async def _send_first_part(adapter: HttpChatAdapter, dest: Destination, briefing) -> str:  # type: ignore[no-untyped-def]
    original = adapter.render
    adapter.render = lambda b: original(b)[:1]  # type: ignore[method-assign]
    ref = await adapter.send_briefing(dest, briefing)
    return ref.message_ids[0]


def _spawn_worker(db: Database, api_url: str, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fanout_worker", db.url, api_url, name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_a_worker_killed_mid_fanout_and_restarted_delivers_each_digest_once(
    sqlite_db: Database,
) -> None:
    now = _now()
    await seed_news(sqlite_db, now)
    ids = await add_subscribers(sqlite_db, 40, now=now)
    setup = DeliveryService(
        sessionmaker=sqlite_db.sessionmaker, adapters={}, clock=_now, worker_id="setup"
    )
    await _open_all(setup, ids, now)
    with serve_chat_api(ChatApiConfig(overall=(1000, 1.0))) as api:
        first = _spawn_worker(sqlite_db, api.base_url, "first")
        deadline = time.monotonic() + 30
        while len(api.messages) < 25 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert first.returncode == -signal.SIGKILL
        killed_at = len(api.messages)
        assert 0 < killed_at < 80, "the kill should land in the middle of the fan-out"
        second = _spawn_worker(sqlite_db, api.base_url, "second")
        _, stderr = await asyncio.to_thread(second.communicate, timeout=60)
        assert second.returncode == 0, stderr.decode()
        counts = api.per_channel()
    assert sorted(counts.values()) == [2] * 40  # two parts each, none twice
    assert await _statuses(sqlite_db) == {sid: ["sent"] for sid in ids}


async def test_a_worker_claims_no_more_than_it_can_start(sqlite_db: Database) -> None:
    now = _now()
    ids = await add_subscribers(sqlite_db, 5, now=now)
    service = DeliveryService(
        sessionmaker=sqlite_db.sessionmaker,
        adapters={},
        clock=_now,
        worker_id="small",
        concurrency=2,
    )
    await _open_all(service, ids, now)
    assert await service.process_due() == 2
    statuses = await _statuses(sqlite_db)
    assert (
        sorted(s for rows in statuses.values() for s in rows) == ["pending"] * 3 + ["sending"] * 2
    )
    await service.drain()


async def test_stopping_mid_briefing_hands_it_back_and_a_restart_sends_the_rest(
    sqlite_db: Database,
) -> None:
    now = _now()
    await seed_news(sqlite_db, now)
    [sid] = await add_subscribers(sqlite_db, 1, now=now)
    with serve_chat_api(ChatApiConfig()) as api:
        # One part a second: the stop lands while part 2 waits for the pacer.
        slow = HttpChatAdapter(
            base_url=api.base_url, parts=3, pacer=Pacer(per_destination=RateLimit(1, 1.0))
        )
        first = DeliveryService(
            sessionmaker=sqlite_db.sessionmaker,
            adapters={"chat": slow},
            clock=_now,
            worker_id="first",
        )
        await first.open_digest(sid, now)
        stop = asyncio.Event()
        worker = asyncio.create_task(first.run(stop, poll=0.05, shutdown_grace=0.2))
        while not api.messages:
            await asyncio.sleep(0.01)
        stop.set()
        await worker
        await slow.close()
        assert len(api.messages) == 1
        async with sqlite_db.sessionmaker() as session:
            row = (await session.execute(select(Delivery))).scalar_one()
        assert row.status == "pending" and row.message_ref is not None
        assert len(row.message_ref["message_ids"]) == 1
        fast = HttpChatAdapter(base_url=api.base_url, parts=3)
        second = DeliveryService(
            sessionmaker=sqlite_db.sessionmaker,
            adapters={"chat": fast},
            clock=_now,
            worker_id="second",
        )
        await second.deliver_all()
        await fast.close()
        texts = [text for _channel, text, _at in api.messages]
    assert len(texts) == 3 and len(set(texts)) == 3  # every part once, none repeated
    assert await _statuses(sqlite_db) == {sid: ["sent"]}


async def test_a_digest_due_before_an_unsubscribe_is_not_sent_after_it(
    sqlite_db: Database,
) -> None:
    now = _now()
    await seed_news(sqlite_db, now)
    [sid] = await add_subscribers(sqlite_db, 1, now=now, kind="user")
    with serve_chat_api(ChatApiConfig(rate_5xx=1.0)) as api:
        adapter = HttpChatAdapter(base_url=api.base_url)
        service = _service(sqlite_db, {"chat": adapter}, retry=RetryPolicy(base=0.01, cap=0.01))
        await service.open_digest(sid, now)
        await service.process_due()
        await service.drain()  # the first attempt failed with a 502
        async with sqlite_db.sessionmaker.begin() as session:
            user = await session.get(Subscriber, sid)
            assert user is not None
            user.sectors = []  # /brief unsubscribe all
        api.config.rate_5xx = 0.0
        await service.deliver_all()
        await adapter.close()
        assert api.messages == []
    async with sqlite_db.sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
    assert (row.status, row.last_error) == ("skipped", "no longer subscribed")


async def test_a_refused_message_fails_the_delivery_but_keeps_the_subscription(
    sqlite_db: Database,
) -> None:
    now = _now()
    await seed_news(sqlite_db, now)
    [sid] = await add_subscribers(sqlite_db, 1, now=now)

    class Refusing:
        platform = "chat"

        async def send_briefing(self, dest, briefing, **kwargs):  # type: ignore[no-untyped-def]
            raise PermanentDeliveryError("invalid_blocks", disable_subscription=False)

    service = _service(sqlite_db, {"chat": Refusing()})  # type: ignore[dict-item]
    await service.open_digest(sid, now)
    await service.deliver_all()
    async with sqlite_db.sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
        subscriber = await session.get(Subscriber, sid)
    assert (row.status, row.last_error) == ("failed", "invalid_blocks")
    assert subscriber is not None and subscriber.enabled


async def test_a_worker_whose_claim_was_taken_over_records_nothing(sqlite_db: Database) -> None:
    now = _now()
    await seed_news(sqlite_db, now)
    [sid] = await add_subscribers(sqlite_db, 1, now=now)

    class TakenOver:
        """While this worker sends, another worker takes the row over (its lease ran out)."""

        platform = "chat"

        async def send_briefing(self, dest, briefing, **kwargs):  # type: ignore[no-untyped-def]
            async with sqlite_db.sessionmaker.begin() as session:
                row = (await session.execute(select(Delivery))).scalar_one()
                row.claimed_by = "other-worker"
            return MessageRef(platform="chat", channel_id="c", message_ids=("1",))

    service = DeliveryService(
        sessionmaker=sqlite_db.sessionmaker,
        adapters={"chat": TakenOver()},
        clock=_now,
        worker_id="slow",
    )  # type: ignore[dict-item]
    await service.open_digest(sid, now)
    await service.process_due()
    await service.drain()
    async with sqlite_db.sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
    assert (row.status, row.claimed_by) == ("sending", "other-worker")


async def test_digests_due_together_share_one_edition_however_long_their_fan_out(
    sqlite_db: Database,
) -> None:
    """A fan-out to many readers outlasts the edition's minute; it still composes every digest
    of that due time from one edition (memory and work flat in readers), while a digest due at
    another time gets a fresh one with what arrived since."""
    clock = [_now()]
    await seed_news(sqlite_db, clock[0])
    ids = await add_subscribers(sqlite_db, 3, now=clock[0])
    due = clock[0]
    with serve_chat_api(ChatApiConfig()) as api:
        adapter = HttpChatAdapter(base_url=api.base_url)
        service = DeliveryService(
            sessionmaker=sqlite_db.sessionmaker,
            adapters={"chat": adapter},  # type: ignore[dict-item]
            clock=lambda: clock[0],
            worker_id="t",
        )
        assert await service.open_digest(ids[0], due)
        await service.deliver_all()
        clock[0] += timedelta(minutes=10)  # the same fan-out, ten minutes on ...
        async with sqlite_db.sessionmaker.begin() as session:  # ... and news arrived meanwhile
            feed = (await session.execute(select(Feed).limit(1))).scalar_one()
            item = Item(
                feed_id=feed.id,
                content_hash="late",
                title="Solid-state battery line opens in Japan",
                summary="The plant will make 5 GWh of solid-state cells a year.",
                link="https://news.example/late",
                language="en",
                published_at=clock[0] - timedelta(minutes=1),
                first_seen_at=clock[0],
            )
            session.add(item)
            await session.flush()
            await ItemClassifier()(session, [item])
        assert await service.open_digest(ids[1], due)
        await service.deliver_all()
        assert await service.send_now(ids[2])  # due now: another edition
        await service.deliver_all()
        await adapter.close()
        texts = {channel: text for channel, text, _ in api.messages}
    assert "Solid-state" not in texts["channel-C0001"]
    assert "Solid-state" in texts["channel-C0002"]
