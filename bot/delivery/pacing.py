"""Pacing sends to a platform's rate limits, per destination and per bot.

Slack allows about one message a second per channel; Discord 50 requests a second per bot and 5
messages per 5 seconds per channel. Adapters call ``await pacer.wait(channel)`` before every
message, so one busy channel waits for its own window without delaying the others.

The limits are moving windows: at most ``count`` sends in any ``period`` seconds. A leaky bucket
(aiolimiter) does not fit them: with capacity ``count`` it lets ``count`` through at once and then
refills, so some windows see nearly twice the limit and the platform answers 429; with capacity 1
every late wake-up of the event loop is lost time that adds up over thousands of sends. A log of
the last ``count`` send times per key gives exactly the limit, bursts included, with no drift.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

_TICK = 1e-6
"""Seconds within which a window counts as ended: far below any platform's limits."""
_SWEEP_FROM = 1024
"""Destinations kept before idle ones are forgotten (then twice the number still active)."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` operations in any ``period`` seconds."""

    count: int
    period: float


@dataclass
class _Window:
    limit: RateLimit
    sent: deque[float] = field(default_factory=deque)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def wait_time(self, now: float) -> float:
        # A clock that moves in ticks (the event loop's timers, a virtual clock in tests) may
        # wake a sleeper a hair before the window ends; counting that as the end avoids a spin
        # of sleeps shorter than the clock can measure.
        ended = now - self.limit.period + _TICK
        while self.sent and self.sent[0] <= ended:
            self.sent.popleft()
        if len(self.sent) < self.limit.count:
            return 0.0
        return self.sent[0] + self.limit.period - now

    def idle(self, now: float) -> bool:
        """Nothing in the window any more and nobody holding or waiting for it."""
        return not self.lock.locked() and self.wait_time(now) == 0.0 and not self.sent


class Pacer:
    """Moving windows: one shared by every send, and one per destination key.

    Args:
        per_destination: the limit of one channel (or DM), or None for none.
        overall: the limit of the whole bot, or None for none.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        *,
        per_destination: RateLimit | None = None,
        overall: RateLimit | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_destination = per_destination
        self._overall = _Window(overall) if overall else None
        self._windows: dict[str, _Window] = {}
        self._clock = clock
        self._sweep_at = _SWEEP_FROM

    async def wait(self, destination: str) -> None:
        """Return when one more message to ``destination`` is within every limit."""
        window = None
        if self._per_destination is not None:
            window = self._windows.get(destination)
            if window is None:
                if len(self._windows) >= self._sweep_at:
                    self._sweep()
                window = self._windows[destination] = _Window(self._per_destination)
        # asyncio.Lock is FIFO, so waiters keep their order. The overall lock is taken only once
        # the destination's own window has room: a busy channel never blocks the others.
        async with window.lock if window else contextlib.nullcontext():
            if window is not None:
                await self._until_free(window)
            if self._overall is None:
                self._record(window)
                return
            async with self._overall.lock:
                await self._until_free(self._overall)
                self._record(window, self._overall)

    def _sweep(self) -> None:
        """Forget destinations whose every send has left its window and nobody waits on: a
        digest fan-out touches each reader's DM once, and their windows must not pile up."""
        now = self._clock()
        for key in [k for k, w in self._windows.items() if w.idle(now)]:
            del self._windows[key]
        self._sweep_at = max(_SWEEP_FROM, 2 * len(self._windows))

    async def _until_free(self, window: _Window) -> None:
        # Waiting for time itself to pass: there is no event to wait for instead.
        while (delay := window.wait_time(self._clock())) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    def _record(self, *windows: _Window | None) -> None:
        now = self._clock()
        for window in windows:
            if window is not None:
                window.sent.append(now)
