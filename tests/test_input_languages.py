"""Languages of real feeds: detected per item, keyword rules only on their own language, and
items in other languages marked in a briefing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.briefing.classify import Classifier
from bot.briefing.classify_io import classify_jsonl
from bot.briefing.compose import compose_briefing
from bot.briefing.edition import ItemClassifier
from bot.briefing.editor.extractive import signal_of
from bot.briefing.render_text import briefing_to_json
from bot.briefing.sector_decision import Vector, VectorEvidence, decide
from bot.briefing.sector_model import NONE, SectorModel
from bot.briefing.sectors import FOREIGN_TERMS, default_sectors
from bot.ingest.language import detect_language
from bot.ingest.parse import ParsedItem, parse_feed
from bot.models import Article, Profile, SectorDef, SectorScore
from storage.models import Item
from storage.repositories import feeds as feed_repo
from storage.repositories import sectors as sector_repo

pytestmark = pytest.mark.corpus

NOW = datetime(2026, 8, 18, 6, 0, tzinfo=UTC)
SECTORS = {s.key: s for s in default_sectors()}


def _items(corpus: Path, name: str) -> tuple[ParsedItem, ...]:
    body = (corpus / "realfeeds" / name).read_bytes()
    return parse_feed(body, url="https://example.com/feed").items


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("heise_online_atom_150items__nextcloud-news.xml", "de"),
        ("mittechreview_es_scraped_2026-02__prospect-rss-feeds.xml", "es"),  # declares "en"
        ("itmedia_ja_scraped_2026-02__prospect-rss-feeds.xml", "ja"),  # declares "en"
        ("geekpark_zh_rss__Feeder.xml", "zh"),
        ("elsevier_sustainable_cities_society_rss__journal-rss.xml", "en"),  # declares "zh-CN"
        ("techcrunch_ai_category_2026-08__EienMosu-ai-news.xml", "en"),
    ],
)
def test_every_item_of_a_real_feed_gets_its_texts_language(
    corpus: Path, name: str, language: str
) -> None:
    items = _items(corpus, name)
    assert items and {i.language for i in items} == {language}


def test_short_headlines_in_five_languages() -> None:
    assert detect_language("Google will weniger Clickbait in der Suche") == "de"
    assert detect_language("El dilema de Moltbook, la red social para bots") == "es"
    assert detect_language("ソニー、映像制作拠点を開設へ") == "ja"
    assert detect_language("充电桩 2020：大火一年，它依然没赚到钱") == "zh"
    assert detect_language("Groq raises $350M to fuel its pivot from AI chips") == "en"
    assert detect_language("   ") == "und"


def test_keyword_rules_do_not_read_german_as_english(corpus: Path) -> None:
    # Read as English, 14 heise items match terms ("Deep Learning", "Sensor",
    # "plug-in hybrid" in a German summary). A German item is read with the German words of
    # the sector files alone: what places it is a German word, never an English one.
    classifier = Classifier(sectors=default_sectors())
    items = _items(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    as_english = [i for i in items if classifier.classify(i.title, i.summary, language="en")]
    assert len(as_english) >= 10
    german_words = {t.text.rstrip("*") for terms in FOREIGN_TERMS["de"].values() for t in terms}
    found = [s for i in items for s in classifier.classify(i.title, i.summary, language=i.language)]
    assert len(found) >= 10  # AKW, Drohnen, Roboter, Quantencomputer ...
    assert all(set(s.matched) <= german_words for s in found)
    assert "Sensor" not in german_words and "machine learning" not in german_words
    # Japanese text keeps the Latin-letter terms it is written with.
    assert classifier.classify("生成AIの新モデルを発表", language="ja")[0].key == "ai"


def test_german_spanish_and_chinese_headlines_are_placed_by_their_own_words() -> None:
    classifier = Classifier(sectors=default_sectors())

    def best(title: str, language: str) -> str | None:
        found = classifier.classify(title, language=language)
        return found[0].key if found else None

    assert best("AKW-Rückbau: Keine Deponie will den Müll haben", "de") == "green"
    assert best("Drohnen: DJI erhält erste C1-Zertifizierung", "de") == "mobility"
    assert (
        best("Las aguas residuales podrían frenar el resurgimiento del sarampión", "es") == "life"
    )
    assert best("充电桩 2020：大火一年，它依然没赚到钱", "zh") == "green"
    # An English word in a German headline says nothing; a language without a list, nothing.
    assert best("Google will weniger Clickbait in der Suche", "de") is None
    assert best("Robot", "fr") is None
    # A digest of several news belongs to no sector, whatever its parts hold.
    assert (
        best("Kurz informiert: Netzhautverpflanzung, Phishing, Roboter, James Webb", "de") is None
    )
    assert best("B 站或代理游戏；卫龙辣条拒绝社区团购；快递外卖电动车将推专用号牌", "zh") is None


async def test_a_vector_the_model_is_unsure_of_places_only_items_the_rules_cannot_read(
    sqlite_db: Any, corpus: Path
) -> None:
    english = (
        *_items(corpus, "techcrunch_ai_category_2026-08__EienMosu-ai-news.xml")[:3],
        *_items(corpus, "googlenews_topstories_atom__feed-extractor.xml")[1:3],  # no term
    )
    german = _items(corpus, "heise_online_atom_150items__nextcloud-news.xml")[:5]
    asked: list[str] = []
    # A model that says "ai" with probability 0.6 whatever the vector: enough for an item in a
    # language the rules cannot read, not for an English item they read and found nothing in.
    classes = (NONE, *SECTORS)
    odds = {NONE: 0.2, "ai": 0.6}
    bias = np.log([odds.get(c, 0.2 / (len(classes) - 2)) for c in classes]).astype(np.float32)
    model = SectorModel(classes, np.zeros((4, len(classes)), dtype=np.float32), bias)

    async def vectors(
        session: AsyncSession, items: Sequence[Item], sectors: Sequence[SectorDef]
    ) -> tuple[VectorEvidence, dict[int, Vector]]:
        # Stands in for stored embeddings.
        asked.extend(i.language for i in items)
        return VectorEvidence(model), {i.id: np.ones(4, dtype=np.float32) for i in items}

    async with sqlite_db.sessionmaker.begin() as session:
        feed = await feed_repo.add_feed(session, url="https://example.com/feed", now=NOW)
        rows = [
            Item(
                feed_id=feed.id,
                content_hash=p.content_hash,
                title=p.title,
                summary=p.summary,
                language=p.language,
                first_seen_at=NOW,
            )
            for p in (*english, *german)
        ]
        session.add_all(rows)
        await session.flush()
        await ItemClassifier(vectors=vectors)(session, rows)
    async with sqlite_db.sessionmaker() as session:
        stored = await sector_repo.item_sectors(session, [r.id for r in rows])
    assert asked.count("de") == 5
    german_rows = [stored[r.id] for r in rows if r.language == "de"]
    assert all([s.sector_key for s in found] == ["ai"] for found in german_rows)
    assert all(not found[0].matched for found in german_rows)  # no term said so
    english_rows = [stored[r.id] for r in rows if r.language == "en"]
    assert any(found and found[0].matched for found in english_rows)  # keyword sectors stay
    assert all(not found or found[0].matched for found in english_rows)  # none rescued
    assert any(not found for found in english_rows)


def _article(item_id: int, parsed: ParsedItem, sector: str) -> Article:
    return Article(
        item_id=item_id,
        feed_id=item_id,
        source="heise online" if parsed.language == "de" else "TechCrunch",
        title=parsed.title,
        summary=parsed.summary,
        link=parsed.link,
        published_at=NOW - timedelta(hours=1),
        first_seen_at=NOW - timedelta(hours=1),
        language=parsed.language,
        sectors=(SectorScore(sector, 0.8, ()),),
    )


def test_a_german_item_is_marked_with_its_language_and_not_read_for_signals(
    corpus: Path,
) -> None:
    heise = _items(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    clickbait = next(i for i in heise if i.title.endswith("Google will weniger Clickbait"))
    briefing = compose_briefing(
        [_article(1, clickbait, "ai")], Profile(sectors=("ai",)), NOW, sectors=SECTORS
    )
    lead = briefing.sections[0].lead
    assert lead.title == "[DE] " + clickbait.title
    assert lead.language == "de"
    assert briefing_to_json(briefing)["sections"][0]["lead"]["language"] == "de"
    # "will" here is "wants": no "coming up" entry for it.
    assert briefing.watch == ()


def test_english_items_are_not_marked(corpus: Path) -> None:
    tc = _items(corpus, "techcrunch_ai_category_2026-08__EienMosu-ai-news.xml")
    stripe = next(i for i in tc if i.title.startswith("Stripe will reportedly acquire"))
    briefing = compose_briefing(
        [_article(1, stripe, "ai")], Profile(sectors=("ai",)), NOW, sectors=SECTORS
    )
    assert briefing.sections[0].lead.title == stripe.title
    assert briefing.sections[0].lead.language is None
    # English text is read with the English patterns ("will" is the future here); the watch
    # list itself also needs a date after the edition, which this headline does not give.
    assert signal_of(stripe.title, "en") is not None


def test_shiftbrief_classify_lines_take_a_language() -> None:
    classifier = Classifier(sectors=default_sectors())
    lines = [
        '{"id": 1, "title": "Machine Learning erforscht Eiskristalle", "lang": "de"}',
        '{"id": 2, "title": "Machine learning maps ice crystals", "lang": "en"}',
        '{"id": 3, "title": "Machine learning maps ice crystals", "lang": 7}',
    ]
    out = [json.loads(line) for line in classify_jsonl(lines, classifier)]
    assert out[0] == {"id": 1, "sectors": []}
    assert out[1]["sectors"][0]["key"] == "ai"
    assert out[2]["error"] == "'lang' must be a string"


def test_a_digest_is_not_rescued_by_its_vector() -> None:
    # A model sure of "ai" whatever the vector: the heise digest still gets no sector, the
    # same vector under a headline of one story does.
    classes = (NONE, *SECTORS)
    bias = np.log([0.99 if c == "ai" else 0.01 / (len(classes) - 1) for c in classes])
    model = SectorModel(classes, np.zeros((4, len(classes)), np.float32), bias.astype(np.float32))
    classifier = Classifier(sectors=default_sectors())
    vector = np.ones(4, dtype=np.float32)
    evidence = VectorEvidence(model)
    digest = "Kurz informiert: ÖPNV, Meta, Bird, Reddit"
    one = "Crowdworking: Ständig bereit für 90 Cent Stundenlohn"
    for title, expected in ((digest, []), (one, ["ai"])):
        found = decide(classifier, title, language="de", vector=vector, evidence=evidence)
        assert [s.key for s in found] == expected
