"""Archive search on both backends, in English and Japanese."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.models import Feed, FeedOwner, FeedState, Item
from storage.repositories.archive import search_items
from storage.search import search_terms
from tests.conftest import Database

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

ARTICLES = [
    ("Solid-state battery pilot line opens", "The factory makes 5,000 cells a day."),
    ("Quantum key distribution reaches banks", "QKD links now connect three sites."),
    ("量子コンピュータで電池材料を探索", "共同研究が始まった。"),
    ("自動運転バスが全国に拡大", "レベル4の運行が始まる。"),
    ("Battery recycling plant expands", "It recovers lithium and nickel."),
]


async def _store(db: Database) -> None:
    async with db.sessionmaker.begin() as session:
        feed = Feed(url="https://news.example/rss", title="News", created_at=NOW)
        feed.state = FeedState(next_check_at=NOW)
        session.add(feed)
        await session.flush()
        session.add(FeedOwner(feed_id=feed.id, tenant_id=None, created_at=NOW))
        for i, (title, summary) in enumerate(ARTICLES):
            session.add(
                Item(
                    feed_id=feed.id,
                    content_hash=f"h{i}",
                    title=title,
                    summary=summary,
                    published_at=NOW - timedelta(hours=i),
                    first_seen_at=NOW,
                )
            )


async def _add(db: Database, rows: list[tuple[str, str, datetime]]) -> None:
    async with db.sessionmaker.begin() as session:
        feed = Feed(url="https://more.example/rss", title="More", created_at=NOW)
        feed.state = FeedState(next_check_at=NOW)
        session.add(feed)
        await session.flush()
        for i, (title, summary, published) in enumerate(rows):
            session.add(
                Item(
                    feed_id=feed.id,
                    content_hash=f"m{i}",
                    title=title,
                    summary=summary,
                    published_at=published,
                    first_seen_at=NOW,
                )
            )


async def _titles(db: Database, words: str) -> list[str]:
    async with db.sessionmaker() as session:
        return [item.title for item, _ in await search_items(session, words)]


async def test_english_words_find_every_item_that_has_them(db: Database) -> None:
    await _store(db)
    assert sorted(await _titles(db, "battery")) == sorted([ARTICLES[0][0], ARTICLES[4][0]])
    assert await _titles(db, "Battery LITHIUM") == [ARTICLES[4][0]]
    assert await _titles(db, "qkd") == [ARTICLES[1][0]]


async def test_japanese_words_are_found_without_spaces(db: Database) -> None:
    await _store(db)
    assert await _titles(db, "電池材料") == [ARTICLES[2][0]]
    assert await _titles(db, "量子") == [ARTICLES[2][0]]
    assert await _titles(db, "自動運転　バス") == [ARTICLES[3][0]]


async def test_a_japanese_phrase_must_stand_in_a_row(db: Database) -> None:
    await _store(db)
    # 材料 and 電池 both appear in item 2, but never as 料電.
    assert await _titles(db, "料電") == []


async def test_search_sees_edits_and_deletes(db: Database) -> None:
    await _store(db)
    async with db.sessionmaker.begin() as session:
        item = await session.get(Item, 1)
        assert item is not None
        item.title = "Sodium-ion pilot line opens"
    assert await _titles(db, "sodium") == ["Sodium-ion pilot line opens"]
    assert ARTICLES[0][0] not in await _titles(db, "battery")


async def test_query_syntax_characters_are_plain_text(db: Database) -> None:
    await _store(db)
    assert sorted(await _titles(db, 'battery* "(')) == sorted([ARTICLES[0][0], ARTICLES[4][0]])
    assert await _titles(db, "!!! ???") == []


def test_search_terms_split_latin_words_and_cjk_bigrams() -> None:
    assert search_terms("GWシティ") == [["gw"], ["シテ", "ティ"]]
    assert search_terms("LLM 量子コンピュータ") == [
        ["llm"],
        ["量子", "子コ", "コン", "ンピ", "ピュ", "ュー", "ータ"],
    ]


async def test_a_headline_with_the_words_ranks_before_a_newer_passing_mention(
    db: Database,
) -> None:
    await _add(
        db,
        [
            ("自動運転バスを無料運行", "竹芝で走行実証を実施する。", NOW - timedelta(days=9)),
            ("新しいデータセットを公開", "自動運転バスの研究にも使える。", NOW),
        ],
    )
    found = await _titles(db, "自動運転バス")
    assert found == ["自動運転バスを無料運行", "新しいデータセットを公開"]


async def test_equally_relevant_items_come_newest_first(db: Database) -> None:
    await _add(
        db,
        [
            ("Grid battery opens", "A plant.", NOW - timedelta(days=3)),
            ("Grid battery opens", "A plant.", NOW - timedelta(days=1)),
            ("Grid battery opens", "A plant.", NOW - timedelta(days=2)),
        ],
    )
    async with db.sessionmaker() as session:
        found = await search_items(session, "grid battery")
    assert [item.published_at for item, _ in found] == [
        NOW - timedelta(days=1),
        NOW - timedelta(days=2),
        NOW - timedelta(days=3),
    ]


async def test_a_word_glued_to_japanese_text_is_still_found(db: Database) -> None:
    # Latin letters before Japanese text once made one long token no query could match.
    await _add(db, [("高輪GWシティで自動運転バスを運行", "", NOW)])
    assert await _titles(db, "自動運転バス") == ["高輪GWシティで自動運転バスを運行"]
    assert await _titles(db, "GWシティ") == ["高輪GWシティで自動運転バスを運行"]


async def test_a_question_without_the_model_is_answered_by_full_text_on_both_backends(
    db: Database,
) -> None:
    from bot.ask.retrieve import Retriever

    await _store(db)
    retriever = Retriever(embedder=lambda: None)  # the model is not installed
    async with db.sessionmaker() as session:
        found = await retriever.retrieve(session, "Which battery plant recovers lithium?")
        japanese = await retriever.retrieve(session, "自動運転バスはどこで運行される？")
    assert found.relevant[0].story.lead.title == ARTICLES[4][0]
    assert japanese.relevant[0].story.lead.title == ARTICLES[3][0]
