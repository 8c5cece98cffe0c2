"""The pacer keeps every moving window within its limit, without drifting below it.

The tests run on async-solipsism's event loop, whose clock is virtual: ``asyncio.sleep`` moves
it forward instead of waiting, and the pacer reads the same clock (``loop.time``). So every send
time is exact, a loaded machine cannot push a send into the next window, and the figures below
are equalities rather than bounds on wall time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import async_solipsism
import pytest

from bot.delivery.pacing import Pacer, RateLimit

T = TypeVar("T")


def on_virtual_time(main: Callable[[asyncio.AbstractEventLoop], Awaitable[T]]) -> T:
    loop = async_solipsism.EventLoop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        loop.close()


def _max_in_window(times: list[float], period: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= period - 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_overall_limit_holds_in_every_window_and_runs_at_the_limit() -> None:
    async def main(loop: asyncio.AbstractEventLoop) -> tuple[list[float], float]:
        pacer = Pacer(overall=RateLimit(20, 0.2), clock=loop.time)
        started = loop.time()
        times: list[float] = []

        async def send(i: int) -> None:
            await pacer.wait(f"c{i}")
            times.append(loop.time() - started)

        await asyncio.gather(*(send(i) for i in range(100)))
        return times, loop.time() - started

    times, elapsed = on_virtual_time(main)
    assert _max_in_window(times, 0.2) == 20
    # 100 sends at 20 per 0.2 s: a burst of 20 at once, then one full window for each next 20.
    assert elapsed == pytest.approx(0.8)
    assert [round(t, 6) for t in times[::20]] == [0.0, 0.2, 0.4, 0.6, 0.8]


def test_one_busy_channel_does_not_hold_up_another() -> None:
    async def main(loop: asyncio.AbstractEventLoop) -> dict[str, list[float]]:
        pacer = Pacer(per_destination=RateLimit(1, 0.5), clock=loop.time)
        started = loop.time()
        done: dict[str, list[float]] = {"busy": [], "quiet": []}

        async def send(channel: str) -> None:
            await pacer.wait(channel)
            done[channel].append(loop.time() - started)

        await asyncio.gather(*(send("busy") for _ in range(3)), send("quiet"))
        return done

    done = on_virtual_time(main)
    assert done["quiet"] == [0.0]
    # The busy channel's messages go one window apart; the third waits two windows.
    assert done["busy"] == pytest.approx([0.0, 0.5, 1.0])


def test_both_limits_apply_together() -> None:
    async def main(loop: asyncio.AbstractEventLoop) -> dict[str, list[float]]:
        pacer = Pacer(per_destination=RateLimit(2, 0.3), overall=RateLimit(3, 0.3), clock=loop.time)
        per_channel: dict[str, list[float]] = {"a": [], "b": []}

        async def send(channel: str) -> None:
            await pacer.wait(channel)
            per_channel[channel].append(loop.time())

        await asyncio.gather(*(send(c) for c in "aaaabbbb"))
        return per_channel

    per_channel = on_virtual_time(main)
    everything = [t for times in per_channel.values() for t in times]
    assert len(everything) == 8
    assert _max_in_window(everything, 0.3) == 3
    assert all(_max_in_window(t, 0.3) == 2 for t in per_channel.values())
    # Eight sends at three per window need three windows after the first: no slower than that.
    assert max(everything) - min(everything) == pytest.approx(0.6)


def test_a_fan_out_to_many_readers_forgets_their_windows_but_keeps_the_limits() -> None:
    """30,000 DMs, each sent to once: the pacer does not keep a window per reader forever
    (memory flat in readers), yet a destination still inside its window is still paced."""

    async def main(loop: asyncio.AbstractEventLoop) -> tuple[int, list[float]]:
        pacer = Pacer(per_destination=RateLimit(1, 1.0), clock=loop.time)
        for n in range(30_000):
            await pacer.wait(f"D{n}")
            if n % 100 == 0:
                await asyncio.sleep(0.5)  # the fan-out moves on in time
        kept = len(pacer._windows)
        times = []
        for _ in range(3):  # the last reader again, within its window: still one a second
            await pacer.wait("D29999")
            times.append(loop.time())
        return kept, times

    kept, times = on_virtual_time(main)
    assert kept < 2_500
    assert _max_in_window(times, 1.0) == 1
