"""Searching the archive and looking back at a day in chat, on real corpus feeds."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot.commands.dispatcher import Dispatcher
from tests.conftest import Database
from tests.corpus_archive import ingest_corpus

pytestmark = pytest.mark.corpus

NOW = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
FEEDS = (
    "impresswatch_ja_scraped_2026-03__prospect-rss-feeds.xml",
    "gigazine_ai_keyword_filtered_small__makeRSS_GIGAZINE.xml",
    "ledge_ai_ja_scraped__makeRSS_Ledge.ai.xml",
    "itmedia_ja_scraped_2026-02__prospect-rss-feeds.xml",
)
BUS = "JR東とKDDI、高輪GWシティで自動運転バスを無料運行 高輪GWシティ～竹芝で"


async def _ask(db: Database, corpus: Path, *lines: str) -> list[str]:
    await ingest_corpus(db, corpus, FEEDS, now=NOW)
    dispatcher = Dispatcher(sessionmaker=db.sessionmaker, clock=lambda: NOW)
    answers = []
    for line in lines:
        out = io.StringIO()
        await ConsoleAdapter(user_id="u1", stdout=out).ask(dispatcher, line)
        answers.append(out.getvalue())
    return answers


async def test_a_japanese_query_finds_the_headline_that_contains_it(
    db: Database, corpus: Path
) -> None:
    exact, shorter = await _ask(db, corpus, "/brief search 自動運転バス", "/brief search 自動運転")
    assert exact.splitlines()[1].startswith(f"- {BUS} (Impress Watch")
    # Headlines with the words come before items that only mention them in passing.
    titles = [line[2:] for line in shorter.splitlines() if line.startswith("- ")]
    assert any(t.startswith(BUS) for t in titles)
    assert all("自動運転" in t for t in titles[:3])


async def test_a_past_day_in_chat_shows_that_days_archive_and_says_where_it_came_from(
    db: Database, corpus: Path
) -> None:
    (answer,) = await _ask(db, corpus, "/brief sector ai 2026-03-24")
    assert "There is no news" not in answer
    assert "OpenAI、動画生成の「Sora」を終了へ" in answer
    assert "back issues stored when their feed was added" in answer
