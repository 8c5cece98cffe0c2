"""A local HTTP server that plays Slack's Web API (and response_url) for tests.

Like bolt-python's ``tests/mock_web_api_server``: the real ``AsyncWebClient`` talks to it over
loopback (``base_url``), every call is recorded with its arguments, and a test can queue
failures for a method: a 429 with Retry-After, an error code such as ``channel_not_found``,
or a 500, optionally after the call took effect (``lost``: the reply is lost, the post is not).

Posted messages are kept per channel and ``conversations.history`` reads them back like Slack:
newest first, ``oldest``/``latest`` exclusive unless ``inclusive``, pages of ``limit`` with a
``next_cursor``, and message ``metadata`` only with ``include_all_metadata``. With
``real_ts`` a message's ``ts`` is the wall clock (as Slack's are), so ``oldest`` means a time.

Membership, where a test asks for it: in ``public_channels`` the bot may post (as with
``chat:write.public``) but reads history only after ``conversations.join`` (else
``not_in_channel``); ``private_channels`` cannot be joined, only invited to (``joined``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

BOT_USER = "UBOT0001"
TEAM_ID = "T0001"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Failure:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    body: str | None = None
    lost: bool = False
    """The call takes effect (a message is posted) and then this failure is answered."""


@dataclass
class SlackAPI:
    """The fake; ``base_url`` (for ``SLACK_API_URL``) and ``response_url`` once started."""

    calls: list[Call] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    """users.info records by user id (``is_admin``, ``is_owner``, ``locale`` such as "ja-JP")."""
    failures: dict[str, deque[Failure]] = field(default_factory=lambda: defaultdict(deque))
    runner: web.AppRunner | None = None
    port: int = 0
    ts_numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    real_ts: bool = False
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    """Posted messages by channel, oldest first (what conversations.history reads)."""
    on_post: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None
    """Awaited after a message is stored, before the reply goes out (tests kill a worker)."""
    _last_ts: float = 0.0
    holds: dict[str, asyncio.Event] = field(default_factory=dict)
    """response_url names whose posts are held (recorded, then unanswered) until the event."""
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    """Notified on every recorded call, so tests wait for calls instead of sleeping."""
    public_channels: set[str] = field(default_factory=set)
    private_channels: set[str] = field(default_factory=set)
    joined: set[str] = field(default_factory=set)
    """Channels of the two sets above the bot is a member of."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    def fail(self, method: str, *failures: Failure) -> None:
        """Answer the next calls of ``method`` with ``failures``, in order."""
        self.failures[method].extend(failures)

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def hold(self, name: str = "cmd") -> asyncio.Event:
        """Hold posts to response_url ``name`` until the returned event is set."""
        self.holds[name] = asyncio.Event()
        return self.holds[name]

    async def wait_calls(self, method: str, count: int = 1) -> list[Call]:
        """The calls of ``method`` once there are ``count`` of them.

        The timeout only keeps a broken test from hanging; nothing here measures time.
        """
        try:
            async with asyncio.timeout(60), self.arrived:
                await self.arrived.wait_for(lambda: len(self.called(method)) >= count)
        except TimeoutError:
            found = len(self.called(method))
            raise AssertionError(f"{count} calls of {method} expected, got {found}") from None
        return self.called(method)

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        async with self.arrived:
            self.arrived.notify_all()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)  # users.info is a GET
        app.router.add_post("/respond/{name}", self._respond)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        raw = await request.text()
        if request.content_type == "application/json":
            return dict(json.loads(raw or "{}"))
        args: dict[str, Any] = dict(parse_qsl(raw))
        args.update(request.query)
        for key in ("blocks", "view", "metadata"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    async def _respond(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        name = "response_url:" + request.match_info["name"]
        await self._record(Call(name, args, dict(request.headers)))
        held = self.holds.get(request.match_info["name"])
        if held is not None:
            await held.wait()
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        await self._record(Call(method, args, dict(request.headers)))
        if self.failures[method]:
            failure = self.failures[method].popleft()
            if failure.lost:
                await self._answer_and_notify(method, args)
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            if failure.body is not None:
                return web.Response(status=failure.status, text=failure.body, headers=headers)
            payload = {"ok": False, "error": failure.error or "ratelimited"}
            return web.json_response(payload, status=failure.status, headers=headers)
        return web.json_response(await self._answer_and_notify(method, args))

    async def _answer_and_notify(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        answer = self._answer(method, args)
        if method == "chat.postMessage" and self.on_post is not None:
            await self.on_post(str(args.get("channel")), answer["message"])
        return answer

    def _next_ts(self) -> str:
        if not self.real_ts:
            return f"1700000000.{next(self.ts_numbers):06d}"
        # Unique and increasing, like Slack's within a channel.
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": "B0001",
            "text": args.get("text") or "",
            "ts": self._next_ts(),
        }
        if args.get("blocks"):
            message["blocks"] = args["blocks"]
        metadata = args.get("metadata")
        if isinstance(metadata, str):  # form-encoded calls send it as JSON text
            metadata = json.loads(metadata)
        if isinstance(metadata, dict) and metadata.get("event_type"):
            message["metadata"] = {
                "event_type": metadata["event_type"],
                "event_payload": metadata.get("event_payload") or {},
            }
        self.messages[channel].append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _member(self, channel: str) -> bool:
        watched = self.public_channels | self.private_channels
        return channel not in watched or channel in self.joined

    def _join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        if channel in self.private_channels:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        self.joined.add(channel)
        return {"ok": True, "channel": {"id": channel, "is_member": True}}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        if not self._member(channel):
            return {"ok": False, "error": "not_in_channel"}
        if channel not in self.messages:
            return {"ok": True, "messages": [], "has_more": False}
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or time.time() + 86400 * 365 * 100)

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = [m for m in reversed(self.messages[channel]) if within(float(m["ts"]))]
        start = int(args.get("cursor") or 0)
        limit = min(999, int(args.get("limit") or 100))
        page = found[start : start + limit]
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        if not with_metadata:
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "team_id": TEAM_ID,
                "user": "shiftbrief",
                "user_id": BOT_USER,
                "bot_id": "B0001",
            }
        if method == "users.info":
            user = dict(self.users.get(str(args.get("user")), {}))
            # Like Slack, the locale only when asked for (slack_sdk sends the flag as "1").
            if str(args.get("include_locale", "")).lower() not in ("1", "true"):
                user.pop("locale", None)
            return {"ok": True, "user": {"id": args.get("user"), **user}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))}}
        if method == "chat.postMessage":
            return self._post(args)
        if method == "conversations.history":
            return self._history(args)
        if method == "conversations.join":
            return self._join(args)
        if method == "conversations.info":
            channel = str(args.get("channel"))
            private = channel in self.private_channels
            return {"ok": True, "channel": {"id": channel, "is_private": private,
                                            "is_member": self._member(channel)}}  # fmt: skip
        if method in ("chat.update", "chat.postEphemeral"):
            ts = f"1700000000.{next(self.ts_numbers):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts", ts)}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V0001", **(args.get("view") or {})}}
        return {"ok": True}
