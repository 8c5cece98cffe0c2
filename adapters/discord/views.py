"""The buttons under a briefing's stories: 👍 "More like this", 👎 "Less like this", "More on
<sector>" and "Why this?".

They are ``DynamicItem``s registered on the client, so a press on a briefing sent before a
restart still reaches us: the custom id carries the story (and the sector).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.render import ROWS_PER_MESSAGE, FeedbackRow, truncate
from bot.stories.identity import story_id_of

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter

CUSTOM_ID_LIMIT = 100


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sb:v:(?P<value>up|down):(?P<story>[A-Za-z0-9:_.-]{1,64})",
):
    """👍 "More like this" or 👎 "Less like this" on one story: a vote that teaches the reader's
    ranking. The custom id carries the story, so it works after a restart."""

    def __init__(
        self, story_key: str, value: int, *, label: str | None = None, row: int | None = None
    ) -> None:
        word = "up" if value > 0 else "down"
        super().__init__(
            discord.ui.Button(
                label=truncate(label, 80) if label else None,
                emoji="👍" if value > 0 else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"sb:v:{word}:{story_key}",
            ),
            row=row,
        )
        self.story_key = story_key
        self.value = value

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> VoteButton:
        return cls(match["story"], 1 if match["value"] == "up" else -1)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter: DiscordAdapter = interaction.client.adapter
        await adapter.record_press(
            interaction, story_key=self.story_key, kind="vote", value=self.value
        )


class MoreButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sb:m:(?P<sector>[a-z0-9_-]{1,32}):(?P<story>[A-Za-z0-9:_.-]{1,64})",
):
    """ "More on <sector>" under a sector's lead story."""

    def __init__(
        self, sector_key: str, story_key: str, *, label: str = "More", row: int | None = None
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=truncate(label, 80),
                style=discord.ButtonStyle.primary,
                custom_id=f"sb:m:{sector_key}:{story_key}",
            ),
            row=row,
        )
        self.sector_key = sector_key
        self.story_key = story_key

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> MoreButton:
        return cls(match["sector"], match["story"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter: DiscordAdapter = interaction.client.adapter
        await adapter.record_press(
            interaction, story_key=self.story_key, kind="more", value=1, sector=self.sector_key
        )


class WhyButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sb:y:(?P<story>[A-Za-z0-9:_.-]{1,64})",
):
    """ "Why this?" beside a story: what ``/brief why`` answers, only to the presser."""

    def __init__(self, story_key: str, *, label: str = "Why this?", row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=truncate(label, 80),
                style=discord.ButtonStyle.secondary,
                custom_id=f"sb:y:{story_key}",
            ),
            row=row,
        )
        self.story_key = story_key

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> WhyButton:
        return cls(match["story"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter: DiscordAdapter = interaction.client.adapter
        await adapter.explain_press(interaction, story_key=self.story_key)


class WhyMenu(
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=r"sb:w:(?P<story>[A-Za-z0-9:_.-]{1,64})",
):
    """ "Why this?" for a sector's other stories: a menu of their titles under the lead's
    buttons. The custom id names the lead story (unique in the message); the choice is a key."""

    def __init__(
        self,
        lead_key: str,
        stories: Sequence[tuple[str, str]] = (),
        *,
        placeholder: str = "Why this?",
        row: int | None = None,
    ) -> None:
        options = [discord.SelectOption(label=title, value=key) for key, title in stories]
        super().__init__(
            discord.ui.Select(
                custom_id=f"sb:w:{lead_key}",
                placeholder=truncate(placeholder, 150),
                # Rebuilt from a press, the menu has no options of its own; Discord needs one.
                options=options or [discord.SelectOption(label="…", value="-")],
            ),
            row=row,
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> WhyMenu:
        return cls(match["story"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        values = self.item.values
        chosen = str(values[0]) if values else ""
        if story_id_of(chosen) is None:
            await interaction.response.defer()
            return
        adapter: DiscordAdapter = interaction.client.adapter
        await adapter.explain_press(interaction, story_key=chosen)


def feedback_view(rows: Sequence[FeedbackRow]) -> discord.ui.View | None:
    """The controls of one message (a row per story, a second for a sector's "Why this?"
    menu), or None when there are none."""
    view = discord.ui.View(timeout=None)
    line = 0
    for row in rows:
        if line + row.rows > ROWS_PER_MESSAGE:
            break
        if len(f"sb:m:{row.sector_key}:{row.story_key}") > CUSTOM_ID_LIMIT:
            continue
        view.add_item(VoteButton(row.story_key, 1, label=row.up_label, row=line))
        view.add_item(VoteButton(row.story_key, -1, label=row.down_label, row=line))
        view.add_item(MoreButton(row.sector_key, row.story_key, label=row.more_label, row=line))
        if story_id_of(row.story_key) is not None:  # a stored story, which /brief why knows
            view.add_item(WhyButton(row.story_key, label=row.why_label, row=line))
        if row.others:
            menu = WhyMenu(row.story_key, row.others, placeholder=row.others_label, row=line + 1)
            view.add_item(menu)
        line += row.rows
    return view if view.children else None


def marked_view(message: discord.Message, pressed: str) -> discord.ui.View:
    """The message's buttons (and menus) again, with the one pressed shown as chosen (green)
    and its opposite vote reset, so a reader sees their latest choice."""
    view = discord.ui.View(timeout=None)
    opposite = (
        pressed.replace(":up:", ":down:")
        if ":up:" in pressed
        else pressed.replace(":down:", ":up:")
    )
    for action_row, components in enumerate(message.components):
        for component in getattr(components, "children", []):
            if isinstance(component, discord.SelectMenu):
                # A sector's "Why this?" menu stays as it was.
                view.add_item(
                    discord.ui.Select(
                        custom_id=component.custom_id,
                        placeholder=component.placeholder,
                        options=list(component.options),
                        row=action_row,
                    )
                )
                continue
            if not isinstance(component, discord.Button) or component.custom_id is None:
                continue
            style = component.style
            if component.custom_id == pressed:
                style = discord.ButtonStyle.success
            elif component.custom_id == opposite:
                style = discord.ButtonStyle.secondary
            view.add_item(
                discord.ui.Button(
                    label=component.label,
                    emoji=component.emoji,
                    style=style,
                    custom_id=component.custom_id,
                    row=action_row,
                )
            )
    return view
