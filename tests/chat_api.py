"""A local HTTP server that plays a chat platform's message API, and an adapter that talks to it.

The server enforces rate limits the way Slack and Discord do (per channel and per bot, answering
429 with ``Retry-After``), can inject 429s, 5xx answers and hangs at given rates, treats some
channels as gone (404), de-duplicates by a client ``nonce`` like Discord's ``enforce_nonce``, and
records every message it accepted. The adapter implements ``bot.platform.PlatformAdapter`` over
real HTTP with aiohttp, so the engine's delivery code is exercised end to end.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import aiohttp
from aiohttp import web

from bot.briefing.render_text import render_text
from bot.delivery.pacing import Pacer
from bot.models import Briefing
from bot.platform import (
    Destination,
    MessageRef,
    OnSent,
    PermanentDeliveryError,
    TransientDeliveryError,
)


@dataclass
class ChatApiConfig:
    per_channel: tuple[int, float] = (5, 5.0)
    """(messages, seconds) allowed per channel."""
    overall: tuple[int, float] = (50, 1.0)
    """(requests, seconds) allowed per bot."""
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_hang: float = 0.0
    rate_lost_reply: float = 0.0
    """Accept the message, then answer too late: the sender cannot know it went through."""
    hang_seconds: float = 30.0
    retry_after: float = 0.2
    gone_channels: frozenset[str] = frozenset()
    seed: int = 7


@dataclass
class ChatApi:
    config: ChatApiConfig
    messages: list[tuple[str, str, float]] = field(default_factory=list)
    """(channel, text, accepted at) in order of acceptance."""
    requests: int = 0
    limited: int = 0
    injected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    base_url: str = ""
    _nonces: dict[str, str] = field(default_factory=dict)
    _channel_times: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _overall_times: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self._random = random.Random(self.config.seed)

    def per_channel(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for channel, _text, _at in self.messages:
            counts[channel] += 1
        return dict(counts)

    @staticmethod
    def _over(times: deque[float], limit: tuple[int, float], now: float) -> float | None:
        count, period = limit
        while times and times[0] <= now - period:
            times.popleft()
        return times[0] + period - now if len(times) >= count else None

    async def post_message(self, request: web.Request) -> web.Response:
        self.requests += 1
        channel = request.match_info["channel"]
        body = await request.json()
        now = time.monotonic()
        if channel in self.config.gone_channels:
            return web.json_response({"code": 10003, "message": "Unknown Channel"}, status=404)
        wait = self._over(self._overall_times, self.config.overall, now)
        scope = "global"
        if wait is None:
            wait = self._over(self._channel_times[channel], self.config.per_channel, now)
            scope = "user"
        if wait is not None:
            self.limited += 1
            return web.json_response(
                {"message": "You are being rate limited.", "retry_after": wait},
                status=429,
                headers={"Retry-After": f"{wait:.3f}", "X-RateLimit-Scope": scope},
            )
        roll = self._random.random()
        if roll < self.config.rate_429:
            self.injected["429"] += 1
            retry = self.config.retry_after
            return web.json_response(
                {"retry_after": retry}, status=429, headers={"Retry-After": f"{retry:.3f}"}
            )
        if roll < self.config.rate_429 + self.config.rate_5xx:
            self.injected["5xx"] += 1
            return web.json_response({"message": "upstream trouble"}, status=502)
        if roll < self.config.rate_429 + self.config.rate_5xx + self.config.rate_hang:
            self.injected["hang"] += 1
            await asyncio.sleep(self.config.hang_seconds)
            return web.json_response({"message": "too late"}, status=504)
        nonce = body.get("nonce")
        if nonce and nonce in self._nonces:
            return web.json_response({"id": self._nonces[nonce], "channel_id": channel})
        self._overall_times.append(now)
        self._channel_times[channel].append(now)
        message_id = str(len(self.messages) + 1)
        self.messages.append((channel, str(body.get("content", "")), now))
        if nonce:
            self._nonces[nonce] = message_id
        lost = self.config.rate_429 + self.config.rate_5xx + self.config.rate_hang
        if roll < lost + self.config.rate_lost_reply:
            self.injected["lost_reply"] += 1
            await asyncio.sleep(self.config.hang_seconds)
        return web.json_response({"id": message_id, "channel_id": channel})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/channels/{channel}/messages", self.post_message)
        return app


@contextmanager
def serve_chat_api(config: ChatApiConfig) -> Iterator[ChatApi]:
    """Run the API on 127.0.0.1 (port 0) in a thread with its own event loop."""
    api = ChatApi(config=config)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(api.app(), access_log=None)

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        api.base_url = f"http://127.0.0.1:{port}"
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop)
    ready.wait(10)
    try:
        yield api
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


class HttpChatAdapter:
    """A PlatformAdapter over the chat API above: one message per briefing part."""

    platform: ClassVar[str] = "chat"

    def __init__(
        self,
        *,
        base_url: str,
        pacer: Pacer | None = None,
        timeout: float = 2.0,
        parts: int = 1,
    ) -> None:
        self._base_url = base_url
        self._pacer = pacer
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._parts = parts

    async def start(self, dispatcher: Any) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def reply(self, invocation: Any, reply: Any) -> None:
        raise NotImplementedError

    def render(self, briefing: Briefing) -> list[str]:
        text = render_text(briefing)
        size = max(1, len(text) // self._parts + 1)
        return [text[i : i + size] for i in range(0, len(text), size)][: self._parts]

    async def send_briefing(
        self,
        dest: Destination,
        briefing: Briefing,
        *,
        start_part: int = 0,
        idempotency_key: str | None = None,
        on_sent: OnSent | None = None,
        resume_since: datetime | None = None,
    ) -> MessageRef:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        sent: list[str] = []
        channel = f"{dest.kind}-{dest.external_id}"
        for number, part in enumerate(self.render(briefing)):
            if number < start_part:
                continue
            if self._pacer is not None:
                await self._pacer.wait(channel)
            payload = {"content": part}
            if idempotency_key:
                payload["nonce"] = f"{idempotency_key}:{number}"
            try:
                async with self._session.post(
                    f"{self._base_url}/channels/{channel}/messages", json=payload
                ) as resp:
                    data = await resp.json()
                    if resp.status == 429:
                        raise TransientDeliveryError(
                            "rate limited",
                            retry_after=float(resp.headers["Retry-After"]),
                            sent_message_ids=tuple(sent),
                        )
                    if resp.status == 404:
                        raise PermanentDeliveryError(
                            f"channel {channel} is gone ({data.get('message')})",
                            sent_message_ids=tuple(sent),
                        )
                    if resp.status >= 500:
                        raise TransientDeliveryError(
                            f"HTTP {resp.status}", sent_message_ids=tuple(sent)
                        )
                    sent.append(str(data["id"]))
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise TransientDeliveryError(
                    f"timed out or connection failed: {type(exc).__name__}",
                    sent_message_ids=tuple(sent),
                ) from None
            # Like the real adapters: reported before the next part goes out, and outside the
            # try so an error of the engine's recording is not taken for a network failure.
            if on_sent is not None:
                await on_sent(sent[-1])
        return MessageRef(platform=self.platform, channel_id=channel, message_ids=tuple(sent))
