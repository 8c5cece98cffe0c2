"""Publishers' own categories as evidence of an item's sector: stored at ingest (migration
0025), read by ``shiftbrief classify``, counted by the sector decision."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.briefing.categories import CategoryDataError, builtin_mapping, parse_mapping
from bot.briefing.classify import Classifier
from bot.briefing.classify_io import classify_jsonl
from bot.briefing.compose import compose_briefing
from bot.briefing.edition import ItemClassifier
from bot.briefing.headlines import is_incident
from bot.briefing.sectors import default_sectors
from bot.config import Settings
from bot.ingest.fetch import FeedFetcher
from bot.ingest.service import IngestService
from bot.models import Article, Profile
from storage.db import alembic_config, make_sessionmaker, upgrade
from storage.models import Item
from storage.repositories import feeds as feed_repo
from storage.repositories import sectors as sector_repo
from storage.repositories.items import insert_items
from tests.feedserver import Entry, FeedServer, make_rss
from tests.migration_rows import add_old_feed, add_old_item
from tests.test_tenants_migration import fresh_engine

__all__ = ["fresh_engine"]  # the fixture: an empty database of either kind

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SECTORS = {s.key: s for s in default_sectors()}
VAGUE = "Self-Adjoint Time Operator in a Weighted Energy Space"
"""An arXiv quant-ph paper's real title: no word in it says quantum."""


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(sectors=default_sectors())


def test_a_vague_arxiv_title_lands_in_quantum_by_its_category(classifier: Classifier) -> None:
    assert classifier.classify(VAGUE, "") == ()
    found = classifier.classify(VAGUE, "", categories=("QUANT-PH",))
    assert [s.key for s in found] == ["quantum"]
    assert found[0].matched == ("quant-ph",)  # what "Why this?" shows: our spelling
    # Sub-categories name their archive, and a listed category is read part by part.
    assert [s.key for s in classifier.classify(VAGUE, "", categories=("q-bio.QM",))] == ["life"]
    cell = "Helping a cell to migrate in 3D space"
    assert classifier.classify(cell, "") == ()
    assert [s.key for s in classifier.classify(cell, "", categories=("Botany, Cell Biology",))] == [
        "life"
    ]


def test_categories_that_name_no_subject_count_for_nothing(classifier: Classifier) -> None:
    for categories in (("Startups", "Funding", "TC"), ("Security",), ("Quantumania",)):
        assert (
            classifier.classify("Wispr raises $280M at a $2B valuation", "", categories=categories)
            == ()
        )


def test_a_journals_name_says_its_subject_when_it_names_one(classifier: Classifier) -> None:
    # A paper feed's only category is often the journal's name, which no mapping lists whole.
    paper = "EAR-Net: Pursuing End-to-End Absolute Rotations from Multi-View Images"
    assert classifier.classify(paper, "") == ()
    journal = "IEEE Transactions on Pattern Analysis and Machine Intelligence Early Access"
    found = classifier.classify(paper, "", categories=(journal,))
    assert [s.key for s in found] == ["ai"]
    assert found[0].matched == ("machine intelligence",)
    # Only a full-weight subject term counts ("sustainable" is a half-weight word), and a short
    # tag is read through the mapping alone, whatever words it has.
    city = "Nonlinear impact of urban morphology on street life in dryland cities"
    for categories in (("Sustainable Cities and Society Current Issue",), ("Machine Minds",)):
        assert classifier.classify(city, "", categories=categories) == ()


def test_a_category_is_read_in_a_language_the_rules_cannot(classifier: Classifier) -> None:
    title = "Un operador temporal autoadjunto en un espacio de energía ponderado"
    assert classifier.classify(title, "", language="fr") == ()
    found = classifier.classify(title, "", language="fr", categories=("quant-ph",))
    assert [s.key for s in found] == ["quantum"]


def test_a_category_alone_never_makes_a_security_incident_a_sector_item(
    classifier: Classifier,
) -> None:
    # A hospital's ransomware attack is news of the attack, whatever the feed files it under.
    assert (
        classifier.classify("Ransomware attack hits a hospital chain", "", categories=("Health",))
        == ()
    )
    # Nor does it make a share-price headline one.
    assert classifier.classify("Ford earnings top estimates", "", categories=("Automotive",)) == ()


def _lead(classifier: Classifier, rows: list[tuple[str, tuple[str, ...], int]]) -> str:
    """The AI section's lead of an edition of ``rows`` (headline, categories, hours ago)."""
    articles = [
        Article(
            item_id=n,
            feed_id=n,
            source=f"outlet{n}",
            title=title,
            summary="",
            link=f"https://news.example/{n}",
            published_at=NOW - timedelta(hours=hours),
            first_seen_at=NOW - timedelta(hours=hours),
            language="en",
            sectors=classifier.classify(title, "", categories=categories),
        )
        for n, (title, categories, hours) in enumerate(rows)
    ]
    briefing = compose_briefing(articles, Profile(sectors=("ai",)), NOW, sectors=SECTORS)
    return next(s for s in briefing.sections if s.key == "ai").lead.title


def test_a_category_alone_never_pulls_a_security_advisory_into_a_sectors_lead(
    classifier: Classifier,
) -> None:
    advisory = "CISA warns of a flaw in a popular photo app"
    news = "A popular photo app adds a new editing mode"
    older = ("Startup trains a chatbot on legal documents", (), 4)
    assert is_incident(advisory) and not is_incident(news)
    # Filed under AI by its publisher, the newer item leads the AI section...
    assert [s.key for s in classifier.classify(news, "", categories=("AI",))] == ["ai"]
    assert _lead(classifier, [(news, ("AI",), 1), older]) == news
    # ...unless it is an advisory: it is under AI, but never its lead.
    assert [s.key for s in classifier.classify(advisory, "", categories=("AI",))] == ["ai"]
    assert _lead(classifier, [(advisory, ("AI",), 1), older]) == older[0]


def test_shiftbrief_classify_reads_a_lines_categories(classifier: Classifier) -> None:
    lines = [
        json.dumps({"id": 1, "title": VAGUE, "categories": ["quant-ph"]}),
        json.dumps({"id": 2, "title": VAGUE}),
        json.dumps({"id": 3, "title": VAGUE, "categories": None}),
        json.dumps({"id": 4, "title": VAGUE, "categories": "quant-ph"}),
        json.dumps({"id": 5, "title": VAGUE, "categories": [1, 2]}),
    ]
    out = [json.loads(line) for line in classify_jsonl(lines, classifier)]
    assert [s["key"] for s in out[0]["sectors"]] == ["quantum"]
    assert out[1]["sectors"] == [] and out[2]["sectors"] == []
    for bad in out[3:]:
        assert bad["error"] == "'categories' must be a list of strings" and bad["line"] in (4, 5)


def test_the_mapping_names_built_in_sectors_only() -> None:
    keys = {key for found in builtin_mapping().sectors.values() for key in found}
    assert keys == set(SECTORS)
    assert builtin_mapping().sectors["quant-ph"] == ("quantum",)
    with pytest.raises(CategoryDataError, match="needs 'terms'"):
        parse_mapping("[ai]\nterm = ['AI']\n", "x.toml")
    with pytest.raises(CategoryDataError, match="not valid TOML"):
        parse_mapping("[ai", "x.toml")


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


async def test_ingest_stores_categories_and_decides_with_them(
    sqlite_db: Any, feed_server: FeedServer
) -> None:
    entries = [
        Entry(VAGUE, link="https://arxiv.example/1", guid="a1", categories=("quant-ph", "hep-th")),
        Entry(VAGUE + " II", link="https://arxiv.example/2", guid="a2"),
    ]
    feed_server.set("/arxiv.xml", body=make_rss(entries))
    settings = Settings(
        allowed_private_networks=("127.0.0.1/32",), database_url=sqlite_db.url, fetch_timeout=5.0
    )
    async with sqlite_db.sessionmaker.begin() as session:
        feed = await feed_repo.add_feed(session, url=feed_server.url("/arxiv.xml"), now=NOW)
    by_guid, stored = await _ingest_and_read(sqlite_db, settings, feed.id)
    assert by_guid["a1"].categories == ["quant-ph", "hep-th"]
    assert by_guid["a2"].categories is None
    assert [s.sector_key for s in stored[by_guid["a1"].id]] == ["quantum"]
    assert stored[by_guid["a2"].id] == []


async def test_an_admin_sectors_keyword_counts_as_a_publishers_category(
    sqlite_db: Any, feed_server: FeedServer
) -> None:
    # No word of the headline is a keyword; the publisher filed it under one.
    title = "NASA names the crew of its next lunar flyby"
    entries = [
        Entry(title, link="https://news.example/1", guid="s1", categories=("Science", "Space")),
        Entry(title + " again", link="https://news.example/2", guid="s2", categories=("Science",)),
        Entry(
            "NASA nennt die Crew des nächsten Mondflugs",
            link="https://news.example/3",
            guid="s3",
            categories=("Wissenschaft, Space",),
        ),
    ]
    feed_server.set("/space.xml", body=make_rss(entries))
    settings = Settings(
        allowed_private_networks=("127.0.0.1/32",), database_url=sqlite_db.url, fetch_timeout=5.0
    )
    async with sqlite_db.sessionmaker.begin() as session:
        feed = await feed_repo.add_feed(session, url=feed_server.url("/space.xml"), now=NOW)
        await sector_repo.add_sector(
            session,
            key="space",
            name_en="Space",
            name_ja="宇宙",
            keywords=("space", "rocket launch"),
            now=NOW,
        )
    by_guid, stored = await _ingest_and_read(sqlite_db, settings, feed.id)
    assert [s.sector_key for s in stored[by_guid["s1"].id]] == ["space"]
    assert stored[by_guid["s2"].id] == []
    # Categories are read in any language, and part by part.
    assert [s.sector_key for s in stored[by_guid["s3"].id]] == ["space"]


async def test_migration_0025_keeps_items_and_stores_categories(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade(fresh_engine, "0020_item_raw_hash")
    async with fresh_engine.begin() as conn:
        await add_old_feed(conn, created_at="2026-12-07 08:00:00+00:00")
        await add_old_item(
            conn, content_hash="h1", title="Old paper", first_seen_at="2026-12-07 08:00:00+00:00"
        )
    await upgrade(fresh_engine)
    sessionmaker = make_sessionmaker(fresh_engine)
    async with sessionmaker.begin() as session:
        await insert_items(
            session,
            [
                {
                    "feed_id": 1,
                    "content_hash": "h2",
                    "title": "New paper",
                    "summary": "",
                    "language": "en",
                    "first_seen_at": NOW,
                    "is_backlog": False,
                    "categories": ["quant-ph", "Cell Biology"],
                }
            ],
        )
    async with sessionmaker() as session:
        found = {i.title: i.categories for i in await session.scalars(select(Item))}
    assert found == {"Old paper": None, "New paper": ["quant-ph", "Cell Biology"]}

    async with fresh_engine.begin() as conn:
        await conn.run_sync(_downgrade, "0020_item_raw_hash")
    async with fresh_engine.connect() as conn:
        titles = (await conn.execute(text("SELECT title FROM items ORDER BY id"))).scalars()
        assert list(titles) == ["Old paper", "New paper"]
    await upgrade(fresh_engine)
    async with sessionmaker() as session:
        found = {i.title: i.categories for i in await session.scalars(select(Item))}
    assert found == {"Old paper": None, "New paper": None}


def _downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


@pytest.mark.corpus
def test_real_feeds_categories_reach_the_decision(corpus: Path, classifier: Classifier) -> None:
    from bot.ingest.parse import parse_feed

    body = (corpus / "realfeeds" / "science_twis_rss1__rss-parser.xml").read_bytes()
    items = parse_feed(body, url="https://example.com/feed").items
    fungi = next(i for i in items if i.title == "Food for fungi")
    assert fungi.categories == ("Botany, Microbiology",)
    assert classifier.classify(fungi.title, fungi.summary, language=fungi.language) == ()
    found = classifier.classify(
        fungi.title, fungi.summary, language=fungi.language, categories=fungi.categories
    )
    assert [s.key for s in found] == ["life"]


@pytest.mark.corpus
def test_atom_category_terms_are_read_as_rss_categories_are(corpus: Path) -> None:
    from bot.ingest.parse import parse_feed

    body = (
        corpus / "realfeeds" / "arxiv_api_csAI-LG-CL_2026-08__personal-news-feed.xml"
    ).read_bytes()
    items = parse_feed(body, url="https://example.com/feed").items
    seiberg = next(i for i in items if i.title == "Learning to Trace Seiberg Dualities")
    assert seiberg.categories == ("hep-th", "cs.AI", "cs.LG", "hep-ph")


def test_categories_are_kept_as_a_database_holds_them() -> None:
    from bot.ingest.entries import MAX_CATEGORIES, MAX_CATEGORY_CHARS, tidy_categories

    kept = tidy_categories([" Cell\n Biology ", "cell biology", 3, None, "x" * 300, "\x00AI", ""])
    assert kept == ("Cell Biology", "x" * MAX_CATEGORY_CHARS, "AI")
    assert len(tidy_categories(f"tag {n}" for n in range(100))) == MAX_CATEGORIES


async def _ingest_and_read(
    sqlite_db: Any, settings: Settings, feed_id: int
) -> tuple[dict[str, Item], dict[int, Any]]:
    """One classified ingest pass; the feed's items by guid and their stored sectors."""
    async with FeedFetcher.from_settings(settings, clock=lambda: NOW) as fetcher:
        service = IngestService(
            sessionmaker=sqlite_db.sessionmaker,
            fetcher=fetcher,
            clock=lambda: NOW,
            settings=settings,
            after_store=ItemClassifier(),
        )
        await service.run_pass(all_feeds=True)
    async with sqlite_db.sessionmaker() as session:
        items = list(await session.scalars(select(Item).where(Item.feed_id == feed_id)))
        stored = await sector_repo.item_sectors(session, [i.id for i in items])
    return {i.guid: i for i in items}, stored
