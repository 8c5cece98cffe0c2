"""The background embedding worker, the stored vectors, and editions that cluster with them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import delete, func, select

from bot.briefing import embed
from bot.briefing.edition import load_articles, load_edition
from bot.briefing.embed_worker import EmbeddingWorker
from storage.models import Feed, FeedState, Item, ItemEmbedding
from storage.repositories import embeddings as repo
from storage.repositories import sectors as sector_repo
from tests.conftest import Database

NOW = datetime(2025, 11, 14, 12, 0, tzinfo=UTC)

# Real reports (tests/data/cluster_events.jsonl): one event in English and Japanese, another
# event of the same company that week, and an old item of a feed's backlog.
ITEMS = [
    (
        "Google DeepMind",
        "en",
        "SIMA 2: An Agent that Plays, Reasons, and Learns With You in Virtual 3D Worlds",
        "Introducing SIMA 2, a Gemini-powered AI agent that can think, understand, and take "
        "actions in interactive environments.",
        timedelta(hours=21),
    ),
    (
        "GIGAZINE",
        "ja",
        "Google DeepMindが3Dゲームを人間のようにプレイして学習するAIエージェント「SIMA 2」を発表",
        "",
        timedelta(hours=8),
    ),
    (
        "GIGAZINE",
        "ja",
        "Googleの画像生成AI「Nano Banana」がGoogleフォトでも使用可能に",
        "",
        timedelta(hours=2),
    ),
    (
        "Google DeepMind",
        "en",
        "Mapping, modeling, and understanding nature with AI",
        "AI models can help map species, protect forests and listen to birds around the world",
        timedelta(days=4),
    ),
    (
        "GIGAZINE",
        "ja",
        "Sakana AI、科学研究を完全自動化する「The AI Scientist」を発表",
        "",
        timedelta(days=20),
    ),
]


async def store_items(db: Database) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with db.sessionmaker.begin() as session:
        feeds: dict[str, Feed] = {}
        for n, (source, lang, title, summary, age) in enumerate(ITEMS):
            if source not in feeds:
                feed = Feed(url=f"https://{n}.example/rss", title=source, created_at=NOW)
                feed.state = FeedState(next_check_at=NOW)
                session.add(feed)
                await session.flush()
                feeds[source] = feed
            item = Item(
                feed_id=feeds[source].id,
                content_hash=f"h{n}",
                title=title,
                summary=summary,
                link=f"https://news.example/{n}",
                language=lang,
                published_at=NOW - age,
                first_seen_at=NOW - age,
            )
            session.add(item)
            await session.flush()
            ids[title[:12]] = item.id
    return ids


def worker(db: Database, **kwargs: object) -> EmbeddingWorker:
    return EmbeddingWorker(sessionmaker=db.sessionmaker, clock=lambda: NOW, batch=2, **kwargs)  # type: ignore[arg-type]


async def stored(db: Database) -> list[int]:
    async with db.sessionmaker() as session:
        rows = await session.execute(select(ItemEmbedding.item_id, ItemEmbedding.model))
        pairs = list(rows)
    assert {model for _, model in pairs} <= {embed.model_name()}
    return sorted(item_id for item_id, _ in pairs)


async def test_window_items_first_newest_first_then_backlog(db: Database) -> None:
    ids = await store_items(db)
    work = worker(db)
    assert await work.run_once() == 2
    # The two newest items of the last 48 hours, not the four-day-old one.
    assert await stored(db) == sorted([ids["Googleの画像生成A"], ids["Google DeepM"]])
    assert await work.run_once() == 1  # the last window item
    assert ids["Mapping, mod"] not in await stored(db)
    # Then the older ones, newest first: last week's, then one of weeks ago (a dated brief
    # on that day groups by meaning too).
    assert await work.run_once() == 2
    assert await work.run_once() == 0
    assert len(await stored(db)) == 5


async def test_edition_joins_english_and_japanese_reports_with_stored_vectors(
    db: Database,
) -> None:
    ids = await store_items(db)
    # Before the worker ran, the edition still works (lexical) without loading anything.
    async with db.sessionmaker() as session:
        before = await load_articles(session, since=NOW - timedelta(days=1))
    assert all(a.embedding is None for a in before)
    work = worker(db)
    while await work.run_once():
        pass
    async with db.sessionmaker() as session:
        articles = await load_articles(session, since=NOW - timedelta(days=1))
        edition = await load_edition(session, now=NOW)
    vectors = [embed.from_blob(a.embedding or b"") for a in articles]
    assert all(v.shape == (384,) and abs(float(np.linalg.norm(v)) - 1) < 1e-4 for v in vectors)
    sima = {ids["SIMA 2: An A"], ids["Google DeepM"]}
    groups = [{a.item_id for a in s.articles} for s in edition.stories.values()]
    assert sima in groups
    assert {ids["Googleの画像生成A"]} in groups
    story = next(s for s in edition.stories.values() if {a.item_id for a in s.articles} == sima)
    assert story.source_count == 2


async def test_deleting_an_item_deletes_its_vector_and_missing_items_are_skipped(
    db: Database,
) -> None:
    ids = await store_items(db)
    while await worker(db).run_once():
        pass
    async with db.sessionmaker.begin() as session:
        await session.execute(delete(Item).where(Item.id == ids["Mapping, mod"]))
    async with db.sessionmaker.begin() as session:
        # An item removed by retention between embedding and storing is skipped, not an error.
        await repo.store(session, model="m", vectors={999_999: b"\0\0\0\0"}, now=NOW)
    async with db.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(ItemEmbedding))
    assert count == len(ITEMS) - 1


async def test_run_wakes_on_new_items_and_stops(db: Database) -> None:
    work = worker(db, idle=3600.0)
    stop = asyncio.Event()
    task = asyncio.create_task(work.run(stop))
    await asyncio.sleep(0)
    await store_items(db)
    work.wake()
    async with asyncio.timeout(120):
        while len(await stored(db)) < 4:
            await asyncio.sleep(0.05)
    stop.set()
    async with asyncio.timeout(60):
        await task


async def test_an_inactive_process_embeds_nothing(db: Database) -> None:
    await store_items(db)
    work = worker(db, idle=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(work.run(stop, active=lambda: False))
    for _ in range(5):
        await asyncio.sleep(0.02)
    stop.set()
    await task
    assert await stored(db) == []


async def test_an_admin_sectors_prototype_reads_only_items_its_keywords_placed(
    db: Database,
) -> None:
    """A sector's prototype is never made from its own guesses: items the vector rescue placed
    in it (no matched term) are left out, and so are other models' vectors."""
    ids = list((await store_items(db)).values())
    vectors = {i: embed.to_blob(np.full(4, float(n), dtype=np.float32)) for n, i in enumerate(ids)}
    async with db.sessionmaker.begin() as session:
        await sector_repo.add_sector(
            session, key="agents", name_en="Agents", name_ja="エージェント", keywords=[], now=NOW
        )
        await repo.store(session, model="m", vectors=vectors, now=NOW)
        await sector_repo.set_item_sectors(
            session,
            {
                ids[0]: [("agents", 0.6, ["agent"])],
                ids[1]: [("agents", 0.2, [])],  # rescued by its vector
                ids[2]: [("agents", 0.5, ["agent", "SIMA"])],
                ids[3]: [("ai", 0.5, ["AI"])],
            },
        )
    async with db.sessionmaker() as session:
        found = await repo.keyword_matched_vectors(session, "agents", model="m")
        other_model = await repo.keyword_matched_vectors(session, "agents", model="other")
    assert sorted(found) == sorted([vectors[ids[0]], vectors[ids[2]]])
    assert other_model == []
