"""Build the configured editor (the composition root's one entry point)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.briefing.editor.base import Editor
from bot.briefing.editor.extractive import ExtractiveEditor
from bot.config import Settings

if TYPE_CHECKING:
    import openai

    from bot.metrics import Metrics


def make_editor(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
    metrics: Metrics | None = None,
    choice: str | None = None,
    max_calls: int | None = None,
) -> Editor:
    """The editor ``choice`` names ("extractive" or "llm"), else the one the settings name.

    The llm editor owns a model client: close it with :func:`close_editor` when done.
    ``max_calls`` caps its calls per edition (default: the settings' cap).

    Raises:
        ValueError: "llm" was asked for without an endpoint and model configured.
    """
    wanted = choice or settings.editor
    if wanted == "extractive" or (wanted == "auto" and not settings.uses_llm):
        return ExtractiveEditor()
    if not (settings.llm_base_url and settings.llm_model):
        raise ValueError("the llm editor needs SHIFTBRIEF_LLM_BASE_URL and SHIFTBRIEF_LLM_MODEL")
    # The model client (and openai's 0.4 s of imports) only where a model writes.
    from bot.briefing.editor.cache import DatabaseCache
    from bot.briefing.editor.llm import PROMPT_VERSION, LLMEditor

    return LLMEditor(
        client=_client(settings),
        model=settings.llm_model,
        cache=DatabaseCache(
            sessionmaker, model=settings.llm_model, prompt_version=PROMPT_VERSION, clock=clock
        ),
        metrics=metrics,
        max_calls=settings.llm_max_calls_per_edition if max_calls is None else max_calls,
        concurrency=settings.llm_concurrency,
        timeout=settings.llm_timeout,
        budget=settings.llm_budget_seconds,
        retries=settings.llm_retries,
    )


def make_text_reader(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
    choice: str | None = None,
) -> Editor | None:
    """An editor that only reads what the configured model has written already (no calls),
    for digests that cannot wait on the model; None when no model writes. Close it with
    :func:`close_editor` (its client is never used, but it is open)."""
    editor = make_editor(
        settings, sessionmaker=sessionmaker, clock=clock, choice=choice, max_calls=0
    )
    return None if isinstance(editor, ExtractiveEditor) else editor


async def close_editor(editor: Editor | None) -> None:
    """Close the model client of an editor made here (the extractive one holds none)."""
    aclose = getattr(editor, "aclose", None)
    if aclose is not None:
        await aclose()


def _client(settings: Settings) -> openai.AsyncOpenAI:
    import openai

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return openai.AsyncOpenAI(
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout,  # per read; LLMEditor holds each call to a deadline
        max_retries=0,  # LLMEditor retries itself, within the edition's budget
    )
