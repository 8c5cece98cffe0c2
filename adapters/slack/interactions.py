"""Slack's App Home tab and the buttons under a briefing, as requests to the engine.

A mixin of ``SlackAdapter``: a changed Home control becomes a ``settings`` request, the Home
view a ``ReaderView`` request, "More like this" / "Less like this" a ``Vote``, "More on
<sector>" a ``MoreOn`` and "Why this?" a ``WhyStory`` (what ``/brief why`` answers, for the
presser only); a 👍 or 👎 reaction on a briefing the bot posted is a ``Vote`` too
(``adapters.slack.reactions``). The engine's handlers answer them all, in the reader's language.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import home
from adapters.slack.reactions import lead_vote, reacted_message, reaction_value
from adapters.slack.render import VOTE_UP, escape_multiline, mark_vote
from bot import untrusted
from bot.briefing.render_text import clean_text
from bot.commands import grammar as cmd
from bot.commands.dispatcher import Dispatcher, Reply

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[None]]
Respond = Callable[..., Awaitable[Any]]


class HomeAndButtons:
    """App Home and feedback-button handlers; ``SlackAdapter`` provides the rest."""

    platform: ClassVar[str] = "slack"

    def _require_dispatcher(self) -> Dispatcher:
        raise NotImplementedError

    async def _locale_of(self, client: AsyncWebClient, team_id: str, user_id: str) -> str | None:
        raise NotImplementedError

    async def _answer(
        self,
        client: AsyncWebClient,
        invocation: cmd.Invocation,
        reply: Reply,
        respond: Respond | None,
    ) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ App Home

    async def _on_home_opened(
        self, event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        await self.publish_home(
            client, team_id=str(context.get("team_id") or ""), user_id=event["user"]
        )

    async def _invocation(
        self, client: AsyncWebClient, team_id: str, user_id: str, channel_id: str | None = None
    ) -> cmd.Invocation:
        """Who pressed or opened something; the locale starts a new reader in their language."""
        return cmd.Invocation(
            platform=self.platform,
            tenant_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
            locale=await self._locale_of(client, team_id, user_id),
        )

    async def publish_home(
        self, client: AsyncWebClient, *, team_id: str, user_id: str, notice: str | None = None
    ) -> None:
        """Publish ``user_id``'s Home tab: settings and today's top stories (and ``notice``,
        such as why a value was not saved)."""
        invocation = await self._invocation(client, team_id, user_id)
        reply = await self._require_dispatcher().handle(
            cmd.CommandRequest(cmd.ReaderView(), invocation)
        )
        if reply.settings is None:
            log.warning("home: no view for %s/%s: %s", team_id, user_id, reply.text)
            return
        settings = home.HomeSettings(**dataclasses.asdict(reply.settings))
        view = home.render_home(settings, reply.sectors, reply.briefing, notice=notice)
        await client.views_publish(user_id=user_id, view=view)

    async def _on_zone_options(self, ack: Ack, body: dict[str, Any]) -> None:
        query = str(body.get("value") or "")
        zones = cmd.zone_choices(query, limit=100) if query else []
        await ack(options=[{"text": {"type": "plain_text", "text": z}, "value": z} for z in zones])

    async def _on_home_action(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        """A changed Home control becomes a ``settings`` request, checked and saved (and the
        scheduler resynced) exactly like ``/brief settings``."""
        await ack()
        user_id = str(body["user"]["id"])
        team_id = _team_of(body, context)
        notice: str | None = None
        for action in body.get("actions") or []:
            change = home.read_home_action(action)
            if change is None:
                continue
            invocation = await self._invocation(client, team_id, user_id)
            options = cmd.CommandOptions("settings", {change.field: change.value})
            reply = await self._require_dispatcher().handle(cmd.CommandRequest(options, invocation))
            if reply.error:
                notice = reply.text
            log.info("home: %s/%s set %s", team_id, user_id, change.field)
        await self.publish_home(client, team_id=team_id, user_id=user_id, notice=notice)

    # ------------------------------------------------------------------ feedback buttons

    async def _on_vote(
        self,
        ack: Ack,
        body: dict[str, Any],
        respond: Respond,
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        await ack()
        action = body["actions"][0]
        action_id = str(action["action_id"])
        value = _button_value(action.get("value"))
        story = value.get("story")
        if not story:
            return
        team_id = _team_of(body, context)
        invocation = await self._invocation(client, team_id, str(body["user"]["id"]))
        vote = cmd.Vote(story, 1 if action_id.startswith(VOTE_UP) else -1, value.get("sector"))
        reply = await self._require_dispatcher().handle(cmd.CommandRequest(vote, invocation))
        message = body.get("message")
        container = body.get("container") or {}
        if not reply.error and message and message.get("blocks"):
            blocks = mark_vote(message["blocks"], action_id)
            if container.get("is_ephemeral"):
                await respond(blocks=blocks, text=message.get("text", ""), replace_original=True)
            else:
                await client.chat_update(
                    channel=str(container.get("channel_id") or body["channel"]["id"]),
                    ts=str(message["ts"]),
                    blocks=blocks,
                    text=message.get("text", ""),
                )
        else:
            text = escape_multiline(untrusted.render(reply.text, clean_text))
            await respond(text=text, response_type="ephemeral", replace_original=False)

    async def _on_reaction(
        self, event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A 👍 or 👎 on a briefing the bot posted: the reactor's vote on the story the message
        leads, stored as the button's would be; removed, that vote taken back (if it is still
        theirs). Nothing is posted back (the reaction shows)."""
        value = reaction_value(str(event.get("reaction") or ""))
        item = event.get("item") or {}
        user, bot = str(event.get("user") or ""), context.get("bot_user_id")
        if value is None or item.get("type") != "message" or not user or user == bot:
            return
        if bot and event.get("item_user") not in (None, bot):
            return  # on someone else's message
        channel, ts = str(item.get("channel") or ""), str(item.get("ts") or "")
        message = await reacted_message(client, channel, ts)
        if message is None or not (message.get("bot_id") or message.get("user") == bot):
            return
        voted = lead_vote(message)
        if voted is None:
            return  # one of our messages, but no briefing
        story, sector = voted
        team_id = str(context.get("team_id") or event.get("team") or "")
        invocation = await self._invocation(client, team_id, user, channel)
        withdraw = event.get("type") == "reaction_removed"
        vote = cmd.Vote(story, value, sector, withdraw=withdraw)
        reply = await self._require_dispatcher().handle(cmd.CommandRequest(vote, invocation))
        if reply.error:
            log.warning("reaction vote by %s/%s not stored: %s", team_id, user, reply.text)

    async def _on_more(
        self,
        ack: Ack,
        body: dict[str, Any],
        respond: Respond,
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        await ack()
        action = body["actions"][0]
        value = _button_value(action.get("value"))
        sector = value.get("sector")
        if not sector:
            return
        more = cmd.MoreOn(sector, value.get("story") or f"sector:{sector}")
        await self._press(more, body, respond, client, context)

    async def _on_why(
        self,
        ack: Ack,
        body: dict[str, Any],
        respond: Respond,
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        """ "Why this?": the answer of ``/brief why <story>``, shown only to the presser."""
        await ack()
        story = _button_value(body["actions"][0].get("value")).get("story")
        if not story:
            return
        await self._press(cmd.WhyStory(story), body, respond, client, context, ephemeral=True)

    async def _press(
        self,
        command: cmd.CommandBase,
        body: dict[str, Any],
        respond: Respond,
        client: AsyncWebClient,
        context: dict[str, Any],
        *,
        ephemeral: bool = False,
    ) -> None:
        """A button's request, answered as the presser's own command would be."""
        team_id = _team_of(body, context)
        channel_id = (body.get("channel") or {}).get("id")
        invocation = await self._invocation(client, team_id, str(body["user"]["id"]), channel_id)
        reply = await self._require_dispatcher().handle(cmd.CommandRequest(command, invocation))
        if ephemeral:
            reply = dataclasses.replace(reply, ephemeral=True)
        await self._answer(client, invocation, reply, respond)


def _button_value(raw: Any) -> dict[str, str]:
    """A button's value as we wrote it (JSON), or the bare story key of an older message."""
    try:
        value = json.loads(str(raw))
    except (TypeError, ValueError):
        return {"story": str(raw)} if raw else {}
    if not isinstance(value, dict):
        return {"story": str(raw)}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}


def _team_of(body: dict[str, Any], context: dict[str, Any]) -> str:
    """The workspace an action came from: bolt's context, else the payload's own team."""
    return str(context.get("team_id") or (body.get("team") or {}).get("id") or "")
