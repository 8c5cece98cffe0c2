"""The Slack adapter end to end: signed requests to HTTP mode, a fake Web API, a SQLite file."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import sqlalchemy
from sqlalchemy import select

from adapters.slack.adapter import SlackAdapter, UserLocales
from adapters.slack.render import VOTE_UP, render_briefing_messages
from bot.commands.dispatcher import Dispatcher
from bot.commands.grammar import CommandRequest, CommandText, Invocation
from bot.config import Settings
from bot.delivery.deliver import DeliveryService
from bot.delivery.pacing import Pacer, RateLimit
from bot.delivery.schedule import DigestScheduler
from bot.platform import Destination, PermanentDeliveryError, TransientDeliveryError
from shiftbrief.runner import Schedules
from storage.models import AuditLog, Feed, Feedback, FeedOwner, Item, ItemSector, Subscriber
from tests.slack_api import TEAM_ID, Failure, SlackAPI
from tests.test_render_slack import long_briefing

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = datetime(2025, 3, 4, 7, 0, tzinfo=UTC)
ADMIN = "UADMIN"
CONFIGURED_ADMIN = "UCONF"


@dataclass
class Slack:
    api: SlackAPI
    adapter: SlackAdapter
    url: str
    http: aiohttp.ClientSession
    sessionmaker: Any

    async def post(
        self,
        body: str,
        *,
        secret: str = SECRET,
        age: int = 0,
        headers: dict[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        ts = str(int(time.time()) - age)
        digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        sent = {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest}",
            "Content-Type": (
                "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
            ),
            **(headers or {}),
        }
        async with self.http.post(self.url, data=body.encode(), headers=sent) as response:
            await response.read()
            return response

    async def command(
        self, text: str, *, user: str = "U1", name: str = "cmd", **kw: Any
    ) -> aiohttp.ClientResponse:
        return await self.post(
            command_body(text, user=user, response_url=self.api.response_url(name)), **kw
        )

    async def answers(self, name: str = "cmd", *, count: int = 1) -> list[dict[str, Any]]:
        """What arrived at response_url ``name``, once ``count`` posts have."""
        return [c.args for c in await self.api.wait_calls(f"response_url:{name}", count)]

    async def settle(self) -> None:
        """Wait until every listener bolt runs after its ack (commands, actions) has finished.

        Bolt runs a listener as a task (``run_ack_function_asynchronously``) and answers the
        request once it has acked, so when a test has its HTTP response, that task exists.
        Waiting for it replaces sleeping "long enough" before asserting that nothing else came.
        """
        current = asyncio.current_task()
        async with asyncio.timeout(60):
            while running := [
                t
                for t in asyncio.all_tasks()
                if t is not current
                and t.get_coro().__qualname__.endswith("run_ack_function_asynchronously")
            ]:
                await asyncio.wait(running)


def command_body(text: str, *, user: str, response_url: str) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": TEAM_ID,
            "team_domain": "example",
            "channel_id": "C1",
            "channel_name": "general",
            "user_id": user,
            "user_name": "someone",
            "command": "/brief",
            "text": text,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


def actions_body(payload: dict[str, Any]) -> str:
    base = {"type": "block_actions", "team": {"id": TEAM_ID}, "api_app_id": "A1", "trigger_id": "t"}
    return urlencode({"payload": json.dumps({**base, **payload})})


@pytest.fixture
async def slack(sqlite_db: Any) -> AsyncIterator[Slack]:
    api = SlackAPI()
    api.users[ADMIN] = {"is_admin": True}
    api.users["UOWNER"] = {"is_owner": True}
    await api.start()
    settings = Settings(
        slack_mode="http",
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=api.base_url,
        http_host="127.0.0.1",
        http_port=0,
        admin_user_ids=(CONFIGURED_ADMIN,),
    )
    clock = lambda: NOW  # noqa: E731
    adapter = SlackAdapter(
        settings=settings,
        sessionmaker=sqlite_db.sessionmaker,
        clock=clock,
        pacer=Pacer(per_destination=RateLimit(1000, 1)),
    )
    await adapter.start(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=clock))
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
        yield Slack(api, adapter, url, http, sqlite_db.sessionmaker)
    await adapter.close()
    await api.stop()


async def add_item(sessionmaker: Any, title: str, sector: str = "ai") -> int:
    async with sessionmaker.begin() as session:
        feed = Feed(url=f"https://feed.example/{abs(hash(title))}", title="Wire", created_at=NOW)
        session.add(feed)
        await session.flush()
        session.add(FeedOwner(feed_id=feed.id, tenant_id=None, created_at=NOW))
        item = Item(
            feed_id=feed.id,
            link="https://news.example/1",
            content_hash=hashlib.sha256(title.encode()).hexdigest(),
            title=title,
            summary="",
            language="en",
            published_at=NOW - timedelta(hours=1),
            first_seen_at=NOW - timedelta(hours=1),
        )
        session.add(item)
        await session.flush()
        session.add(ItemSector(item_id=item.id, sector_key=sector, score=1.0, matched=[]))
        return item.id


def all_text(answer: dict[str, Any]) -> str:
    return json.dumps(answer.get("blocks") or [], ensure_ascii=False) + answer.get("text", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "/brief today"),
        ("help search", "search"),
        ("today", "Briefing for"),
        ("sector ai", "Briefing for"),
        ("search quantum", "quantum"),
        ("subscribe ai", "Subscribed to"),
        ("follow chips", "Following"),
        ("settings time 07:30 tz Asia/Tokyo", "Settings saved"),
        ("admin feeds list", "for workspace admins"),
        ("frobnicate", "frobnicate"),
    ],
)
async def test_each_command_is_acked_quickly_and_answered_ephemerally(
    slack: Slack, text: str, expected: str
) -> None:
    # The answer is held back: the ack must come while the command has not finished.
    release = slack.api.hold("cmd")
    async with asyncio.timeout(60):
        response = await slack.command(text)
    assert response.status == 200
    release.set()
    await slack.answers()
    await slack.settle()  # a tip may come before the briefing
    answers = [c.args for c in slack.api.called("response_url:cmd")]
    assert all(a["response_type"] == "ephemeral" for a in answers)
    assert expected in " ".join(all_text(a) for a in answers)


async def test_bad_signature_and_stale_timestamp_are_refused(slack: Slack) -> None:
    wrong = await slack.command("subscribe ai", secret="not-the-secret")
    stale = await slack.command("subscribe ai", age=6 * 60)
    assert (wrong.status, stale.status) == (401, 401)
    await slack.settle()
    assert slack.api.called("response_url:cmd") == []
    async with slack.sessionmaker() as session:
        assert (await session.execute(select(Subscriber))).first() is None


async def test_a_retried_delivery_does_not_run_the_command_again(slack: Slack) -> None:
    first = await slack.command("follow chips")
    retry = await slack.command(
        "follow chips", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert (first.status, retry.status) == (200, 200)
    await slack.answers()
    await slack.settle()
    assert len(slack.api.called("response_url:cmd")) == 1


async def test_a_retry_alone_is_acked_without_running(slack: Slack) -> None:
    retry = await slack.command("subscribe ai", headers={"X-Slack-Retry-Num": "2"})
    assert retry.status == 200
    await slack.settle()
    assert slack.api.called("response_url:cmd") == []
    async with slack.sessionmaker() as session:
        assert (await session.execute(select(Subscriber))).first() is None


@pytest.mark.parametrize("user", [ADMIN, "UOWNER", CONFIGURED_ADMIN])
async def test_admins_and_owners_may_run_admin_commands_and_are_audited(
    slack: Slack, user: str
) -> None:
    await slack.command("admin sectors add space Space 宇宙", user=user)
    (answer,) = await slack.answers()
    assert "Added sector" in all_text(answer)
    async with slack.sessionmaker() as session:
        (entry,) = (await session.execute(select(AuditLog))).scalars()
    assert entry.actor == f"slack:{user}"
    assert entry.action == "sectors add"


@pytest.mark.parametrize(
    "text",
    [
        "brief admin sectors add space Space 宇宙",
        "/brief admin sectors add space Space 宇宙",
        "ａｄｍｉｎ sectors add space Space 宇宙",
        "Admin　sectors add space Space 宇宙",
    ],
)
async def test_a_workspace_admin_is_recognised_in_every_spelling_the_parser_accepts(
    slack: Slack, text: str
) -> None:
    await slack.command(text, user=ADMIN)
    (answer,) = await slack.answers()
    assert "Added sector" in all_text(answer)
    assert [c.args["user"] for c in slack.api.called("users.info")] == [ADMIN]


async def test_a_japanese_slack_user_is_answered_in_japanese_from_the_first_command(
    slack: Slack,
) -> None:
    slack.api.users["UJA"] = {"locale": "ja-JP"}
    await slack.command("subscribe ai", user="UJA")
    (answer,) = await slack.answers()
    assert "を購読しました" in all_text(answer)
    (lookup,) = slack.api.called("users.info")
    assert lookup.args["user"] == "UJA" and lookup.args["include_locale"] in ("1", "true")
    async with slack.sessionmaker() as session:
        user = (
            await session.execute(select(Subscriber).where(Subscriber.external_id == "UJA"))
        ).scalar_one()
    assert user.language == "ja"


async def test_a_users_locale_is_looked_up_once_not_on_every_command(slack: Slack) -> None:
    slack.api.users["UJA"] = {"locale": "ja-JP"}
    slack.api.users["UEN"] = {"locale": "en-GB"}
    for name, user, text in [
        ("a", "UJA", "follow chips"),
        ("b", "UJA", "mute crypto"),
        ("c", "UEN", "follow chips"),
        ("d", "UEN", "today"),
    ]:
        await slack.command(text, user=user, name=name)
        await slack.answers(name)
    assert [c.args["user"] for c in slack.api.called("users.info")] == ["UJA", "UEN"]
    (second,) = await slack.answers("b")
    assert "ミュート" in all_text(second)
    (english,) = await slack.answers("c")
    assert "Following" in all_text(english)


async def test_an_admin_command_asks_users_info_once_for_both_admin_and_locale(
    slack: Slack,
) -> None:
    slack.api.users["UJADMIN"] = {"is_admin": True, "locale": "ja-JP"}
    await slack.command("admin sectors add space Space 宇宙", user="UJADMIN", name="a")
    (added,) = await slack.answers("a")
    assert "セクター `space`" in all_text(added)
    assert len(slack.api.called("users.info")) == 1
    # Admin status is asked again for every admin command (an admin may have been demoted) ...
    slack.api.users["UJADMIN"]["is_admin"] = False
    await slack.command("admin feeds list", user="UJADMIN", name="b")
    (refused,) = await slack.answers("b")
    assert "管理者専用" in all_text(refused)
    assert len(slack.api.called("users.info")) == 2
    # ... but not for ordinary ones, whose locale is remembered.
    await slack.command("today", user="UJADMIN", name="c")
    await slack.answers("c")
    assert len(slack.api.called("users.info")) == 2


async def test_a_plain_user_asking_for_an_admin_command_is_refused(slack: Slack) -> None:
    await slack.command("admin feeds list", user="UPLAIN")
    (answer,) = await slack.answers()
    assert [c.args["user"] for c in slack.api.called("users.info")] == ["UPLAIN"]
    assert "for workspace admins" in all_text(answer)


@pytest.mark.parametrize(
    "failure",
    [Failure(error="user_not_found"), Failure(status=500, body="Internal Server Error")],
)
async def test_a_users_info_failure_still_answers_in_english_and_asks_again_next_time(
    slack: Slack, failure: Failure
) -> None:
    slack.api.users["UJA"] = {"locale": "ja-JP"}
    slack.api.fail("users.info", failure)
    await slack.command("follow chips", user="UJA", name="a")
    (answer,) = await slack.answers("a")
    assert "Following" in all_text(answer)
    # Nothing was remembered from the failure, so the next command asks Slack again.
    await slack.command("today", user="UJA", name="b")
    await slack.answers("b")
    assert len(slack.api.called("users.info")) == 2


def test_remembered_locales_are_bounded_and_the_least_recently_used_go_first() -> None:
    locales = UserLocales(3)
    for user in ("U1", "U2", "U3"):
        locales.put(TEAM_ID, user, "ja-JP")
    assert locales.get(TEAM_ID, "U1") == "ja-JP"  # U1 used: U2 is now the oldest
    locales.put(TEAM_ID, "U4", None)
    assert len(locales) == 3
    assert not locales.knows(TEAM_ID, "U2")
    assert locales.knows(TEAM_ID, "U4") and locales.get(TEAM_ID, "U4") is None
    assert not locales.knows("T0002", "U1")  # per workspace: user ids are not global


async def test_feed_text_that_would_ping_arrives_as_text(slack: Slack) -> None:
    await add_item(slack.sessionmaker, "<!channel> GPU prices <@U123> drop for AI model training")
    await slack.command("sector ai")
    (answer,) = await slack.answers()
    dumped = all_text(answer)
    assert "GPU prices" in dumped
    assert "<!channel>" not in dumped and "<@U123>" not in dumped
    assert "&lt;!channel&gt;" in dumped and "&lt;@U123&gt;" in dumped


async def test_send_now_posts_the_digest_to_the_channel_through_the_ledger(
    slack: Slack,
) -> None:
    await add_item(slack.sessionmaker, "Open model tops a reasoning benchmark", "ai")
    deliveries = DeliveryService(
        sessionmaker=slack.sessionmaker,
        adapters={"slack": slack.adapter},
        clock=lambda: NOW,
        worker_id="test",
    )
    scheduler = DigestScheduler(
        sessionmaker=slack.sessionmaker,
        sink=deliveries,
        clock=lambda: NOW,
        grace=timedelta(hours=1),
        name="slack-send-now",
    )
    dispatcher = Dispatcher(
        sessionmaker=slack.sessionmaker,
        clock=lambda: NOW,
        schedules=Schedules(scheduler=scheduler, deliveries=deliveries),
    )
    reply = await dispatcher.handle(
        CommandRequest(
            CommandText("admin schedule send-now <#C42|news>"),
            Invocation("slack", TEAM_ID, ADMIN, "C1", True),
        )
    )
    assert "#news" in reply.text and reply.ephemeral
    await deliveries.deliver_all()
    posted = slack.api.called("chat.postMessage")
    assert posted and {p.args["channel"] for p in posted} == {"C42"}
    assert "Open model tops a reasoning benchmark" in all_text(posted[0].args)


# --------------------------------------------------------------------------- send_briefing


async def test_rate_limit_is_retried_after_retry_after(slack: Slack) -> None:
    slack.api.fail("chat.postMessage", Failure(status=429, error="ratelimited", retry_after=1))
    started = time.perf_counter()
    ref = await slack.adapter.send_briefing(
        Destination("slack", TEAM_ID, "channel", "C1"), long_briefing(5)
    )
    assert time.perf_counter() - started >= 0.9
    assert len(slack.api.called("chat.postMessage")) == 2
    assert len(ref.message_ids) == 1 and ref.channel_id == "C1"


async def test_rate_limit_beyond_the_retries_is_transient_with_retry_after(slack: Slack) -> None:
    slack.api.fail("chat.postMessage", *[Failure(status=429, retry_after=1)] * 3)
    with pytest.raises(TransientDeliveryError) as caught:
        await slack.adapter.send_briefing(
            Destination("slack", TEAM_ID, "channel", "C1"), long_briefing(5)
        )
    assert caught.value.retry_after == 1.0


@pytest.mark.parametrize(
    "error",
    [
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "missing_scope",
    ],
)
async def test_permanent_errors_map_to_permanent_delivery_error(slack: Slack, error: str) -> None:
    slack.api.fail("chat.postMessage", Failure(error=error))
    with pytest.raises(PermanentDeliveryError) as caught:
        await slack.adapter.send_briefing(
            Destination("slack", TEAM_ID, "channel", "C1"), long_briefing(5)
        )
    assert error in caught.value.reason and "C1" in caught.value.reason
    assert caught.value.disable_subscription


@pytest.mark.parametrize(
    "error",
    [
        "invalid_blocks",
        "msg_blocks_too_long",
        "invalid_arguments",
        # The bot's credentials: every destination fails alike, so none is switched off.
        "account_inactive",
        "token_revoked",
        "invalid_auth",
    ],
)
async def test_a_refused_message_fails_without_disabling_the_subscription(
    slack: Slack, error: str
) -> None:
    # Slack refused this one message: retrying it cannot help, but the channel is fine.
    slack.api.fail("chat.postMessage", Failure(error=error))
    with pytest.raises(PermanentDeliveryError) as caught:
        await slack.adapter.send_briefing(
            Destination("slack", TEAM_ID, "channel", "C1"), long_briefing(5)
        )
    assert error in caught.value.reason and "C1" in caught.value.reason
    assert not caught.value.disable_subscription


async def test_server_errors_are_transient(slack: Slack) -> None:
    slack.api.fail("chat.postMessage", Failure(status=500, body="Internal Server Error"))
    with pytest.raises(TransientDeliveryError):
        await slack.adapter.send_briefing(
            Destination("slack", TEAM_ID, "channel", "C1"), long_briefing(5)
        )


async def test_a_user_digest_opens_the_dm_and_resumes_from_the_failed_part(slack: Slack) -> None:
    brief = long_briefing(60)
    parts = render_briefing_messages(brief)
    ref = await slack.adapter.send_briefing(
        Destination("slack", TEAM_ID, "user", "U7"), brief, start_part=2
    )
    posted = slack.api.called("chat.postMessage")
    assert slack.api.called("conversations.open")[0].args["users"] == "U7"
    assert [c.args["channel"] for c in posted] == ["DU7"] * (len(parts) - 2)
    assert [c.args["blocks"] for c in posted] == [p.blocks for p in parts[2:]]
    assert [c.args["text"] for c in posted] == [p.text for p in parts[2:]]
    assert ref.channel_id == "DU7" and len(ref.message_ids) == len(parts) - 2


async def test_a_failure_midway_reports_the_parts_already_sent(slack: Slack) -> None:
    original = slack.api._answer
    count = 0

    def answer(method: str, args: dict[str, Any]) -> dict[str, Any]:
        nonlocal count
        if method == "chat.postMessage":
            count += 1
            if count == 3:
                return {"ok": False, "error": "channel_not_found"}
        return original(method, args)

    slack.api._answer = answer  # type: ignore[method-assign]
    reported: list[str] = []

    async def on_sent(ts: str) -> None:
        reported.append(ts)

    with pytest.raises(PermanentDeliveryError) as caught:
        await slack.adapter.send_briefing(
            Destination("slack", TEAM_ID, "channel", "C1"), long_briefing(60), on_sent=on_sent
        )
    assert len(slack.api.called("chat.postMessage")) == 3
    expected = tuple(f"1700000000.{n:06d}" for n in (1, 2))
    assert caught.value.sent_message_ids == expected
    # Exactly the two parts posted were reported, and the failed third was not.
    assert tuple(reported) == expected


async def test_on_sent_reports_each_part_before_the_next_is_posted(slack: Slack) -> None:
    brief = long_briefing(60)
    parts = render_briefing_messages(brief)
    assert len(parts) >= 3
    reported: list[tuple[str, int]] = []

    async def on_sent(ts: str) -> None:
        reported.append((ts, len(slack.api.called("chat.postMessage"))))

    ref = await slack.adapter.send_briefing(
        Destination("slack", TEAM_ID, "channel", "C1"), brief, start_part=1, on_sent=on_sent
    )
    assert [ts for ts, _ in reported] == list(ref.message_ids)
    assert len(ref.message_ids) == len(parts) - 1
    # When part n was reported, only parts up to n had reached Slack.
    assert [posts for _, posts in reported] == list(range(1, len(parts)))


async def test_cannot_dm_a_bot_is_permanent(slack: Slack) -> None:
    slack.api.fail("conversations.open", Failure(error="cannot_dm_bot"))
    with pytest.raises(PermanentDeliveryError):
        await slack.adapter.send_briefing(
            Destination("slack", TEAM_ID, "user", "B1"), long_briefing(5)
        )


# --------------------------------------------------------------------------- App Home, buttons


async def test_opening_the_home_tab_first_starts_a_japanese_user_in_japanese(
    slack: Slack,
) -> None:
    slack.api.users["UHOME"] = {"locale": "ja-JP"}
    event = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": "Ev9",
        "event_time": int(NOW.timestamp()),
        "event": {"type": "app_home_opened", "user": "UHOME", "channel": "D9", "tab": "home"},
    }
    assert (await slack.post(json.dumps(event))).status == 200
    published = await wait_for(slack, "views.publish")
    assert "設定" in json.dumps(published.args["view"], ensure_ascii=False)
    async with slack.sessionmaker() as session:
        user = (
            await session.execute(
                sqlalchemy.select(Subscriber).where(Subscriber.external_id == "UHOME")
            )
        ).scalar_one()
    assert user.language == "ja"


async def test_app_home_publishes_and_a_checkbox_change_saves(slack: Slack) -> None:
    await add_item(slack.sessionmaker, "New AI model beats benchmark on language tasks")
    event = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": int(NOW.timestamp()),
        "event": {"type": "app_home_opened", "user": "U5", "channel": "D5", "tab": "home"},
    }
    response = await slack.post(json.dumps(event))
    assert response.status == 200
    published = await wait_for(slack, "views.publish")
    assert published.args["user_id"] == "U5"
    view = published.args["view"]
    assert view["type"] == "home"
    dumped = json.dumps(view, ensure_ascii=False)
    assert "home_sectors" in dumped and "New AI model beats benchmark" in dumped

    change = {
        "user": {"id": "U5", "team_id": TEAM_ID},
        "container": {"type": "view", "view_id": "V0001"},
        "view": {"id": "V0001", "type": "home"},
        "actions": [
            {
                "type": "checkboxes",
                "action_id": "home_sectors",
                "block_id": "home_sectors",
                "selected_options": [{"value": "ai"}, {"value": "green"}],
                "action_ts": "1",
            }
        ],
    }
    assert (await slack.post(actions_body(change))).status == 200
    await wait_for(slack, "views.publish", count=2)
    async with slack.sessionmaker() as session:
        user = (
            await session.execute(select(Subscriber).where(Subscriber.external_id == "U5"))
        ).scalar_one()
    assert user.sectors == ["ai", "green"]
    republished = slack.api.called("views.publish")[1].args["view"]
    checkboxes = republished["blocks"][3]["elements"][0]
    assert sorted(o["value"] for o in checkboxes["initial_options"]) == ["ai", "green"]


async def test_a_thumbs_up_is_stored_and_shown_on_the_message(slack: Slack) -> None:
    (message, *_) = render_briefing_messages(long_briefing(5))
    button = next(
        e
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith(VOTE_UP)
    )
    press = {
        "user": {"id": "U9", "team_id": TEAM_ID},
        "channel": {"id": "C1"},
        "container": {
            "type": "message",
            "message_ts": "1700.1",
            "channel_id": "C1",
            "is_ephemeral": False,
        },
        "message": {"ts": "1700.1", "text": message.text, "blocks": message.blocks},
        "response_url": slack.api.response_url("vote"),
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "value": button["value"],
                "block_id": "b",
                "action_ts": "1",
            }
        ],
    }
    assert (await slack.post(actions_body(press))).status == 200
    updated = await wait_for(slack, "chat.update")
    assert updated.args["channel"] == "C1" and updated.args["ts"] == "1700.1"
    pressed = next(
        e
        for b in updated.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == button["action_id"]
    )
    assert pressed["style"] == "primary" and "✓" in pressed["text"]["text"]
    async with slack.sessionmaker() as session:
        (row,) = (await session.execute(select(Feedback))).scalars()
    assert (row.user_id, row.kind, row.value) == ("U9", "vote", 1)
    assert row.story_key == json.loads(button["value"])["story"]


async def wait_for(slack: Slack, method: str, *, count: int = 1) -> Any:
    return (await slack.api.wait_calls(method, count))[count - 1]


async def test_oauth_mode_keeps_installations_in_our_database(sqlite_db: Any) -> None:
    api = SlackAPI()
    await api.start()
    settings = Settings(
        slack_mode="http",
        slack_signing_secret=SECRET,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
        slack_api_url=api.base_url,
        http_host="127.0.0.1",
        http_port=0,
    )
    adapter = SlackAdapter(
        settings=settings, sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW
    )
    await adapter.start(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW))
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{adapter.http_port}/slack/install"
            async with http.get(url, allow_redirects=False) as response:
                page = await response.text()
        assert response.status == 200 and "client_id=111.222" in page
        async with sqlite_db.engine.connect() as conn:
            names = await conn.run_sync(lambda c: sqlalchemy.inspect(c).get_table_names())
        assert {"slack_installations", "slack_bots", "slack_oauth_states"} <= set(names)
        with pytest.raises(PermanentDeliveryError, match="not installed"):
            await adapter.send_briefing(
                Destination("slack", "TNEW", "channel", "C1"), long_briefing(5)
            )
    finally:
        await adapter.close()
        await api.stop()


# --------------------------------------------------------------------------- channel membership


def _channel_admin(slack: Slack) -> Dispatcher:
    return Dispatcher(
        sessionmaker=slack.sessionmaker, clock=lambda: NOW, channels={"slack": slack.adapter}
    )


async def _as_admin(dispatcher: Dispatcher, text: str) -> Any:
    return await dispatcher.handle(
        CommandRequest(CommandText(text), Invocation("slack", TEAM_ID, ADMIN, "C1", True))
    )


async def test_a_digest_set_for_a_public_channel_joins_it_so_a_resumed_digest_repeats_nothing(
    slack: Slack,
) -> None:
    """The bot may post in a public channel it never joined, but not read it back: a digest
    resumed after a crash could not find its parts there and would post them again."""
    slack.api.public_channels.add("C42")
    slack.api.real_ts = True
    reply = await _as_admin(_channel_admin(slack), "admin schedule set <#C42|news> 08:00 UTC")
    assert not reply.error and "#news" in reply.text
    assert [c.args["channel"] for c in slack.api.called("conversations.join")] == ["C42"]
    # Every part posted, then the process died before recording them; the resumed attempt
    # finds them in the channel and posts none again.
    brief = long_briefing(60)
    parts = len(render_briefing_messages(brief))
    dest = Destination("slack", TEAM_ID, "channel", "C42")
    await slack.adapter.send_briefing(dest, brief, idempotency_key="sb-7")
    since = datetime.now(UTC) - timedelta(minutes=1)
    resumed = await slack.adapter.send_briefing(
        dest, brief, idempotency_key="sb-7", resume_since=since
    )
    assert len(slack.api.called("chat.postMessage")) == parts
    assert len(resumed.message_ids) == parts


async def test_a_private_channel_the_bot_is_not_in_is_refused_with_the_fix(slack: Slack) -> None:
    slack.api.private_channels.add("C77")
    reply = await _as_admin(_channel_admin(slack), "admin schedule set <#C77|secret> 08:00 UTC")
    assert reply.error and "#secret" in reply.text and "/invite @ShiftBrief" in reply.text
    assert len(reply.text.splitlines()) == 1
    async with slack.sessionmaker() as session:
        stored = (await session.execute(select(Subscriber.external_id))).scalars().all()
    assert "C77" not in stored
    # Once invited, the same command saves the digest.
    slack.api.joined.add("C77")
    again = await _as_admin(_channel_admin(slack), "admin schedule set <#C77|secret> 08:00 UTC")
    assert not again.error and "#secret" in again.text
