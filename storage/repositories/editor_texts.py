"""Editor texts: read many at once, write without clobbering another process's copy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EditorText

Key = tuple[str, str]
"""(content hash, language)."""

_BATCH = 400
"""Keys per query: well under SQLite's bound-parameter limit."""


async def get_many(
    session: AsyncSession, keys: Iterable[Key], *, model: str, prompt_version: str
) -> dict[Key, dict[str, object]]:
    """The stored payloads of ``keys`` for ``model`` and ``prompt_version`` (missing: absent)."""
    wanted = list(dict.fromkeys(keys))
    found: dict[Key, dict[str, object]] = {}
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start : start + _BATCH]
        query = select(EditorText.content_hash, EditorText.language, EditorText.payload).where(
            EditorText.model == model,
            EditorText.prompt_version == prompt_version,
            tuple_(EditorText.content_hash, EditorText.language).in_(batch),
        )
        for content_hash, language, payload in (await session.execute(query)).all():
            found[(content_hash, language)] = payload
    return found


async def put_many(
    session: AsyncSession,
    texts: Mapping[Key, tuple[str, dict[str, object]]],
    *,
    model: str,
    prompt_version: str,
    now: datetime,
) -> None:
    """Store (kind, payload) per key; a row another process wrote first is kept."""
    if not texts:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [
        {
            "content_hash": content_hash,
            "language": language,
            "model": model,
            "prompt_version": prompt_version,
            "kind": kind,
            "payload": payload,
            "created_at": now,
        }
        for (content_hash, language), (kind, payload) in texts.items()
    ]
    for start in range(0, len(rows), 100):
        await session.execute(
            insert(EditorText)
            .values(rows[start : start + 100])
            .on_conflict_do_nothing(
                index_elements=["content_hash", "language", "model", "prompt_version"]
            )
        )


async def delete_before(session: AsyncSession, before: datetime) -> int:
    """Forget texts written before ``before`` (their stories left the news long ago)."""
    result = await session.execute(delete(EditorText).where(EditorText.created_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
