"""A local HTTP server that plays Slack's Web API (and response_url) for tests.

Like bolt-python's ``tests/mock_web_api_server``: the real ``AsyncWebClient`` talks to it over
loopback (``base_url``), every call is recorded with its arguments, and a test can queue
failures for a method: a 429 with Retry-After, an error code such as ``channel_not_found``,
or a 500.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict, deque
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
    holds: dict[str, asyncio.Event] = field(default_factory=dict)
    """response_url names whose posts are held (recorded, then unanswered) until the event."""
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    """Notified on every recorded call, so tests wait for calls instead of sleeping."""

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
        for key in ("blocks", "view"):
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
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            if failure.body is not None:
                return web.Response(status=failure.status, text=failure.body, headers=headers)
            payload = {"ok": False, "error": failure.error or "ratelimited"}
            return web.json_response(payload, status=failure.status, headers=headers)
        return web.json_response(self._answer(method, args))

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
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            ts = f"1700000000.{next(self.ts_numbers):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts", ts)}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V0001", **(args.get("view") or {})}}
        return {"ok": True}
