"""👍 and 👎 reactions on a briefing the bot posted, read as "More like this" / "Less like this".

A reaction names a message, not a story. A digest part holds whole stories, each followed by
its vote buttons, so a reaction on a part means the story the part leads: the first story whose
"More like this" button the message carries (a part with one story has only that one). The
message is read back from Slack (``conversations.history`` at its ``ts``: the history scopes
digests already need) and only the bot's own messages with vote buttons count. The reaction then
reaches the engine as the button's ``Vote`` would, story key and sector alike.

``:+1:`` / ``:thumbsup:`` (any skin tone) is +1, ``:-1:`` / ``:thumbsdown:`` -1; other emoji are
ignored. Removing the reaction (``reaction_removed``) takes that vote back, unless the reader
has voted the other way on the story since (by button or reaction): then the later vote stays.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import VOTE_UP

log = logging.getLogger(__name__)

VALUES = {"+1": 1, "thumbsup": 1, "-1": -1, "thumbsdown": -1}
"""Slack's reaction names (without a skin tone) that are votes."""


def reaction_value(name: str) -> int | None:
    """+1, -1, or None for a reaction that is no vote (``+1::skin-tone-3`` is +1)."""
    return VALUES.get(name.partition("::")[0])


def lead_vote(message: dict[str, Any]) -> tuple[str, str | None] | None:
    """The story (and the sector it was shown under) the message leads: its first
    "More like this" button's value; None for a message without vote buttons."""
    for block in message.get("blocks") or []:
        if not isinstance(block, dict) or block.get("type") != "actions":
            continue
        for element in block.get("elements") or []:
            if not isinstance(element, dict):
                continue
            if not str(element.get("action_id", "")).startswith(f"{VOTE_UP}:"):
                continue
            try:
                value = json.loads(str(element.get("value")))
            except ValueError:
                continue
            story = value.get("story") if isinstance(value, dict) else None
            if isinstance(story, str) and story:
                sector = value.get("sector")
                return story, sector if isinstance(sector, str) and sector else None
    return None


async def reacted_message(client: AsyncWebClient, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at ``ts`` in ``channel``, or None when it is gone or Slack will not say."""
    try:
        response = await client.conversations_history(
            channel=channel, latest=ts, inclusive=True, limit=1
        )
    except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError):
        log.warning("could not read the message %s in %s a reaction was on", ts, channel)
        return None
    for message in response.get("messages") or []:
        if isinstance(message, dict) and message.get("ts") == ts:
            return message
    return None
