"""The protocol every chat platform adapter implements; the engine knows nothing more of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, runtime_checkable

from bot.commands.grammar import Invocation
from bot.models import Briefing

if TYPE_CHECKING:
    from bot.commands.dispatcher import Dispatcher, Reply


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a digest goes: a user's DMs or a channel, in one tenant of one platform."""

    platform: str
    tenant_id: str
    kind: str
    """"user" or "channel"."""
    external_id: str


@dataclass(frozen=True, slots=True)
class MessageRef:
    """The platform's reference to what was sent (several messages for a long briefing)."""

    platform: str
    channel_id: str
    message_ids: tuple[str, ...]


OnSent = Callable[[str], Awaitable[None]]
"""Called with each posted part's message id (see ``PlatformAdapter.send_briefing``)."""

JoinRefusal = Literal["private", "no_permission", "not_found", "archived"]
"""Why the bot cannot become a member of a channel (each has its fix in the reply)."""


@runtime_checkable
class ChannelAccess(Protocol):
    """An adapter whose bot must be a channel's member for digests there to go out exactly once
    (Slack: a resumed digest reads the channel's history for parts already posted)."""

    platform: ClassVar[str]

    async def join_channel(self, tenant_id: str, channel_id: str) -> JoinRefusal | None:
        """Make the bot a member of the channel; None when it is one now, else why not."""
        ...


class DeliveryError(Exception):
    """Sending failed. Adapters raise one of the two subclasses, never a library's own error.

    Args:
        reason: what went wrong, for the ledger and the admins.
        sent_message_ids: the parts this call posted before the failure; the engine adds them
            to what earlier attempts posted and retries from the next part, so no part is
            posted twice.
    """

    def __init__(self, reason: str, *, sent_message_ids: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent_message_ids = sent_message_ids


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: the channel is gone, the bot was removed, the user closed DMs.

    With ``disable_subscription`` (the default, for errors about the destination) the
    subscription is disabled with ``reason`` recorded and an admin-visible notice. A refusal of
    this one message (a layout the platform rejects) fails the delivery only: tomorrow's digest
    may well go through.
    """

    def __init__(
        self,
        reason: str,
        *,
        sent_message_ids: tuple[str, ...] = (),
        disable_subscription: bool = True,
    ) -> None:
        super().__init__(reason, sent_message_ids=sent_message_ids)
        self.disable_subscription = disable_subscription


class TransientDeliveryError(DeliveryError):
    """Worth retrying: a rate limit (``retry_after`` seconds from the platform), 5xx, timeout."""

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        sent_message_ids: tuple[str, ...] = (),
    ) -> None:
        super().__init__(reason, sent_message_ids=sent_message_ids)
        self.retry_after = retry_after


class PlatformAdapter(Protocol):
    """What the engine needs of a chat platform.

    ``send_briefing`` renders and posts a briefing (several messages, in order, when it is too
    long for one), starting at part ``start_part``; it waits on the adapter's ``Pacer`` before
    every message, may retry one message on a rate limit within a bounded number of tries, and
    otherwise raises ``PermanentDeliveryError`` or ``TransientDeliveryError``. Retrying a whole
    delivery and the ledger are the engine's (bot/delivery/deliver.py), not the adapter's.

    ``on_sent(message_id)`` is awaited right after each part is posted, so the engine records it
    before the next part goes out: a process killed mid-briefing resumes after the last part
    recorded instead of posting the earlier parts again.

    ``idempotency_key`` is stable across retries of one delivery; adapters mark every part with
    it and the part number (Slack message metadata; Discord's ``nonce`` with ``enforce_nonce``,
    which Discord honours for a few minutes only).

    ``resume_since`` is set when an earlier attempt at this delivery may have posted parts it
    never recorded (the process was killed between a post and its record, or a reply was
    lost): before posting part ``start_part`` onwards, the adapter looks in the destination's
    messages since that time for parts marked with ``idempotency_key``, reports each one found
    through ``on_sent`` as if just posted, and posts only the others. So a part goes out once
    even across ``kill -9``.
    """

    platform: ClassVar[str]

    async def start(self, dispatcher: Dispatcher) -> None: ...

    async def close(self) -> None: ...

    async def send_briefing(
        self,
        dest: Destination,
        briefing: Briefing,
        *,
        start_part: int = 0,
        idempotency_key: str | None = None,
        on_sent: OnSent | None = None,
        resume_since: datetime | None = None,
    ) -> MessageRef: ...

    async def reply(self, invocation: Invocation, reply: Reply) -> None: ...
