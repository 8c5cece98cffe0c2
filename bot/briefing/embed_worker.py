"""Embed stored items in the background so neither ingest nor a slash command waits for the model.

The model embeds a few items per second per core, so each item is embedded once and its vector
stored. Items of the last two days come first, newest first (they are what the next
briefing groups into stories); older items (a newly added feed's backlog, any past day for
``brief --date``) follow, newest first, only when the window is done. The edition clusters
with whatever vectors exist and falls back to the lexical clusterer for items the worker has
not reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.briefing import embed
from storage.repositories import embeddings as repo

log = logging.getLogger(__name__)

PRIORITY_WINDOW = timedelta(hours=48)
"""Items this recent are embedded first: the next briefings read them."""

AfterEmbed = Callable[[AsyncSession, Sequence[int]], Awaitable[None]]
"""Called with the ids of the items that just got vectors, in the transaction that stored them
(``bot.briefing.sector_vectors`` classifies them again with their vectors)."""


class EmbeddingWorker:
    """Embeds items in batches; ``run`` loops until stopped, ``wake`` after new items arrive."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        embedder: embed.Embedder | None = None,
        batch: int | None = None,
        window: timedelta = PRIORITY_WINDOW,
        idle: float = 60.0,
        after_embed: AfterEmbed | None = None,
    ) -> None:
        """Set up the worker.

        Args:
            sessionmaker: Opens database sessions.
            clock: The current time (UTC).
            embedder: The model; by default the packaged one (None when it is not installed).
            batch: Items per model call and per transaction; by default what suits the
                model (``Embedder.batch``: 16 for the packaged one, a batch takes seconds).
            window: Items published within this of now come first.
            idle: Seconds to sleep when there is nothing to embed (unless woken).
            after_embed: Runs on each batch's items once their vectors are stored.
        """
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._embedder = embedder
        self._batch = batch
        self._window = window
        self._idle = idle
        self._wake = asyncio.Event()
        self._after_embed = after_embed

    def wake(self) -> None:
        """New items were stored: look for work now rather than after the idle wait."""
        self._wake.set()

    def _model(self) -> embed.Embedder | None:
        if self._embedder is None:
            self._embedder = embed.default_embedder()
        return self._embedder

    async def run_once(self, *, older: bool = True) -> int:
        """Embed one batch (window items first); return how many items got a vector.

        Args:
            older: When the window is done, embed older items, newest first (a dated brief
                may ask for any past day).
        """
        embedder = self._model()
        if embedder is None:
            return 0
        now = self._clock()
        recent = now - self._window
        async with self._sessionmaker() as session:
            batch = self._batch or embedder.batch
            items = await repo.pending(session, model=embedder.name, since=recent, limit=batch)
            if not items and older:
                items = await repo.pending(session, model=embedder.name, before=recent, limit=batch)
            work = [(i.id, embed.article_text(i.title, i.summary or ""), i.language) for i in items]
        if not work:
            return 0
        vectors = await asyncio.to_thread(
            embedder.embed, [text for _, text, _ in work], [lang for _, _, lang in work]
        )
        blobs = {work[n][0]: embed.to_blob(vector) for n, vector in enumerate(vectors)}
        async with self._sessionmaker() as session, session.begin():
            await repo.store(session, model=embedder.name, vectors=blobs, now=self._clock())
            if self._after_embed is not None:
                await self._after_embed(session, list(blobs))
        return len(work)

    async def run(self, stop: asyncio.Event, *, active: Callable[[], bool] = lambda: True) -> None:
        """Embed until ``stop``; sleep while idle, or while ``active()`` is False.

        Args:
            stop: Set to end the loop (a batch in progress finishes first).
            active: Whether this process should embed now (only the scheduler's leader does,
                so several processes never embed the same items).
        """
        if self._model() is None:
            return  # the model is not installed: logged once by bot.briefing.embed
        while not stop.is_set():
            # Cleared before looking for work: a wake during the batch means another look.
            self._wake.clear()
            done = 0
            if active():
                try:
                    done = await self.run_once()
                except Exception:
                    log.exception("embedding batch failed; trying again later")
            if done:
                await asyncio.sleep(0)  # let other tasks run between batches
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._idle):
                    await _first_of(stop, self._wake)


async def embed_until_done(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
    *,
    after_embed: AfterEmbed | None = None,
) -> int:
    """Embed every item of the window now (the demo; ``run`` does it in the background)."""
    worker = EmbeddingWorker(sessionmaker=sessionmaker, clock=clock, after_embed=after_embed)
    done = 0
    while batch := await worker.run_once(older=False):
        done += batch
    return done


async def embed_everything(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
    *,
    after_embed: AfterEmbed | None = None,
    on_batch: Callable[[int], None] | None = None,
    embedder: embed.Embedder | None = None,
) -> int:
    """Embed every item that has no vector yet, window first, then older ones, newest first.

    What ``shiftbrief embed`` runs, so a command-line user need not start the bot first.

    Args:
        sessionmaker: Opens database sessions.
        clock: The current time (UTC).
        after_embed: Runs on each batch's items once their vectors are stored.
        on_batch: Told how many items each batch embedded (a progress bar).
        embedder: The model; by default the packaged one.

    Returns:
        How many items got a vector.
    """
    worker = EmbeddingWorker(
        sessionmaker=sessionmaker,
        clock=clock,
        after_embed=after_embed,
        embedder=embedder,
        batch=32,
    )
    done = 0
    while batch := await worker.run_once(older=True):
        done += batch
        if on_batch is not None:
            on_batch(batch)
    return done


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
