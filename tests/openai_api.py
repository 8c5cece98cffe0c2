"""A local HTTP server that speaks OpenAI's chat-completions API, playing the model in tests.

The real ``openai.AsyncOpenAI`` client talks to it over loopback (``base_url``). It checks what
ShiftBrief sends (structured output with a strict JSON schema, no streaming), records every
request, and answers like a well-behaved model by default: grounded text built from the data it
was given, in the language the system prompt asks for. A test swaps in ``behaviour`` to answer
badly: malformed JSON, schema-breaking JSON, invented numbers, injected mentions and links, 429
with Retry-After, 500, or a hang. ``delay`` makes every answer slow (for bench/editor.py).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Request:
    """One chat-completions request as the model sees it."""

    kind: str
    """"story" or "edition" (the schema's name)."""
    language: str
    """"English" or "Japanese", from the system prompt."""
    data: dict[str, Any]
    """The user message's ``data`` field."""
    body: dict[str, Any]


@dataclass
class Reply:
    status: int = 200
    content: str | None = None
    """The assistant message (JSON text); None: the default good answer."""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


Behaviour = Callable[[Request, int], Reply | None]
"""(request, its number from 0) -> a reply, or None for the default good answer."""


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.。!?！？])(?:\s|$)", text.strip())
    return (match.group(1) if match else text.strip())[:300]


def good_story(request: Request) -> dict[str, str]:
    """A grounded story answer: facts only from the sources, in the asked language."""
    source = request.data["sources"][0]
    if request.language == "Japanese":
        return {
            "headline": f"要約：{source['title']}",
            "summary": f"報道によると、{_first_sentence(source['text'] or source['title'])}",
            "why": "この分野の今後を左右する動きです。",
        }
    return {
        "headline": f"In brief: {source['title']}",
        "summary": f"Reports say: {_first_sentence(source['text'] or source['title'])}",
        "why": "It shows where the field is heading.",
    }


def good_edition(request: Request) -> dict[str, Any]:
    """A grounded edition answer: a theme, paragraphs, one synergy, watch items for 2027."""
    ja = request.language == "Japanese"
    sectors = request.data["sectors"]
    synergies = []
    if len(sectors) >= 2:
        synergies.append(
            {
                "story_ids": [sectors[0]["stories"][0]["id"], sectors[1]["stories"][0]["id"]],
                "why": "両分野の研究が互いを後押しします。"
                if ja
                else "Work in each field helps the other.",
            }
        )
    watch = []
    for sector in sectors:
        for story in sector["stories"]:
            for source in story["sources"]:
                for sentence in re.split(r"(?<=[.。])\s*", source["text"]):
                    if "2027" in sentence:
                        watch.append(
                            {
                                "story_id": story["id"],
                                "sentence": sentence,
                                "date": "2027-01-01",
                                "precision": "year",
                                "kind": "plan",
                            }
                        )
    return {
        "theme": "技術の転換点" if ja else "Technology at a turning point",
        "opening": "本日は各分野で重要な動きがありました。"
        if ja
        else "Several fields moved today.",
        "sectors": [
            {
                "sector": s["sector"],
                "paragraph": "この分野で新しい動きがありました。"
                if ja
                else "This field saw new work.",
            }
            for s in sectors
        ],
        "synergies": synergies,
        "watch": watch[:3],
    }


class OpenAIAPI:
    """``async with OpenAIAPI() as api``: ``api.base_url`` for the client, ``api.requests``."""

    def __init__(
        self, *, delay: float = 0.0, behaviour: Behaviour | None = None, port: int = 0
    ) -> None:
        self.delay = delay
        self.port = port
        self.behaviour = behaviour
        self.requests: list[Request] = []
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self._release = asyncio.Event()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> OpenAIAPI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        assert self._runner is not None
        await self._runner.cleanup()

    def open_connections(self) -> int:
        """How many connections clients hold open to this server now."""
        assert self._runner is not None and self._runner.server is not None
        return len(self._runner.server.connections)

    def count(self, kind: str | None = None) -> int:
        return sum(1 for r in self.requests if kind is None or r.kind == kind)

    async def _complete(self, http: web.Request) -> web.StreamResponse:
        body = await http.json()
        fmt = body.get("response_format") or {}
        schema = fmt.get("json_schema") or {}
        if (
            fmt.get("type") != "json_schema"
            or schema.get("strict") is not True
            or body.get("stream")
        ):
            return web.json_response({"error": {"message": "structured output only"}}, status=400)
        system = body["messages"][0]["content"]
        language = "Japanese" if "Write in Japanese" in system else "English"
        user = json.loads(body["messages"][1]["content"])
        request = Request(schema["name"], language, user["data"], body)
        number = len(self.requests)
        self.requests.append(request)
        reply = (self.behaviour(request, number) if self.behaviour else None) or Reply()
        if reply.hang:
            await self._release.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if reply.status != 200:
            return web.json_response(
                {"error": {"message": "unavailable", "type": "server_error"}},
                status=reply.status,
                headers=reply.headers,
            )
        content = reply.content
        if content is None:
            answer = good_story(request) if request.kind == "story" else good_edition(request)
            content = json.dumps(answer, ensure_ascii=False)
        prompt = len(body["messages"][1]["content"]) // 4 + 50
        completion = len(content) // 4 + 1
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        return web.json_response(
            {
                "id": f"chatcmpl-{next(self._ids)}",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )
