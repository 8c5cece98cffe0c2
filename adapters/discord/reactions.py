"""👍 and 👎 reactions on a briefing the bot posted, read as "More like this" / "Less like this".

A reaction names a message, not a story. Each sector's lead story carries the vote buttons, so
a reaction on a briefing message means the story the message leads: the first story whose 👍
button the message carries (a message with one story has only that one). The gateway's
MESSAGE_REACTION_ADD (``on_raw_reaction_add``, the reactions intent, which is not privileged)
says which message; the message is read back over REST (``Read Message History``, which
digests already need) and only the bot's own messages with vote buttons count. The reaction
then reaches the engine as the button's ``Vote`` would.

👍 and 👎 in any skin tone are votes; other emoji (and a server's own emoji) are ignored.
Removing the reaction (``on_raw_reaction_remove``) takes that vote back, unless the reader has
voted the other way on the story since (by button or reaction): then the later vote stays.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.commands import grammar as cmd

log = logging.getLogger(__name__)

VALUES = {"👍": 1, "👎": -1}
MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")
"""Skin tones and the emoji presentation selector, which do not change the vote."""
UP_BUTTON = re.compile(r"^sb:v:up:(?P<story>[A-Za-z0-9:_.-]{1,64})$")
"""The custom id of a 👍 button (``adapters.discord.views.VoteButton``)."""


def reaction_value(emoji: discord.PartialEmoji) -> int | None:
    """+1, -1, or None for a reaction that is no vote."""
    if emoji.id is not None or not emoji.name:
        return None  # a server's own emoji
    return VALUES.get(MODIFIERS.sub("", emoji.name))


def lead_story(message: dict[str, Any]) -> str | None:
    """The story the message leads: its first 👍 button's; None without vote buttons."""
    for row in message.get("components") or []:
        for component in row.get("components") or [] if isinstance(row, dict) else []:
            match = UP_BUTTON.match(str(component.get("custom_id") or ""))
            if match:
                return match["story"]
    return None


async def reaction_vote(
    client: discord.Client, payload: discord.RawReactionActionEvent
) -> cmd.CommandRequest | None:
    """The vote a reaction added or removed is (or takes back), as a request to the engine;
    None when it is none."""
    value = reaction_value(payload.emoji)
    bot = client.user.id if client.user else None
    if value is None or bot is None or payload.user_id == bot:
        return None
    if payload.message_author_id is not None and payload.message_author_id != bot:
        return None  # on someone else's message
    try:
        message = await client.http.get_message(payload.channel_id, payload.message_id)
    except discord.HTTPException:
        log.warning(
            "could not read the message %s in %s a reaction was on",
            payload.message_id,
            payload.channel_id,
        )
        return None
    if str((message.get("author") or {}).get("id")) != str(bot):
        return None
    story = lead_story(dict(message))
    if story is None:
        return None  # one of our messages, but no briefing
    invocation = cmd.Invocation(
        platform="discord",
        tenant_id=str(payload.guild_id) if payload.guild_id else "dm",
        user_id=str(payload.user_id),
        channel_id=str(payload.channel_id),
    )
    withdraw = payload.event_type == "REACTION_REMOVE"
    return cmd.CommandRequest(cmd.Vote(story, value, withdraw=withdraw), invocation)
