"""Machine-written text on every platform: labelled in EN and JA, escaped like feed text."""

from __future__ import annotations

import json
import re
from typing import Any

import openai

from adapters.discord.render import render_briefing_messages as discord_messages
from adapters.slack.render import render_briefing_messages as slack_messages
from bot.briefing.compose import BriefingContext
from bot.briefing.editor.cache import DatabaseCache
from bot.briefing.editor.llm import PROMPT_VERSION, LLMEditor
from bot.briefing.render_text import render_markdown, render_text
from bot.models import Briefing, Profile
from tests.openai_api import OpenAIAPI, Reply, Request
from tests.test_editor_llm import ARTICLES, NOW, SECTORS

MARKUP = "<b>Bold</b> *stars* _under_ `code` [label](x) <!channel>"


def markup_story(request: Request, n: int) -> Reply | None:
    """A model whose story text carries markup of every platform (but no link or mention)."""
    if request.kind != "story":
        return None
    title = request.data["sources"][0]["title"]
    if "Akaysha" not in title:
        return None
    return Reply(
        content=json.dumps(
            {"headline": "<b>Bold</b> *stars* _under_ `code`", "summary": "Fine.", "why": "~x~"}
        )
    )


async def written(sqlite_db: Any, behaviour: Any = None) -> list[Briefing]:
    async with OpenAIAPI(behaviour=behaviour) as api:
        client = openai.AsyncOpenAI(base_url=api.base_url, api_key="t", max_retries=0)
        cache = DatabaseCache(
            sqlite_db.sessionmaker, model="m", prompt_version=PROMPT_VERSION, clock=lambda: NOW
        )
        context = BriefingContext.prepare(ARTICLES, SECTORS, (), NOW)
        await context.edit(LLMEditor(client=client, model="m", cache=cache), ["en", "ja"])
        await client.close()
    return [
        context.compose(Profile(sectors=tuple(SECTORS), language=lang))  # type: ignore[arg-type]
        for lang in ("en", "ja")
    ]


def slack_text(b: Briefing) -> str:
    return json.dumps([m.blocks for m in slack_messages(b)], ensure_ascii=False)


def discord_text(b: Briefing) -> str:
    return json.dumps(
        [e.to_dict() for m in discord_messages(b) for e in m.embeds], ensure_ascii=False
    )


async def test_every_renderer_labels_machine_written_text_in_the_readers_language(
    sqlite_db: Any,
) -> None:
    en, ja = await written(sqlite_db)
    assert en.labels["machine"].startswith("Summaries written by a language model")
    assert "言語モデル" in ja.labels["machine"]
    for b in (en, ja):
        label = b.labels["machine"]
        for rendered in (render_markdown(b), render_text(b), slack_text(b), discord_text(b)):
            assert label in rendered
        # Sources stay one click away: every story still links to its own article.
        assert all(e.link and e.link in slack_text(b) for s in b.sections for e in (s.lead,))


async def test_extractive_briefings_carry_no_machine_label(sqlite_db: Any) -> None:
    b = BriefingContext.prepare(ARTICLES, SECTORS, (), NOW).compose(Profile(sectors=("ai",)))
    assert not b.machine_written
    for rendered in (render_markdown(b), slack_text(b), discord_text(b)):
        assert b.labels["machine"] not in rendered


async def test_generated_text_is_escaped_like_feed_text(sqlite_db: Any) -> None:
    en, _ = await written(sqlite_db, markup_story)
    entry = next(e for s in en.sections for e in (s.lead, *s.more) if "Bold" in e.title)
    assert entry.machine_written
    slack = slack_text(en)
    assert "<b>" not in slack and "&lt;b&gt;Bold&lt;/b&gt;" in slack
    discord = discord_text(en)
    assert "\\\\*stars\\\\*" in discord and "\\\\`code\\\\`" in discord
    markdown = render_markdown(en)
    assert "\\*stars\\*" in markdown and "\\<b>" in markdown
    assert not re.search(r"(?<!\\)<b>", markdown)
