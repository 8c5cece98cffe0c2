"""The discord.py client: guilds and reactions intents, the /brief tree, the buttons, reactions,
sync at start."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord.commands import BriefTranslator, build_brief_group
from adapters.discord.views import MoreButton, VoteButton, WhyButton, WhyMenu

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter

NONE = discord.AllowedMentions.none()


class ShiftBriefClient(discord.AutoShardedClient):
    """The discord.py client: guilds and reactions intents (neither privileged; no message
    content)."""

    def __init__(
        self,
        *,
        adapter: DiscordAdapter,
        shard_count: int | None = None,
        shard_ids: Sequence[int] | None = None,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        # 👍 / 👎 on a briefing are votes (adapters/discord/reactions.py); not privileged.
        intents.reactions = True
        # Several processes split the shards between them (past 2,500 guilds one process cannot
        # hold them all); unset, discord.py asks Discord how many shards to run here.
        sharding: dict[str, Any] = {}
        if shard_count is not None:
            sharding["shard_count"] = shard_count
        if shard_ids:
            sharding["shard_ids"] = list(shard_ids)
        super().__init__(
            intents=intents,
            allowed_mentions=NONE,
            **sharding,
            # Rate limits longer than this raise RateLimited (-> TransientDeliveryError) instead of
            # holding a delivery worker asleep.
            max_ratelimit_timeout=60.0,
        )
        self.adapter = adapter
        self.tree: app_commands.CommandTree[ShiftBriefClient] = app_commands.CommandTree(self)
        self.tree.add_command(build_brief_group(adapter))

    async def setup_hook(self) -> None:
        self.add_dynamic_items(VoteButton, MoreButton, WhyButton, WhyMenu)
        await use_translator(self)
        # With shards split over processes, the one running shard 0 syncs for all of them.
        if self.adapter.sync_at_login and (self.shard_ids is None or 0 in self.shard_ids):
            from adapters.discord.sync import sync_if_changed

            await sync_if_changed(self)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """A reaction anywhere the bot sees: a vote when it is 👍/👎 on one of its briefings."""
        await self.adapter.record_reaction(payload)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        """A reaction taken away: a 👍/👎 vote on one of its briefings taken back."""
        await self.adapter.record_reaction(payload)


async def use_translator(client: ShiftBriefClient) -> None:
    """Set the tree's translator (Japanese descriptions), unless one is set already."""
    if client.tree.translator is None:
        await client.tree.set_translator(BriefTranslator())
