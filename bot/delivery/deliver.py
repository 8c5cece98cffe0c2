"""Delivery: compose -> adapter.send -> ledger, exactly once per subscriber and period.

The ledger row is opened when a digest is due (unique per subscriber and period), claimed by
a worker with a compare-and-set before anything is sent, and records every part of a long
briefing as it goes out (committed before the next part is posted), so a restart resumes a
half-sent digest from the next part instead of sending it again. The one part whose outcome a
crash leaves unknown (posted, not yet recorded) is looked up on the platform before it is
posted again (``resume_since``). Rate limits are the adapters' pacers; here a 429 waits the
``Retry-After`` the platform gave, 5xx and timeouts back off with jitter a bounded number of
times, and permanent failures (channel gone, bot removed, DMs closed) disable the subscription
with the reason.
Every delivery runs as its own task, so one slow destination never delays the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.briefing.edition import profile_of
from bot.briefing.editor.base import Editor
from bot.delivery.editions import EditionDesk
from bot.delivery.schedule import is_scheduled, period_key, trigger_of
from bot.metrics import Metrics
from bot.platform import (
    Destination,
    PermanentDeliveryError,
    PlatformAdapter,
    TransientDeliveryError,
)
from bot.stories import digest as stories_digest
from storage.models import Delivery, Subscriber, Tenant
from storage.repositories import deliveries as ledger
from storage.repositories import subscribers as sub_repo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries: ``base`` doubled each attempt up to ``cap``, with full jitter."""

    max_attempts: int = 5
    base: float = 2.0
    cap: float = 300.0

    def delay(self, attempt: int, *, retry_after: float | None, rand: Callable[[], float]) -> float:
        if retry_after is not None:
            return retry_after  # the platform said when; waiting longer only adds latency
        backoff = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return float(backoff / 2 + rand() * backoff / 2)


class DeliveryService:
    """Opens, claims and sends digests; ``run`` is the worker loop of ``shiftbrief run``.

    Args:
        sessionmaker: the database holding the ledger.
        adapters: one adapter per platform name ("slack", "discord", "console").
        clock: current aware UTC time.
        worker_id: who claims rows (host and process id).
        retry: the retry policy for transient failures.
        lease: a "sending" row older than this belongs to a worker that vanished.
        concurrency: deliveries in flight at once (also the most rows claimed at a time).
        exclusive: this is the only worker on the database (SQLite, one process): rows left
            "sending" by an earlier run are resumed at once instead of after the lease.
        edition_ttl: how long one loaded edition serves composition.
        metrics: where outcomes and scheduler lag are counted, if anywhere.
        editor: writes editions (a language model); None: extractive text.
        reader: reads what ``editor`` wrote without asking it anything (``make_text_reader``).
        editor_wait: seconds a digest waits for its edition's writing; then it goes out with
            the text ready, and the rest is used by the next edition (``EditionDesk``).
        write_ahead: how long before a digest is due its edition's writing starts.
    """

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        adapters: Mapping[str, PlatformAdapter],
        clock: Callable[[], datetime],
        worker_id: str,
        retry: RetryPolicy | None = None,
        concurrency: int = 64,
        lease: timedelta = timedelta(minutes=10),
        exclusive: bool = False,
        edition_ttl: timedelta = timedelta(seconds=60),
        rand: Callable[[], float] = random.random,
        metrics: Metrics | None = None,
        editor: Editor | None = None,
        reader: Editor | None = None,
        editor_wait: float = 5.0,
        write_ahead: timedelta = timedelta(minutes=3),
    ) -> None:
        self._metrics = metrics
        self.editions = EditionDesk(
            sessionmaker=sessionmaker,
            clock=clock,
            ttl=edition_ttl,
            editor=editor,
            reader=reader,
            wait=editor_wait,
            lead=write_ahead,
        )
        self._sessionmaker = sessionmaker
        self._adapters = dict(adapters)
        self._clock = clock
        self._worker = worker_id
        self._retry = retry or RetryPolicy()
        self._concurrency = concurrency
        self._lease = lease
        self._exclusive = exclusive
        self._recovered = False
        self._rand = rand
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- opening ledger rows -------------------------------------------------------------

    async def open_digest(
        self, subscriber_id: int, fire_time: datetime, *, late: bool = False
    ) -> bool:
        """Open the period of ``fire_time`` for a subscriber; False when it exists already."""
        now = self._clock()
        opened = await self._open(subscriber_id, fire_time, now=now, late=late)
        if opened and self._metrics is not None:
            self._metrics.scheduler_lag_seconds.observe(max(0.0, (now - fire_time).total_seconds()))
        return opened

    async def skip_digest(self, subscriber_id: int, fire_time: datetime, *, reason: str) -> bool:
        """Record a period that will not be sent (missed beyond the grace period)."""
        return await self._open(
            subscriber_id, fire_time, now=self._clock(), status="skipped", last_error=reason
        )

    async def send_now(self, subscriber_id: int) -> bool:
        """A digest outside the schedule (admin send-now): its own period, sent at once."""
        now = self._clock()
        return await self._open(
            subscriber_id, now, now=now, period=f"now:{now.strftime('%Y%m%dT%H%M%S.%f')}"
        )

    async def _open(
        self,
        subscriber_id: int,
        scheduled_for: datetime,
        *,
        now: datetime,
        period: str | None = None,
        status: str = "pending",
        late: bool = False,
        last_error: str | None = None,
    ) -> bool:
        """The ledger row of one period (by default the local date ``scheduled_for`` is the
        digest of); False when the subscriber is gone or the row exists already."""
        async with self._sessionmaker.begin() as session:
            subscriber = await session.get(Subscriber, subscriber_id)
            if subscriber is None:
                return False
            tenant = await session.get(Tenant, subscriber.tenant_id)
            assert tenant is not None
            opened = await ledger.open_delivery(
                session,
                subscriber_id=subscriber_id,
                period_key=period or period_key(scheduled_for, trigger_of(subscriber)),
                platform=tenant.platform,
                scheduled_for=scheduled_for,
                now=now,
                status=status,
                late=late,
                last_error=last_error,
            )
        if opened and status == "pending":
            self._wake.set()
        return opened

    # ---- the worker -----------------------------------------------------------------------

    async def run(
        self, stop: asyncio.Event, *, poll: float = 1.0, shutdown_grace: float = 30.0
    ) -> None:
        """Deliver whatever is due until ``stop`` is set.

        Then deliveries in flight get ``shutdown_grace`` seconds to finish; the rest are
        cancelled and handed back to the ledger (pending, from their next unsent part).
        """
        while not stop.is_set():
            self._wake.clear()  # before reading the ledger, so no wake-up is lost
            try:
                await self.process_due()
            except Exception:
                # The database may be away for a while; what is due stays due in the ledger.
                log.warning("delivery worker: cannot read the ledger; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll):
                    stopping = asyncio.ensure_future(stop.wait())
                    waking = asyncio.ensure_future(self._wake.wait())
                    try:
                        await asyncio.wait({stopping, waking}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        stopping.cancel()
                        waking.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(shutdown_grace):
                await self.drain()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        await self.editions.close()

    async def process_due(self, *, limit: int = 500) -> int:
        """Claim what is due, up to the free delivery slots, and start sending it.

        Only as many rows are claimed as can start at once: a claim waiting in memory would age
        past the lease and another process would take the same digest.

        Returns:
            How many deliveries were started.
        """
        free = min(limit, self._concurrency - len(self._in_flight))
        if free <= 0:
            return 0
        now = self._clock()
        stale = now - self._lease
        recovering = self._exclusive and not self._recovered
        if recovering:
            # Nothing else works on this database, so whatever an earlier run left "sending"
            # was interrupted by a crash: resume it now (from its next unsent part).
            stale = now + timedelta(seconds=1)
        async with self._sessionmaker.begin() as session:
            ids = await ledger.claimable(session, now=now, stale_before=stale, limit=free)
            ids = [i for i in ids if i not in self._in_flight]
            claimed = await ledger.claim(
                session, ids, worker=self._worker, now=now, stale_before=stale
            )
        self._recovered = self._recovered or recovering
        for delivery_id in claimed:
            self._in_flight.add(delivery_id)
            task = asyncio.create_task(self._deliver(delivery_id), name=f"delivery-{delivery_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def drain(self) -> None:
        """Wait for the deliveries in flight (bound it with ``asyncio.timeout``)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    async def deliver_all(self) -> None:
        """Process until nothing is due, waiting, or in flight (tests, benchmarks, one-shots)."""
        while True:
            started = await self.process_due()
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=0.05)
                continue
            if started:
                continue
            wait = await self._next_attempt_in()
            if wait is None:
                return
            await asyncio.sleep(min(0.05, wait))

    async def _next_attempt_in(self) -> float | None:
        async with self._sessionmaker() as session:
            query = select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status.in_(("pending", "sending"))
            )
            soonest = (await session.execute(query)).scalar_one_or_none()
        if soonest is None:
            return None
        return max(0.0, (soonest - self._clock()).total_seconds())

    # ---- one delivery ---------------------------------------------------------------------

    async def _deliver(self, delivery_id: int) -> None:
        try:
            await self._deliver_one(delivery_id)
        except asyncio.CancelledError:
            # Shutting down: the parts already posted are recorded; hand the rest back.
            with contextlib.suppress(Exception):
                await self._release(delivery_id)
            raise
        except LeaseLost:
            log.warning(
                "delivery %s was taken over by another worker; stopped sending it",
                delivery_id,
                extra={"delivery_id": delivery_id},
            )
        except Exception:
            log.exception(
                "delivery %s crashed; it will be retried",
                delivery_id,
                extra={"delivery_id": delivery_id},
            )
            await self._after_transient(delivery_id, "internal error", None)
        finally:
            self._in_flight.discard(delivery_id)

    async def _deliver_one(self, delivery_id: int) -> None:
        async with self._sessionmaker() as session:
            delivery = await session.get(Delivery, delivery_id)
            assert delivery is not None
            subscriber = await session.get(Subscriber, delivery.subscriber_id)
            assert subscriber is not None
            tenant = await session.get(Tenant, subscriber.tenant_id)
            assert tenant is not None
        adapter = self._adapters.get(tenant.platform)
        if adapter is None:
            await self._after_transient(
                delivery_id, f"no {tenant.platform} adapter is running", None
            )
            return
        on_demand = delivery.period_key.startswith("now:")
        if not subscriber.enabled or not (on_demand or is_scheduled(subscriber)):
            # Unsubscribed or disabled after the digest fell due: send nothing.
            await self._finish(delivery_id, status="skipped", error="no longer subscribed")
            return
        progress = dict(delivery.message_ref or {})
        sent: list[str] = [str(m) for m in progress.get("message_ids") or []]  # type: ignore[attr-defined]
        composed_at = progress.get("composed_at")
        # Claimed before: an earlier attempt may have posted a part it never recorded (killed
        # between the post and the write, or its reply lost), so the adapter looks on the
        # platform for parts posted since the first claim before posting them again.
        resume_since = (
            delivery.started_at
            if delivery.started_at is not None
            and delivery.claimed_at is not None
            and delivery.started_at < delivery.claimed_at
            else None
        )
        # One edition per tenant scope (the shared catalog plus the tenant's own feeds, sectors
        # and reading), prepared once and composed for every reader of that tenant.
        if composed_at:
            # A resumed briefing must be the same briefing, or its parts would not line up
            # (and a part posted unrecorded could not be recognised on the platform).
            edition = await self.editions.at(tenant.id, datetime.fromisoformat(str(composed_at)))
        else:
            edition = await self.editions.current(tenant.id, due=delivery.scheduled_for)
        # Since the reader's last briefing: stories they received with nothing new are left out,
        # those with news come back marked as updates (bot.stories).
        async with self._sessionmaker() as session:
            view = await stories_digest.for_reader(
                session,
                subscriber.id,
                edition,
                profile_of(subscriber, all_sectors=list(edition.sectors)),
                before=edition.now,  # a resumed digest sees what its first attempt saw
            )
        # The period's own date: a digest a clock change moved past midnight is still that
        # day's (send-now digests are dated by the reader's clock).
        day = None if on_demand else _period_date(delivery.period_key)
        briefing = edition.compose(view.profile, date=day)
        if briefing.is_empty:
            self._count(tenant.platform, "skipped")
            await self._finish(delivery_id, status="skipped", error="no news for its sectors")
            return
        if not composed_at:
            # Durably, before the first part goes out: a resumed attempt composes the same
            # briefing from it.
            progress["composed_at"] = edition.now.isoformat()
            await self._record_parts(delivery_id, {**progress, "message_ids": list(sent)})
        dest = Destination(
            platform=tenant.platform,
            tenant_id=tenant.external_id,
            kind=subscriber.kind,
            external_id=subscriber.external_id,
        )
        log.info(
            "delivering %s to subscriber %s (%s %s) part %d%s",
            delivery_id,
            subscriber.id,
            dest.kind,
            dest.external_id,
            len(sent),
            " (looking for unrecorded parts first)" if resume_since else "",
            extra={
                "delivery_id": delivery_id,
                "subscriber_id": subscriber.id,
                "tenant_id": tenant.external_id,
                "platform": tenant.platform,
            },
        )

        async def record_part(message_id: str) -> None:
            sent.append(message_id)
            await self._record_parts(delivery_id, {**progress, "message_ids": list(sent)})

        try:
            ref = await adapter.send_briefing(
                dest,
                briefing,
                start_part=len(sent),
                idempotency_key=f"sb-{delivery_id}",
                on_sent=record_part,
                resume_since=resume_since,
            )
        except (PermanentDeliveryError, TransientDeliveryError) as exc:
            # Adapters report parts through on_sent; an error may name parts it did not report.
            missing = [m for m in exc.sent_message_ids if m not in sent]
            if missing:
                sent.extend(missing)
                await self._record_parts(delivery_id, {**progress, "message_ids": list(sent)})
            await self._after_error(exc, delivery_id, subscriber.id, tenant.platform)
        else:
            self._count(tenant.platform, "sent", late=delivery.late)

            async def remember(session: AsyncSession) -> None:
                await stories_digest.remember(session, subscriber.id, briefing, edition)

            # In the transaction that marks it sent: a digest killed before that is resumed
            # and must compose the same briefing, which what it would have recorded would change.
            await self._finish(
                delivery_id,
                status="sent",
                ref={**progress, "channel_id": ref.channel_id, "message_ids": list(sent)},
                also=remember,
            )

    async def _after_error(
        self,
        exc: PermanentDeliveryError | TransientDeliveryError,
        delivery_id: int,
        subscriber_id: int,
        platform: str,
    ) -> None:
        if isinstance(exc, PermanentDeliveryError):
            self._count(platform, "failed")
            await self._after_permanent(
                delivery_id, subscriber_id, exc.reason, disable=exc.disable_subscription
            )
        else:
            self._count(platform, "retried")
            await self._after_transient(delivery_id, exc.reason, exc.retry_after)

    async def _record_parts(self, delivery_id: int, progress: dict[str, Any]) -> None:
        """Store what has been posted so far, and renew this worker's claim on the row."""
        async with self._sessionmaker.begin() as session:
            delivery = await self._owned(session, delivery_id)
            delivery.message_ref = progress
            delivery.claimed_at = self._clock()

    async def _owned(self, session: AsyncSession, delivery_id: int) -> Delivery:
        delivery = await session.get(Delivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.claimed_by != self._worker:
            raise LeaseLost(delivery_id)
        return delivery

    async def _release(self, delivery_id: int) -> None:
        async with self._sessionmaker.begin() as session:
            delivery = await self._owned(session, delivery_id)
            delivery.status = "pending"
            delivery.claimed_by = None
            delivery.next_attempt_at = self._clock()

    def _count(self, platform: str, status: str, *, late: bool = False) -> None:
        if self._metrics is not None:
            self._metrics.deliveries.labels(platform, status).inc()
            if late:
                self._metrics.deliveries_late.labels(platform).inc()

    async def _finish(
        self,
        delivery_id: int,
        *,
        status: str,
        ref: dict[str, Any] | None = None,
        error: str | None = None,
        also: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> None:
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            delivery = await self._owned(session, delivery_id)
            if also is not None:
                await also(session)
            delivery.status = status
            delivery.attempts += 1
            delivery.last_error = error
            delivery.claimed_by = None
            if ref is not None:
                delivery.message_ref = ref
                delivery.sent_at = now

    async def _after_transient(
        self, delivery_id: int, reason: str, retry_after: float | None
    ) -> None:
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            delivery = await self._owned(session, delivery_id)
            delivery.attempts += 1
            delivery.last_error = reason
            delivery.claimed_by = None
            if delivery.attempts >= self._retry.max_attempts:
                delivery.status = "failed"
                log.warning(
                    "delivery %s failed after %d attempts: %s",
                    delivery_id,
                    delivery.attempts,
                    reason,
                    extra={"delivery_id": delivery_id, "subscriber_id": delivery.subscriber_id},
                )
                return
            delay = self._retry.delay(delivery.attempts, retry_after=retry_after, rand=self._rand)
            delivery.status = "pending"
            delivery.next_attempt_at = now + timedelta(seconds=delay)
        log.info(
            "delivery %s: %s; retrying in %.1f s",
            delivery_id,
            reason,
            delay,
            extra={"delivery_id": delivery_id},
        )

    async def _after_permanent(
        self, delivery_id: int, subscriber_id: int, reason: str, *, disable: bool
    ) -> None:
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            delivery = await self._owned(session, delivery_id)
            delivery.status = "failed"
            delivery.attempts += 1
            delivery.last_error = reason
            delivery.claimed_by = None
            if not disable:
                return
            subscriber = await session.get(Subscriber, subscriber_id)
            assert subscriber is not None
            subscriber.enabled = False
            subscriber.disabled_reason = reason
            subscriber.updated_at = now
            await sub_repo.audit(
                session,
                tenant_id=subscriber.tenant_id,
                actor="shiftbrief",
                action="subscription disabled",
                detail={
                    "subscriber_id": subscriber_id,
                    "kind": subscriber.kind,
                    "destination": subscriber.external_id,
                    "reason": reason,
                },
                now=now,
            )
        log.warning(
            "subscriber %s disabled: %s",
            subscriber_id,
            reason,
            extra={"delivery_id": delivery_id, "subscriber_id": subscriber_id},
        )


class LeaseLost(Exception):
    """Another worker took this delivery over (our claim aged past the lease)."""


def _period_date(key: str) -> date | None:
    """The local date a ledger period names ("2027-03-27"), or None for another kind."""
    try:
        return date.fromisoformat(key)
    except ValueError:
        return None
