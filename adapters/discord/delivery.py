"""Exactly-once digests on Discord: the enforced nonce, and a look back before posting again.

Every part is posted with a nonce (the delivery key and part number) that Discord enforces: a
retry within a few minutes gets the message already posted back instead of a second one. That
window is short and a killed process may come back later, so a resumed delivery first reads the
channel's messages since its first claim (``GET /channels/{id}/messages``, ``after`` the claim
as a snowflake) and takes a message of the bot's own as part N when it carries part N's nonce
(fetched messages usually do not) or has exactly part N's rendered content: the resumed attempt
renders the same briefing (the ledger keeps the composition time), and only our own messages
posted since the claim are compared. Reading history needs the Read Message History permission;
without it the part is posted again with a warning: a duplicate is better than a lost digest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import discord

from adapters.discord.render import DiscordMessage

log = logging.getLogger(__name__)

HISTORY_LIMIT = 1000
"""Messages since the claim read back at most (ten requests of 100)."""
CLOCK_SKEW = timedelta(seconds=60)
"""``after`` is our clock's claim time; Discord stamps snowflakes with its own."""
NONCE_LENGTH = 25
"""Discord's limit for a nonce."""

Fingerprint = tuple[str, tuple[tuple[str, str, tuple[tuple[str, str], ...], str], ...]]


def part_nonce(key: str, part: int) -> str:
    """The nonce of part ``part`` of delivery ``key``."""
    return f"{key}.{part}"[:NONCE_LENGTH]


def fingerprint(content: str | None, embeds: Sequence[discord.Embed]) -> Fingerprint:
    """What a part looks like to a reader: its text and its embeds' visible text.

    Whitespace at the ends is dropped because Discord trims it from what it stores.
    """

    def text(value: object) -> str:
        return str(value or "").strip()

    return (
        text(content),
        tuple(
            (
                text(e.title),
                text(e.description),
                tuple((text(f.name), text(f.value)) for f in e.fields),
                text(e.footer.text),
            )
            for e in embeds
        ),
    )


async def posted_parts(
    client: discord.Client,
    channel_id: int,
    messages: Sequence[DiscordMessage],
    *,
    start_part: int,
    key: str,
    since: datetime,
) -> dict[int, str] | None:
    """The parts ``start_part`` onwards of delivery ``key`` already in the channel.

    Returns:
        Part number -> message id; None when Discord does not let the bot read the channel.

    Raises:
        discord.HTTPException: any other failure (the caller turns it into a delivery error).
    """
    wanted = {
        number: fingerprint(message.content or None, message.embeds)
        for number, message in enumerate(messages)
        if number >= start_part
    }
    if not wanted:
        return {}
    nonces = {part_nonce(key, number): number for number in wanted}
    own = client.user.id if client.user is not None else None
    channel = client.get_partial_messageable(channel_id)
    found: dict[int, str] = {}
    try:
        async for message in channel.history(
            after=since - CLOCK_SKEW, limit=HISTORY_LIMIT, oldest_first=True
        ):
            if own is not None and message.author.id != own:
                continue
            number = nonces.get(str(message.nonce)) if message.nonce is not None else None
            if number is None:
                seen = fingerprint(message.content, message.embeds)
                number = next((n for n, f in wanted.items() if n not in found and f == seen), None)
            if number is not None:
                found.setdefault(number, str(message.id))
                if len(found) == len(wanted):
                    break
    except discord.Forbidden as exc:
        log.warning(
            "cannot read the history of Discord channel %s (%s): parts of %s whose outcome "
            "is unknown will be posted again",
            channel_id,
            exc.text or exc.status,
            key,
        )
        return None
    return found
