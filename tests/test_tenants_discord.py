"""Two Discord servers and the bot's DMs, through the local Discord REST stand-in: admin rights,
autocomplete and feeds stay inside one server; a reader's DM finds their server profile."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from storage.models import Subscriber, Tenant
from tests import test_discord_adapter as base
from tests.seed import seed_news
from tests.test_discord_adapter import (
    GUILD,
    MANAGE_GUILD,
    NOW,
    USER,
    Env,
    answered,
    callbacks,
    interaction,
)
from tests.test_discord_commands import opt

api, env = base.api, base.env  # the fixtures

OTHER_GUILD = "1000000000000000099"


def in_guild(payload: dict[str, Any], guild: str) -> dict[str, Any]:
    """The interaction as if sent from ``guild`` (the member's permissions are that guild's)."""
    payload["guild_id"] = guild
    payload["authorizing_integration_owners"] = {"0": guild}
    payload["channel"]["guild_id"] = guild
    return payload


def admin(sub: str, options: list[dict[str, Any]], *, guild: str, perms: str = MANAGE_GUILD) -> Any:
    return in_guild(interaction(sub, options, group="admin", permissions=perms), guild)


async def test_manage_server_in_one_guild_is_no_admin_right_in_another(env: Env) -> None:
    env.receive(admin("feeds-add", [opt("url", "https://intranet.example/rss")], guild=GUILD))
    [added] = await answered(env)
    assert "Added feed" in added["content"]
    # The same member, in the other server, where they lack Manage Server.
    env.receive(admin("feeds-list", [], guild=OTHER_GUILD, perms="0"))
    answers = await answered(env, 2)
    refused = answers[1]["content"]
    assert "server admins" in refused and "intranet" not in refused
    # An admin of the other server sees only that server's feeds.
    env.receive(admin("feeds-list", [], guild=OTHER_GUILD))
    answers = await answered(env, 3)
    assert "intranet" not in answers[2]["content"] and "No feeds yet" in answers[2]["content"]
    env.receive(admin("feeds-remove", [opt("id", 1, 4)], guild=OTHER_GUILD))
    answers = await answered(env, 4)
    assert "No feed with id 1" in answers[3]["content"]
    env.receive(admin("feeds-list", [], guild=GUILD))
    answers = await answered(env, 5)
    assert "intranet.example" in answers[4]["content"]


async def test_sector_autocomplete_lists_shared_and_the_servers_own_sectors(env: Env) -> None:
    options = [
        opt("key", "spaceflight"),
        opt("name_en", "Spaceflight"),
        opt("name_ja", "宇宙飛行"),
        opt("keywords", "rocket, orbit"),
    ]
    env.receive(admin("sectors-add", options, guild=GUILD))
    await answered(env)

    def typed(guild: str) -> dict[str, Any]:
        focused = [{"name": "sector", "type": 3, "value": "", "focused": True}]
        return in_guild(interaction("subscribe", focused, kind=4), guild)

    env.receive(typed(GUILD))
    await env.api.wait_for(lambda: len(callbacks(env.api)) >= 2)
    env.receive(typed(OTHER_GUILD))
    await env.api.wait_for(lambda: len(callbacks(env.api)) >= 3)
    choices = [
        [c["value"] for c in cb["data"]["choices"]] for cb in callbacks(env.api) if cb["type"] == 8
    ]
    own, other = choices
    assert "spaceflight" in own and "ai" in own
    assert "spaceflight" not in other and "ai" in other


def everything(answers: list[dict[str, Any]]) -> str:
    """All text of the answers: content and embeds (Markdown-escaped, as Discord gets it)."""
    return json.dumps(answers, ensure_ascii=False)


async def test_today_in_the_dm_uses_the_profile_of_the_server_the_reader_subscribed_in(
    env: Env,
) -> None:
    await seed_news(env.db, NOW)
    env.receive(interaction("subscribe", [opt("sector", "quantum")]))  # in GUILD
    await answered(env)
    env.receive(interaction("today", in_guild=False))
    answers = await answered(env, 2)
    dm = everything(answers[1:])
    assert "quantum computer reaches 1,000 qubits" in dm
    assert "battery plant" not in dm and "reasoning benchmarks" not in dm
    assert "choose sectors" not in dm  # not the newcomer's tip: it is their own profile
    # No stray DM profile was made: the reader has one profile, the server's.
    async with env.db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Subscriber.external_id, Tenant.external_id).join(
                    Tenant, Tenant.id == Subscriber.tenant_id
                )
            )
        ).all()
    assert rows == [(USER, GUILD)]


async def test_a_reader_of_two_servers_is_told_which_profile_the_dm_uses(env: Env) -> None:
    await seed_news(env.db, NOW)
    env.receive(interaction("subscribe", [opt("sector", "quantum")]))  # in GUILD
    await answered(env)
    env.receive(in_guild(interaction("subscribe", [opt("sector", "green")]), OTHER_GUILD))
    await answered(env, 2)
    async with env.db.sessionmaker.begin() as session:
        # The second server's profile changed last: its digest is the reader's latest choice.
        query = select(Subscriber).join(Tenant).where(Tenant.external_id == OTHER_GUILD)
        (await session.execute(query)).scalar_one().updated_at = NOW + timedelta(minutes=5)
    env.receive(interaction("today", in_guild=False))
    answers = await answered(env, 3)
    dm = everything(answers[2:])
    assert "battery plant" in dm and "quantum computer reaches" not in dm
    assert "2 servers" in dm and OTHER_GUILD in dm and "type the command there" in dm
    # In the first server, that server's profile answers, without the note.
    env.receive(interaction("today"))
    answers = await answered(env, 4)
    there = everything(answers[3:])
    assert "quantum computer reaches" in there and "2 servers" not in there
