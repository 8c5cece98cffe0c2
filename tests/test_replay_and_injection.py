"""Replayed signed Slack requests, and hostile feed text on every surface (issue 11, §4)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import itertools
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from adapters.console import ConsoleAdapter
from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from adapters.slack.adapter import SlackAdapter
from bot import untrusted
from bot.commands.dispatcher import Dispatcher, Reply
from bot.commands.grammar import CommandRequest, CommandText, Invocation
from bot.config import Settings
from bot.delivery.deliver import DeliveryService
from bot.delivery.pacing import Pacer, RateLimit
from bot.delivery.schedule import DigestScheduler
from shiftbrief.logs import TerminalFormatter
from shiftbrief.runner import Schedules
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import Delivery, Item, SeenRequest
from storage.repositories import feeds as feed_repo
from tests.conftest import Database
from tests.slack_api import SlackAPI
from tests.test_cli import Cli
from tests.test_slack_adapter import NOW, SECRET, add_item, command_body

ADMIN = "UADMIN"
SEND_NOW = "admin schedule send-now <#C42|news>"


def ticking_clock() -> Callable[[], datetime]:
    """A clock one second further on at every reading, as a real one would be between the
    original request and its replay (send-now opens one ledger period per instant)."""
    ticks = itertools.count()
    return lambda: NOW + timedelta(seconds=next(ticks))


@dataclass
class SignedRequest:
    body: str
    headers: dict[str, str]


def sign(body: str, *, timestamp: str | None = None, secret: str = SECRET) -> SignedRequest:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return SignedRequest(body, headers)


@dataclass
class SlackApp:
    """One process's Slack adapter in HTTP mode, with the scheduler and delivery worker."""

    adapter: SlackAdapter
    deliveries: DeliveryService
    url: str


@asynccontextmanager
async def slack_app(api: SlackAPI, database_url: str) -> AsyncIterator[SlackApp]:
    """A Slack app with its own engine on ``database_url``, as a separate process would have."""
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    clock = ticking_clock()
    settings = Settings(
        slack_mode="http",
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=api.base_url,
        http_host="127.0.0.1",
        http_port=0,
    )
    adapter = SlackAdapter(
        settings=settings,
        sessionmaker=sessionmaker,
        clock=clock,
        pacer=Pacer(per_destination=RateLimit(1000, 1)),
    )
    deliveries = DeliveryService(
        sessionmaker=sessionmaker, adapters={"slack": adapter}, clock=clock, worker_id="test"
    )
    scheduler = DigestScheduler(
        sessionmaker=sessionmaker,
        sink=deliveries,
        clock=clock,
        grace=timedelta(hours=1),
        name=f"replay-{id(adapter)}",
    )
    dispatcher = Dispatcher(
        sessionmaker=sessionmaker,
        clock=clock,
        schedules=Schedules(scheduler=scheduler, deliveries=deliveries),
    )
    await adapter.start(dispatcher)
    try:
        yield SlackApp(adapter, deliveries, f"http://127.0.0.1:{adapter.http_port}/slack/events")
    finally:
        await adapter.close()
        await engine.dispose()


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackAPI]:
    api = SlackAPI()
    api.users[ADMIN] = {"is_admin": True}
    await api.start()
    yield api
    await api.stop()


async def post(http: aiohttp.ClientSession, url: str, request: SignedRequest) -> int:
    async with http.post(url, data=request.body.encode(), headers=request.headers) as response:
        await response.read()
        return response.status


async def answered(api: SlackAPI, name: str) -> None:
    """Wait until the command posted its answer to response_url ``name`` (at most 5 s)."""
    for _ in range(250):
        if api.called(f"response_url:{name}"):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no answer at {name}")


def send_now(api: SlackAPI) -> SignedRequest:
    return sign(command_body(SEND_NOW, user=ADMIN, response_url=api.response_url("send")))


async def digests_posted(api: SlackAPI, database: Database, *apps: SlackApp) -> int:
    """Digests that reached channel C42, after every app's worker delivered what it had."""
    for app in apps:
        await app.deliveries.deliver_all()
    async with database.sessionmaker() as session:
        rows = await session.scalar(select(func.count()).select_from(Delivery))
    posted = [c for c in api.called("chat.postMessage") if c.args["channel"] == "C42"]
    # One story: each digest is one message, and each has its ledger row.
    assert rows == len(posted), (rows, len(posted))
    return len(posted)


async def test_a_replayed_signed_send_now_posts_the_digest_once(
    slack_api: SlackAPI, sqlite_db: Database
) -> None:
    await add_item(sqlite_db.sessionmaker, "Open model tops a reasoning benchmark", "ai")
    request = send_now(slack_api)
    async with slack_app(slack_api, sqlite_db.url) as app, aiohttp.ClientSession() as http:
        assert await post(http, app.url, request) == 200
        await answered(slack_api, "send")
        assert await post(http, app.url, request) == 401
        assert await digests_posted(slack_api, sqlite_db, app) == 1


async def test_a_replay_to_another_process_on_postgresql_is_refused(
    slack_api: SlackAPI, postgres_db: Database
) -> None:
    await add_item(postgres_db.sessionmaker, "Open model tops a reasoning benchmark", "ai")
    request = send_now(slack_api)
    async with (
        slack_app(slack_api, postgres_db.url) as first,
        slack_app(slack_api, postgres_db.url) as second,
        aiohttp.ClientSession() as http,
    ):
        # The same request at both processes at once, then again at each: one runs.
        statuses = await asyncio.gather(
            post(http, first.url, request), post(http, second.url, request)
        )
        assert sorted(statuses) == [200, 401]
        await answered(slack_api, "send")
        assert await post(http, first.url, request) == 401
        assert await post(http, second.url, request) == 401
        assert await digests_posted(slack_api, postgres_db, first, second) == 1


async def test_distinct_requests_each_run_and_seen_signatures_expire(
    slack_api: SlackAPI, sqlite_db: Database
) -> None:
    async with slack_app(slack_api, sqlite_db.url) as app, aiohttp.ClientSession() as http:
        for name in ("a", "b"):
            body = command_body(
                "follow chips", user="U1", response_url=slack_api.response_url(name)
            )
            assert await post(http, app.url, sign(body)) == 200
            await answered(slack_api, name)
        # A request signed six minutes ago is stale; its row is gone once it expired.
        old = sign(
            command_body("follow gpus", user="U1", response_url=slack_api.response_url("c")),
            timestamp=str(int(time.time()) - 6 * 60),
        )
        assert await post(http, app.url, old) == 401
    async with sqlite_db.sessionmaker() as session:
        keys = (await session.scalars(select(SeenRequest.key))).all()
    assert len(keys) == 2 and all(k.startswith("slack:v0=") for k in keys)


@pytest.mark.parametrize("timestamp", ["now", "", "1.7e9", "²", "9" * 40, "-1", " 1 "], ids=repr)
async def test_a_malformed_timestamp_gets_401_not_500(
    slack_api: SlackAPI, sqlite_db: Database, timestamp: str
) -> None:
    body = command_body("follow chips", user="U1", response_url=slack_api.response_url("t"))
    async with slack_app(slack_api, sqlite_db.url) as app, aiohttp.ClientSession() as http:
        assert await post(http, app.url, sign(body, timestamp=timestamp)) == 401


async def test_a_body_that_is_not_utf8_gets_401(slack_api: SlackAPI, sqlite_db: Database) -> None:
    ts = str(int(time.time()))
    raw = b"text=\xff\xfe&command=/brief"
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    async with (
        slack_app(slack_api, sqlite_db.url) as app,
        aiohttp.ClientSession() as http,
        http.post(app.url, data=raw, headers=headers) as response,
    ):
        assert response.status == 401


async def test_slacks_own_retry_of_a_seen_request_is_acked_without_running(
    slack_api: SlackAPI, sqlite_db: Database
) -> None:
    request = sign(
        command_body("follow chips", user="U1", response_url=slack_api.response_url("r"))
    )
    retry = SignedRequest(request.body, {**request.headers, "X-Slack-Retry-Num": "1"})
    async with slack_app(slack_api, sqlite_db.url) as app, aiohttp.ClientSession() as http:
        assert await post(http, app.url, request) == 200
        await answered(slack_api, "r")
        assert await post(http, app.url, retry) == 200
    async with sqlite_db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(SeenRequest)) == 1


# --------------------------------------------------------------------------- hostile feed text

EVIL_LINK = "[Re-authorize now](https://evil.example/login)"
HOSTILE_TITLE = (
    "\x1b]8;;https://evil.example/\x07Click\x1b]8;;\x07 [bold red]loud[/] [/oops] "
    f"{EVIL_LINK} <!channel> @everyone \x1b[2J\x9b31m\u202eevil"
)
"""A channel title as a hostile feed serves it: an OSC-8 hyperlink (ESC, BEL), rich markup with
a stray closing tag, a Markdown masked link, Slack and Discord pings, a clear-screen sequence, an
8-bit CSI and a right-to-left override."""
HOSTILE_REASON = f"HTTP 401 {EVIL_LINK}"
"""What a server can put in its HTTP reason phrase, shown in feed health."""
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")
LIVE_MASKED_LINK = re.compile(r"(?<!\\)\[[^\]\n]*(?<!\\)\]\(\s*<?https?:")
"""A Markdown masked link Discord would make clickable (brackets not backslash-escaped)."""


async def add_hostile_feed(sessionmaker: Any) -> None:
    async with sessionmaker.begin() as session:
        feed = await feed_repo.add_feed(session, url="https://hostile.example/rss", now=NOW)
        feed.title = HOSTILE_TITLE
        feed.state.error_count = 3
        feed.state.last_error = HOSTILE_REASON


async def admin_replies(sqlite_db: Database, platform: str) -> list[Reply]:
    await add_hostile_feed(sqlite_db.sessionmaker)
    dispatcher = Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW)
    invocation = Invocation(platform, "T1", "boss", "C1", is_admin=True)
    return [
        await dispatcher.handle(CommandRequest(CommandText(text), invocation))
        for text in ("admin feeds list", "admin feeds health")
    ]


async def test_discord_admin_replies_show_feed_text_without_live_links(
    sqlite_db: Database,
) -> None:
    replies = await admin_replies(sqlite_db, "discord")
    for reply in replies:
        content = "\n".join(m.content for m in discord_render.render_reply(reply))
        assert "hostile.example" in content
        assert not LIVE_MASKED_LINK.search(content), content
        assert r"\[Re\-authorize now\]" in content
        assert not CONTROL.search(content), content
        assert "@everyone" not in content  # a zero-width space follows every @
    list_content = discord_render.render_reply(replies[0])[0].content
    assert "<https\\://hostile.example/rss>" in list_content  # our own brackets stay ours


async def test_slack_admin_replies_show_feed_text_as_text(sqlite_db: Database) -> None:
    listed, health = await admin_replies(sqlite_db, "slack")
    for reply in (listed, health):
        message = slack_render.render_reply(reply)
        shown = json.dumps(message.blocks, ensure_ascii=False) + message.text
        assert "<!channel>" not in shown and ("&lt;!channel&gt;" in shown or reply is health)
        assert not CONTROL.search(shown), shown
        assert untrusted.OPEN not in shown and untrusted.CLOSE not in shown


async def test_the_console_shows_feed_text_without_escape_sequences(
    sqlite_db: Database,
) -> None:
    await add_hostile_feed(sqlite_db.sessionmaker)
    async with sqlite_db.sessionmaker.begin() as session:
        session.add(
            Item(
                feed_id=1,
                link="https://hostile.example/1",
                content_hash="1" * 64,
                title=f"Quantum {HOSTILE_TITLE}",
                summary="",
                language="en",
                first_seen_at=NOW,
            )
        )
    out = io.StringIO()
    console = ConsoleAdapter(user_id="boss", is_admin=True, stdout=out)
    dispatcher = Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW)
    for text in ("/brief admin feeds list", "/brief admin feeds health", "/brief search quantum"):
        await console.ask(dispatcher, text)
    shown = out.getvalue()
    # The list, the search hit and its source (the feed title): shown, as text.
    assert shown.count("Click") == 3 and EVIL_LINK in shown
    assert not CONTROL.search(shown), repr(shown)
    assert untrusted.OPEN not in shown and untrusted.CLOSE not in shown


async def test_shiftbrief_feeds_list_and_console_show_feed_text_as_text(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    engine = make_engine(cli.env["SHIFTBRIEF_DATABASE_URL"])
    await upgrade(engine)
    await add_hostile_feed(make_sessionmaker(engine))
    await engine.dispose()
    listed = await cli("feeds", "list", COLUMNS="400")
    assert listed.returncode == 0, listed.stderr  # was a rich MarkupError on "[/oops]"
    assert "[bold red]loud[/] [/oops]" in listed.stdout and EVIL_LINK in listed.stdout
    assert not CONTROL.search(listed.stdout), repr(listed.stdout)
    console = await cli(
        "console", "--admin", stdin="/brief admin feeds list\n/brief admin feeds health\n"
    )
    assert console.returncode == 0, console.stderr
    assert "Click" in console.stdout and HOSTILE_REASON in console.stdout
    assert not CONTROL.search(console.stdout), repr(console.stdout)


def test_quoted_text_cannot_close_its_quote_early() -> None:
    sneaky = f"a{untrusted.CLOSE}[x](https://evil.example){untrusted.OPEN}b"
    text = f"Feed: {untrusted.quote(sneaky)}."
    shown = untrusted.render(text, discord_render.escape_discord)
    assert shown == r"Feed: a\[x\]\(https\://evil.example\)b."


def test_log_lines_on_a_terminal_carry_no_escape_sequences() -> None:
    record = logging.makeLogRecord(
        {
            "levelname": "WARNING",
            "msg": "feed %s failed: %s",
            "args": (HOSTILE_TITLE, HOSTILE_REASON),
            "exc_text": "Traceback (most recent call last):\n\tline\x1b[2J",
        }
    )
    line = TerminalFormatter("%(levelname)s %(message)s").format(record)
    assert not CONTROL.search(line), repr(line)
    assert "Traceback (most recent call last):\n\tline" in line  # the traceback keeps its shape
    assert EVIL_LINK in line and "Click" in line
