"""A model endpoint that answers slowly on purpose: headers at once, then a byte now and then.

It plays the endpoint of issue 19: an OpenAI-compatible server that sends ``200`` and its
headers, then one space every ``interval`` seconds (valid leading JSON whitespace, so a client
keeps reading), and never finishes. A per-read timeout never fires against it; only a deadline
for the whole call does. With ``finish_after`` it sends a good answer after that many seconds
instead, a model that is slow but does write (``tests.openai_api`` builds the answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from tests.openai_api import Request, good_edition, good_story


class DripModel:
    """``async with DripModel(interval=...) as model``: ``model.base_url``, ``model.calls``."""

    def __init__(self, *, interval: float = 5.0, finish_after: float | None = None) -> None:
        self.interval = interval
        self.finish_after = finish_after
        self.calls = 0
        self.finished = 0
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    async def __aenter__(self) -> DripModel:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        assert self._runner is not None
        await self._runner.cleanup()

    async def _complete(self, http: web.Request) -> web.StreamResponse:
        body = await http.json()
        self.calls += 1
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(http)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with contextlib.suppress(ConnectionResetError):  # the client gave up: the point
            while not self._closing.is_set():
                pause = self.interval
                if self.finish_after is not None:
                    left = self.finish_after - (loop.time() - started)
                    if left <= 0:
                        await response.write(json.dumps(_answer(body)).encode())
                        await response.write_eof()
                        self.finished += 1
                        return response
                    pause = min(pause, left)
                await response.write(b" ")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), timeout=pause)
        return response


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """A good chat-completions answer to ``body`` (see ``tests.openai_api``)."""
    system = body["messages"][0]["content"]
    language = "Japanese" if "Write in Japanese" in system else "English"
    user = json.loads(body["messages"][1]["content"])
    kind = body["response_format"]["json_schema"]["name"]
    request = Request(kind, language, user["data"], body)
    content = good_story(request) if kind == "story" else good_edition(request)
    return {
        "id": "chatcmpl-drip",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(content)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }
