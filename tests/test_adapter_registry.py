"""Adapters come from a registry of platforms, and Discord syncs only the scope asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters import registry
from adapters.console import ConsoleAdapter
from adapters.discord.adapter import DiscordAdapter
from adapters.discord.sync import sync_commands
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from tests import test_discord_adapter as discord_tests
from tests.conftest import Database
from tests.discord_api import APP_ID, FakeDiscord
from tests.test_discord_adapter import GUILD, NOW, make_adapter

api = discord_tests.api  # the fixture


class PagerAdapter:
    """A platform of a test's own, built the way the registry builds every adapter."""

    platform = "pager"

    def __init__(self, *, settings: Settings, sessionmaker: Any, clock: Any) -> None:
        self.settings = settings


def test_configured_platforms_are_built_and_the_console_when_none_is(
    sqlite_db: Database,
) -> None:
    def build(settings: Settings, platforms: Any = None) -> list[Any]:
        return registry.configured_adapters(
            settings, sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW, platforms=platforms
        )

    assert [type(a) for a in build(Settings())] == [ConsoleAdapter]
    assert [type(a) for a in build(Settings(discord_token="t"))] == [DiscordAdapter]
    pager = registry.Platform(
        "pager", lambda s: s.discord_token is not None, f"{__name__}:PagerAdapter"
    )
    built = build(Settings(discord_token="t"), [*registry.PLATFORMS, pager])
    assert [type(a) for a in built] == [DiscordAdapter, PagerAdapter]


async def test_sync_for_one_guild_leaves_the_global_commands_alone(
    api: FakeDiscord, sqlite_db: Database, tmp_path: Path
) -> None:
    adapter = make_adapter(api, sqlite_db, tmp_path / "sync.json")
    adapter.sync_at_login = False  # as "shiftbrief discord sync" builds it
    await adapter.login(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW))
    try:
        names = await sync_commands(adapter.client, int(GUILD))
    finally:
        await adapter.close()
    puts = api.requests("PUT", f"/applications/{APP_ID}/")
    assert names == ["brief"]
    assert [p.path for p in puts] == [f"/applications/{APP_ID}/guilds/{GUILD}/commands"]
