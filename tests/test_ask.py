"""``/brief ask`` on real corpus feeds: hybrid retrieval across languages, answers with and
without a model, and nothing invented when the archive has nothing on the question."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import openai
import pytest
from sqlalchemy import select

from bot.ask.answer import LLMAnswerWriter
from bot.ask.retrieve import Retriever
from bot.ask.service import Asker
from bot.briefing import embed
from bot.briefing.embed_worker import embed_everything
from bot.commands.dispatcher import Dispatcher
from bot.commands.handlers.base import Reply as CommandReply
from bot.commands.model import CommandRequest, CommandText, Invocation
from storage.models import Item
from storage.repositories import embeddings as embedding_repo
from tests.conftest import Database
from tests.corpus_archive import ingest_corpus
from tests.openai_api import OpenAIAPI, Reply, Request

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not embed.available(), reason="embedding model not installed"),
]

NOW = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
FEEDS = (
    "impresswatch_ja_scraped_2026-03__prospect-rss-feeds.xml",
    "electrek_scraped_2026-04__prospect-rss-feeds.xml",
    "itmedia_ja_scraped_2026-02__prospect-rss-feeds.xml",
    "interestingengineering_scraped_2026-02__prospect-rss-feeds.xml",
)
SORA = "OpenAI、動画生成の「Sora」を終了へ"
BYD = "BYD outsells Tesla in Europe for second straight month as gap widens"


_VECTORS: dict[str, bytes] = {}
"""Vectors by content hash, made by the model once for the module (embedding is slow)."""


@pytest.fixture
async def archive(sqlite_db: Database, corpus: Path) -> AsyncIterator[Database]:
    """The four feeds as a new install stores them (archive), every item embedded."""
    await ingest_corpus(sqlite_db, corpus, FEEDS, now=NOW)
    async with sqlite_db.sessionmaker.begin() as session:
        items = (await session.scalars(select(Item))).all()
        if _VECTORS:
            vectors = {i.id: _VECTORS[i.content_hash] for i in items}
            await embedding_repo.store(session, model=embed.model_name(), vectors=vectors, now=NOW)
    if not _VECTORS:
        await embed_everything(sqlite_db.sessionmaker, lambda: NOW)
        async with sqlite_db.sessionmaker() as session:
            stored = await embedding_repo.vectors_for(
                session, [i.id for i in items], model=embed.model_name()
            )
        _VECTORS.update({i.content_hash: stored[i.id] for i in items})
    yield sqlite_db


async def _ask(
    db: Database, question: str, asker: Asker | None = None, locale: str = "en"
) -> CommandReply:
    dispatcher = Dispatcher(sessionmaker=db.sessionmaker, clock=lambda: NOW, asker=asker)
    invocation = Invocation(platform="console", tenant_id="t", user_id=locale, locale=locale)
    request = CommandRequest(CommandText(f"/brief ask {question}"), invocation)
    return await dispatcher.handle(request)


async def test_a_question_finds_the_story_in_the_other_language(archive: Database) -> None:
    retriever = Retriever()
    async with archive.sessionmaker() as session:
        english = await retriever.retrieve(session, "Is OpenAI shutting down the Sora video app?")
        japanese = await retriever.retrieve(session, "BYDは欧州でテスラより売れたのか")
    assert english.relevant[0].story.lead.title == SORA
    assert japanese.relevant[0].story.lead.title == BYD


async def test_without_a_model_the_answer_is_the_best_stories_with_their_key_sentence(
    archive: Database,
) -> None:
    reply = await _ask(archive, "Is OpenAI shutting down the Sora video app?")
    assert reply.ephemeral
    assert "From the archive" in reply.text
    key_sentence = "OpenAIは24日(米国時間)、動画生成アプリの「Sora」を終了すると発表した。"
    assert f"{key_sentence} [1]" in reply.text
    assert reply.results[0].title == f"[1] {SORA}"
    assert reply.results[0].link == "https://www.watch.impress.co.jp/docs/news/2095964.html"


async def test_nothing_relevant_is_said_plainly_instead_of_a_guess(archive: Database) -> None:
    reply = await _ask(archive, "recipe for sourdough bread")
    assert "Nothing in the archive is about" in reply.text
    assert reply.results == ()
    japanese = await _ask(archive, "将棋の名人戦の結果", locale="ja")
    assert "アーカイブにありません" in japanese.text


def _written(sentence: str) -> Reply:
    return Reply(content=json.dumps({"sentences": [{"text": sentence, "stories": [1]}]}))


async def test_a_model_writes_from_the_retrieved_stories_and_cites_them(
    archive: Database,
) -> None:
    seen: list[Request] = []

    def answer(request: Request, number: int) -> Reply:
        seen.append(request)
        return _written("OpenAI said on the 24th that it will end the Sora app.")

    async with (
        OpenAIAPI(behaviour=answer) as api,
        openai.AsyncOpenAI(base_url=api.base_url, api_key="k", max_retries=0) as client,
    ):
        asker = Asker(writer=LLMAnswerWriter(client=client, model="m", timeout=10))
        reply = await _ask(archive, "Is OpenAI shutting down the Sora video app?", asker)
    assert seen[0].kind == "answer" and seen[0].language == "English"
    assert seen[0].data["stories"][0]["reports"][0]["title"] == SORA
    assert "written by a language model" in reply.text
    assert "OpenAI said on the 24th that it will end the Sora app. [1]" in reply.text
    assert reply.results[0].title == f"[1] {SORA}"


async def test_an_ungrounded_sentence_is_dropped_and_the_key_sentences_shown(
    archive: Database,
) -> None:
    async with (
        OpenAIAPI(
            behaviour=lambda request, n: _written("OpenAI will close Sora on 31 December 2099.")
        ) as api,
        openai.AsyncOpenAI(base_url=api.base_url, api_key="k", max_retries=0) as client,
    ):
        asker = Asker(writer=LLMAnswerWriter(client=client, model="m", timeout=10))
        reply = await _ask(archive, "Is OpenAI shutting down the Sora video app?", asker)
    assert "2099" not in reply.text
    assert "written by a language model" not in reply.text
    assert "「Sora」を終了すると発表した。 [1]" in reply.text
