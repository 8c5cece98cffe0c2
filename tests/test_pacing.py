"""The pacer keeps every moving window within its limit, without drifting below it."""

from __future__ import annotations

import asyncio
import time

from bot.delivery.pacing import Pacer, RateLimit


def _max_in_window(times: list[float], period: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= period:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_overall_limit_holds_in_every_window_and_runs_at_the_limit() -> None:
    pacer = Pacer(overall=RateLimit(20, 0.2))
    times: list[float] = []

    async def send(i: int) -> None:
        await pacer.wait(f"c{i}")
        times.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(send(i) for i in range(100)))
    elapsed = time.monotonic() - started
    assert _max_in_window(times, 0.2) <= 20
    # 100 sends at 20 per 0.2 s: four full windows after the first burst, not much more.
    assert 0.75 <= elapsed < 1.2


async def test_one_busy_channel_does_not_hold_up_another() -> None:
    pacer = Pacer(per_destination=RateLimit(1, 0.5))
    done: dict[str, float] = {}
    started = time.monotonic()

    async def send(channel: str) -> None:
        await pacer.wait(channel)
        done[channel] = time.monotonic() - started

    await asyncio.gather(*(send("busy") for _ in range(3)), send("quiet"))
    assert done["quiet"] < 0.1
    assert done["busy"] >= 1.0  # its third message waits two windows


async def test_both_limits_apply_together() -> None:
    pacer = Pacer(per_destination=RateLimit(2, 0.3), overall=RateLimit(3, 0.3))
    per_channel: dict[str, list[float]] = {"a": [], "b": []}
    everything: list[float] = []

    async def send(channel: str) -> None:
        await pacer.wait(channel)
        now = time.monotonic()
        per_channel[channel].append(now)
        everything.append(now)

    await asyncio.gather(*(send(c) for c in "aaaabbbb"))
    assert _max_in_window(everything, 0.3) <= 3
    assert all(_max_in_window(t, 0.3) <= 2 for t in per_channel.values())
