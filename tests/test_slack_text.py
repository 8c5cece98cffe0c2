"""Slack's escaping and auto-links in command text are undone before the grammar reads it."""

from __future__ import annotations

from adapters.slack.text import command_text
from bot.commands.grammar import (
    AdminFeedsAdd,
    AdminScheduleSendNow,
    ChannelRef,
    Command,
    KeywordChange,
    parse_command,
)

SECTORS = ("ai", "cloud", "security", "semis", "devtools")


def parse(text: str) -> Command:
    return parse_command(command_text(text), known_sectors=SECTORS)


def test_slack_auto_linked_url_is_stripped_back_to_the_url() -> None:
    command = parse("admin feeds add <https://example.com/feed|example.com/feed> cloud")
    assert command == AdminFeedsAdd("https://example.com/feed", "cloud")


def test_slack_escaped_ampersand_in_url_is_restored() -> None:
    command = parse("admin feeds add <https://example.com/rss?a=1&amp;b=2>")
    assert command == AdminFeedsAdd("https://example.com/rss?a=1&b=2")


def test_slack_escaped_angle_brackets_in_keyword_are_restored() -> None:
    assert parse("follow a&lt;b&gt;") == KeywordChange("follow", "a<b>")


def test_slack_channel_mentions_are_left_for_the_grammar() -> None:
    assert parse("admin schedule send-now <#C024BE91L|general>") == AdminScheduleSendNow(
        ChannelRef(id="C024BE91L", name="general")
    )
