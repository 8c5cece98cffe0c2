"""The platform adapters ShiftBrief knows, picked by the settings that turn them on.

Adding a platform is its adapter package and one ``Platform`` line here; the runner builds
whichever are configured (the console when none is). Adapters are imported only when
configured, so a Slack-only install never loads discord.py.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.platform import PlatformAdapter


@dataclass(frozen=True, slots=True)
class Platform:
    """A platform adapter: its name, when it is configured, and where its class lives.

    The class is built with ``settings``, ``sessionmaker`` and ``clock`` keywords.
    """

    name: str
    configured: Callable[[Settings], bool]
    adapter: str
    """``module:Class``, imported only when the platform is configured."""

    def build(
        self,
        settings: Settings,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
    ) -> PlatformAdapter:
        module, _, name = self.adapter.partition(":")
        cls: Any = getattr(importlib.import_module(module), name)
        adapter: PlatformAdapter = cls(settings=settings, sessionmaker=sessionmaker, clock=clock)
        return adapter


PLATFORMS: list[Platform] = [
    Platform(
        "slack",
        lambda s: bool(s.slack_bot_token or s.slack_client_id),
        "adapters.slack.adapter:SlackAdapter",
    ),
    Platform("discord", lambda s: bool(s.discord_token), "adapters.discord.adapter:DiscordAdapter"),
]


def configured_adapters(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
    platforms: Sequence[Platform] | None = None,
) -> list[PlatformAdapter]:
    """An adapter for every configured platform; the console adapter when none is."""
    found = [
        p.build(settings, sessionmaker=sessionmaker, clock=clock)
        for p in (PLATFORMS if platforms is None else platforms)
        if p.configured(settings)
    ]
    if not found:
        from adapters.console import ConsoleAdapter

        found.append(ConsoleAdapter())
    return found
