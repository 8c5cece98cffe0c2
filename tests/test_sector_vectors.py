"""Sectors by embeddings: items the keyword rules found nothing in rescued by their vector,
also into sectors an admin added."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.console import ConsoleAdapter
from bot.briefing import embed
from bot.briefing.edition import reclassify_since
from bot.briefing.embed_worker import EmbeddingWorker
from bot.briefing.sector_decision import ADMIN_RESCUE_MIN
from bot.briefing.sector_vectors import SectorVectors, vector_classifier
from bot.commands.dispatcher import Dispatcher
from bot.ingest.parse import ParsedItem, parse_feed
from storage.models import Feed, FeedState, Item
from storage.repositories import sectors as sector_repo
from tests.conftest import Database
from tests.test_cli import Cli

NOW = datetime(2025, 11, 14, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not embed.available(), reason="embedding model not installed")

_SHARED: SectorVectors | None = None


def sector_vectors() -> SectorVectors:
    """One instance for the module: its prototypes are computed once, as in the running bot."""
    global _SHARED
    if _SHARED is None:
        _SHARED = SectorVectors()
    return _SHARED


def _parsed(corpus: Path, name: str) -> list[ParsedItem]:
    body = (corpus / "realfeeds" / name).read_bytes()
    return list(parse_feed(body, url="https://example.com/feed").items)


async def _store(db: Database, parsed: list[ParsedItem]) -> list[int]:
    async with db.sessionmaker.begin() as session:
        feeds = len((await session.scalars(select(Feed.id))).all())
        feed = Feed(url=f"https://feed{feeds}.example/rss", title="feed", created_at=NOW)
        feed.state = FeedState(next_check_at=NOW)
        session.add(feed)
        await session.flush()
        rows = [
            Item(
                feed_id=feed.id,
                content_hash=f"h{n}",
                title=p.title,
                summary=p.summary,
                link=f"https://news.example/{feeds}/{n}",
                language=p.language,
                categories=list(p.categories) or None,
                published_at=NOW - timedelta(hours=1 + n),
                first_seen_at=NOW - timedelta(hours=1 + n),
            )
            for n, p in enumerate(parsed)
        ]
        session.add_all(rows)
        await session.flush()
        # What ingest does: the keyword rules, and the vector steps (no vectors yet).
        await vector_classifier(sector_vectors())(session, rows)
        return [r.id for r in rows]


async def _sectors(db: Database, ids: list[int]) -> list[list[str]]:
    """Each item's sectors, as the tenant that owns a sector names it ("space", not "space@1")."""
    async with db.sessionmaker() as session:
        stored = await sector_repo.item_sectors(session, ids)
    return [[sector_repo.public_key(s.sector_key) for s in stored[i]] for i in ids]


async def _embed_all(db: Database) -> None:
    sv = sector_vectors()
    worker = EmbeddingWorker(
        sessionmaker=db.sessionmaker,
        clock=lambda: NOW,
        after_embed=sv.after_embed(vector_classifier(sv)),
    )
    while await worker.run_once():
        pass


def _pick(items: list[ParsedItem], *starts: str) -> list[ParsedItem]:
    return [next(i for i in items if i.title.startswith(s)) for s in starts]


async def test_german_items_get_sectors_once_the_worker_has_embedded_them(
    sqlite_db: Database, corpus: Path
) -> None:
    heise = _parsed(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    chosen = _pick(
        heise,
        "Wheelbot: Einrädriger Roboter",
        "Energiekrise: Mehrwertsteuer auf Erdgas",
        "DHL-Sendungsverfolgung deutschlandweit gestört",
    )
    assert {p.language for p in chosen} == {"de"}
    ids = await _store(sqlite_db, chosen)
    # At ingest only the German words of the sector files read them ("Roboter"), and there is
    # no vector yet: the gas item waits for its vector.
    assert await _sectors(sqlite_db, ids) == [["mobility"], [], []]

    await _embed_all(sqlite_db)
    robot, gas, parcels = await _sectors(sqlite_db, ids)
    assert robot == ["mobility"]
    assert gas == ["green"]
    assert parcels == []  # an outage of parcel tracking is no sector's news


async def _embed_with(db: Database, sv: SectorVectors, *, clock: bool = False) -> None:
    """The worker as the bot runs it: with a clock, a sector's new prototype classifies the
    whole window again."""
    worker = EmbeddingWorker(
        sessionmaker=db.sessionmaker,
        clock=lambda: NOW,
        after_embed=sv.after_embed(vector_classifier(sv), clock=(lambda: NOW) if clock else None),
    )
    while await worker.run_once():
        pass


async def test_an_admin_sector_added_in_chat_gathers_items_in_other_languages(
    sqlite_db: Database, corpus: Path, tmp_path: Path
) -> None:
    sv = SectorVectors()  # the running bot's: one for the worker and the dispatcher
    dispatcher = Dispatcher(
        sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW, classifier=vector_classifier(sv)
    )
    news = _parsed(corpus, "googlenews_topstories_atom__feed-extractor.xml")
    heise = _parsed(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    english = _pick(news, "Russia tells NASA space station", "NASA Will Send More Helicopters")
    german = _pick(
        heise,
        "Mondmission Artemis-1: NASA-Riesenrakete",
        "DHL-Sendungsverfolgung deutschlandweit gestört",
    )
    english_ids = await _store(sqlite_db, english)
    german_ids = await _store(sqlite_db, german)
    await _embed_with(sqlite_db, sv)
    assert await _sectors(sqlite_db, english_ids + german_ids) == [[], [], [], []]

    admin = ConsoleAdapter(stdout=io.StringIO(), user_id="boss", is_admin=True)
    reply = await admin.ask(
        dispatcher,
        '/brief admin sectors add space Space 宇宙 NASA, spaceflight, "space station", rocket',
    )
    assert "space" in reply.text, reply.text
    # The keywords read the English items at once; German ones wait for the prototype, which
    # only the worker makes (the model never runs on a command's path).
    assert await _sectors(sqlite_db, english_ids) == [["space"], ["space"]]
    assert await _sectors(sqlite_db, german_ids) == [[], []]

    # The next item the worker embeds brings the new sector's prototype, made from its keywords
    # and the English items they placed, and the window is classified again.
    later = await _store(sqlite_db, _pick(heise, "Artemis-1: NASA plant Website"))
    await _embed_with(sqlite_db, sv, clock=True)
    moon, parcels = await _sectors(sqlite_db, german_ids)
    assert moon == ["space"]
    assert parcels == []
    assert await _sectors(sqlite_db, later) == [["space"]]
    async with sqlite_db.sessionmaker() as session:
        rows = await sector_repo.item_sectors(session, german_ids[:1])
    assert not rows[german_ids[0]][0].matched  # placed by its vector, not by a term
    assert rows[german_ids[0]][0].score >= ADMIN_RESCUE_MIN

    # shiftbrief classify on the bot's database makes the sector's prototype as the bot does,
    # and answers as the bot did.
    lines = "".join(
        json.dumps({"id": n, "title": p.title, "summary": p.summary, "lang": p.language}) + "\n"
        for n, p in enumerate(german)
    )
    done = await Cli(tmp_path)("classify", stdin=lines)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(x) for x in done.stdout.splitlines()]
    # The operator's command sees every tenant's sectors, by their stored keys.
    assert [[s["key"] for s in a["sectors"]] for a in answers] == [["space@1"], []]


async def test_adding_a_sector_keeps_the_sectors_items_were_rescued_into(
    sqlite_db: Database, corpus: Path
) -> None:
    heise = _parsed(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    ids = await _store(sqlite_db, _pick(heise, "Wheelbot: Einrädriger Roboter"))
    await _embed_all(sqlite_db)
    assert await _sectors(sqlite_db, ids) == [["mobility"]]

    # A freshly started process: its prototypes of built-in sectors come from the shipped file;
    # the admin's new sector has none until the worker makes it.
    fresh = SectorVectors()
    async with sqlite_db.sessionmaker.begin() as session:
        await sector_repo.add_sector(
            session, key="space", name_en="Space", name_ja="宇宙", keywords=["NASA"], now=NOW
        )
        await reclassify_since(
            session, since=NOW - timedelta(days=2), classifier=vector_classifier(fresh)
        )
    assert await _sectors(sqlite_db, ids) == [["mobility"]]


async def test_shiftbrief_classify_decides_as_the_bot_does(
    sqlite_db: Database, corpus: Path, tmp_path: Path
) -> None:
    chosen = [
        *_parsed(corpus, "heise_online_atom_150items__nextcloud-news.xml")[:30],
        *_parsed(corpus, "geekpark_zh_rss__Feeder.xml")[:5],
        *_parsed(corpus, "mittechreview_es_scraped_2026-02__prospect-rss-feeds.xml")[:5],
        *_parsed(corpus, "yahoo_news_jp_it_2022-07__PrcmNovel-extracted.xml")[:10],
        *_parsed(corpus, "newatlas_scraped_2026-02__prospect-rss-feeds.xml")[:10],
        # Feeds whose entries carry the publisher's categories (arXiv's, Science's, TechCrunch's).
        *_parsed(corpus, "arxiv_quant-ph_rss_2025-04__RSSFeeds.jl.xml")[:8],
        *_parsed(corpus, "science_twis_rss1__rss-parser.xml")[:8],
        *_parsed(corpus, "techcrunch_2021-03__uqcsbot-slack.xml")[:8],
    ]
    assert sum(bool(p.categories) for p in chosen) >= 16
    # The bot: keyword rules on ingest, then the vector steps once the worker has embedded.
    ids = await _store(sqlite_db, chosen)
    await _embed_all(sqlite_db)
    async with sqlite_db.sessionmaker() as session:
        stored = await sector_repo.item_sectors(session, ids)
    bot = [sorted(((s.sector_key, s.score) for s in stored[i]), key=lambda s: -s[1]) for i in ids]

    lines = "".join(
        json.dumps(
            {
                "id": n,
                "title": p.title,
                "summary": p.summary,
                "lang": p.language,
                "categories": list(p.categories),
            }
        )
        + "\n"
        for n, p in enumerate(chosen)
    )
    cli = Cli(tmp_path)
    by_vectors = [json.loads(x) for x in (await cli("classify", stdin=lines)).stdout.splitlines()]
    lexical = [
        json.loads(x) for x in (await cli("classify", "--lexical", stdin=lines)).stdout.splitlines()
    ]
    assert [[(s["key"], s["score"]) for s in r["sectors"]] for r in by_vectors] == bot
    # The vector did something here: an item the keyword rules cannot read (German, Chinese,
    # Spanish) was placed; and it only adds: a sector the rules gave stands as they gave it.
    changed = [n for n, (v, k) in enumerate(zip(by_vectors, lexical, strict=True)) if v != k]
    assert {chosen[n].language for n in changed if not lexical[n]["sectors"]} & {"de", "zh", "es"}
    assert all(not lexical[n]["sectors"] for n in changed)
