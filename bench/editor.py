"""Benchmark: the editor stage on one big edition, against a loopback model that takes 300 ms.

One edition of about 5,000 events (the synthetic news of ``bench/compose.py``, clustered into
stories) for 10,000 readers in English and Japanese. Measured: model calls, prompt and
completion tokens, wall time of preparing the edition without the editor (rank and index) and
with it (plus writing the top stories and the edition's framing in both languages), composing
every reader's briefing afterwards (which must make no call), and the cache hit rate on the next
edition, which repeats most stories and adds 200 new events.

The model is ``tests/openai_api.py``'s loopback server answering every request after ``--delay``
seconds; the cache is a migrated SQLite file; the editor runs with the default settings (4
calls at once, at most 200 calls an edition, 30 s per call, 120 s per edition).

Run: ``.venv/bin/python bench/editor.py [--events 5000] [--readers 10000] [--delay 0.3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openai

from bench.compose import NOW, SECTORS, make_articles, make_profiles
from bot.briefing.cluster import cluster_articles
from bot.briefing.compose import BriefingContext
from bot.briefing.editor.cache import DatabaseCache
from bot.briefing.editor.llm import PROMPT_VERSION, LLMEditor
from bot.config import Settings
from bot.metrics import Metrics
from storage.db import make_engine, make_sessionmaker, upgrade
from tests.openai_api import OpenAIAPI


def counter(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(f"shiftbrief_editor_{name}_total", labels)
    return value or 0.0


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    articles = make_articles(args.events, rng)
    profiles = make_profiles(args.readers, rng)
    stories = cluster_articles(articles)
    settings = Settings()
    print(f"edition: {len(articles)} articles, {len(stories)} stories, {len(profiles)} readers")

    started = time.perf_counter()
    BriefingContext.prepare(stories, SECTORS, (), NOW)
    plain = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        metrics = Metrics()
        async with OpenAIAPI(delay=args.delay) as api:
            client = openai.AsyncOpenAI(base_url=api.base_url, api_key="bench", max_retries=0)
            editor = LLMEditor(
                client=client,
                model="bench",
                cache=DatabaseCache(
                    sessionmaker, model="bench", prompt_version=PROMPT_VERSION, clock=lambda: NOW
                ),
                metrics=metrics,
                max_calls=settings.llm_max_calls_per_edition,
                concurrency=settings.llm_concurrency,
                timeout=settings.llm_timeout,
                budget=settings.llm_budget_seconds,
                retries=settings.llm_retries,
            )
            started = time.perf_counter()
            context = BriefingContext.prepare(stories, SECTORS, (), NOW)
            await context.edit(editor, ["en", "ja"])
            written = time.perf_counter() - started
            calls, prompt, completion = api.count(), api.prompt_tokens, api.completion_tokens

            started = time.perf_counter()
            machine = sum(context.compose(p).machine_written for p in profiles)
            composed = time.perf_counter() - started
            assert api.count() == calls, "composing a reader's briefing must not call the model"

            # The next edition: the same news an hour on, plus 200 new events.
            more = make_articles(200, random.Random(args.seed + 1))
            offset = max(a.item_id for a in articles)
            more = [type(a)(**{**_fields(a), "item_id": a.item_id + offset}) for a in more]
            hits_before = counter(metrics, "cache_hits")
            context = BriefingContext.prepare(cluster_articles(articles + more), SECTORS, (), NOW)
            started = time.perf_counter()
            await context.edit(editor, ["en", "ja"])
            next_time = time.perf_counter() - started
            next_calls = api.count() - calls
            hits = counter(metrics, "cache_hits") - hits_before
            await client.close()
        await engine.dispose()

    print(f"model calls: {calls} ({api.count('story') and calls - 2} stories + 2 editions)")
    print(f"tokens: prompt {prompt}, completion {completion}")
    print(f"prepare without editor: {plain:.2f} s")
    print(f"prepare with editor ({args.delay * 1000:.0f} ms a call): {written:.2f} s")
    print(f"compose {len(profiles)} readers: {composed:.2f} s, no call; {machine} machine-written")
    rate = hits / (hits + next_calls) if hits + next_calls else 0.0
    print(
        f"next edition: {hits:.0f} cache hits, {next_calls} calls, hit rate {rate:.0%}, "
        f"editor {next_time:.2f} s"
    )
    print(f"fallbacks: {counter(metrics, 'fallbacks', reason='call_cap'):.0f} for the call cap")


def _fields(article: object) -> dict[str, object]:
    return {f: getattr(article, f) for f in article.__dataclass_fields__}  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=20260120)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
