"""A command declared once, here in a test module, is found everywhere it must be: the text
parser, the help in both languages, the dispatcher's routing, and Discord's command tree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.discord.adapter import command_payload
from bot.commands import params as P
from bot.commands.declare import command, declared
from bot.commands.dispatcher import Dispatcher
from bot.commands.grammar import (
    CommandBase,
    CommandError,
    CommandRequest,
    CommandText,
    Invocation,
    help_text,
    parse_command,
    usage,
)
from bot.commands.handlers.base import Context, Reply
from bot.untrusted import plain
from tests import test_discord_adapter as base
from tests.conftest import Database
from tests.discord_api import FakeDiscord
from tests.test_discord_adapter import NOW, answered, interaction, make_adapter

api = base.api  # the fixture


@dataclass(frozen=True, slots=True)
class Echo(CommandBase):
    words: str
    sector: str | None = None


@dataclass(frozen=True, slots=True)
class Wipe(CommandBase):
    """An admin-only command with no arguments."""


@pytest.fixture
def echo() -> Iterator[None]:
    with declared("echo", "admin wipe"):

        @command(
            "echo",
            Echo,
            usage=("<words> [sector]", "<語句> [セクター]"),
            help=("say the words back", "語句をそのまま返す"),
            params=(
                P.word("words", "What to say back", "返す語句", limit=50),
                P.sector("sector", "A sector to name", "名前を出すセクター", required=False),
            ),
        )
        async def echo_handler(ctx: Context, cmd: Echo) -> Reply:
            named = f" ({ctx.names([cmd.sector])})" if cmd.sector else ""
            return Reply(text=f"echo: {cmd.words}{named}")

        @command("admin wipe", Wipe, admin=True, help=("wipe nothing", "何も消さない"))
        async def wipe_handler(ctx: Context, cmd: Wipe) -> Reply:
            return Reply(text="wiped")

        yield


def test_the_parser_reads_it_with_its_value_parsers(echo: None) -> None:
    assert parse_command("echo hello ai", known_sectors=["ai"]) == Echo("hello", "ai")
    assert parse_command("ECHO 'two words'", known_sectors=[]) == Echo("two words")
    with pytest.raises(CommandError) as caught:
        parse_command("echo hi crypto", known_sectors=["ai"], language="ja")
    assert "crypto" in caught.value.message
    assert caught.value.usage == "/brief echo <語句> [セクター]"


def test_the_help_lists_it_in_both_languages(echo: None) -> None:
    assert "/brief echo <words> [sector] — say the words back" in help_text("en")
    assert "/brief echo <語句> [セクター] — 語句をそのまま返す" in help_text("ja")
    assert usage("admin wipe") == "/brief admin wipe"
    assert "admin wipe" not in help_text("en", include_admin=False)


async def test_the_dispatcher_routes_it_to_its_handler(echo: None, sqlite_db: Database) -> None:
    dispatcher = Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW)
    reader = Invocation(platform="slack", tenant_id="T1", user_id="U1")
    reply = await dispatcher.handle(CommandRequest(CommandText("echo hi quantum"), reader))
    assert plain(reply.text) == "echo: hi (Quantum & Advanced Tech)"
    refused = await dispatcher.handle(CommandRequest(CommandText("admin wipe"), reader))
    assert "workspace admins" in refused.text and "wiped" not in refused.text


async def test_discord_lists_it_with_options_and_japanese_and_runs_it(
    echo: None, api: FakeDiscord, sqlite_db: Database, tmp_path: Path
) -> None:
    adapter = make_adapter(api, sqlite_db, tmp_path / "sync.json")
    await adapter.login(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW))
    try:
        [brief] = await command_payload(adapter.client)
        subs = {o["name"]: o for o in brief["options"]}
        echo_option = subs["echo"]
        assert echo_option["description"] == "Say the words back"
        assert echo_option["description_localizations"] == {"ja": "語句をそのまま返す"}
        options = {o["name"]: o for o in echo_option["options"]}
        assert options["words"]["required"] and options["words"]["max_length"] == 50
        assert not options["sector"].get("required") and options["sector"]["autocomplete"]
        assert options["sector"]["description_localizations"] == {"ja": "名前を出すセクター"}
        admin = {o["name"] for o in subs["admin"]["options"]}
        assert "wipe" in admin

        env = base.Env(api, adapter, sqlite_db)
        words = {"name": "words", "type": 3, "value": "hello"}
        env.receive(interaction("echo", [words, {"name": "sector", "type": 3, "value": "AI"}]))
        [answer] = await answered(env)
        assert answer["content"] == "echo: hello (AI)"
        env.receive(interaction("wipe", group="admin"))
        answers = await answered(env, 2)
        assert "server admins" in answers[1]["content"]
    finally:
        await adapter.close()
