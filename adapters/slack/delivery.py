"""Exactly-once digests on Slack: every part is marked, and a resumed delivery looks first.

``chat.postMessage`` has no client key to de-duplicate by, so each part carries message
metadata (``event_type`` ``shiftbrief_digest_part``, the delivery key and the part number) and
a delivery resumed after a crash reads the channel's history since its first claim
(``conversations.history`` with ``include_all_metadata``) for parts already there, instead of
posting them again. Reading history needs the ``channels:history``, ``groups:history`` and
``im:history`` scopes; an install without them (or a public channel the bot never joined)
cannot be asked, and then the part is posted again with a warning: a duplicate is better than
a lost digest.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platform import JoinRefusal

log = logging.getLogger(__name__)

EVENT_TYPE = "shiftbrief_digest_part"
HISTORY_PAGE = 200
"""Messages per conversations.history page (Slack recommends at most 200)."""
HISTORY_PAGES = 10
"""A busy channel is read back this many pages at most (2,000 messages since the claim)."""
CLOCK_SKEW = timedelta(seconds=60)
"""``oldest`` is our clock's claim time; Slack stamps ``ts`` with its own."""
CANNOT_ASK = frozenset({"missing_scope", "not_in_channel", "channel_not_found", "not_allowed"})
"""History errors meaning "you may not read this" rather than "try again later"."""


JOIN_REFUSALS: dict[str, JoinRefusal] = {
    "missing_scope": "no_permission",
    "not_allowed_token_type": "no_permission",
    "restricted_action": "no_permission",
    "channel_not_found": "not_found",
    "is_archived": "archived",
}
"""conversations.join errors that setting the digest again cannot fix by itself."""


async def join_channel(client: AsyncWebClient, channel: str) -> JoinRefusal | None:
    """Make the bot a member of ``channel``, so a resumed digest can read its own parts there
    (``conversations.history`` answers ``not_in_channel`` in a public channel it never joined).

    Returns:
        None when the bot is a member now (or Slack could not be asked: the digest still goes
        out, only a crash could repeat a part), else why it cannot be one.
    """
    try:
        await client.conversations_join(channel=channel)
        return None
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "") if isinstance(exc.response.data, dict) else ""
    if error == "method_not_supported_for_channel_type":
        # A private channel: only an invitation brings the bot in. Is it in already?
        try:
            info = await client.conversations_info(channel=channel)
        except SlackApiError:
            return "private"
        return None if (info.get("channel") or {}).get("is_member") else "private"
    if error in JOIN_REFUSALS:
        return JOIN_REFUSALS[error]
    log.warning("could not join Slack channel %s (%s); digests are posted anyway", channel, error)
    return None


def part_metadata(key: str, part: int) -> dict[str, Any]:
    """The message metadata that marks part ``part`` of delivery ``key``."""
    return {"event_type": EVENT_TYPE, "event_payload": {"delivery_id": key, "part": part}}


def part_of(message: dict[str, Any], key: str) -> int | None:
    """The part number ``message`` carries for delivery ``key``, if it is one of its parts."""
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    if not isinstance(payload, dict) or payload.get("delivery_id") != key:
        return None
    part = payload.get("part")
    # Slack may hand numbers back as they were sent or as strings.
    try:
        return int(part) if part is not None and not isinstance(part, bool) else None
    except (TypeError, ValueError):
        return None


async def posted_parts(
    client: AsyncWebClient, channel: str, key: str, since: datetime
) -> dict[int, str] | None:
    """The parts of delivery ``key`` already in ``channel`` (part number -> ``ts``).

    Only messages since ``since`` (the delivery's first claim, less the clock skew) are read.

    Returns:
        None when Slack does not let us read the channel (see ``CANNOT_ASK``).

    Raises:
        SlackApiError: any other refusal (rate limit, 5xx): the caller retries later.
    """
    found: dict[int, str] = {}
    oldest = f"{(since - CLOCK_SKEW).timestamp():.6f}"
    cursor: str | None = None
    for _ in range(HISTORY_PAGES):
        try:
            response = await client.conversations_history(
                channel=channel,
                oldest=oldest,
                include_all_metadata=True,
                limit=HISTORY_PAGE,
                cursor=cursor,
            )
        except SlackApiError as exc:
            error = (
                str(exc.response.get("error") or "") if isinstance(exc.response.data, dict) else ""
            )
            if error in CANNOT_ASK:
                log.warning(
                    "cannot read the history of Slack channel %s (%s): parts of %s whose "
                    "outcome is unknown will be posted again",
                    channel,
                    error,
                    key,
                )
                return None
            raise
        for message in response.get("messages") or []:
            part = part_of(message, key) if isinstance(message, dict) else None
            if part is not None and message.get("ts"):
                found.setdefault(part, str(message["ts"]))
        cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "") or None
        if not cursor or not response.get("has_more", True):
            return found
    log.warning(
        "Slack channel %s has more than %d messages since %s; looked for parts of %s in the "
        "newest of them only",
        channel,
        HISTORY_PAGE * HISTORY_PAGES,
        oldest,
        key,
    )
    return found
