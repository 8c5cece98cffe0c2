"""The Discord adapter against a local server playing Discord's REST API.

Interactions are built from the JSON Discord sends on the gateway (INTERACTION_CREATE) and handed
to discord.py's own connection state, so the real command tree parses them and the real HTTP
client answers; the tests assert on what reached the server and on the database.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from sqlalchemy import select

from adapters.discord.adapter import JA_DESCRIPTIONS, DiscordAdapter, command_payload
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.models import Briefing, SectorSection, SourceRef, StoryEntry
from bot.platform import Destination, PermanentDeliveryError, TransientDeliveryError
from storage.models import Feedback, Subscriber
from tests.conftest import Database
from tests.discord_api import APP_ID, FakeDiscord, user_json
from tests.seed import seed_news

GUILD = "1000000000000000001"
CHANNEL = "1000000000000000002"
USER = "1000000000000000003"
NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
MANAGE_GUILD = str(1 << 5)
_ids = itertools.count(1_500_000_000_000_000_000)


@dataclass
class Env:
    api: FakeDiscord
    adapter: DiscordAdapter
    db: Database

    def receive(self, payload: dict[str, Any]) -> None:
        """Hand an INTERACTION_CREATE payload to discord.py, as the gateway would."""
        self.adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]


def make_adapter(api: FakeDiscord, db: Database, state: Path, **overrides: Any) -> DiscordAdapter:
    settings = Settings(
        discord_token="test-token",
        discord_api_url=api.base_url,
        discord_channel_messages=100,
        **overrides,
    )
    return DiscordAdapter(
        settings=settings,
        sessionmaker=db.sessionmaker,
        clock=lambda: NOW,
        sync_state_path=state,
    )


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    # The adapter points discord.py's class-wide REST base at the fake; put it back afterwards.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    server = FakeDiscord()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def env(api: FakeDiscord, sqlite_db: Database, tmp_path: Path) -> AsyncIterator[Env]:
    adapter = make_adapter(api, sqlite_db, tmp_path / "sync.json", discord_admin_role="Editors")
    await adapter.login(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW))
    yield Env(api, adapter, sqlite_db)
    await adapter.close()


def interaction(
    sub: str,
    options: list[dict[str, Any]] | None = None,
    *,
    group: str | None = None,
    kind: int = 2,
    in_guild: bool = True,
    permissions: str = "0",
    roles: list[str] | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """An APPLICATION_COMMAND (2) or AUTOCOMPLETE (4) interaction as Discord sends it."""
    option: dict[str, Any] = {"name": sub, "type": 1, "options": options or []}
    if group:
        option = {"name": group, "type": 2, "options": [option]}
    data = {"id": "1200000000000000001", "name": "brief", "type": 1, "options": [option]}
    return _base(kind, data, in_guild=in_guild, permissions=permissions, roles=roles, locale=locale)


def _base(
    kind: int,
    data: dict[str, Any],
    *,
    in_guild: bool,
    permissions: str = "0",
    roles: list[str] | None = None,
    locale: str = "en-US",
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": APP_ID,
        "type": kind,
        "token": f"token-{next(_ids)}",
        "version": 1,
        "locale": locale,
        "data": data,
        "app_permissions": "562949953421311",
        "entitlements": [],
        "attachment_size_limit": 8388608,
        "channel_id": CHANNEL,
    }
    if in_guild:
        payload |= {
            "guild_id": GUILD,
            "guild_locale": "en-US",
            "authorizing_integration_owners": {"0": GUILD},
            "context": 0,
            "channel": {
                "id": CHANNEL,
                "type": 0,
                "guild_id": GUILD,
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "rate_limit_per_user": 0,
                "last_message_id": None,
                "flags": 0,
                "permissions": permissions,
            },
            "member": {
                "user": user_json(USER),
                "roles": roles or [],
                "permissions": permissions,
                "joined_at": "2024-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "pending": False,
                "nick": None,
                "avatar": None,
                "premium_since": None,
            },
        }
    else:
        payload |= {
            "user": user_json(USER),
            "authorizing_integration_owners": {"1": USER},
            "context": 1,
            "channel": {
                "id": CHANNEL,
                "type": 1,
                "recipients": [user_json(USER)],
                "last_message_id": None,
                "flags": 0,
            },
        }
    if message is not None:
        payload["message"] = message
    return payload


def followups(api: FakeDiscord) -> list[dict[str, Any]]:
    return [c.json for c in api.requests("POST", f"/webhooks/{APP_ID}/")]


def callbacks(api: FakeDiscord) -> list[dict[str, Any]]:
    return [c.json for c in api.requests("POST", "/callback")]


async def answered(env: Env, count: int = 1) -> list[dict[str, Any]]:
    await env.api.wait_for(lambda: len(followups(env.api)) >= count)
    return followups(env.api)


def story(key: str, title: str, summary: str = "", source: str = "Wire") -> StoryEntry:
    return StoryEntry(
        story_key=key,
        title=title,
        summary=summary,
        link=f"https://news.example/{key}",
        sources=(SourceRef(source, f"https://news.example/{key}"),),
        sectors=("ai",),
        published_at=NOW,
    )


def briefing(sections: int = 1, more: int = 0, text: str = "Chips") -> Briefing:
    return Briefing(
        title="Briefing for 1 May",
        language="en",
        length="full",
        date=date(2024, 5, 1),
        generated_at=NOW,
        sections=tuple(
            SectorSection(
                key="ai",
                name="AI",
                lead=story(f"s{i}", f"{text} {i}", "Lead summary. " * 20),
                more=tuple(
                    story(f"s{i}x{j}", f"{text} more {j}", "More. " * 30) for j in range(more)
                ),
            )
            for i in range(sections)
        ),
    )


# --- commands -------------------------------------------------------------------------------


async def test_login_syncs_commands_once_then_not_again_while_unchanged(
    api: FakeDiscord, sqlite_db: Database, tmp_path: Path
) -> None:
    state = tmp_path / "sync.json"
    for _ in range(2):
        adapter = make_adapter(api, sqlite_db, state)
        await adapter.login(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW))
        await adapter.close()
    puts = api.requests("PUT", f"/applications/{APP_ID}/commands")
    assert len(puts) == 1
    assert [c["name"] for c in puts[0].json] == ["brief"]
    assert json.loads(state.read_text())  # the hash was remembered


async def test_subscribe_defers_ephemerally_then_answers_and_saves(env: Env) -> None:
    env.receive(interaction("subscribe", [{"name": "sector", "type": 3, "value": "ai"}]))
    [answer] = await answered(env)
    first = callbacks(env.api)[0]
    assert first["type"] == 5 and first["data"]["flags"] & 64  # deferred, ephemeral
    assert "Subscribed" in answer["content"]
    assert answer["flags"] & 64
    assert answer["allowed_mentions"] == {"parse": []}
    async with env.db.sessionmaker() as session:
        row = (await session.execute(select(Subscriber))).scalar_one()
    assert row.sectors == ["ai"] and row.external_id == USER


async def test_unknown_sector_is_refused_with_the_valid_ones(env: Env) -> None:
    env.receive(interaction("subscribe", [{"name": "sector", "type": 3, "value": "crypto"}]))
    [answer] = await answered(env)
    assert "crypto" in answer["content"] and "quantum" in answer["content"]
    assert "/brief subscribe" in answer["content"]


async def test_bad_time_option_gets_the_reason_and_usage_in_japanese(env: Env) -> None:
    options = [{"name": "time", "type": 3, "value": "25:99"}]
    env.receive(interaction("settings", options, locale="ja"))
    [answer] = await answered(env)
    assert "25:99" in answer["content"] and "使い方" in answer["content"]


async def test_admin_command_refused_politely_without_manage_server(env: Env) -> None:
    env.receive(interaction("sectors-list", group="admin", permissions="0"))
    [answer] = await answered(env)
    assert "admin" in answer["content"].lower() and "quantum" not in answer["content"]


async def test_admin_command_works_with_manage_server(env: Env) -> None:
    env.receive(interaction("sectors-list", group="admin", permissions=MANAGE_GUILD))
    [answer] = await answered(env)
    assert "`quantum`" in answer["content"]


async def test_admin_command_works_with_the_configured_role(env: Env) -> None:
    env.api.roles[GUILD] = [{"id": "77", "name": "Editors"}, {"id": "78", "name": "Others"}]
    env.receive(interaction("sectors-list", group="admin", roles=["77"]))
    [answer] = await answered(env)
    assert "`quantum`" in answer["content"]


async def test_sector_autocomplete_comes_from_the_database(env: Env) -> None:
    options = [{"name": "sector", "type": 3, "value": "qu", "focused": True}]
    env.receive(interaction("subscribe", options, kind=4))
    await env.api.wait_for(lambda: len(callbacks(env.api)) >= 1)
    [result] = callbacks(env.api)
    assert result["type"] == 8
    assert [c["value"] for c in result["data"]["choices"]] == ["quantum"]


async def test_time_zone_autocomplete(env: Env) -> None:
    options = [{"name": "tz", "type": 3, "value": "tokyo", "focused": True}]
    env.receive(interaction("settings", options, kind=4))
    await env.api.wait_for(lambda: len(callbacks(env.api)) >= 1)
    assert "Asia/Tokyo" in [c["value"] for c in callbacks(env.api)[0]["data"]["choices"]]


# --- deliveries -----------------------------------------------------------------------------

HOSTILE = "@everyone @here <@123456789012345678> <@&223456789012345678> <#323456789012345678>"


async def test_channel_briefing_never_mentions_anyone(env: Env) -> None:
    ref = await env.adapter.send_briefing(
        Destination("discord", GUILD, "channel", CHANNEL), briefing(2, 2, text=HOSTILE)
    )
    posts = env.api.requests("POST", f"/channels/{CHANNEL}/messages")
    assert ref.message_ids and len(posts) == len(ref.message_ids)
    for post in posts:
        assert post.json["allowed_mentions"] == {"parse": []}
        sent = json.dumps(post.json, ensure_ascii=False)
        assert "@everyone" not in sent and "@here" not in sent
        assert not re.search(r"<[@#]&?\d+>", sent)


async def test_dm_briefing_opens_the_dm_channel_and_posts_with_buttons(env: Env) -> None:
    ref = await env.adapter.send_briefing(Destination("discord", GUILD, "user", USER), briefing())
    [dm] = env.api.requests("POST", "/users/@me/channels")
    assert str(dm.json["recipient_id"]) == USER
    [post] = env.api.requests("POST", f"/channels/{ref.channel_id}/messages")
    ids = [c["custom_id"] for row in post.json["components"] for c in row["components"]]
    # "s0" is no stored story (no digest kept it), so /brief why could not answer: no "Why this?".
    assert ids == ["sb:v:up:s0", "sb:v:down:s0", "sb:m:ai:s0"]
    labels = [c.get("label") for row in post.json["components"] for c in row["components"]]
    assert labels == ["More like this", "Less like this", "More on AI"]


async def test_closed_dms_are_a_permanent_failure_with_a_reason(env: Env) -> None:
    env.api.dm_channels[USER] = "900"
    env.api.fail("/channels/900/messages", 403, code=50007)
    with pytest.raises(PermanentDeliveryError, match="DMs are closed") as caught:
        await env.adapter.send_briefing(Destination("discord", GUILD, "user", USER), briefing())
    assert caught.value.disable_subscription


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [(404, 10003, "no longer exists"), (403, 50001, "lost access"), (403, 0, "may not post")],
)
async def test_lost_channel_is_a_permanent_failure(
    env: Env, status: int, code: int, reason: str
) -> None:
    env.api.fail(f"/channels/{CHANNEL}/messages", status, code=code)
    with pytest.raises(PermanentDeliveryError, match=reason) as caught:
        await env.adapter.send_briefing(
            Destination("discord", GUILD, "channel", CHANNEL), briefing()
        )
    assert caught.value.disable_subscription
    assert len(env.api.requests("POST", f"/channels/{CHANNEL}/messages")) == 1  # no retry loop


@pytest.mark.parametrize(("status", "code"), [(400, 50035), (413, 40005), (400, 0)])
async def test_a_refused_message_fails_without_disabling_the_subscription(
    env: Env, status: int, code: int
) -> None:
    # Discord refused this message's body: sending it again cannot help, but the channel is fine.
    env.api.fail(f"/channels/{CHANNEL}/messages", status, code=code)
    with pytest.raises(PermanentDeliveryError, match="refused the message") as caught:
        await env.adapter.send_briefing(
            Destination("discord", GUILD, "channel", CHANNEL), briefing()
        )
    assert not caught.value.disable_subscription
    assert len(env.api.requests("POST", f"/channels/{CHANNEL}/messages")) == 1


async def test_on_sent_reports_each_part_before_the_next_is_posted(env: Env) -> None:
    path = f"/channels/{CHANNEL}/messages"
    reported: list[tuple[str, int]] = []

    async def on_sent(message_id: str) -> None:
        reported.append((message_id, len(env.api.requests("POST", path))))

    ref = await env.adapter.send_briefing(
        Destination("discord", GUILD, "channel", CHANNEL), briefing(12, 6), on_sent=on_sent
    )
    assert len(ref.message_ids) >= 3
    assert [message_id for message_id, _ in reported] == list(ref.message_ids)
    # When part n was reported, only parts up to n had reached Discord.
    assert [posts for _, posts in reported] == list(range(1, len(ref.message_ids) + 1))


async def test_a_failure_after_two_parts_has_reported_exactly_those_two(env: Env) -> None:
    path = f"/channels/{CHANNEL}/messages"
    env.api.fail(path, 503, skip=2)
    reported: list[str] = []

    async def on_sent(message_id: str) -> None:
        reported.append(message_id)

    with pytest.raises(TransientDeliveryError) as caught:
        await env.adapter.send_briefing(
            Destination("discord", GUILD, "channel", CHANNEL), briefing(12, 6), on_sent=on_sent
        )
    assert len(env.api.requests("POST", path)) == 3
    assert len(caught.value.sent_message_ids) == 2
    assert tuple(reported) == caught.value.sent_message_ids


async def test_rate_limit_is_waited_out_and_the_message_sent_once(env: Env) -> None:
    env.api.fail(
        f"/channels/{CHANNEL}/messages",
        429,
        **{"Retry-After": "0.1", "X-RateLimit-Scope": "shared"},
    )
    ref = await env.adapter.send_briefing(
        Destination("discord", GUILD, "channel", CHANNEL), briefing()
    )
    assert len(ref.message_ids) == 1
    assert len(env.api.requests("POST", f"/channels/{CHANNEL}/messages")) == 2


async def test_server_error_is_transient_and_a_retry_resumes_at_the_failed_part(env: Env) -> None:
    long = briefing(sections=8, more=6)
    dest = Destination("discord", GUILD, "channel", CHANNEL)
    path = f"/channels/{CHANNEL}/messages"
    # 503 is not among the statuses discord.py retries itself (500, 502, 504, 524 are).
    env.api.fail(path, 503, skip=1)
    with pytest.raises(TransientDeliveryError) as info:
        await env.adapter.send_briefing(dest, long)
    assert len(info.value.sent_message_ids) == 1
    env.api.calls.clear()
    resumed = await env.adapter.send_briefing(dest, long, start_part=1)
    posts = env.api.requests("POST", path)
    assert len(posts) == len(resumed.message_ids) >= 1
    # The resumed run starts with the second part, not the header again.
    assert "Briefing for 1 May" not in json.dumps(posts[0].json)


# --- feedback buttons -------------------------------------------------------------------------


def press(custom_id: str, *, in_guild: bool) -> dict[str, Any]:
    buttons = [
        {"type": 2, "style": 2, "custom_id": "sb:v:up:s7", "emoji": {"name": "👍"}},
        {"type": 2, "style": 2, "custom_id": "sb:v:down:s7", "emoji": {"name": "👎"}},
        {"type": 2, "style": 1, "custom_id": "sb:m:ai:s7", "label": "More on AI"},
        {"type": 2, "style": 2, "custom_id": "sb:y:s7", "label": "Why this?"},
    ]
    if custom_id not in [b["custom_id"] for b in buttons]:
        # The pressed button sits on the message (discord.py finds it there).
        buttons[-1] = {"type": 2, "style": 2, "custom_id": custom_id, "label": "Why this?"}
    message = {
        "id": "1400000000000000001",
        "channel_id": CHANNEL,
        "author": user_json(APP_ID, "ShiftBrief", bot=True),
        "content": "",
        "timestamp": "2024-05-01T08:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "components": [{"type": 1, "components": buttons}],
    }
    data = {"custom_id": custom_id, "component_type": 2}
    return _base(3, data, in_guild=in_guild, message=message)


async def stored_feedback(db: Database) -> list[Feedback]:
    async with db.sessionmaker() as session:
        return list((await session.execute(select(Feedback).order_by(Feedback.id))).scalars())


async def test_vote_press_in_a_dm_is_stored_and_shown_on_the_message(env: Env) -> None:
    # A fresh client never sent this message: the button works from its custom id alone.
    env.receive(press("sb:v:down:s7", in_guild=False))
    await env.api.wait_for(lambda: len(callbacks(env.api)) >= 1)
    [update] = callbacks(env.api)
    assert update["type"] == 7  # UPDATE_MESSAGE
    styles = {c["custom_id"]: c["style"] for c in update["data"]["components"][0]["components"]}
    assert styles["sb:v:down:s7"] == 3 and styles["sb:v:up:s7"] == 2
    [row] = await stored_feedback(env.db)
    assert (row.user_id, row.story_key, row.kind, row.value) == (USER, "s7", "vote", -1)


async def test_a_vote_in_a_dm_keeps_the_why_this_menu_on_the_message(env: Env) -> None:
    payload = press("sb:v:up:s7", in_guild=False)
    menu = {
        "type": 3,
        "custom_id": "sb:w:s7",
        "placeholder": "Why this? Choose another story of this sector",
        "options": [{"label": "Another story", "value": "t8"}],
        "min_values": 1,
        "max_values": 1,
    }
    payload["message"]["components"].append({"type": 1, "components": [menu]})
    env.receive(payload)
    await env.api.wait_for(lambda: len(callbacks(env.api)) >= 1)
    [update] = callbacks(env.api)
    rows = update["data"]["components"]
    assert rows[0]["components"][0]["style"] == 3  # the vote, shown as chosen
    [kept] = rows[1]["components"]
    assert (kept["custom_id"], kept["options"][0]["value"]) == ("sb:w:s7", "t8")


async def test_more_press_is_stored_and_answers_with_the_sector_summary_privately(
    env: Env,
) -> None:
    await seed_news(env.db, NOW)
    env.receive(press("sb:m:ai:s7", in_guild=True))
    await env.api.wait_for(lambda: len(followups(env.api)) >= 1)
    [ack] = callbacks(env.api)
    assert ack["type"] == 5 and ack["data"]["flags"] & 64  # deferred, only for the presser
    answer = followups(env.api)[0]
    assert answer["flags"] & 64
    assert "Open large language model matches" in json.dumps(answer, ensure_ascii=False)
    [row] = await stored_feedback(env.db)
    assert (row.kind, row.sector_key, row.story_key, row.tenant_id) == ("more", "ai", "s7", GUILD)


async def test_pressing_again_replaces_the_choice(env: Env) -> None:
    env.receive(press("sb:v:up:s7", in_guild=False))
    await env.api.wait_for(lambda: len(callbacks(env.api)) >= 1)
    env.receive(press("sb:v:down:s7", in_guild=False))
    await env.api.wait_for(lambda: len(callbacks(env.api)) >= 2)
    [row] = await stored_feedback(env.db)
    assert row.value == -1


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


async def test_why_this_answers_what_brief_why_answers_only_to_the_presser(env: Env) -> None:
    await seed_news(env.db, NOW)
    env.receive(interaction("subscribe", [{"name": "sector", "type": 3, "value": "ai"}]))
    await answered(env)
    env.receive(interaction("today"))
    await env.api.wait_for(
        lambda: any(i.startswith("sb:y:") for m in followups(env.api) for i in custom_ids(m))
    )
    ids = [i for m in followups(env.api) for i in custom_ids(m)]
    why = next(i for i in ids if i.startswith("sb:y:"))
    story = why.removeprefix("sb:y:")
    # Beside the story's vote buttons, on the same row.
    assert f"sb:v:up:{story}" in ids and f"sb:v:down:{story}" in ids
    sent = len(followups(env.api))

    env.receive(press(why, in_guild=True))
    pressed = (await answered(env, sent + 1))[sent]
    env.receive(interaction("why", [{"name": "story", "type": 3, "value": story}]))
    typed = (await answered(env, sent + 2))[sent + 1]
    assert pressed["flags"] & 64  # only the presser sees it
    assert callbacks(env.api)[-2]["data"]["flags"] & 64  # deferred ephemerally too
    assert pressed["content"] == typed["content"]
    assert "is in your briefing" in pressed["content"]
    assert not await stored_feedback(env.db)  # asking why is not a vote


async def test_why_this_menu_answers_for_a_sectors_other_stories(env: Env) -> None:
    await seed_news(env.db, NOW)
    env.receive(interaction("today"))
    await env.api.wait_for(
        lambda: any(i.startswith("sb:y:") for m in followups(env.api) for i in custom_ids(m))
    )
    posted = next(
        m for m in followups(env.api) if any(i.startswith("sb:w:") for i in custom_ids(m))
    )
    menu = next(c for row in posted["components"] for c in row["components"] if c["type"] == 3)
    story, title = menu["options"][0]["value"], menu["options"][0]["label"]
    sent = len(followups(env.api))

    # The reader picks a story in the menu of the message the bot posted.
    chosen = press(menu["custom_id"], in_guild=True)
    chosen["message"]["components"] = posted["components"]
    chosen["data"] = {"custom_id": menu["custom_id"], "component_type": 3, "values": [story]}
    env.receive(chosen)
    answer = (await answered(env, sent + 1))[sent]
    env.receive(interaction("why", [{"name": "story", "type": 3, "value": story}]))
    typed = (await answered(env, sent + 2))[sent + 1]
    assert answer["flags"] & 64
    assert answer["content"] == typed["content"]
    assert title.rstrip("…")[:20] in answer["content"]


async def test_votes_teach_the_ranking_and_learning_can_be_seen_and_reset_on_discord(
    env: Env,
) -> None:
    await seed_news(env.db, NOW)
    env.receive(interaction("today"))
    await env.api.wait_for(
        lambda: any(i.startswith("sb:v:") for m in followups(env.api) for i in custom_ids(m))
    )
    ups = [i for m in followups(env.api) for i in custom_ids(m) if i.startswith("sb:v:up:")]
    assert len(ups) >= 2  # the lead stories of two sectors at least

    async def say(sub: str) -> str:
        env.receive(interaction(sub))
        return str((await answered(env, len(followups(env.api)) + 1))[-1]["content"])

    assert "not taught your ranking anything yet" in await say("settings-learned")
    # More like the first sector's lead story, less like the second's.
    for custom_id in (ups[0], ups[1].replace(":up:", ":down:")):
        pressed = len(callbacks(env.api))
        env.receive(press(custom_id, in_guild=True))
        # The acknowledgement goes out once the vote is stored.
        await env.api.wait_for(lambda n=pressed: len(callbacks(env.api)) > n)
    assert [(r.kind, r.value) for r in await stored_feedback(env.db)] == [("vote", 1), ("vote", -1)]
    learned = await say("settings-learned")
    assert "More like:" in learned and "Less like:" in learned
    assert "Forgotten" in await say("settings-reset-learning")
    assert "not taught your ranking anything yet" in await say("settings-learned")


# --- the command tree against Discord's limits -------------------------------------------------

NAME = re.compile(r"^[-_\w]{1,32}$")


def _check_options(options: list[dict[str, Any]], where: str) -> None:
    assert len(options) <= 25, where
    names = [o["name"] for o in options]
    assert len(names) == len(set(names)), f"{where}: repeated option names"
    required = [o.get("required", False) for o in options if o["type"] not in (1, 2)]
    assert required == sorted(required, reverse=True), f"{where}: required after optional"
    for option in options:
        label = f"{where} {option['name']}"
        assert NAME.match(option["name"]) and option["name"] == option["name"].lower(), label
        assert 1 <= len(option["description"]) <= 100, label
        _check_localisations(option, label)
        choices = option.get("choices", [])
        assert len(choices) <= 25, label
        for choice in choices:
            assert 1 <= len(choice["name"]) <= 100 and len(str(choice["value"])) <= 100, label
        assert not (choices and option.get("autocomplete")), label
        for bound in ("min_value", "max_value"):
            if bound in option:
                assert abs(option[bound]) <= 2**53, label
        if option["type"] in (1, 2):
            _check_options(option.get("options", []), label)


def _check_localisations(option: dict[str, Any], where: str) -> None:
    descriptions = option.get("description_localizations") or {}
    for locale, text in descriptions.items():
        assert 1 <= len(text) <= 100, f"{where} ({locale})"
    # Names stay English: one grammar everywhere.
    assert not option.get("name_localizations"), where


async def test_command_tree_payload_fits_discords_limits(env: Env) -> None:
    payload = await command_payload(env.adapter.client)
    assert len(payload) <= 100
    for command in payload:
        assert NAME.match(command["name"]) and command["name"] == command["name"].lower()
        assert 1 <= len(command["description"]) <= 100
        _check_localisations(command, command["name"])
        _check_options(command.get("options", []), command["name"])
    # The whole grammar is there.
    brief = payload[0]
    subs = {o["name"] for o in brief["options"]}
    assert {"today", "sector", "search", "subscribe", "unsubscribe", "settings", "admin"} <= subs


def _described(option: dict[str, Any], where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every described thing under ``option``: the group, subgroups, subcommands and options."""
    label = f"{where} {option['name']}".strip()
    found = [(label, option)]
    for child in option.get("options", []):
        found += _described(child, label)
    return found


async def test_synced_commands_carry_japanese_descriptions_everywhere(
    api: FakeDiscord, sqlite_db: Database, tmp_path: Path
) -> None:
    adapter = make_adapter(api, sqlite_db, tmp_path / "sync.json")
    await adapter.login(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW))
    await adapter.close()
    (put,) = api.requests("PUT", f"/applications/{APP_ID}/commands")
    (brief,) = put.json
    described = _described(brief)
    labels = [label for label, _ in described]
    assert {"brief", "brief today", "brief admin", "brief admin feeds-add url"} <= set(labels)
    assert {"brief settings tz", "brief search words"} <= set(labels)
    missing = [label for label, o in described if "ja" not in o["description_localizations"]]
    assert missing == []
    for label, option in described:
        japanese = option["description_localizations"]["ja"]
        assert 1 <= len(japanese) <= 100, label
        assert japanese != option["description"], label
        assert set(option["description_localizations"]) == {"ja"}, label
    assert brief["description_localizations"]["ja"] == "毎日のテックニュースまとめ"
    # Choice labels are translated; their values stay what the grammar accepts.
    days = next(o for label, o in described if label == "brief settings days")
    by_value = {c["value"]: c for c in days["choices"]}
    assert by_value["daily"]["name"] == "every day"
    assert by_value["daily"]["name_localizations"] == {"ja": "毎日"}
    assert by_value["mon-fri"]["name_localizations"] == {"ja": "平日（月〜金）"}
    assert all(1 <= len(c["name_localizations"]["ja"]) <= 100 for c in days["choices"])


async def test_a_changed_translation_is_synced_again(
    api: FakeDiscord, sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "sync.json"

    async def login_once() -> None:
        adapter = make_adapter(api, sqlite_db, state)
        await adapter.login(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW))
        await adapter.close()

    await login_once()
    monkeypatch.setitem(JA_DESCRIPTIONS, "Search past stories", "これまでの記事から探す")
    await login_once()
    await login_once()
    puts = api.requests("PUT", f"/applications/{APP_ID}/commands")
    assert len(puts) == 2
    search = next(o for _, o in _described(puts[1].json[0]) if o["name"] == "search")
    assert search["description_localizations"] == {"ja": "これまでの記事から探す"}


async def test_deliveries_carry_an_enforced_nonce_per_part(env: Env) -> None:
    ref = await env.adapter.send_briefing(
        Destination("discord", GUILD, "channel", CHANNEL), briefing(8, 4), idempotency_key="sb-42"
    )
    posts = env.api.requests("POST", f"/channels/{CHANNEL}/messages")
    assert len(posts) == len(ref.message_ids) > 1
    assert [p.json["nonce"] for p in posts] == [f"sb-42.{i}" for i in range(len(posts))]
    assert all(p.json["enforce_nonce"] is True for p in posts)


async def test_a_rejected_token_fails_without_disabling_the_subscription(env: Env) -> None:
    env.api.fail(f"/channels/{CHANNEL}/messages", 401, code=0)
    with pytest.raises(PermanentDeliveryError, match="bot token") as caught:
        await env.adapter.send_briefing(
            Destination("discord", GUILD, "channel", CHANNEL), briefing()
        )
    assert not caught.value.disable_subscription
