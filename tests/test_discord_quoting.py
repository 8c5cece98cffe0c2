"""Admins' and readers' words in Discord replies are quoted like feed text: a masked link in a
sector's name, a reading's title or a keyword stays text (issue 19, item 4).

Before, ``/brief subscribe`` and ``/brief settings`` showed an admin's sector named
``Energy [Claim your bonus](https://evil.example/login)`` as a live link to every member.
"""

from __future__ import annotations

from typing import Any

from tests import test_discord_adapter as base
from tests.test_discord_adapter import Env, answered, interaction
from tests.test_discord_commands import admin, opt
from tests.test_replay_and_injection import LIVE_MASKED_LINK

api, env = base.api, base.env  # the fixtures

SECTOR_NAME = "Energy [Claim your bonus](https://evil.example/login)"
TITLE = "[Reset password](https://evil.example/reset)"
KEYWORD = "[free gpu](https://evil.example/gpu)"


def content(answer: dict[str, Any]) -> str:
    return str(answer["content"])


def assert_inert(text: str, *, escaped: str | None = None) -> None:
    assert not LIVE_MASKED_LINK.search(text), text
    assert "evil.example" in text  # shown, as text
    if escaped is not None:  # escaped as feed text is (not only defused)
        assert escaped in text, text


async def test_a_masked_link_in_a_sector_name_stays_text_in_subscribe_and_settings(
    env: Env,
) -> None:
    options = [opt("key", "energy"), opt("name_en", SECTOR_NAME), opt("name_ja", SECTOR_NAME)]
    env.receive(admin("sectors-add", options))
    [added] = await answered(env)
    assert_inert(content(added))
    env.receive(interaction("subscribe", [opt("sector", "energy")]))
    answers = await answered(env, 2)
    assert "Subscribed to" in content(answers[1])
    assert_inert(content(answers[1]), escaped=r"\[Claim your bonus\]")
    env.receive(interaction("follow", [opt("keyword", KEYWORD)]))
    answers = await answered(env, 3)
    assert_inert(content(answers[2]))
    env.receive(interaction("settings", []))
    answers = await answered(env, 4)
    settings = content(answers[3])
    assert "Sectors:" in settings and "Following:" in settings
    assert_inert(settings, escaped=r"\[free gpu\]")
    assert r"\[Claim your bonus\]" in settings
    env.receive(admin("sectors-list", []))
    answers = await answered(env, 5)
    assert_inert(content(answers[4]))


async def test_a_masked_link_in_a_reading_title_stays_text(env: Env) -> None:
    options = [opt("target", "ai"), opt("url", "https://explain.example/llm"), opt("title", TITLE)]
    env.receive(admin("reading-add", options))
    [answer] = await answered(env)
    assert "Added related reading" in content(answer)
    assert_inert(content(answer), escaped=r"\[Reset password\]")


async def test_a_masked_link_a_reader_types_is_echoed_as_text(env: Env) -> None:
    env.receive(interaction("subscribe", [opt("sector", KEYWORD)]))
    [refused] = await answered(env)
    assert "There is no sector" in content(refused)
    assert_inert(content(refused))
