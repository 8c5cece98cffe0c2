"""What every command handler gets and gives: a ``Context`` in, a ``Reply`` out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.ask.service import Asker
from bot.briefing.edition import ItemClassifier
from bot.briefing.editor.base import Editor
from bot.commands.model import ChannelRef, Invocation
from bot.i18n import Catalog, catalog, phrase
from bot.ingest.netguard import AddressPolicy
from bot.models import Briefing, Language, SectorDef, StoryEntry
from bot.platform import ChannelAccess
from bot.untrusted import quote
from storage.models import Subscriber, Tenant
from storage.repositories import subscribers as sub_repo

COMMON: Catalog = catalog("handlers.common")


@dataclass(frozen=True, slots=True)
class ReaderSettings:
    """A reader's saved preferences, for views that show them as controls (App Home)."""

    sectors: tuple[str, ...]
    delivery_time: str
    timezone: str
    days: tuple[str, ...]
    language: Language
    length: str
    follow: tuple[str, ...]
    mute: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the user sees. ``text`` holds our phrases, any outside value in them quoted
    (``bot.untrusted.quote``): show it with ``bot.untrusted.render``. Feed text comes structured.

    ``error`` marks a refused command (``text`` then says why); ``settings`` and ``sectors``
    come with ``ReaderView`` for views that show the reader's settings.
    """

    text: str = ""
    briefing: Briefing | None = None
    results: tuple[StoryEntry, ...] = ()
    ephemeral: bool = True
    error: bool = False
    settings: ReaderSettings | None = None
    sectors: tuple[SectorDef, ...] = ()


class ScheduleControl(Protocol):
    """The running scheduler and delivery worker, as the command handlers need them."""

    async def changed(self) -> None:
        """Subscriber or schedule rows changed: derive the jobs again."""

    async def send_now(self, subscriber_id: int) -> bool:
        """Deliver this subscriber's digest now, outside its schedule."""


@dataclass
class Effects:
    """What a command asks of the scheduler, done after its transaction commits."""

    resync: bool = False
    send_now: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Services:
    """The engine's parts handlers may use (the dispatcher's, shared by every command)."""

    classifier: ItemClassifier
    schedules: ScheduleControl | None = None
    address_policy: AddressPolicy | None = None
    editor: Editor | None = None
    """Who writes the stories of a briefing asked for in chat (None: extractive)."""
    asker: Asker | None = None
    """Answers ``/brief ask`` from the archive (holds the process's vector index)."""
    max_feeds_per_tenant: int | None = None
    """Feeds one tenant's admins may follow (None: no limit)."""
    channels: Mapping[str, ChannelAccess] = field(default_factory=dict)
    """By platform: adapters that join a channel when a digest is set for it."""


@dataclass
class Context:
    """One command's world: its transaction, who asked, the sectors, the language, the time."""

    session: AsyncSession
    invocation: Invocation
    user: Subscriber
    tenant: Tenant
    sectors: Sequence[SectorDef]
    language: Language
    now: datetime
    services: Services
    effects: Effects = field(default_factory=Effects)

    def say(self, catalog: Catalog, key: str, /, **values: Any) -> str:
        return phrase(catalog, key, self.language, **values)

    def names(self, keys: Sequence[str]) -> str:
        """Sector keys as names in the reader's language, comma-separated, each quoted: an
        admin named the sector (``bot.untrusted``)."""
        by_key = {s.key: s for s in self.sectors}
        return self.listed(quote(by_key[k].name(self.language) if k in by_key else k) for k in keys)

    def days_text(self, days: Sequence[str]) -> str:
        """Day keys ("mon") as the reader's language writes them ("月")."""
        if not days:
            return phrase(COMMON, "every_day", self.language)
        return self.listed(phrase(COMMON, f"day_{d}", self.language) for d in days)

    def listed(self, texts: Iterable[str]) -> str:
        return phrase(COMMON, "list_comma", self.language).join(texts)

    def sectors_text(self, keys: Sequence[str]) -> str:
        return self.names(keys) or phrase(COMMON, "all_sectors", self.language)

    async def audit(self, action: str, detail: dict[str, Any]) -> None:
        """Record an admin action in the tenant's audit log."""
        inv = self.invocation
        await sub_repo.audit(
            self.session,
            tenant_id=self.tenant.id,
            actor=f"{inv.platform}:{inv.user_id}",
            action=action,
            detail=detail,
            now=self.now,
        )


def channel_label(channel: ChannelRef) -> str:
    return f"#{channel.name}" if channel.name else f"<#{channel.id}>"


def channel_label_of(external_id: str) -> str:
    return external_id if external_id.startswith("#") else f"<#{external_id}>"
