"""Where written texts are kept: the database (shared by every process), or memory in tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import editor_texts

Key = tuple[str, str]
"""(content hash, language)."""


class TextCache(Protocol):
    """Written texts by (content hash, language), for one model and prompt version."""

    async def get_many(self, keys: Iterable[Key]) -> dict[Key, dict[str, object]]: ...

    async def put_many(self, texts: Mapping[Key, tuple[str, dict[str, object]]]) -> None: ...


class DatabaseCache:
    """The ``editor_texts`` table: a story written by one process is read by all of them."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        model: str,
        prompt_version: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessionmaker = sessionmaker
        self._model = model
        self._version = prompt_version
        self._clock = clock

    async def get_many(self, keys: Iterable[Key]) -> dict[Key, dict[str, object]]:
        async with self._sessionmaker() as session:
            return await editor_texts.get_many(
                session, keys, model=self._model, prompt_version=self._version
            )

    async def put_many(self, texts: Mapping[Key, tuple[str, dict[str, object]]]) -> None:
        async with self._sessionmaker.begin() as session:
            await editor_texts.put_many(
                session,
                texts,
                model=self._model,
                prompt_version=self._version,
                now=self._clock(),
            )
