"""With a model configured, nothing mechanical is added to what the model wrote (issue 17 §2).

Synergies and watch items are the model's (grounded) once it frames the edition; the extractive
ones are for an edition it did not frame. A story whose written piece falls back is shown in the
reader's language when it has a report in it, and marked with its language when it has none.
The model is ``tests/openai_api.py``'s loopback server; the cache is a real SQLite file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import openai

from bot.briefing.compose import BriefingContext
from bot.briefing.editor.cache import DatabaseCache
from bot.briefing.editor.llm import PROMPT_VERSION, LLMEditor
from bot.models import Article, Briefing, Language, Profile, SectorScore, Story
from tests.editor_feeds import SECTORS
from tests.openai_api import OpenAIAPI, Reply, Request, good_edition

NOW = datetime(2026, 1, 20, 7, 0, tzinfo=UTC)
READER = ("green", "quantum", "ai")


def art(n: int, title: str, summary: str, sector: str, *, language: str = "en") -> Article:
    when = NOW - timedelta(hours=2 + n / 10)
    return Article(
        item_id=n,
        feed_id=n,
        source=f"Outlet {n}",
        title=title,
        summary=summary,
        link=f"https://outlet{n}.example/story",
        published_at=when,
        first_seen_at=when,
        language=language,
        sectors=(SectorScore(sector, 0.9),),
    )


def story(key: str, *articles: Article) -> Story:
    return Story(key=key, articles=articles, sectors=articles[0].sectors)


STORIES = [
    story(
        "cells",
        art(1, "Toyota opens a sodium-ion cell line in Aichi",
            "The line will make cells for home storage from April 2027.", "green"),
    ),
    story(
        "driving",
        art(2, "Toyota trains its driving models on a new compute cluster",
            "The cluster has 4,000 accelerators.", "ai"),
    ),
    story(
        "heat",  # one event, an English and a Japanese report
        art(3, "Rondo Energy starts building a 100MWh heat battery",
            "Construction began at a chemicals plant.", "green"),
        art(4, "Rondo Energy、100MWhの熱電池を着工", "化学工場で建設を始めた。", "green",
            language="ja"),
    ),
    story(
        "qkd",
        art(5, "Spain deploys a multi-node MDI-QKD network",
            "The operators will open the network to banks in 2027.", "quantum"),
    ),
    story(
        "agents",
        art(6, "国内AI企業、業務エージェントを発表", "12の業務に対応する。", "ai", language="ja"),
    ),
]  # fmt: skip


async def written(db: Any, behaviour: Any = None) -> BriefingContext:
    context = BriefingContext.prepare(STORIES, SECTORS, (), NOW)
    async with OpenAIAPI(behaviour=behaviour) as api:
        client = openai.AsyncOpenAI(base_url=api.base_url, api_key="test", max_retries=0)
        cache = DatabaseCache(
            db.sessionmaker, model="m", prompt_version=PROMPT_VERSION, clock=lambda: NOW
        )
        editor = LLMEditor(client=client, model="m", cache=cache, retries=0)
        await context.edit(editor, ["en", "ja"])
        await client.close()
    return context


def compose(context: BriefingContext, language: Language) -> Briefing:
    return context.compose(Profile(sectors=READER, language=language))


def extractive(language: Language) -> Briefing:
    return compose(BriefingContext.prepare(STORIES, SECTORS, (), NOW), language)


def entry_titles(b: Briefing) -> dict[str, str]:
    return {e.story_key: e.title for s in b.sections for e in (s.lead, *s.more)}


def test_without_a_model_the_stories_sharing_toyota_are_linked() -> None:
    # The baseline the model's edition replaces: the extractive link on a shared company.
    b = extractive("en")
    assert [(s.why, {e.story_key for e in s.stories}) for s in b.synergies] == [
        ("Both stories involve Toyota.", {"cells", "driving"})
    ]
    assert any(w.story.story_key == "qkd" for w in b.watch)


async def test_a_framed_edition_has_the_models_synergies_and_watch_items_only(
    sqlite_db: Any,
) -> None:
    context = await written(sqlite_db)
    for language in ("en", "ja"):
        b = compose(context, language)  # type: ignore[arg-type]
        assert b.synergies and all(s.machine_written for s in b.synergies)
        assert not any("Toyota" in s.why for s in b.synergies)  # nothing extractive added
        assert b.watch and all(w.machine_written for w in b.watch)


def refuse_links_and_dates(request: Request, _n: int) -> Reply | None:
    """An edition answer whose synergy and watch item state numbers no source has."""
    if request.kind != "edition":
        return None
    answer = good_edition(request)
    ids = [st["id"] for sector in request.data["sectors"] for st in sector["stories"]]
    answer["synergies"] = [{"story_ids": ids[:2], "why": "Both will save 987 million dollars."}]
    answer["watch"] = [
        {
            "story_id": ids[0],
            "sentence": "It opens on 2031-05-05.",
            "date": "2031-05-05",
            "precision": "day",
            "kind": "launch",
        }
    ]
    return Reply(content=json.dumps(answer))


async def test_refused_synergies_are_not_replaced_and_watch_falls_back_to_quotes(
    sqlite_db: Any,
) -> None:
    # A refused link is not replaced by a mechanical one ("both involve Toyota"); a refused or
    # empty watch list takes the sources' own dated sentences, quoted and not machine-written:
    # the model sees only the top stories, and a reader loses the dates otherwise.
    context = await written(sqlite_db, refuse_links_and_dates)
    for language in ("en", "ja"):
        b = compose(context, language)  # type: ignore[arg-type]
        assert b.opening  # the model framed the edition
        assert b.synergies == ()
        assert extractive(language).synergies  # what would have been made up around it
        quoted = [(w.sentence, w.due) for w in extractive(language).watch]  # type: ignore[arg-type]
        assert quoted and [(w.sentence, w.due) for w in b.watch] == quoted
        assert not any(w.machine_written or "2031" in w.sentence for w in b.watch)


async def test_an_edition_the_model_did_not_frame_keeps_the_extractive_parts(
    sqlite_db: Any,
) -> None:
    def no_edition(request: Request, _n: int) -> Reply | None:
        return Reply(status=500) if request.kind == "edition" else None

    context = await written(sqlite_db, no_edition)
    for language in ("en", "ja"):
        b = compose(context, language)  # type: ignore[arg-type]
        assert not b.opening
        assert [s.why for s in b.synergies] == [extractive(language).synergies[0].why]
        assert not any(s.machine_written for s in b.synergies)
        assert any(w.story.story_key == "qkd" and not w.machine_written for w in b.watch)


def invent_in_every_story(request: Request, _n: int) -> Reply | None:
    """Story answers that state a number no source has: every story piece falls back."""
    if request.kind != "story":
        return None
    ja = request.language == "Japanese"
    invented = "売上は987%増えた。" if ja else "Sales rose 987%."
    return Reply(
        content=json.dumps(
            {"headline": invented, "summary": invented, "why": ""}, ensure_ascii=False
        )
    )


async def test_a_fallen_back_story_is_shown_in_the_readers_language_or_marked(
    sqlite_db: Any,
) -> None:
    context = await written(sqlite_db, invent_in_every_story)
    ja = entry_titles(compose(context, "ja"))
    # The story with a Japanese report shows it, unmarked; English-only stories say so.
    assert ja["heat"] == "Rondo Energy、100MWhの熱電池を着工"
    assert ja["agents"] == "国内AI企業、業務エージェントを発表"
    assert ja["qkd"] == "[EN] Spain deploys a multi-node MDI-QKD network"
    en = entry_titles(compose(context, "en"))
    assert en["heat"] == "Rondo Energy starts building a 100MWh heat battery"
    assert en["agents"] == "[JA] 国内AI企業、業務エージェントを発表"
    assert not any("987" in t for t in (*ja.values(), *en.values()))
