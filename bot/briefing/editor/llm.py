"""The LLM editor: any OpenAI-compatible endpoint writes stories and the edition's framing.

Each story that can appear (the top of every sector, not the archive) is written once per
language in a call of its own, so text injected into one item can reach no other story; the
edition's theme, sector paragraphs, synergies and watch items come from one more call per
language. Answers are JSON against a strict schema, validated with pydantic, then checked by
``grounding``: anything that fails falls back to extractive text, counted in ``/metrics``.
Feed text reaches the model only inside JSON data fields, and the model's words reach readers
only through the renderers' escaping; links and source names always come from our data.

Calls are bounded: a concurrency limit, a wall-clock deadline per call, retries of 429/5xx
within the edition's time budget, a cap on calls per edition, and a stop after the endpoint
fails to answer twice. What was written is cached in the database by content, language, model
and prompt version, so the next edition and every other process reuse it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Self

import openai
from openai.types.chat import ChatCompletion
from pydantic import ValidationError

from bot.briefing.editor import grounding
from bot.briefing.editor.base import Edition, EditionText, StoryText, SynergyItem, WatchItem
from bot.briefing.editor.cache import Key, TextCache
from bot.briefing.editor.dates import FoundDate
from bot.briefing.editor.prompts import (
    EDITION_STORIES_PER_SECTOR,
    EDITION_TASK,
    LANGUAGE_NAMES,
    PROMPT_VERSION,
    STORIES_PER_SECTOR,
    STORY_SCHEMA,
    STORY_TASK,
    SYSTEM,
    EditionAnswer,
    StoryAnswer,
    content_hash,
    edition_schema,
    story_data,
)
from bot.briefing.editor.text import trim_summary
from bot.metrics import Metrics
from bot.models import Language, Story

__all__ = ["PROMPT_VERSION", "EditionAnswer", "LLMEditor", "StoryAnswer"]

log = logging.getLogger(__name__)


def _source_texts(story: Story) -> list[str]:
    return [f"{a.title}\n{a.summary}" for a in story.articles]


@dataclass
class _Run:
    """One edition's calls: how many, until when, and whether the endpoint still answers."""

    deadline: float
    cap: int
    calls: int = 0
    transport_failures: int = 0
    not_a_model: bool = False
    """The endpoint answered something that is no chat completion (said once per edition)."""
    new: dict[Key, tuple[str, dict[str, object]]] = field(default_factory=dict)


class LLMEditor:
    """Writes an edition with a language model, falling back to extractive text piece by piece.

    Args:
        client: An ``openai.AsyncOpenAI`` pointed at any OpenAI-compatible endpoint; the
            editor owns it and closes it in :meth:`aclose` (or at the end of ``async with``).
        model: The model name.
        cache: Where written texts are kept (``DatabaseCache`` in production).
        metrics: Counters for calls, tokens, cache hits, rejections and fallbacks.
        max_calls: Calls one edition may make.
        concurrency: Calls in flight at once.
        timeout: Seconds per call.
        budget: Seconds for the whole edition, retries included.
        retries: Retries of a 429 or 5xx answer.
        sleep: Waits between retries (injectable for tests).
    """

    name = "llm"

    def __init__(
        self,
        *,
        client: openai.AsyncOpenAI,
        model: str,
        cache: TextCache,
        metrics: Metrics | None = None,
        max_calls: int = 200,
        concurrency: int = 4,
        timeout: float = 30.0,
        budget: float = 120.0,
        retries: int = 2,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._client = client
        self.model = model
        self._cache = cache
        self._metrics = metrics
        self._max_calls = max_calls
        self._semaphore = asyncio.Semaphore(concurrency)
        self._timeout = timeout
        self._budget = budget
        self._retries = retries
        self._sleep = sleep
        self.fallbacks: Counter[str] = Counter()
        """Pieces written with extractive text instead, by reason, since this editor was made."""
        self.rejections: Counter[str] = Counter()
        """Pieces the grounding check refused, by language, since this editor was made."""
        self._unattributed = 0

    async def aclose(self) -> None:
        """Close the model client, on this event loop: a client left to the garbage collector
        closes itself on whatever loop runs then, and fails if that one is gone."""
        await self._client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---- counting ------------------------------------------------------------------------

    def _fallback(self, reason: str, n: int = 1) -> None:
        self.fallbacks[reason] += n
        if self._metrics is not None and n:
            self._metrics.editor_fallbacks.labels(reason).inc(n)

    def _rejected(self, language: Language | None = None, n: int = 1) -> None:
        """Count ``n`` pieces refused by the grounding check, by language in ``/metrics``.

        Without a language (inside ``_apply_edition``), ``_edition`` counts them for its own.
        """
        if language is None:
            self._unattributed += n
            return
        self.rejections[language] += n
        if self._metrics is not None:  # the language's series shows in /metrics from 0 on
            self._metrics.editor_grounding_rejections.labels(language).inc(n)

    def _call_result(self, result: str) -> None:
        if self._metrics is not None:
            self._metrics.editor_calls.labels(result).inc()

    # ---- the edition ---------------------------------------------------------------------

    async def write(
        self, edition: Edition, languages: Sequence[Language]
    ) -> dict[Language, EditionText]:
        """Story texts and the edition's framing per language; extractive where not written."""
        loop = asyncio.get_running_loop()
        run = _Run(deadline=loop.time() + self._budget, cap=self._max_calls)
        keys = edition.top(STORIES_PER_SECTOR)
        data = {k: story_data(edition.stories[k]) for k in keys}
        hashes = {k: content_hash(d) for k, d in data.items()}
        edition_input, ids = self._edition_input(edition)
        edition_hash = content_hash(edition_input)
        wanted: list[Key] = [(hashes[k], lang) for lang in languages for k in keys]
        wanted += [(edition_hash, lang) for lang in languages]
        try:
            cached = await self._cache.get_many(wanted)
        except Exception:  # a database hiccup costs calls, not the digest
            log.exception("editor cache unavailable")
            cached = {}
        if self._metrics is not None and cached:
            self._metrics.editor_cache_hits.inc(len(cached))
        texts = {lang: EditionText(language=lang) for lang in languages}
        jobs = []
        for lang in languages:
            for key in keys:
                jobs.append(
                    self._story(run, edition.stories[key], lang, hashes[key], cached, texts[lang])
                )
            jobs.append(
                self._edition(
                    run, edition, lang, edition_input, ids, edition_hash, cached, texts[lang]
                )
            )
        tasks = [asyncio.ensure_future(job) for job in jobs]
        done, pending = await asyncio.wait(tasks, timeout=max(0.0, run.deadline - loop.time()))
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            self._fallback("deadline", len(pending))
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("editor job failed", exc_info=task.exception())
        if run.new:
            try:
                await self._cache.put_many(run.new)
            except Exception:
                log.exception("could not store written texts")
        return texts

    def _edition_input(self, edition: Edition) -> tuple[dict[str, Any], dict[str, str]]:
        """The edition call's data: top stories per sector under short ids ("s1")."""
        ids: dict[str, str] = {}
        sectors = []
        for sector, ranked in edition.ranked.items():
            stories = []
            # Each story under its home sector, where readers see it and where the answer's
            # paragraph and synergies about it are checked (``_apply_edition``).
            for key in [k for k in ranked if edition.home.get(k) == sector][
                :EDITION_STORIES_PER_SECTOR
            ]:
                if key in ids.values():
                    continue
                short = f"s{len(ids) + 1}"
                ids[short] = key
                story = edition.stories[key]
                stories.append(
                    {
                        "id": short,
                        "published": story.when.date().isoformat(),
                        "sources": [
                            {
                                "title": a.title,
                                "text": trim_summary(a.summary, max_sentences=4, max_chars=600),
                            }
                            for a in story.articles[:2]
                        ],
                    }
                )
            if stories:
                sectors.append(
                    {"sector": sector, "name": edition.sectors[sector].name_en, "stories": stories}
                )
        return {"edition_date": edition.now.date().isoformat(), "sectors": sectors}, ids

    # ---- one story -----------------------------------------------------------------------

    async def _story(
        self,
        run: _Run,
        story: Story,
        language: Language,
        digest: str,
        cached: Mapping[Key, dict[str, object]],
        out: EditionText,
    ) -> None:
        payload = cached.get((digest, language))
        if payload is None:
            user = {"task": STORY_TASK, "data": {"sources": story_data(story)}}
            answer, failure = await self._ask(run, language, user, "story", STORY_SCHEMA)
            if answer is None:
                self._fallback(failure)
                return
            payload = self._story_payload(answer, story, language)
            run.new[(digest, language)] = ("story", payload)
        if "rejected" in payload:
            self._fallback(str(payload["rejected"]))
            return
        out.stories[story.key] = StoryText(
            headline=str(payload["headline"]),
            summary=str(payload["summary"]),
            why=str(payload["why"]),
            machine_written=True,
        )

    def _story_payload(self, answer: str, story: Story, language: Language) -> dict[str, object]:
        """The validated, grounded answer, or ``{"rejected": reason}`` (cached as well)."""
        try:
            parsed = StoryAnswer.model_validate_json(answer)
        except ValidationError:
            self._call_result("bad_answer")
            return {"rejected": "bad_answer"}
        problem = grounding.check(
            (parsed.headline, parsed.summary, parsed.why), _source_texts(story)
        )
        if problem is not None:
            self._rejected(language)
            return {"rejected": "grounding"}
        return parsed.model_dump()

    # ---- the edition's framing -----------------------------------------------------------

    async def _edition(
        self,
        run: _Run,
        edition: Edition,
        language: Language,
        data: dict[str, Any],
        ids: dict[str, str],
        digest: str,
        cached: Mapping[Key, dict[str, object]],
        out: EditionText,
    ) -> None:
        payload = cached.get((digest, language))
        if payload is None:
            if not ids:
                return
            schema = edition_schema([s["sector"] for s in data["sectors"]], list(ids))
            user = {"task": EDITION_TASK, "data": data}
            answer, failure = await self._ask(run, language, user, "edition", schema)
            if answer is None:
                self._fallback(failure)
                return
            try:
                payload = EditionAnswer.model_validate_json(answer).model_dump()
            except ValidationError:
                self._call_result("bad_answer")
                payload = {"rejected": "bad_answer"}
            run.new[(digest, language)] = ("edition", payload)
        if "rejected" in payload:
            self._fallback(str(payload["rejected"]))
            return
        self._unattributed = 0  # _apply_edition runs without awaiting: nothing interleaves
        self._apply_edition(EditionAnswer.model_validate(payload), edition, ids, out)
        self._rejected(language, self._unattributed)
        self._unattributed = 0

    def _apply_edition(
        self, answer: EditionAnswer, edition: Edition, ids: dict[str, str], out: EditionText
    ) -> None:
        """Keep each grounded piece of ``answer``.

        A theme, opening or sector paragraph the check refuses leaves the extractive title and
        no paragraph. Synergies and watch items are the model's only: a refused one is left out,
        and none is made up around the ones it wrote (extractive ones are for editions the
        model did not frame at all).
        """

        def texts_of(keys: Sequence[str]) -> list[str]:
            return [t for k in keys for t in _source_texts(edition.stories[k])]

        every = texts_of(list(ids.values()))
        if answer.theme and grounding.check((answer.theme, answer.opening), every) is None:
            out.theme, out.opening = answer.theme, answer.opening
            out.theme_sectors = frozenset(edition.home[k] for k in ids.values())
        elif answer.theme:
            self._rejected()
            self._fallback("grounding")
        for note in answer.sectors:
            here = [k for k in ids.values() if edition.home.get(k) == note.sector]
            if here and grounding.check((note.paragraph,), texts_of(here)) is None:
                out.sector_notes[note.sector] = note.paragraph
            elif here:
                self._rejected()
                self._fallback("grounding")
        synergies = []
        for synergy in answer.synergies:
            keys = list(dict.fromkeys(ids[i] for i in synergy.story_ids if i in ids))
            sectors = [edition.home[k] for k in keys]
            if len(set(sectors)) < 2 or len(keys) < 2:
                self._fallback("bad_answer")
                continue
            if grounding.check((synergy.why,), texts_of(keys)) is not None:
                self._rejected()
                self._fallback("grounding")
                continue
            synergies.append(
                SynergyItem(tuple(keys), tuple(sectors), (), synergy.why, machine_written=True)
            )
        # The model framed this edition: its links and dates are the edition's, none added.
        out.synergies = tuple(synergies)
        watch = []
        for item in answer.watch:
            key = ids.get(item.story_id)
            due = _due(item.date, item.precision)
            if key is None or due is None or due.last_day <= edition.now.date():
                self._fallback("bad_answer")
                continue
            pieces = (item.sentence, _date_words(due))
            if grounding.check(pieces, _source_texts(edition.stories[key])) is not None:
                self._rejected()
                self._fallback("grounding")
                continue
            watch.append(
                WatchItem(
                    key, item.kind, item.sentence, due.day, due.precision, machine_written=True
                )
            )
        out.watch = tuple(watch)

    # ---- one call ------------------------------------------------------------------------

    def _not_a_model(self, run: _Run, what: str) -> tuple[None, str]:
        """An answer that is no chat completion: one warning line per edition (not a traceback
        per story), and the endpoint is treated like one that is down."""
        self._call_result("bad_answer")
        run.transport_failures += 1
        if not run.not_a_model:
            run.not_a_model = True
            log.warning(
                "the model endpoint answered with something that is not a chat completion "
                "(%s); check SHIFTBRIEF_LLM_BASE_URL; extractive text is used instead",
                what,
            )
        return None, "call_failed"

    async def _ask(
        self,
        run: _Run,
        language: Language,
        user: dict[str, Any],
        name: str,
        schema: dict[str, Any],
    ) -> tuple[str | None, str]:
        """The model's JSON answer, or (None, fallback reason)."""
        loop = asyncio.get_running_loop()
        messages: list[Any] = [
            {"role": "system", "content": SYSTEM.format(language=LANGUAGE_NAMES[language])},
            {"role": "user", "content": json.dumps(user, ensure_ascii=False)},
        ]
        for attempt in range(self._retries + 1):
            async with self._semaphore:
                # Checked once a slot is free: calls queued behind a failing one skip it.
                if run.transport_failures >= 2:
                    return None, "call_failed"  # the endpoint is down: do not wait on it again
                if run.calls >= run.cap:
                    return None, "call_cap"
                remaining = run.deadline - loop.time()
                if remaining <= 0:
                    return None, "deadline"
                run.calls += 1
                limit = min(self._timeout, max(0.1, remaining))
                try:
                    # A wall-clock deadline for the whole call: the client's own timeout is per
                    # read, and an endpoint that trickles a byte every few seconds never trips it.
                    async with asyncio.timeout(limit):
                        response = await self._client.chat.completions.create(
                            model=self.model,
                            messages=messages,
                            response_format={
                                "type": "json_schema",
                                "json_schema": {"name": name, "strict": True, "schema": schema},
                            },
                            temperature=0.2,
                            timeout=limit,
                        )
                except openai.APIStatusError as exc:
                    status, retry_after = exc.status_code, exc.response.headers.get("retry-after")
                    response = None
                except (openai.APITimeoutError, TimeoutError):
                    self._call_result("timeout")
                    run.transport_failures += 1
                    return None, "call_failed"
                except openai.APIConnectionError:
                    self._call_result("unreachable")
                    run.transport_failures += 1
                    return None, "call_failed"
                except openai.APIError as exc:  # an answer the client could not read
                    return self._not_a_model(run, type(exc).__name__)
            if response is not None and not isinstance(response, ChatCompletion):
                # A 200 that is no completion: a proxy's or login page's HTML, say.
                return self._not_a_model(run, "a page that is not JSON")
            if response is None:
                retry = status == 429 or status >= 500
                if status == 429:
                    self._call_result("rate_limited")
                else:
                    self._call_result("server_error" if status >= 500 else "refused")
                if not retry or attempt == self._retries:
                    return None, "call_failed"
                delay = _retry_after(retry_after, attempt)
                if loop.time() + delay >= run.deadline:
                    return None, "call_failed"
                await self._sleep(delay)
                continue
            run.transport_failures = 0
            self._call_result("ok")
            usage = response.usage
            if usage is not None and self._metrics is not None:
                self._metrics.editor_tokens.labels("prompt").inc(usage.prompt_tokens)
                self._metrics.editor_tokens.labels("completion").inc(usage.completion_tokens)
            content = response.choices[0].message.content if response.choices else None
            if not content:
                self._call_result("bad_answer")
                return None, "bad_answer"
            return content, ""
        return None, "call_failed"


def _retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait: the server's Retry-After (seconds), else jittered exponential backoff."""
    if value:
        try:
            return max(0.0, min(float(value), 60.0))
        except ValueError:
            pass
    return float(min(0.5 * 2**attempt, 8.0) * (0.5 + random.random() / 2))


def _due(text: str, precision: str) -> FoundDate | None:
    try:
        day = date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None
    if precision == "year":
        return FoundDate(date(day.year, 1, 1), "year", text)
    if precision == "month":
        return FoundDate(date(day.year, day.month, 1), "month", text)
    return FoundDate(day, "day", text)


def _date_words(due: FoundDate) -> str:
    """The parts of a due date its precision claims, as text the grounding check reads."""
    if due.precision == "year":
        return str(due.day.year)
    if due.precision == "month":
        return f"{due.day.year} {due.day.month}"
    return f"{due.day.year} {due.day.month} {due.day.day}"
