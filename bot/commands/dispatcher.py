"""One dispatcher answers every platform's commands, behind one error boundary.

Adapters hand in a ``CommandRequest`` (text, typed options, or a ready command) and get a
``Reply`` back: our own phrases in ``text``, feed-derived content only inside ``briefing`` or
``results``, so each renderer can escape it the way its platform needs. The command's
declaration names its handler (``bot.commands.handlers``). A ``CommandError`` is shown to the
user as it is; anything else is logged with its traceback and the user sees a short apology
(errbot's split).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ask.service import Asker
from bot.briefing.edition import ItemClassifier, load_sector_defs
from bot.briefing.editor.base import Editor
from bot.commands.declare import spec_of
from bot.commands.handlers.base import Context, Effects, Reply, ScheduleControl, Services
from bot.commands.model import CommandRequest, Invocation, language_from_locale
from bot.commands.parse import CommandError, parse_request
from bot.i18n import Catalog, catalog, phrase
from bot.ingest.netguard import AddressPolicy
from bot.metrics import Metrics
from bot.models import Language, SectorDef
from bot.platform import ChannelAccess
from bot.untrusted import quote
from storage.models import Subscriber, Tenant
from storage.repositories import subscribers as sub_repo

log = logging.getLogger(__name__)

__all__ = ["MESSAGES", "Dispatcher", "Reply", "ScheduleControl"]

MESSAGES: Catalog = catalog("dispatcher")

_ADMINS = {"discord": "server_admins"}

DM_TENANT = "dm"
"""The tenant id adapters give commands typed in the bot's DMs (Discord), outside any server."""
"""Who counts as an admin, by platform, as the refusal names them (Slack: workspace admins)."""


def _refusal(kind: str, platform: str, language: Language) -> str:
    admins = phrase(MESSAGES, _ADMINS.get(platform, "workspace_admins"), language)
    return phrase(MESSAGES, "admins_only", language, command=f"/brief {kind}", admins=admins)


class Dispatcher:
    """Answers ``CommandRequest``s from every adapter with the same engine.

    Args:
        sessionmaker: where subscribers, feeds and items live.
        clock: returns the current aware UTC time.
        classifier: classifies items again when an admin adds a sector.
        schedules: the running scheduler and delivery worker, told about schedule changes and
            asked for send-now digests (None when nothing is scheduled, e.g. one-off CLI use).
        metrics: where command latency is recorded, if anywhere.
        address_policy: which feed addresses admins may add (private IP literals refused).
        editor: who writes briefings asked for in chat (None: extractive).
        asker: answers ``/brief ask`` (default: retrieval without a model to write).
        max_feeds_per_tenant: feeds one tenant's admins may follow (None: no limit).
        channels: adapters (by platform) that join a channel a digest is set for.
    """

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        classifier: ItemClassifier | None = None,
        schedules: ScheduleControl | None = None,
        metrics: Metrics | None = None,
        address_policy: AddressPolicy | None = None,
        editor: Editor | None = None,
        asker: Asker | None = None,
        max_feeds_per_tenant: int | None = None,
        channels: Mapping[str, ChannelAccess] | None = None,
    ) -> None:
        self._metrics = metrics
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._services = Services(
            classifier=classifier or ItemClassifier(),
            schedules=schedules,
            address_policy=address_policy,
            editor=editor,
            asker=asker or Asker(),
            max_feeds_per_tenant=max_feeds_per_tenant,
            channels=dict(channels or {}),
        )

    async def handle(self, request: CommandRequest) -> Reply:
        """Parse (if needed) and answer one request; never raises."""
        started = time.perf_counter()
        try:
            return await self._handle(request)
        finally:
            if self._metrics is not None:
                self._metrics.command_seconds.labels(request.invocation.platform).observe(
                    time.perf_counter() - started
                )

    async def _handle(self, request: CommandRequest) -> Reply:
        inv = request.invocation
        language = language_from_locale(inv.locale)
        effects = Effects()
        try:
            await self._make_user(inv, default_language=language)
            async with self._sessionmaker.begin() as session:
                now = self._clock()
                found = await self._dm_profile(session, inv) if inv.tenant_id == DM_TENANT else None
                if found is not None:
                    tenant, user, servers = found
                else:
                    known = await self._find_user(session, inv)
                    assert known is not None  # made by _make_user
                    (tenant, user), servers = known, None
                language = "ja" if user.language == "ja" else "en"
                sectors = await load_sector_defs(session, tenant.id)
                command = parse_request(request, known_sectors=sectors, language=language)
                if command.admin and not inv.is_admin:
                    log.info(
                        "refused admin command %r from %s/%s",
                        command.kind,
                        inv.platform,
                        inv.user_id,
                    )
                    admins = phrase(
                        MESSAGES, _ADMINS.get(inv.platform, "workspace_admins"), language
                    )
                    text = phrase(
                        MESSAGES,
                        "admins_only",
                        language,
                        command=f"/brief {command.kind}",
                        admins=admins,
                    )
                    return Reply(text=text)
                ctx = Context(
                    session=session,
                    invocation=inv,
                    user=user,
                    tenant=tenant,
                    sectors=sectors,
                    language=language,
                    now=now,
                    services=self._services,
                    effects=effects,
                )
                reply = await spec_of(command).handler(ctx, command)
                if servers is not None and not reply.error:
                    count, server = servers
                    note = phrase(MESSAGES, "dm_profile", language, count=count, server=server)
                    reply = replace(reply, text="\n".join(t for t in (note, reply.text) if t))
            # After the commit, so the scheduler and the delivery worker see the change.
            schedules = self._services.schedules
            if schedules is not None:
                if effects.resync:
                    await schedules.changed()
                for subscriber_id in effects.send_now:
                    await schedules.send_now(subscriber_id)
            return reply
        except CommandError as exc:
            return Reply(text=exc.text, error=True)
        except Exception:
            log.exception(
                "command failed: platform=%s tenant=%s user=%s",
                inv.platform,
                inv.tenant_id,
                inv.user_id,
                extra={
                    "platform": inv.platform,
                    "tenant_id": inv.tenant_id,
                    "user_id": inv.user_id,
                },
            )
            return Reply(text=phrase(MESSAGES, "apology", language), error=True)

    async def sector_defs(
        self, platform: str | None = None, tenant_id: str | None = None
    ) -> list[SectorDef]:
        """The sectors readers of a tenant can choose (the shared ones plus its own), for
        adapters' pickers and autocomplete; without a tenant, the shared ones."""
        async with self._sessionmaker() as session:
            tenant = None
            if platform is not None and tenant_id is not None:
                tenant = await sub_repo.find_tenant(
                    session, platform=platform, external_id=tenant_id
                )
            return await load_sector_defs(session, tenant.id if tenant is not None else None)

    async def _dm_profile(
        self, session: AsyncSession, inv: Invocation
    ) -> tuple[Tenant, Subscriber, tuple[int, str] | None] | None:
        """The profile a reader typing in the bot's DMs means: the one of the server their
        digest comes from (profiles are kept per server), and, for a reader of several servers,
        how many and which one answers. None when they have no server profile (the DM's own
        is used) or the command comes from an admin (admin commands never leave the DM)."""
        if inv.is_admin:
            return None
        found = await sub_repo.profiles_elsewhere(
            session, platform=inv.platform, user_id=inv.user_id, besides=DM_TENANT
        )
        if not found:
            return None
        subscriber, server = found[0]
        servers = (len(found), quote(server.name or server.external_id)) if len(found) > 1 else None
        return server, subscriber, servers

    async def _make_user(self, inv: Invocation, *, default_language: Language) -> None:
        """Create the tenant and the user asking the first time, in a short transaction of
        their own before the command's. On SQLite a transaction's first write holds the
        database's one write lock until it ends, and a command can take long after it (a model
        writing ``/brief today``): meanwhile nothing else could write, not even the editor
        storing what the model wrote ("database is locked" after the busy timeout)."""
        async with self._sessionmaker.begin() as session:
            if inv.tenant_id == DM_TENANT and await self._dm_profile(session, inv) is not None:
                return  # a DM answered with the reader's server profile: nothing to create
            if await self._find_user(session, inv) is not None:
                return
            now = self._clock()
            tenant = await sub_repo.get_or_create_tenant(
                session, platform=inv.platform, external_id=inv.tenant_id, now=now
            )
            await sub_repo.get_or_create_subscriber(
                session,
                tenant_id=tenant.id,
                kind="user",
                external_id=inv.user_id,
                now=now,
                defaults={"language": default_language},
            )

    async def _find_user(
        self, session: AsyncSession, inv: Invocation
    ) -> tuple[Tenant, Subscriber] | None:
        tenant = await sub_repo.find_tenant(
            session, platform=inv.platform, external_id=inv.tenant_id
        )
        if tenant is None:
            return None
        subscriber = await sub_repo.find_subscriber(
            session, tenant_id=tenant.id, kind="user", external_id=inv.user_id
        )
        return None if subscriber is None else (tenant, subscriber)
