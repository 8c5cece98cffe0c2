"""The protocol every chat platform adapter implements; the engine knows nothing more of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from bot.commands import Invocation
from bot.models import Briefing

if TYPE_CHECKING:
    from bot.dispatcher import Dispatcher, Reply


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


class PlatformAdapter(Protocol):
    platform: ClassVar[str]

    async def start(self, dispatcher: Dispatcher) -> None: ...

    async def close(self) -> None: ...

    async def send_briefing(self, dest: Destination, briefing: Briefing) -> MessageRef: ...

    async def reply(self, invocation: Invocation, reply: Reply) -> None: ...
