"""The in-memory vector index loads each stored vector once, even when a batch shares one
timestamp, and finds the nearest ones."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from bot.ask.index import VectorIndex
from storage.models import Feed, FeedOwner, FeedState, Item
from storage.repositories import embeddings as embedding_repo
from storage.repositories import retrieval
from tests.conftest import Database

NOW = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
MODEL = "test-model"


def _unit(i: int) -> bytes:
    vector = np.zeros(8, dtype="<f4")
    vector[i % 8] = 1.0
    return vector.tobytes()


async def _items(db: Database, n: int, start: int) -> list[int]:
    async with db.sessionmaker.begin() as session:
        feed = Feed(url=f"https://f.example/{start}", title="F", created_at=NOW)
        feed.state = FeedState(next_check_at=NOW)
        session.add(feed)
        await session.flush()
        session.add(FeedOwner(feed_id=feed.id, tenant_id=None, created_at=NOW))
        items = [
            Item(feed_id=feed.id, content_hash=f"h{start + i}", title=f"t{i}", first_seen_at=NOW)
            for i in range(n)
        ]
        session.add_all(items)
        await session.flush()
        ids = [i.id for i in items]
        await embedding_repo.store(
            session, model=MODEL, vectors={i: _unit(i) for i in ids}, now=NOW
        )
    return ids


async def test_a_batch_stored_in_one_instant_is_loaded_once(db: Database) -> None:
    index = VectorIndex(MODEL)
    first = await _items(db, 3, 0)
    async with db.sessionmaker() as session:
        assert await index.refresh(session) == 3
        assert await index.refresh(session) == 0
        # Nothing new is nothing read: the last vector read marks the place, ties included.
        assert await retrieval.vectors_since(session, model=MODEL, since=(NOW, first[-1])) == []
    second = await _items(db, 2, 10)  # the same timestamp as the first batch
    async with db.sessionmaker() as session:
        assert await index.refresh(session) == 2
    assert len(index) == 5
    query = np.frombuffer(_unit(second[0]), dtype="<f4")
    assert index.nearest(query, 1)[0] == (second[0], 1.0)
    assert {i for i, _ in index.nearest(query, 5)} == set(first + second)
