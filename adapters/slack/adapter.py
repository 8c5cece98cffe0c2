"""The Slack adapter (slack-bolt, async): `/brief`, App Home settings, feedback buttons, digests.

Transport only: Slack payloads become ``CommandRequest``s for the one ``Dispatcher``, and
``Reply``s and ``Briefing``s are rendered with ``adapters.slack.render``. Socket Mode is the
default (``AsyncSocketModeHandler.connect_async()``); HTTP mode serves ``POST /slack/events``
with aiohttp, where bolt verifies the request signature and refuses stale timestamps with 401,
and ``adapters.slack.verify`` refuses a replayed or malformed request before bolt sees it.

Slack wants every command and action acked within 3 seconds, so handlers ``ack()`` first and
work afterwards, answering through ``respond()`` (the command's response_url). Retried
deliveries (``X-Slack-Retry-Num``) are acked and dropped so no command runs twice.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.slack import delivery as slack_delivery
from adapters.slack import home
from adapters.slack.errors import delivery_error
from adapters.slack.interactions import Ack, HomeAndButtons, Respond
from adapters.slack.render import (
    MORE,
    VOTE_DOWN,
    VOTE_UP,
    WHY,
    SlackMessage,
    render_briefing_messages,
    render_reply,
)
from adapters.slack.text import command_text
from adapters.slack.verify import RequestGuard
from bot.commands import grammar as cmd
from bot.commands.dispatcher import MESSAGES as DISPATCHER_MESSAGES
from bot.commands.dispatcher import Dispatcher, Reply
from bot.config import Settings
from bot.delivery.pacing import Pacer, RateLimit
from bot.i18n import phrase
from bot.models import Briefing
from bot.platform import (
    Destination,
    JoinRefusal,
    MessageRef,
    OnSent,
    PermanentDeliveryError,
    TransientDeliveryError,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    # Read back a digest's own parts after a crash (adapters/slack/delivery.py), in public
    # channels after joining them when a digest is set there.
    "channels:join",
    "channels:history",
    "groups:history",
    "im:history",
    # 👍 / 👎 on a briefing count as votes (adapters/slack/reactions.py).
    "reactions:read",
)
"""Bot scopes asked for in the OAuth flow (app_manifest.yaml lists the same)."""
RESPONSE_URL_POSTS = 5
"""Slack accepts at most five posts to one response_url."""
RATE_LIMIT_RETRIES = 2
USER_LOCALES_KEPT = 4096
"""How many (workspace, user) locales the adapter remembers; the least recently used go first."""


def _header(req: AsyncBoltRequest, name: str) -> str | None:
    values = req.headers.get(name) or []
    return values[0] if values else None


async def ignore_retries(
    req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[Any]]
) -> BoltResponse | None:
    """Ack Slack's retried deliveries without running them: the first one is already running.

    Slack retries when our ack was slow or lost; running the listener again would run the same
    command (or record the same press) twice.
    """
    if _header(req, "x-slack-retry-num"):
        log.info(
            "dropped a retried Slack delivery (attempt %s, reason %s)",
            _header(req, "x-slack-retry-num"),
            _header(req, "x-slack-retry-reason"),
        )
        return BoltResponse(status=200, body="")
    await next()
    return None


class UserLocales:
    """The Slack locale of recently seen users, per (workspace, user), at most ``size`` of them.

    A user whose lookup succeeded is known even without a locale (``None``), so they are not
    asked about again; a failed lookup leaves them unknown, to be asked next time.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._locales: OrderedDict[tuple[str, str], str | None] = OrderedDict()

    def knows(self, team_id: str, user_id: str) -> bool:
        return (team_id, user_id) in self._locales

    def get(self, team_id: str, user_id: str) -> str | None:
        """The locale remembered for the user (None when unknown or not given)."""
        key = (team_id, user_id)
        if key not in self._locales:
            return None
        self._locales.move_to_end(key)
        return self._locales[key]

    def put(self, team_id: str, user_id: str, locale: str | None) -> None:
        key = (team_id, user_id)
        self._locales[key] = locale
        self._locales.move_to_end(key)
        while len(self._locales) > self._size:
            self._locales.popitem(last=False)

    def __len__(self) -> int:
        return len(self._locales)


class SlackAdapter(HomeAndButtons):
    """Runs ShiftBrief in Slack, in Socket Mode or HTTP mode.

    Args:
        settings: tokens, signing secret, mode, HTTP port, API URL, admin ids, pacing.
        sessionmaker: the database, only for slack_sdk's own OAuth installation tables (HTTP
            mode); every read and write of ours goes through the engine's dispatcher.
        clock: returns the current aware UTC time.
        pacer: paces posts per channel (default: ``settings.slack_messages_per_second``).
    """

    platform: ClassVar[str] = "slack"

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        pacer: Pacer | None = None,
    ) -> None:
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._clock = clock
        # One message per 1/rate seconds: a moving window also holds for fractional rates.
        self._pacer = pacer or Pacer(
            per_destination=RateLimit(1, 1 / settings.slack_messages_per_second)
        )
        self._dispatcher: Dispatcher | None = None
        self._runner: web.AppRunner | None = None
        self._socket: Any = None
        self._port: int | None = None
        self._mounted = False
        self._installation_store: AsyncSQLAlchemyInstallationStore | None = None
        self._state_store: AsyncSQLAlchemyOAuthStateStore | None = None
        self._locales = UserLocales(USER_LOCALES_KEPT)
        self._guard: RequestGuard | None = None
        if settings.slack_mode == "http" and settings.slack_signing_secret is not None:
            self._guard = RequestGuard(
                signing_secret=settings.slack_signing_secret.get_secret_value(),
                sessionmaker=sessionmaker,
            )
        self.app = self._build_app()

    # ------------------------------------------------------------------ set-up and lifecycle

    @property
    def http_port(self) -> int | None:
        """The port HTTP mode listens on, once started (useful with port 0)."""
        return self._port

    def _uses_oauth(self) -> bool:
        s = self._settings
        return s.slack_mode == "http" and bool(s.slack_client_id and s.slack_client_secret)

    def _new_client(self, token: str | None) -> AsyncWebClient:
        return AsyncWebClient(
            token=token,
            base_url=self._settings.slack_api_url,
            timeout=30,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
        )

    def _build_app(self) -> AsyncApp:
        s = self._settings
        token = s.slack_bot_token.get_secret_value() if s.slack_bot_token else None
        secret = s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else None
        kwargs: dict[str, Any] = {
            "signing_secret": secret,
            # Socket Mode requests are not signed; HTTP mode ones always are.
            "request_verification_enabled": s.slack_mode == "http",
        }
        if self._uses_oauth():
            engine: AsyncEngine = self._sessionmaker.kw["bind"]
            client_id = s.slack_client_id or ""
            self._installation_store = AsyncSQLAlchemyInstallationStore(
                client_id=client_id, engine=engine, logger=log
            )
            self._state_store = AsyncSQLAlchemyOAuthStateStore(
                expiration_seconds=600, engine=engine, logger=log
            )
            assert s.slack_client_secret is not None
            kwargs["client"] = self._new_client(None)
            kwargs["oauth_settings"] = AsyncOAuthSettings(
                client_id=client_id,
                client_secret=s.slack_client_secret.get_secret_value(),
                scopes=list(SCOPES),
                installation_store=self._installation_store,
                state_store=self._state_store,
            )
        else:
            kwargs["client"] = self._new_client(token)
        app = AsyncApp(**kwargs)
        app.middleware(ignore_retries)
        app.command("/brief")(self._on_command)
        app.event("app_home_opened")(self._on_home_opened)
        app.event("reaction_added")(self._on_reaction)
        app.event("reaction_removed")(self._on_reaction)
        app.options(home.ZONE)(self._on_zone_options)
        app.action(re.compile(r"^home_"))(self._on_home_action)
        app.action(re.compile(rf"^({VOTE_UP}|{VOTE_DOWN}):"))(self._on_vote)
        app.action(re.compile(rf"^{MORE}:"))(self._on_more)
        app.action(re.compile(rf"^{WHY}:"))(self._on_why)
        return app

    @property
    def ready(self) -> bool:
        """Connected (Socket Mode) or serving /slack/events (HTTP mode)."""
        if self._settings.slack_mode == "http":
            return self._mounted or self._runner is not None
        return self._socket is not None

    def mount(self, app: web.Application) -> bool:
        """In HTTP mode, serve /slack/events (and the OAuth pages) on ``app``, the process's
        one HTTP port, instead of a server of the adapter's own; False in Socket Mode."""
        if self._settings.slack_mode != "http":
            return False
        self._add_routes(app)
        self._mounted = True
        return True

    def _add_routes(self, app: web.Application) -> None:
        """bolt's routes on ``app``, the signed POSTs behind the replay guard."""
        bolt_app = self.app.web_app(path="/slack/events", port=self._settings.http_port)
        for route in bolt_app.router.routes():
            handler = route.handler
            if route.method == "POST" and self._guard is not None:
                handler = self._guard.wrap(handler)
            app.router.add_route(route.method, route.resource.canonical, handler)  # type: ignore[union-attr]

    async def start(self, dispatcher: Dispatcher) -> None:
        """Connect (Socket Mode) or start serving /slack/events (HTTP mode), then return.

        The connection keeps running on the event loop until ``close()``.
        """
        self._dispatcher = dispatcher
        s = self._settings
        if self._installation_store is not None and self._state_store is not None:
            # slack_sdk's tables live beside ours; it creates them when missing.
            await self._installation_store.create_tables()  # type: ignore[no-untyped-call]
            await self._state_store.create_tables()  # type: ignore[no-untyped-call]
        if s.slack_mode == "http" and self._mounted:
            log.info("Slack HTTP mode: /slack/events on the shared HTTP port")
            return
        if s.slack_mode == "http":
            web_app = web.Application()
            self._add_routes(web_app)
            runner = web.AppRunner(web_app)
            await runner.setup()
            site = web.TCPSite(runner, s.http_host, s.http_port)
            await site.start()
            self._runner = runner
            self._port = runner.addresses[0][1]
            log.info("Slack HTTP mode listening on %s:%s/slack/events", s.http_host, self._port)
            return
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        if s.slack_app_token is None:
            raise ValueError("Socket Mode needs SLACK_APP_TOKEN (an xapp- token)")
        self._socket = AsyncSocketModeHandler(self.app, s.slack_app_token.get_secret_value())
        await self._socket.connect_async()
        log.info("Slack Socket Mode connected")

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _require_dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            raise RuntimeError("SlackAdapter.start() was not called")
        return self._dispatcher

    async def client_for(self, tenant_id: str) -> AsyncWebClient:
        """A Web API client with the bot token of workspace ``tenant_id``.

        Raises:
            PermanentDeliveryError: the app is not installed in that workspace.
        """
        if self._installation_store is None:
            return self.app.client
        bot = await self._installation_store.async_find_bot(enterprise_id=None, team_id=tenant_id)
        if bot is None:
            raise PermanentDeliveryError(f"the app is not installed in workspace {tenant_id}")
        return self._new_client(bot.bot_token)

    # ------------------------------------------------------------------ /brief

    async def _on_command(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: AsyncWebClient
    ) -> None:
        await ack()  # first: Slack shows an error after 3 s without it
        try:
            await self._run_command(body, respond, client)
        except Exception:
            # Nothing may escape after ack(): bolt would then drop the ack it has not sent yet.
            log.exception(
                "/brief failed after ack: team=%s user=%s", body.get("team_id"), body.get("user_id")
            )
            team, user = str(body.get("team_id") or ""), str(body.get("user_id") or "")
            language = cmd.language_from_locale(self._locales.get(team, user))
            await respond(
                text=phrase(DISPATCHER_MESSAGES, "apology", language),
                response_type="ephemeral",
                replace_original=False,
            )

    async def _run_command(
        self, body: dict[str, Any], respond: Respond, client: AsyncWebClient
    ) -> None:
        text = command_text(str(body.get("text") or ""))
        team = str(body.get("team_id") or "")
        user = str(body.get("user_id") or "")
        channel = body.get("channel_id")
        # Admin status is asked for admin commands only, in every spelling the parser accepts
        # ("brief admin", full-width "ａｄｍｉｎ"), so a real admin is never refused; it is never
        # cached, so a demoted admin loses the commands at once.
        admin_command = cmd.names_admin_command(text)
        needs_admin_check = admin_command and user not in self._settings.admin_user_ids
        profile: dict[str, Any] | None = None
        if needs_admin_check or not self._locales.knows(team, user):
            # One users.info call answers both questions.
            profile = await self._user_profile(client, team, user)
        is_admin = admin_command and (
            user in self._settings.admin_user_ids
            or bool(profile and (profile.get("is_admin") or profile.get("is_owner")))
        )
        invocation = cmd.Invocation(
            platform=self.platform,
            tenant_id=team,
            user_id=user,
            channel_id=str(channel) if channel else None,
            is_admin=is_admin,
            locale=self._locales.get(team, user),
        )
        reply = await self._require_dispatcher().handle(
            cmd.CommandRequest(cmd.CommandText(text), invocation)
        )
        await self._answer(client, invocation, reply, respond)

    async def _user_profile(
        self, client: AsyncWebClient, team_id: str, user_id: str
    ) -> dict[str, Any] | None:
        """``user_id``'s users.info record, remembering its locale; None when Slack failed.

        Slack sends no locale with commands, so this is how a new user's first answer comes in
        their language (the dispatcher uses ``Invocation.locale`` only for new users).
        """
        try:
            info = await client.users_info(user=user_id, include_locale=True)
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError):
            log.warning(
                "users.info failed for %s/%s; no locale, not an admin",
                team_id,
                user_id,
                exc_info=True,
            )
            return None
        profile = info.get("user")
        if not isinstance(profile, dict):
            return None
        locale = profile.get("locale")
        self._locales.put(team_id, user_id, locale if isinstance(locale, str) else None)
        return profile

    async def _locale_of(self, client: AsyncWebClient, team_id: str, user_id: str) -> str | None:
        """``user_id``'s Slack locale (such as ``ja-JP``), from memory or users.info."""
        if not self._locales.knows(team_id, user_id):
            await self._user_profile(client, team_id, user_id)
        return self._locales.get(team_id, user_id)

    async def _answer(
        self,
        client: AsyncWebClient,
        invocation: cmd.Invocation,
        reply: Reply,
        respond: Respond | None,
    ) -> None:
        """Send ``reply``: through response_url when there is one, else with chat.postEphemeral."""
        messages: list[SlackMessage] = []
        if reply.text or reply.results:
            messages.append(render_reply(reply))
        if reply.briefing is not None:
            messages += render_briefing_messages(reply.briefing)
        response_type = "ephemeral" if reply.ephemeral else "in_channel"
        for index, message in enumerate(messages):
            if respond is not None and index < RESPONSE_URL_POSTS:
                await respond(
                    text=message.text,
                    blocks=message.blocks or None,
                    response_type=response_type,
                    replace_original=False,
                )
            elif invocation.channel_id:
                await client.chat_postEphemeral(
                    channel=invocation.channel_id,
                    user=invocation.user_id,
                    text=message.text,
                    blocks=message.blocks or None,
                )

    async def reply(self, invocation: cmd.Invocation, reply: Reply) -> None:
        """Answer an invocation outside a request (no response_url): ephemeral in its channel."""
        client = await self.client_for(invocation.tenant_id)
        await self._answer(client, invocation, reply, None)

    # ------------------------------------------------------------------ digests

    async def join_channel(self, tenant_id: str, channel_id: str) -> JoinRefusal | None:
        """Join a channel a digest is set for (``adapters.slack.delivery.join_channel``)."""
        if not channel_id or channel_id.startswith(("#", "D")):
            return None  # a channel known only by name, or a DM: nothing to join
        try:
            client = await self.client_for(tenant_id)
        except PermanentDeliveryError:
            return "no_permission"
        return await slack_delivery.join_channel(client, channel_id)

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
        """Post ``briefing`` to a channel or a user's DM, part ``start_part`` onwards, paced.

        ``on_sent(ts)`` is awaited after each part is posted, before the next one goes out.
        With ``idempotency_key`` every part carries message metadata naming the delivery and
        its part number; with ``resume_since`` too, the parts already in the channel since then
        (an interrupted attempt's, see ``adapters.slack.delivery``) are reported through
        ``on_sent`` and not posted again.

        Raises:
            PermanentDeliveryError: retrying cannot help: the destination is gone or closed
                (``disable_subscription``), or Slack refused this message (not disabling).
            TransientDeliveryError: rate limited after retries, Slack 5xx, a timeout.
        """
        client = await self.client_for(dest.tenant_id)
        sent: list[str] = []
        channel = dest.external_id
        if dest.kind == "user":
            opened = await self._call(client.conversations_open(users=dest.external_id), dest, sent)
            channel = str((opened.get("channel") or {}).get("id") or "")
        found: dict[int, str] | None = None
        if resume_since is not None and idempotency_key:
            lookup = slack_delivery.posted_parts(client, channel, idempotency_key, resume_since)
            found = await self._call(lookup, dest, sent)
        found = found or {}
        messages = render_briefing_messages(briefing)
        for number, message in enumerate(messages[start_part:], start=start_part):
            ts = found.get(number)
            if ts is not None:
                log.info(
                    "part %d of %s is in %s already (ts %s); not posting it again",
                    number,
                    idempotency_key,
                    channel,
                    ts,
                )
            else:
                await self._pacer.wait(channel)
                metadata = (
                    slack_delivery.part_metadata(idempotency_key, number)
                    if idempotency_key
                    else None
                )
                posted = await self._call(
                    client.chat_postMessage(
                        channel=channel,
                        text=message.text,
                        blocks=message.blocks,
                        unfurl_links=False,
                        unfurl_media=False,
                        metadata=metadata,
                    ),
                    dest,
                    sent,
                )
                ts = str(posted.get("ts"))
            sent.append(ts)
            # Outside _call: an error of the engine's own recording is not a Slack error.
            if on_sent is not None:
                await on_sent(ts)
        return MessageRef(platform=self.platform, channel_id=channel, message_ids=tuple(sent))

    async def _call(self, request: Awaitable[_T], dest: Destination, sent: list[str]) -> _T:
        """Await one Web API call, turning its failure into the engine's delivery errors."""
        try:
            return await request
        except SlackApiError as exc:
            raise delivery_error(exc, dest, tuple(sent)) from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            raise TransientDeliveryError(
                f"Slack could not be reached: {type(exc).__name__}", sent_message_ids=tuple(sent)
            ) from exc
