"""Pacing sends to a platform's rate limits, per destination and per bot (aiolimiter buckets).

Slack allows about one message a second per channel; Discord 50 requests a second per bot and 5
messages per 5 seconds per channel. Adapters call ``await pacer.wait(channel)`` before every
message, so one busy channel waits for its own bucket without delaying the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiolimiter import AsyncLimiter


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``count`` operations per ``period`` seconds (a burst of ``count`` at most)."""

    count: float
    period: float


class Pacer:
    """Leaky buckets: one shared by every send, and one per destination key.

    Args:
        per_destination: the limit of one channel (or DM), or None for none.
        overall: the limit of the whole bot, or None for none.
    """

    def __init__(
        self, *, per_destination: RateLimit | None = None, overall: RateLimit | None = None
    ) -> None:
        self._per_destination = per_destination
        self._overall = AsyncLimiter(overall.count, overall.period) if overall else None
        self._buckets: dict[str, AsyncLimiter] = {}

    async def wait(self, destination: str) -> None:
        """Return when one more message to ``destination`` is within every limit."""
        if self._per_destination is not None:
            bucket = self._buckets.get(destination)
            if bucket is None:
                limit = self._per_destination
                bucket = self._buckets[destination] = AsyncLimiter(limit.count, limit.period)
            await bucket.acquire()
        if self._overall is not None:
            await self._overall.acquire()
