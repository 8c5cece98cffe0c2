"""What a Slack Web API error means for a delivery: retry later, or give up and why.

Errors about the destination disable the subscription (retrying cannot fix them); errors about
the bot's credentials or about this one message fail the delivery but keep the subscription; a
429 or anything unknown is retried, after Slack's Retry-After when it sends one.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from bot.platform import (
    DeliveryError,
    Destination,
    PermanentDeliveryError,
    TransientDeliveryError,
)

PERMANENT_ERRORS: dict[str, str] = {
    "channel_not_found": "the channel no longer exists or the bot cannot see it",
    "is_archived": "the channel is archived",
    "channel_is_archived": "the channel is archived",
    "not_in_channel": "the bot is not a member of the channel",
    "missing_scope": "the app lacks a permission (scope) it needs; reinstall it",
    "cannot_dm_bot": "the destination is a bot, which cannot receive DMs",
    "user_not_found": "the user no longer exists",
    "user_disabled": "the user's account is deactivated",
    "users_not_found": "the user no longer exists",
    "restricted_action": "the workspace does not allow the bot to post there",
    "team_access_not_granted": "the app has no access to this workspace",
    "no_permission": "the bot has no permission to post there",
    "messages_tab_disabled": "the user has the app's Messages tab turned off",
    "restricted_action_read_only_channel": "the channel is read-only for the bot",
    "restricted_action_thread_only_channel": "the channel accepts only replies in threads",
}
"""Slack error codes about the destination that retrying cannot fix, with the reason shown to
admins; the subscription is disabled."""

CREDENTIAL_ERRORS: dict[str, str] = {
    "account_inactive": "the bot's account or the workspace is inactive",
    "token_revoked": "the app was uninstalled or its token revoked",
    "token_expired": "the bot token expired",
    "invalid_auth": "the bot token is not valid",
    "not_authed": "no bot token was sent",
}
"""Slack error codes about the bot's own credentials: every destination of the workspace fails
alike, so the delivery fails but no subscription is disabled (a reinstall or a new token brings
them all back)."""

REFUSED_MESSAGE_ERRORS: dict[str, str] = {
    "invalid_blocks": "Slack refused the message layout",
    "invalid_blocks_format": "Slack refused the message layout",
    "msg_blocks_too_long": "Slack refused the message as too long",
    "msg_too_long": "Slack refused the message as too long",
    "no_text": "Slack refused a message without text",
    "invalid_arguments": "Slack refused the message's arguments",
}
"""Slack error codes that refuse this one message: sending it again cannot help, but the
destination is fine, so the subscription stays on (tomorrow's digest is another message)."""


def delivery_error(exc: SlackApiError, dest: Destination, sent: tuple[str, ...]) -> DeliveryError:
    """The engine's delivery error for a Slack API error: retry later, or give up (and why)."""
    response = exc.response
    status = response.status_code
    error = str(response.get("error") or "") if isinstance(response.data, dict) else ""
    where = f"{dest.kind} {dest.external_id}"
    if status == 429:
        wait = retry_after(response.headers)
        return TransientDeliveryError(
            f"rate limited by Slack posting to {where}",
            retry_after=wait,
            sent_message_ids=sent,
        )
    if error in PERMANENT_ERRORS:
        return PermanentDeliveryError(
            f"{PERMANENT_ERRORS[error]} ({error}, {where})", sent_message_ids=sent
        )
    if error in CREDENTIAL_ERRORS:
        return PermanentDeliveryError(
            f"{CREDENTIAL_ERRORS[error]} ({error}, {where})",
            sent_message_ids=sent,
            disable_subscription=False,
        )
    if error in REFUSED_MESSAGE_ERRORS:
        return PermanentDeliveryError(
            f"{REFUSED_MESSAGE_ERRORS[error]} ({error}, {where})",
            sent_message_ids=sent,
            disable_subscription=False,
        )
    return TransientDeliveryError(
        f"Slack answered {status} {error or 'without an error code'} for {where}",
        sent_message_ids=sent,
    )


def retry_after(headers: Any) -> float | None:
    """Seconds from a 429's Retry-After header, or None when it has none we can read."""
    raw = headers.get("Retry-After") or headers.get("retry-after") if headers else None
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
