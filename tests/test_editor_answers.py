"""Honest and invented model answers for real corpus days, through the real LLM editor.

The loopback model (``tests/fixture_model.py``) answers the requests the editor makes for
2026-02-14, 2026-03-24 and 2026-08-14 with the answers a careful model would give (written by
hand, ``tests/data/editor_answers/``). Every honest piece reaches the reader; every answer with
one invented number loses that piece, and only that piece, and the refusal is counted for its
language in ``/metrics``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from bot.briefing.compose import BriefingContext
from bot.briefing.editor.base import Edition, EditionText
from bot.briefing.editor.llm import EditionAnswer, LLMEditor, StoryAnswer
from bot.briefing.render_text import render_text
from bot.metrics import Metrics
from bot.models import Language
from shiftbrief.http import HttpServer
from tests.corpus_days import DAYS
from tests.fixture_model import (
    FixtureModel,
    Invented,
    MemoryCache,
    Recorded,
    compose,
    day_context,
    load,
    load_invented,
    piece_of,
    pieces,
    written_pieces,
)
from tests.openai_api import OpenAIAPI

RECORDED = load()
INVENTED = load_invented()
BY_NAME = {r.name: r for r in RECORDED}
LANGUAGES: tuple[Language, ...] = ("en", "ja")


@dataclass
class Kept:
    """The LLM editor, keeping what it wrote so a test can read it next to the briefing."""

    editor: LLMEditor
    written: dict[Language, EditionText] = field(default_factory=dict)
    name: str = "llm"

    async def write(
        self, edition: Edition, languages: Sequence[Language]
    ) -> dict[Language, EditionText]:
        self.written = await self.editor.write(edition, languages)
        return self.written


async def edit_day(
    corpus: Path,
    day: str,
    model: FixtureModel,
    languages: Sequence[Language],
    metrics: Metrics,
) -> tuple[BriefingContext, Kept]:
    context = day_context(corpus, day)
    async with OpenAIAPI(behaviour=model) as api:
        client = openai.AsyncOpenAI(base_url=api.base_url, api_key="t", max_retries=0)
        kept = Kept(
            LLMEditor(client=client, model="m", cache=MemoryCache(), metrics=metrics, concurrency=2)
        )
        await context.edit(kept, languages)
        await client.close()
    return context, kept


def rejections(metrics: Metrics, language: str) -> float:
    sample = "shiftbrief_editor_grounding_rejections_total"
    return metrics.registry.get_sample_value(sample, {"language": language}) or 0.0


def story_key(context: BriefingContext, recorded: Recorded) -> str:
    """The story a recorded story request is about (by its sources' titles)."""
    titles = sorted(" ".join(s["title"].split()) for s in recorded.data["sources"])
    for key, story in context.stories.items():
        if sorted(" ".join(a.title.split()) for a in story.articles[:4]) == titles:
            return key
    raise AssertionError(f"no story for {recorded.name}")


def test_every_recorded_request_has_an_honest_answer_in_its_schema() -> None:
    assert {r.day for r in RECORDED} == set(DAYS)
    for r in RECORDED:
        assert r.answer is not None, f"{r.name}: no answer written"
        model = StoryAnswer if r.kind == "story" else EditionAnswer
        model.model_validate(r.answer)
    assert len({(e.name, e.piece, e.new) for e in INVENTED}) == len(INVENTED) >= 40
    forms = {e.form for e in INVENTED}
    assert {"digits", "english-words", "kanji", "scale", "date"} <= forms
    for entry in INVENTED:
        answer = BY_NAME[entry.name].answer
        assert answer is not None
        assert entry.new in entry.text(answer), entry  # the invention lands where it says


@pytest.mark.parametrize("day", DAYS)
async def test_every_honest_piece_reaches_the_reader(corpus: Path, day: str) -> None:
    model = FixtureModel(RECORDED)
    metrics = Metrics()
    context, kept = await edit_day(corpus, day, model, LANGUAGES, metrics)
    # The recorded requests are the ones the editor makes today, and each got its answer.
    assert model.unmatched == []
    mine = [r for r in RECORDED if r.day == day]
    assert sorted(model.served) == sorted(r.name for r in mine)
    for language in LANGUAGES:
        assert rejections(metrics, language) == 0
        written = kept.written[language]
        briefing = compose(context, language)
        text = render_text(briefing)
        entries = {e.story_key: e for s in briefing.sections for e in (s.lead, *s.more)}
        shown = 0
        for r in (r for r in mine if r.lang == language):
            assert r.answer is not None
            if r.kind == "story":
                key = story_key(context, r)
                assert written.stories[key].headline == r.answer["headline"], r.name
                if key in entries:
                    entry = entries[key]
                    assert entry.machine_written and entry.title == r.answer["headline"]
                    assert entry.title in text and entry.summary in text
                    assert r.answer["summary"].startswith(entry.summary.rstrip("…"))
                    shown += 1
                continue
            answer = EditionAnswer.model_validate(r.answer)
            assert answer.theme in briefing.title and briefing.opening == answer.opening
            assert briefing.title in text and answer.opening in text
            overviews = {s.key: s.overview for s in briefing.sections}
            for note in answer.sectors:
                assert written.sector_notes[note.sector] == note.paragraph
                # A story scored alike for two sectors is the edition's in one and may show in
                # the other (compose breaks the tie by the reader's order): its sector may then
                # have no section for the paragraph.
                if note.sector in overviews:
                    assert overviews[note.sector] == note.paragraph
                    assert note.paragraph in text
            for synergy in answer.synergies:
                assert any(s.machine_written and s.why == synergy.why for s in briefing.synergies)
                assert synergy.why in text
            for item in answer.watch:
                watched = {w.sentence for w in briefing.watch if w.machine_written}
                assert item.sentence in watched
        assert shown >= 4, f"{day} {language}: only {shown} written stories in the briefing"


def rounds(entries: Sequence[Invented]) -> Iterator[list[Invented]]:
    """The entries in groups that change each recorded answer once at most."""
    left = list(entries)
    while left:
        taken: list[Invented] = []
        for entry in list(left):
            if entry.name not in {t.name for t in taken}:
                taken.append(entry)
                left.remove(entry)
        yield taken


def invented_groups() -> list[Any]:
    groups = []
    for day in DAYS:
        for language in LANGUAGES:
            mine = [e for e in INVENTED if e.name.startswith(f"{day}/{language}-")]
            for n, group in enumerate(rounds(mine)):
                groups.append(pytest.param(day, language, group, id=f"{day}-{language}-{n}"))
    return groups


@pytest.mark.parametrize(("day", "language", "group"), invented_groups())
async def test_each_invented_number_is_refused_and_only_its_piece(
    corpus: Path, day: str, language: Language, group: list[Invented]
) -> None:
    replaced = {}
    for entry in group:
        answer = BY_NAME[entry.name].answer
        assert answer is not None
        replaced[entry.name] = entry.apply(answer)
    model = FixtureModel(RECORDED, replaced)
    metrics = Metrics()
    context, kept = await edit_day(corpus, day, model, [language], metrics)
    shown = written_pieces(kept.written[language])
    refused = {(e.name, piece_of(e)) for e in group}
    for entry in group:
        recorded = BY_NAME[entry.name]
        invented = dict(pieces(recorded, replaced[entry.name]))[piece_of(entry)]
        assert invented not in shown, f"{entry.name} {entry.piece} ({entry.form}): {entry.new}"
    # Every other piece of the same answers and of the day is still the model's.
    for recorded in (r for r in RECORDED if r.day == day and r.lang == language):
        assert recorded.answer is not None
        for piece, piece_text in pieces(recorded, recorded.answer):
            if (recorded.name, piece) not in refused:
                assert piece_text in shown, f"{recorded.name} {piece} lost"
    assert rejections(metrics, language) == len(group)
    # The reader sees the feed's own text for a refused story, never the invented number.
    briefing = compose(context, language)
    text = render_text(briefing)
    entries = {e.story_key: e for s in briefing.sections for e in (s.lead, *s.more)}
    for entry in group:
        recorded = BY_NAME[entry.name]
        assert recorded.answer is not None
        assert entry.text(recorded.answer) not in text, entry
        if recorded.kind == "story" and (key := story_key(context, recorded)) in entries:
            assert not entries[key].machine_written


async def test_rejections_are_counted_per_language_at_the_metrics_endpoint(
    corpus: Path,
) -> None:
    day = "2026-08-14"
    group = [e for e in INVENTED if e.name.startswith(f"{day}/ja-")]
    first = next(rounds(group))
    replaced = {}
    for entry in first:
        answer = BY_NAME[entry.name].answer
        assert answer is not None
        replaced[entry.name] = entry.apply(answer)
    metrics = Metrics()
    await edit_day(corpus, day, FixtureModel(RECORDED, replaced), LANGUAGES, metrics)
    server = HttpServer(host="127.0.0.1", port=0, metrics=metrics, checks={})
    await server.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{server.port}/metrics") as response,
        ):
            page = await response.text()
    finally:
        await server.close()
    counts = {
        line.split('"')[1]: float(line.split()[-1])
        for line in page.splitlines()
        if line.startswith("shiftbrief_editor_grounding_rejections_total{")
    }
    assert counts == {"en": 0.0, "ja": float(len(first))}, json.dumps(counts)
