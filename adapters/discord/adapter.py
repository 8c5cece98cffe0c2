"""The Discord adapter (discord.py 2.x): translates interactions to engine requests and replies
to embeds, and posts digests (channels and DMs).

The package: ``commands`` (the /brief tree, derived from the engine's declarations),
``views`` (feedback buttons), ``client`` (the discord.py client), ``sync`` (registering the
tree), ``render`` (embeds). Every interaction is deferred first (Discord wants an answer within
3 s; a briefing may take longer), ephemerally, because the answers are personal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import discord
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.discord import delivery as discord_delivery
from adapters.discord.client import NONE, ShiftBriefClient, use_translator
from adapters.discord.commands import JA_DESCRIPTIONS, BriefTranslator, sector_choice
from adapters.discord.reactions import reaction_vote
from adapters.discord.render import (
    DiscordMessage,
    defuse_mentions,
    defuse_our_text,
    escape_discord,
    render_briefing_messages,
    render_reply,
)
from adapters.discord.sync import (
    command_hash,
    command_payload,
    default_sync_state_path,
    sync_commands,
    sync_if_changed,
)
from adapters.discord.views import MoreButton, VoteButton, WhyButton, feedback_view, marked_view
from bot import untrusted
from bot.commands import grammar as cmd
from bot.commands.dispatcher import Dispatcher, Reply
from bot.config import Settings
from bot.delivery.pacing import Pacer, RateLimit
from bot.models import Briefing, SectorDef
from bot.platform import (
    DeliveryError,
    Destination,
    MessageRef,
    OnSent,
    PermanentDeliveryError,
    TransientDeliveryError,
)

log = logging.getLogger(__name__)


# Discord error codes about the destination, and why each is permanent, for the ledger and the
# admins; these disable the subscription.
_PERMANENT_REASONS = {
    50007: "cannot send to this user: their DMs are closed or they share no server with the bot",
    10003: "the channel no longer exists (unknown channel)",
    50001: "the bot lost access to the channel (missing access)",
    50013: "the bot lacks permission to post in the channel (missing permissions)",
    10013: "the user no longer exists (unknown user)",
    10004: "the bot is no longer in this server (unknown guild)",
    50008: "the channel is not a text channel (cannot send messages in a non-text channel)",
    160005: "the thread is locked",
}
_DESTINATION_STATUSES = {
    403: "the bot may not post there (forbidden)",
    404: "the channel or user was not found",
}
"""Statuses that are about the destination (or the bot's access) whatever their code."""


class DiscordAdapter:
    """ShiftBrief on Discord: commands in, digests out (channels and DMs).

    Args:
        settings: token, admin role and ids, REST base URL (tests) and pacing.
        sessionmaker: unused by the adapter (kept for a uniform constructor): sectors,
            commands and button presses all go through the engine's dispatcher.
        clock: returns the current aware UTC time.
        pacer: paces sends; built from the Discord settings when None.
        sync_state_path: JSON file holding the hash of the last command sync.
        sync_at_login: sync the global commands at login when they changed (off for
            ``shiftbrief discord sync``, which syncs exactly the scope asked for).
    """

    platform: ClassVar[str] = "discord"

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        pacer: Pacer | None = None,
        sync_state_path: Path | None = None,
        sync_at_login: bool = True,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._pacer = pacer or Pacer(
            per_destination=RateLimit(
                settings.discord_channel_messages, settings.discord_channel_window
            ),
            overall=RateLimit(settings.discord_requests_per_second, 1),
        )
        self.sync_state_path = sync_state_path or default_sync_state_path()
        self.sync_at_login = sync_at_login
        self._dispatcher: Dispatcher | None = None
        self._dm_channels: dict[str, int] = {}
        self._pending: dict[cmd.Invocation, discord.Interaction[Any]] = {}
        self._gateway: asyncio.Task[None] | None = None
        if settings.discord_api_url:
            # discord.py builds every REST URL (interaction callbacks and webhooks included)
            # from this class attribute; tests point it at a local server.
            discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
        self.client = ShiftBriefClient(
            adapter=self,
            shard_count=settings.discord_shard_count,
            shard_ids=settings.discord_shard_ids,
        )

    # --- lifecycle ----------------------------------------------------------------------------

    async def login(self, dispatcher: Dispatcher) -> None:
        """Log in over REST, register the buttons and sync commands if their definition changed;
        no gateway connection yet (``start`` opens it)."""
        if self._settings.discord_token is None:
            raise RuntimeError("DISCORD_TOKEN is not set")
        self._dispatcher = dispatcher
        await self.client.login(self._settings.discord_token.get_secret_value())

    @property
    def ready(self) -> bool:
        """Connected to the gateway with every shard of this process ready."""
        return self.client.is_ready()

    async def start(self, dispatcher: Dispatcher) -> None:
        """Log in, then keep the (auto-sharded) gateway connection in a background task."""
        await self.login(dispatcher)
        self._gateway = asyncio.create_task(self.client.connect(reconnect=True), name="discord")

    async def close(self) -> None:
        await self.client.close()
        if self._gateway is not None:
            try:
                await self._gateway
            except Exception:
                log.exception("Discord gateway task ended with an error")
            self._gateway = None

    # --- commands ------------------------------------------------------------------------------

    async def sector_defs(self, guild: str | None = None) -> list[SectorDef]:
        """The sectors of ``guild``'s readers: the shared ones and the server's own."""
        if self._dispatcher is None:
            raise RuntimeError("the Discord adapter was not started")
        return await self._dispatcher.sector_defs(self.platform, guild or "dm")

    async def sector_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Sectors whose key or name contains what was typed, named in the user's language."""
        language = cmd.language_from_locale(str(interaction.locale))
        wanted = current.strip().casefold()
        found = [
            d
            for d in await self.sector_defs(
                str(interaction.guild_id) if interaction.guild_id else None
            )
            if wanted in d.key or wanted in d.name_en.casefold() or wanted in d.name_ja
        ]
        return [sector_choice(d.name(language), d.key) for d in found[:25]]

    async def is_admin(self, interaction: discord.Interaction[Any]) -> bool:
        """Manage Server, the configured role, or a configured admin user id."""
        if str(interaction.user.id) in self._settings.admin_user_ids:
            return True
        if interaction.guild_id is None:
            return False
        if interaction.permissions.manage_guild or interaction.permissions.administrator:
            return True
        role_name = self._settings.discord_admin_role
        member = interaction.user
        if not role_name or not isinstance(member, discord.Member):
            return False
        role_ids = {r.id for r in member.roles}
        if not role_ids:
            # Roles are resolved from the guild cache; without it, ask Discord for the names.
            role_ids = {int(r) for r in member._roles}
        if not role_ids:
            return False
        roles = await self.client.http.get_roles(interaction.guild_id)
        return any(int(r["id"]) in role_ids and r["name"] == role_name for r in roles)

    def invocation_of(
        self, interaction: discord.Interaction[Any], *, is_admin: bool
    ) -> cmd.Invocation:
        return cmd.Invocation(
            platform=self.platform,
            tenant_id=str(interaction.guild_id) if interaction.guild_id else "dm",
            user_id=str(interaction.user.id),
            channel_id=str(interaction.channel_id) if interaction.channel_id else None,
            is_admin=is_admin,
            locale=str(interaction.locale),
        )

    async def run_command(
        self,
        interaction: discord.Interaction[Any],
        command: cmd.CommandBase | cmd.CommandOptions,
    ) -> None:
        """Defer at once (ephemeral), hand the command or its options to the engine, answer."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        invocation = self.invocation_of(interaction, is_admin=await self.is_admin(interaction))
        if self._dispatcher is None:
            raise RuntimeError("the Discord adapter was not started")
        reply = await self._dispatcher.handle(cmd.CommandRequest(command, invocation))
        self._pending[invocation] = interaction
        try:
            await self.reply(invocation, reply)
        finally:
            self._pending.pop(invocation, None)

    async def reply(self, invocation: cmd.Invocation, reply: Reply) -> None:
        """Answer a command: through its interaction while one is open, else in its channel."""
        messages = render_reply(reply)
        interaction = self._pending.get(invocation)
        if interaction is not None:
            await self._send_followups(interaction, messages, ephemeral=reply.ephemeral)
        elif invocation.channel_id:
            channel = self.client.get_partial_messageable(int(invocation.channel_id))
            for message in messages:
                await self._send(channel, message)

    async def _send_followups(
        self,
        interaction: discord.Interaction[Any],
        messages: Sequence[DiscordMessage],
        *,
        ephemeral: bool = True,
    ) -> None:
        for message in messages:
            view = feedback_view(message.feedback)
            await interaction.followup.send(
                content=message.content or discord.utils.MISSING,
                embeds=message.embeds or discord.utils.MISSING,
                view=view or discord.utils.MISSING,
                ephemeral=ephemeral,
                allowed_mentions=NONE,
            )
            if view is not None:
                # The DynamicItems answer presses; a stored copy of the view would answer twice.
                view.stop()

    async def record_press(
        self,
        interaction: discord.Interaction[Any],
        *,
        story_key: str,
        kind: str,
        value: int,
        sector: str | None = None,
    ) -> None:
        """A feedback press, as a request to the engine. A vote changes the message's buttons
        in DMs; in a shared channel only the presser sees the engine's acknowledgement.
        "More on <sector>" answers with the sector's summary, for the presser only."""
        if kind == "more" and sector:
            await self.run_command(interaction, cmd.MoreOn(sector, story_key))
            return
        if self._dispatcher is None:
            raise RuntimeError("the Discord adapter was not started")
        invocation = self.invocation_of(interaction, is_admin=False)
        request = cmd.CommandRequest(cmd.Vote(story_key, value, sector), invocation)
        reply = await self._dispatcher.handle(request)
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if not reply.error and interaction.guild_id is None and interaction.message is not None:
            view = marked_view(interaction.message, custom_id)
            await interaction.response.edit_message(view=view, allowed_mentions=NONE)
            view.stop()
            return
        text = untrusted.render(reply.text, escape_discord, defuse_our_text)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NONE)

    async def record_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        """A 👍 or 👎 on a briefing the bot posted: the reactor's vote on the story the message
        leads, or that vote taken back when the reaction is removed
        (``adapters.discord.reactions``). Nothing is posted back (the reaction shows)."""
        request = await reaction_vote(self.client, payload)
        if request is None:
            return
        if self._dispatcher is None:
            raise RuntimeError("the Discord adapter was not started")
        reply = await self._dispatcher.handle(request)
        if reply.error:
            log.warning("reaction vote by %s not stored: %s", payload.user_id, reply.text)

    async def explain_press(self, interaction: discord.Interaction[Any], *, story_key: str) -> None:
        """ "Why this?": the answer of ``/brief why <story>``, only to the presser (the button
        may sit on a briefing in a shared channel)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        if self._dispatcher is None:
            raise RuntimeError("the Discord adapter was not started")
        invocation = self.invocation_of(interaction, is_admin=False)
        request = cmd.CommandRequest(cmd.WhyStory(story_key), invocation)
        reply = await self._dispatcher.handle(request)
        await self._send_followups(interaction, render_reply(reply), ephemeral=True)

    # --- deliveries ----------------------------------------------------------------------------

    async def _channel_id(self, dest: Destination) -> int:
        if dest.kind == "channel":
            return int(dest.external_id)
        if dest.kind != "user":
            raise PermanentDeliveryError(f"unknown destination kind {dest.kind!r}")
        if dest.external_id not in self._dm_channels:
            try:
                data = await self.client.http.start_private_message(int(dest.external_id))
            except Exception as exc:
                raise _delivery_error(exc, ()) from exc
            self._dm_channels[dest.external_id] = int(data["id"])
        return self._dm_channels[dest.external_id]

    async def _send(
        self, channel: discord.abc.Messageable, message: DiscordMessage, *, nonce: str | None = None
    ) -> discord.Message:
        view = feedback_view(message.feedback)
        sent = await channel.send(
            content=message.content or None,
            embeds=message.embeds,
            view=view or discord.utils.MISSING,
            allowed_mentions=NONE,
            # With a nonce discord.py asks Discord to enforce it: a retry after a lost reply
            # returns the message already posted instead of posting it again.
            nonce=nonce if nonce is not None else discord.utils.MISSING,
        )
        if view is not None:
            view.stop()
        return sent

    async def send_briefing(
        self,
        dest: Destination,
        briefing: Briefing,
        *,
        start_part: int = 0,
        idempotency_key: str | None = None,
        on_sent: OnSent | None = None,
        resume_since: datetime | None = None,
    ) -> MessageRef:
        """Post the briefing's messages in order from ``start_part``, paced per channel.

        ``on_sent(message_id)`` is awaited after each part is posted, before the next one.
        With ``idempotency_key`` each part carries an enforced nonce; with ``resume_since``
        too, the parts already in the channel since then are found (``adapters.discord.
        delivery``), reported through ``on_sent`` and not posted again.

        Raises:
            PermanentDeliveryError: closed DMs, unknown or inaccessible channel (these disable
                the subscription); a message Discord refused, such as an invalid form body
                (``disable_subscription=False``: the destination is fine).
            TransientDeliveryError: rate limited too long, Discord's 5xx after its own retries,
                timeouts; ``sent_message_ids`` holds the parts posted by this call.
        """
        channel_id = await self._channel_id(dest)
        channel = self.client.get_partial_messageable(channel_id)
        sent: list[str] = []
        messages = render_briefing_messages(briefing)
        found: dict[int, str] = {}
        if resume_since is not None and idempotency_key:
            try:
                found = (
                    await discord_delivery.posted_parts(
                        self.client,
                        channel_id,
                        messages,
                        start_part=start_part,
                        key=idempotency_key,
                        since=resume_since,
                    )
                    or {}
                )
            except Exception as exc:
                raise _delivery_error(exc, ()) from exc
        for number, message in enumerate(messages[start_part:], start=start_part):
            message_id = found.get(number)
            if message_id is not None:
                log.info(
                    "part %d of %s is in channel %s already (message %s); not posting it again",
                    number,
                    idempotency_key,
                    channel_id,
                    message_id,
                )
            else:
                message_id = str(
                    (
                        await self._post_part(dest, channel, message, number, idempotency_key, sent)
                    ).id
                )
            sent.append(message_id)
            # Outside the try: an error of the engine's own recording is not Discord's.
            if on_sent is not None:
                await on_sent(message_id)
        return MessageRef(self.platform, str(channel_id), tuple(sent))

    async def _post_part(
        self,
        dest: Destination,
        channel: discord.PartialMessageable,
        message: DiscordMessage,
        number: int,
        key: str | None,
        sent: list[str],
    ) -> discord.Message:
        """Post one part (paced), turning a failure into the engine's delivery errors."""
        await self._pacer.wait(str(channel.id))
        nonce = discord_delivery.part_nonce(key, number) if key else None
        try:
            return await self._send(channel, message, nonce=nonce)
        except Exception as exc:
            error = _delivery_error(exc, tuple(sent))
            log.warning(
                "Discord delivery to %s %s failed: %s",
                dest.kind,
                dest.external_id,
                error.reason,
            )
            if (
                dest.kind == "user"
                and isinstance(error, PermanentDeliveryError)
                and error.disable_subscription
            ):
                self._dm_channels.pop(dest.external_id, None)
            raise error from exc


def _delivery_error(exc: BaseException, sent: tuple[str, ...]) -> DeliveryError:
    """Discord's and the network's errors as the engine's two kinds."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, discord.RateLimited):
        return TransientDeliveryError(
            f"rate limited for {exc.retry_after:.0f} s",
            retry_after=exc.retry_after,
            sent_message_ids=sent,
        )
    if isinstance(exc, discord.DiscordServerError):
        return TransientDeliveryError(f"Discord server error {exc.status}", sent_message_ids=sent)
    if isinstance(exc, discord.HTTPException):
        if exc.code in _PERMANENT_REASONS:
            return PermanentDeliveryError(_PERMANENT_REASONS[exc.code], sent_message_ids=sent)
        detail = f"({exc.status}, code {exc.code}): {exc.text[:200]}"
        if exc.status == 401:
            # The bot's own token: every destination fails alike, so disable none of them.
            return PermanentDeliveryError(
                f"Discord refused the bot token {detail}",
                sent_message_ids=sent,
                disable_subscription=False,
            )
        if exc.status in _DESTINATION_STATUSES:
            return PermanentDeliveryError(
                f"{_DESTINATION_STATUSES[exc.status]} {detail}", sent_message_ids=sent
            )
        # Any other 4xx (400 "invalid form body" 50035, 413 too large, ...) refuses this one
        # message; sending it again cannot help, but tomorrow's digest may well go through.
        return PermanentDeliveryError(
            f"Discord refused the message {detail}",
            sent_message_ids=sent,
            disable_subscription=False,
        )
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ClientError, OSError)):
        return TransientDeliveryError(f"network error: {exc!r}"[:300], sent_message_ids=sent)
    return TransientDeliveryError(f"unexpected error: {exc!r}"[:300], sent_message_ids=sent)


__all__ = [
    "JA_DESCRIPTIONS",
    "BriefTranslator",
    "DiscordAdapter",
    "MoreButton",
    "ShiftBriefClient",
    "VoteButton",
    "WhyButton",
    "command_hash",
    "command_payload",
    "defuse_mentions",
    "feedback_view",
    "sync_commands",
    "sync_if_changed",
    "use_translator",
]
