"""The configured editor in the places readers get briefings: digests, /brief today, the CLI."""

from __future__ import annotations

import asyncio
import io
import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
from sqlalchemy import update

from adapters.console import ConsoleAdapter
from bot.briefing.edition import load_edition
from bot.briefing.editor.cache import DatabaseCache
from bot.briefing.editor.factory import close_editor, make_editor, make_text_reader
from bot.briefing.editor.llm import PROMPT_VERSION, LLMEditor
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.models import Profile
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import Subscriber
from tests.conftest import Database
from tests.openai_api import OpenAIAPI
from tests.seed import add_subscribers, seed_news
from tests.test_cli import Cli

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def llm_editor(api: OpenAIAPI, db: Database) -> LLMEditor:
    """An LLM editor against ``api``; use it as ``async with``, which closes its client."""
    client = openai.AsyncOpenAI(base_url=api.base_url, api_key="t", max_retries=0)
    cache = DatabaseCache(
        db.sessionmaker, model="m", prompt_version=PROMPT_VERSION, clock=lambda: NOW
    )
    return LLMEditor(client=client, model="m", cache=cache)


async def test_an_edition_for_500_readers_is_written_once_per_language(db: Database) -> None:
    await seed_news(db, NOW)
    ids = await add_subscribers(db, 500, now=NOW)
    async with db.sessionmaker.begin() as session:
        await session.execute(
            update(Subscriber).where(Subscriber.id.in_(ids[::2])).values(language="ja")
        )
    async with OpenAIAPI() as api, llm_editor(api, db) as editor:
        async with db.sessionmaker() as session:
            edition = await load_edition(session, now=NOW, editor=editor)
        stories = api.count("story")
        assert api.count("edition") == 2 and stories % 2 == 0
        assert {r.language for r in api.requests} == {"English", "Japanese"}
        for language in ("en", "ja"):
            briefing = edition.compose(Profile(sectors=("green", "ai"), language=language))  # type: ignore[arg-type]
            assert briefing.sections[0].lead.machine_written
        # The next edition of the same news (another process, later) asks nothing again.
        async with llm_editor(api, db) as again, db.sessionmaker() as session:
            await load_edition(session, now=NOW, editor=again)
        assert api.count() == stories + 2


async def test_brief_today_uses_the_configured_editor(sqlite_db: Database) -> None:
    await seed_news(sqlite_db, NOW)
    async with OpenAIAPI() as api, llm_editor(api, sqlite_db) as editor:
        dispatcher = Dispatcher(
            sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW, editor=editor
        )
        console = ConsoleAdapter(user_id="aiko", locale="ja", stdout=io.StringIO())
        reply = await console.ask(dispatcher, "/brief today")
        assert {r.language for r in api.requests} == {"Japanese"}
    assert reply.briefing is not None and reply.briefing.machine_written
    assert reply.briefing.labels["machine"] in console._stdout.getvalue()  # type: ignore[attr-defined]


async def test_the_bots_editors_close_their_model_connections(sqlite_db: Database) -> None:
    """The editor and the reader the bot makes, closed as the bot closes them at its end,
    leave no connection to the model open. A client left open is closed by the garbage
    collector on whatever event loop runs then, and fails if its own is gone ("Event loop is
    closed")."""
    await seed_news(sqlite_db, NOW)
    async with OpenAIAPI() as api:
        settings = Settings(llm_base_url=api.base_url, llm_model="m")
        made = {"sessionmaker": sqlite_db.sessionmaker, "clock": lambda: NOW}
        editor = make_editor(settings, **made)  # type: ignore[arg-type]
        reader = make_text_reader(settings, **made)  # type: ignore[arg-type]
        async with sqlite_db.sessionmaker() as session:
            edition = await load_edition(session, now=NOW, editor=editor)
            assert api.count() > 0 and api.open_connections() > 0
            read = await load_edition(session, now=NOW, editor=reader)
        assert edition.compose(Profile(sectors=("green",))).machine_written
        assert read.compose(Profile(sectors=("green",))).machine_written  # what was written
        await close_editor(editor)
        await close_editor(reader)
        for _ in range(100):  # the server sees the close on its next turn
            if api.open_connections() == 0:
                break
            await asyncio.sleep(0.01)
        assert api.open_connections() == 0


async def test_cli_brief_with_the_llm_editor_and_without(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    url = cli.env["SHIFTBRIEF_DATABASE_URL"]
    engine = make_engine(url)
    await upgrade(engine)
    await seed_news(Database(url, engine, make_sessionmaker(engine)), datetime.now(UTC))
    await engine.dispose()
    async with OpenAIAPI() as api:
        env = {"SHIFTBRIEF_LLM_BASE_URL": api.base_url, "SHIFTBRIEF_LLM_MODEL": "m"}
        written = await cli("brief", "--lang", "ja", "--format", "json", "--editor", "llm", **env)
        assert written.returncode == 0, written.stderr
        plain = await cli(
            "brief", "--lang", "ja", "--format", "json", "--editor", "extractive", **env
        )
        asked = api.count()
    data: dict[str, Any] = json.loads(written.stdout)
    assert data["machine_written"] and data["sections"][0]["lead"]["title"].startswith("要約：")
    assert asked > 0
    extractive = json.loads(plain.stdout)
    assert not extractive["machine_written"]
    assert not extractive["sections"][0]["lead"]["title"].startswith("要約：")
    assert "language model did not write" not in written.stderr


async def test_cli_brief_says_when_the_model_could_not_be_reached(tmp_path: Path) -> None:
    """An unreachable endpoint still gives a briefing, and the operator is told why it is
    extractive instead of seeing the model's text silently missing."""
    cli = Cli(tmp_path)
    url = cli.env["SHIFTBRIEF_DATABASE_URL"]
    engine = make_engine(url)
    await upgrade(engine)
    await seed_news(Database(url, engine, make_sessionmaker(engine)), datetime.now(UTC))
    await engine.dispose()
    with socket.socket() as closed:  # a port nothing listens on: connection refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {"SHIFTBRIEF_LLM_BASE_URL": f"http://127.0.0.1:{port}/v1", "SHIFTBRIEF_LLM_MODEL": "m"}
    done = await cli("brief", "--format", "json", "--editor", "llm", **env)
    assert done.returncode == 0, done.stderr
    assert not json.loads(done.stdout)["machine_written"]
    assert "the language model did not write every piece" in done.stderr
