"""Each tenant's edition for the delivery worker, with the editor writing beside the delivery.

A language model may take minutes over an edition, or trickle its answers, and a digest is due
at its minute. So a delivery never waits on the model for more than a few seconds (``wait``): it
composes from an edition carrying whatever the model has already written (kept in
``editor_texts`` by content, so any edition in any process finds it; ``reader`` looks there and
asks nothing) and extractive text for the rest, while the editor goes on writing in the
background; what it finishes later is used by the next edition. For the text to be ready when
a digest is due, the writing starts ahead of it: ``write_ahead`` finds the tenants with a digest
due within ``lead`` and has their edition written then.

One writer per tenant at a time: an edition asked for while one is being written waits its
turn, and only the newest such edition is written (an older one would be stale by then).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.briefing.compose import BriefingContext
from bot.briefing.edition import load_edition, reader_languages
from bot.briefing.editor.base import Edition, EditionText, Editor
from bot.delivery.schedule import digest_trigger
from bot.models import Language
from storage.models import Subscriber

log = logging.getLogger(__name__)

Written = dict[Language, EditionText]


@dataclass
class _Job:
    """One edition to write, and where its text goes when done."""

    edition: Edition
    languages: list[Language]
    done: asyncio.Future[Written] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class _Handed:
    """An editor that hands over text written already (to ``BriefingContext.edit``)."""

    def __init__(self, name: str, written: Written) -> None:
        self.name = name
        self._written = written

    async def write(self, edition: Edition, languages: Sequence[Language]) -> Written:
        return {lang: text for lang, text in self._written.items() if lang in languages}


class EditionDesk:
    """Loads editions for delivery, one per tenant for ``ttl``, and keeps the editor writing.

    Args:
        sessionmaker: The database.
        clock: Current aware UTC time.
        ttl: How long one loaded edition serves the tenant's deliveries.
        editor: Writes editions (None or the extractive editor: nothing to write).
        reader: Reads what ``editor`` has written and asks no model (None: nothing is read;
            only text finished within ``wait`` is used).
        wait: Seconds a delivery waits for the writing of its edition before it goes out
            with what is ready.
        lead: How long before a due digest ``write_ahead`` starts writing its edition.
    """

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        ttl: timedelta,
        editor: Editor | None = None,
        reader: Editor | None = None,
        wait: float = 5.0,
        lead: timedelta = timedelta(minutes=3),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._ttl = ttl
        self._editor = editor if editor is not None and editor.name != "extractive" else None
        self._reader = reader
        self._wait = wait
        self._lead = lead
        self._current: dict[int, tuple[datetime, datetime | None, BriefingContext]] = {}
        self._resumed: dict[int, tuple[datetime, BriefingContext]] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._queued: dict[int, _Job] = {}
        self._writers: dict[int, asyncio.Task[None]] = {}
        self._ahead: dict[int, datetime] = {}

    @property
    def writes(self) -> bool:
        """Whether an editor writes editions here (a language model)."""
        return self._editor is not None

    def _lock(self, tenant_id: int) -> asyncio.Lock:
        return self._locks.setdefault(tenant_id, asyncio.Lock())

    # ---- editions for delivery ----------------------------------------------------------

    async def current(self, tenant_id: int, *, due: datetime | None = None) -> BriefingContext:
        """The tenant's edition now, written as far as is ready: loaded once per ``ttl``, and
        once for every digest that fell ``due`` at the same time, however long their fan-out
        takes (tens of thousands of readers share one edition instead of one a minute)."""
        async with self._lock(tenant_id):
            now = self._clock()
            current = self._current.get(tenant_id)
            if current is None or (
                now - current[0] > self._ttl and (due is None or current[1] != due)
            ):
                edition = await self._load(tenant_id, now=now, write=True)
                current = self._current[tenant_id] = (now, due, edition)
            return current[2]

    async def at(self, tenant_id: int, moment: datetime) -> BriefingContext:
        """The tenant's edition composed at ``moment``, rebuilt once for every delivery resumed
        from it (after a crash, every digest that was in flight shares one)."""
        async with self._lock(tenant_id):
            current = self._current.get(tenant_id)
            if current is not None and current[2].now == moment:
                return current[2]  # still the current one: the very same stories
            resumed = self._resumed.get(tenant_id)
            if resumed is None or resumed[0] != moment:
                edition = await self._load(
                    tenant_id, now=moment, until=moment, seen_before=moment, write=False
                )
                resumed = self._resumed[tenant_id] = (moment, edition)
            return resumed[1]

    async def _load(
        self,
        tenant_id: int,
        *,
        now: datetime,
        write: bool,
        until: datetime | None = None,
        seen_before: datetime | None = None,
    ) -> BriefingContext:
        async with self._sessionmaker() as session:
            edition = await load_edition(
                session,
                now=now,
                until=until,
                seen_before=seen_before,
                scope=tenant_id,
                track=True,  # stored story identities: "since your last briefing" (bot.stories)
            )
            languages = await reader_languages(session) if self._editor is not None else []
        if self._editor is None:
            return edition
        if write:
            job = self._write(tenant_id, edition.edition, languages)
            done, _ = await asyncio.wait({job.done}, timeout=self._wait)
            if done and not job.done.cancelled():
                await edition.edit(_Handed(self._editor.name, job.done.result()), languages)
                return edition
            log.info(
                "tenant %s: the editor is still writing; digests go out with the text ready",
                tenant_id,
                extra={"tenant_id": tenant_id},
            )
        if self._reader is not None:
            await edition.edit(self._reader, languages)
        return edition

    # ---- the writer ---------------------------------------------------------------------

    def _write(self, tenant_id: int, edition: Edition, languages: list[Language]) -> _Job:
        """Queue ``edition`` for writing (replacing an edition queued and not started)."""
        job = _Job(edition, languages)
        replaced = self._queued.get(tenant_id)
        if replaced is not None:
            replaced.done.cancel()
        self._queued[tenant_id] = job
        writer = self._writers.get(tenant_id)
        if writer is None or writer.done():
            task = asyncio.create_task(self._writing(tenant_id), name=f"editor-{tenant_id}")
            self._writers[tenant_id] = task
        return job

    async def _writing(self, tenant_id: int) -> None:
        assert self._editor is not None
        while (job := self._queued.pop(tenant_id, None)) is not None:
            try:
                written = await self._editor.write(job.edition, job.languages)
            except asyncio.CancelledError:
                job.done.cancel()
                raise
            except Exception:  # the editor promises not to raise; a bug must not stop us
                log.exception("editor failed on tenant %s's edition", tenant_id)
                written = {}  # nothing written: the digests keep extractive text
            if not job.done.done():
                job.done.set_result(written)

    async def idle(self) -> None:
        """Wait until nothing is being written (tests, one-shot runs)."""
        while writers := [w for w in self._writers.values() if not w.done()]:
            await asyncio.wait(writers)

    async def close(self) -> None:
        """Stop writing (what was not stored yet is written again by the next edition)."""
        for job in self._queued.values():
            job.done.cancel()
        self._queued.clear()
        writers = [w for w in self._writers.values() if not w.done()]
        for writer in writers:
            writer.cancel()
        if writers:
            await asyncio.wait(writers)
        self._writers.clear()

    # ---- writing ahead of due digests ---------------------------------------------------

    async def write_ahead(
        self,
        stop: asyncio.Event,
        *,
        active: Callable[[], bool] = lambda: True,
        every: float = 60.0,
    ) -> None:
        """Until ``stop``: every ``every`` seconds, start writing the editions of the tenants
        with a digest due within ``lead`` (only while ``active()``, the scheduler's process)."""
        if self._editor is None:
            return
        try:
            while not stop.is_set():
                if active():
                    try:
                        await self.prepare_due()
                    except Exception:
                        log.warning("could not look for digests due soon", exc_info=True)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(every):
                        await stop.wait()
        finally:
            await self.close()

    async def prepare_due(self, now: datetime | None = None) -> list[int]:
        """Start writing the edition of each tenant with a digest due within ``lead`` of
        ``now`` (once per due time). Returns those tenants."""
        if self._editor is None:
            return []
        now = now or self._clock()
        started = []
        for tenant_id, due in (await self._due_soon(now)).items():
            if self._ahead.get(tenant_id) == due:
                continue
            self._ahead[tenant_id] = due
            async with self._sessionmaker() as session:
                edition = await load_edition(session, now=now, scope=tenant_id, track=True)
                languages = await reader_languages(session)
            self._write(tenant_id, edition.edition, languages)
            started.append(tenant_id)
            log.info(
                "tenant %s: writing the edition due at %s ahead of time",
                tenant_id,
                due.isoformat(),
                extra={"tenant_id": tenant_id},
            )
        return started

    async def _due_soon(self, now: datetime) -> dict[int, datetime]:
        """The soonest digest due within ``lead`` of ``now``, per tenant."""
        query = select(
            Subscriber.tenant_id,
            Subscriber.kind,
            Subscriber.sectors,
            Subscriber.delivery_time,
            Subscriber.timezone,
            Subscriber.days,
        ).where(Subscriber.enabled.is_(True))
        shapes: set[tuple[int, str, str, tuple[str, ...]]] = set()
        async with self._sessionmaker() as session:
            for tenant_id, kind, sectors, at, zone, days in await session.execute(query):
                # As ``schedule.is_scheduled``: channels with a time; users with sectors.
                if at and (kind == "channel" or sectors):
                    shapes.add((tenant_id, at, zone, tuple(days or ())))
        horizon = now + self._lead
        due: dict[int, datetime] = {}
        for tenant_id, at, zone, weekdays in shapes:
            try:
                fire = digest_trigger(at, zone, weekdays).get_next_fire_time(None, now)
            except (ValueError, KeyError):  # a zone this host's tzdata lacks: nothing is due
                continue
            if (
                fire is not None
                and fire <= horizon
                and (tenant_id not in due or fire < due[tenant_id])
            ):
                due[tenant_id] = fire
        return due
