"""Sectors by embeddings: items in other languages rescued, weak keyword matches vetoed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.briefing import embed
from bot.briefing.edition import load_sector_defs, reclassify_since
from bot.briefing.embed_worker import EmbeddingWorker
from bot.briefing.sector_decision import refine, verdict
from bot.briefing.sector_vectors import SectorVectors, vector_classifier
from bot.ingest.parse import ParsedItem, parse_feed
from bot.models import SectorScore
from storage.models import Feed, FeedState, Item
from storage.repositories import embeddings as embedding_repo
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
        feed = Feed(url="https://feed.example/rss", title="feed", created_at=NOW)
        feed.state = FeedState(next_check_at=NOW)
        session.add(feed)
        await session.flush()
        rows = [
            Item(
                feed_id=feed.id,
                content_hash=f"h{n}",
                title=p.title,
                summary=p.summary,
                link=f"https://news.example/{n}",
                language=p.language,
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
    async with db.sessionmaker() as session:
        stored = await sector_repo.item_sectors(session, ids)
    return [[s.sector_key for s in stored[i]] for i in ids]


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
        "FDP-Politiker Gerhart Baum für Tempolimit",
    )
    assert {p.language for p in chosen} == {"de"}
    ids = await _store(sqlite_db, chosen)
    # At ingest the keyword rules do not read German and there is no vector yet: no sector.
    assert await _sectors(sqlite_db, ids) == [[], [], []]

    await _embed_all(sqlite_db)
    robot, gas, speed_limit = await _sectors(sqlite_db, ids)
    assert robot == ["mobility"]
    assert gas == ["green"]
    assert speed_limit == []  # politics about a speed limit is not clear enough for a sector


async def test_weak_keyword_matches_the_vector_disagrees_with_are_vetoed(
    sqlite_db: Database, corpus: Path
) -> None:
    breach = _pick(
        _parsed(corpus, "yahoo_news_jp_it_2022-07__PrcmNovel-extracted.xml"),
        "岐阜県の病院に不正アクセス",
    )[0]
    standard = ParsedItem(
        guid=None,
        link=None,
        title="NIST finalises its first post-quantum cryptography standards",
        summary="",
        author=None,
        published_at=None,
        language="en",
        content_hash="",
    )
    ids = await _store(sqlite_db, [breach, standard])
    await _embed_all(sqlite_db)
    sv = sector_vectors()
    async with sqlite_db.sessionmaker() as session:
        items = list((await session.scalars(select(Item).where(Item.id.in_(ids)))).all())
        found = await sv.stored(session, items, await load_sector_defs(session))
    assert found is not None
    prototypes, vectors = found
    # The sectors the keyword rules gave before their incident pattern caught the breach: one
    # weak term each.
    breach_row = (SectorScore("life", 0.39, ("ワクチン",)),)
    standard_row = (SectorScore("quantum", 0.39, ("post-quantum",)),)
    assert refine(breach_row, verdict(vectors[ids[0]], prototypes), "ja") == ()
    # Real post-quantum news keeps its sector.
    assert refine(standard_row, verdict(vectors[ids[1]], prototypes), "en") == standard_row


async def test_an_admin_added_sector_gets_a_prototype(sqlite_db: Database, corpus: Path) -> None:
    sv = sector_vectors()
    async with sqlite_db.sessionmaker.begin() as session:
        await sector_repo.add_sector(
            session,
            key="space",
            name_en="Space",
            name_ja="宇宙",
            keywords=["spaceflight", "satellite", "rocket launch", "NASA", "ESA", "宇宙開発"],
            now=NOW,
        )
        defs = await load_sector_defs(session)
    before = sv.prototypes(defs)
    assert before is not None and "space" not in before.keys  # not made on a command's path

    heise = _parsed(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    ids = await _store(
        sqlite_db,
        _pick(heise, "Mondmission Artemis-1: NASA-Riesenrakete", "FDP-Politiker Gerhart Baum"),
    )
    await _embed_all(sqlite_db)
    found = sv.prototypes(defs)
    assert found is not None and "space" in found.keys
    async with sqlite_db.sessionmaker() as session:
        blobs = await embedding_repo.vectors_for(session, ids, model=sv.model_name)
    moon, speed_limit = (verdict(embed.from_blob(blobs[i]), found) for i in ids)
    assert moon.best == "space"  # the German moon mission is nearest the new sector
    assert speed_limit.best != "space"


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
    ]
    # The bot: keyword rules on ingest, then the vector steps once the worker has embedded.
    ids = await _store(sqlite_db, chosen)
    await _embed_all(sqlite_db)
    async with sqlite_db.sessionmaker() as session:
        stored = await sector_repo.item_sectors(session, ids)
    bot = [sorted(((s.sector_key, s.score) for s in stored[i]), key=lambda s: -s[1]) for i in ids]

    lines = "".join(
        json.dumps({"id": n, "title": p.title, "summary": p.summary, "lang": p.language}) + "\n"
        for n, p in enumerate(chosen)
    )
    cli = Cli(tmp_path)
    by_vectors = [json.loads(x) for x in (await cli("classify", stdin=lines)).stdout.splitlines()]
    lexical = [
        json.loads(x) for x in (await cli("classify", "--lexical", stdin=lines)).stdout.splitlines()
    ]
    assert [[(s["key"], s["score"]) for s in r["sectors"]] for r in by_vectors] == bot
    # The vector steps did something here: an item the keyword rules cannot read (German,
    # Chinese, Spanish) was placed, and a Japanese item lost a weak keyword sector.
    changed = [n for n, (v, k) in enumerate(zip(by_vectors, lexical, strict=True)) if v != k]
    assert {chosen[n].language for n in changed if not lexical[n]["sectors"]} & {"de", "zh", "es"}
    assert any(lexical[n]["sectors"] and not by_vectors[n]["sectors"] for n in changed)
