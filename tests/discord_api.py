"""A local HTTP server that plays Discord's REST API, for the Discord adapter's tests.

The real discord.py client talks to it (``Route.BASE`` points here): logins, channel messages,
edits, DMs, interaction callbacks and webhook follow-ups. Every call is recorded; tests queue
failures per path (429 with ``Retry-After`` and ``X-RateLimit-Scope``, 403, 404, 5xx), also
after the request took effect (``lost``: the message is posted, the reply is an error).

Channel messages are kept; ``GET /channels/{id}/messages/{message id}`` reads one back (404
``Unknown Message`` when there is none) and ``GET /channels/{id}/messages`` several, like Discord:
newest first, ``before``/``after`` as snowflakes, at most ``limit`` (100). Ids are snowflakes of
the wall clock. A nonce with ``enforce_nonce`` returns the message already posted with that
nonce within ``nonce_window`` seconds instead of posting another; like Discord, fetched
messages do not carry their nonce (only the reply to the post does).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

APP_ID = "1100000000000000001"
BOT_ID = "1100000000000000001"


@dataclass
class Call:
    method: str
    path: str
    json: Any
    query: dict[str, str]


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    lost: bool = False


DISCORD_EPOCH_MS = 1_420_070_400_000


def user_json(user_id: str, name: str = "reader", *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
        "flags": 0,
    }


class FakeDiscord:
    """Records requests and answers like Discord's REST API v10."""

    def __init__(self, *, nonce_window: float = 300.0) -> None:
        self.nonce_window = nonce_window
        self.messages: dict[str, list[dict[str, Any]]] = {}
        """Posted messages by channel id, oldest first."""
        self.on_post: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None
        """Awaited after a message is stored, before the reply goes out."""
        self._nonces: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._last_id = 0
        self.calls: list[Call] = []
        self.failures: dict[str, list[Failure | None]] = {}
        self.roles: dict[str, list[dict[str, Any]]] = {}
        self.dm_channels: dict[str, str] = {}
        """Recipient user id -> DM channel id (preset one to queue failures on its path)."""
        self._ids = itertools.count(1_300_000_000_000_000_000)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- test controls ------------------------------------------------------------------------

    def fail(
        self,
        path: str,
        status: int,
        *,
        code: int = 0,
        times: int = 1,
        skip: int = 0,
        lost: bool = False,
        **headers: str,
    ) -> None:
        """Answer ``times`` requests to ``path`` with an error like Discord's, after letting the
        next ``skip`` ones through; with ``lost`` the request takes effect all the same."""
        body: dict[str, Any] = {"message": f"error {status}", "code": code}
        if status == 429:
            retry = float(headers.get("Retry-After", "0.05"))
            body = {"message": "You are being rate limited.", "retry_after": retry, "global": False}
            headers = {
                "Retry-After": str(retry),
                "X-RateLimit-Scope": headers.get("X-RateLimit-Scope", "user"),
                # discord.py treats a 429 without Via as Cloudflare's ban, as Discord's own come
                # through its proxy.
                "Via": "1.1 google",
                **headers,
            }
        queue = self.failures.setdefault(path, [])
        queue.extend(None for _ in range(skip))
        queue.extend(Failure(status, body, headers, lost) for _ in range(times))

    def requests(self, method: str | None = None, path_part: str = "") -> list[Call]:
        return [
            c for c in self.calls if (method is None or c.method == method) and path_part in c.path
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate`` holds (the command tree answers in its own task)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    # --- server -------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/api/v10"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _snowflake(self) -> int:
        """A fresh id stamped with the wall clock, increasing like Discord's."""
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_id = max(now, self._last_id + 1)
        return self._last_id

    def _message(self, channel_id: str, body: dict[str, Any], *, flags: int = 0) -> dict[str, Any]:
        return {
            "id": str(self._snowflake()),
            "channel_id": channel_id,
            "author": user_json(BOT_ID, "ShiftBrief", bot=True),
            "content": body.get("content") or "",
            "timestamp": "2024-05-01T08:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": flags,
        }

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.calls.append(Call(request.method, path, body, dict(request.query)))
        self._changed.set()
        queued = self.failures.get(path)
        failure = queued.pop(0) if queued else None
        if failure is not None:
            if failure.lost:
                await self._answer_and_notify(request.method, path, body or {}, request.query)
            return _json(failure.body, status=failure.status, headers=failure.headers)
        parts = path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 4 and parts[::2] == ["channels", "messages"]:
            found = [m for m in self.messages.get(parts[1], []) if m["id"] == parts[3]]
            if not found:
                return _json({"message": "Unknown Message", "code": 10008}, status=404)
            return _json(found[0])
        return _json(await self._answer_and_notify(request.method, path, body or {}, request.query))

    async def _answer_and_notify(
        self, method: str, path: str, body: dict[str, Any], query: Any
    ) -> Any:
        parts = path.strip("/").split("/")
        if parts[0] == "channels" and parts[-1] == "messages" and len(parts) == 3:
            if method == "POST":
                message, new = self._post(parts[1], body)
                if new and self.on_post is not None:
                    await self.on_post(parts[1], message)
                return message
            if method == "GET":
                return self._history(parts[1], query)
        return self._answer(method, path, body)

    def _post(self, channel_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The message posted (and whether it is new: an enforced nonce may find it posted)."""
        nonce = body.get("nonce")
        now = time.monotonic()
        if nonce is not None and body.get("enforce_nonce"):
            earlier = self._nonces.get((channel_id, str(nonce)))
            if earlier is not None and now - earlier[0] <= self.nonce_window:
                return dict(earlier[1], nonce=nonce), False
        message = self._message(channel_id, body)
        self.messages.setdefault(channel_id, []).append(message)
        if nonce is not None:
            self._nonces[(channel_id, str(nonce))] = (now, message)
            return dict(message, nonce=nonce), True
        return message, True

    def _history(self, channel_id: str, query: Any) -> list[dict[str, Any]]:
        found = self.messages.get(channel_id, [])
        limit = max(1, min(100, int(query.get("limit") or 50)))
        if "after" in query:
            after = int(query["after"])
            newer = [m for m in found if int(m["id"]) > after][:limit]
            return list(reversed(newer))
        before = int(query["before"]) if "before" in query else None
        older = [m for m in found if before is None or int(m["id"]) < before]
        return list(reversed(older[-limit:]))

    def _answer(self, method: str, path: str, body: dict[str, Any]) -> Any:
        parts = path.strip("/").split("/")
        if path == "/users/@me":
            return user_json(BOT_ID, "ShiftBrief", bot=True)
        if path == "/oauth2/applications/@me":
            return {
                "id": APP_ID,
                "name": "ShiftBrief",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": user_json("1100000000000000009", "owner"),
                "team": None,
            }
        if path == "/users/@me/channels":
            recipient = str(body["recipient_id"])
            channel = self.dm_channels.setdefault(recipient, str(next(self._ids)))
            return {"id": channel, "type": 1, "recipients": [user_json(recipient)]}
        if parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            return [
                dict(c, id=str(next(self._ids)), application_id=APP_ID, version="1") for c in body
            ]
        if parts[0] == "guilds" and parts[-1] == "roles":
            return self.roles.get(parts[1], [])
        if parts[0] == "channels" and "messages" in parts and method == "PATCH":
            message = self._message(parts[1], body)
            message["id"] = parts[3]
            return message
        if parts[0] == "interactions" and parts[-1] == "callback":
            kind = body.get("type")
            data = body.get("data") or {}
            result: dict[str, Any] = {
                "interaction": {
                    "id": parts[1],
                    "type": 2,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(data.get("flags", 0) & 64),
                }
            }
            if kind in (4, 7):
                result["resource"] = {"type": kind, "message": self._message("0", data)}
            return result
        if parts[0] == "webhooks":
            return self._message("0", body, flags=(body.get("flags") or 0))
        return {}


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py decodes only an exact "application/json" (aiohttp adds "; charset=utf-8").
    response = web.Response(text=json.dumps(data), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response
