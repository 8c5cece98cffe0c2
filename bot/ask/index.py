"""Stored item vectors in memory, so a question is compared with the whole archive at once.

Loading 100,000 vectors from the database for every question would take longer than the
answer may; the index loads them once and then only the vectors stored since its last look
(the background worker keeps adding them). Memory: 4 bytes x 384 dimensions per item, about
150 MB for 100,000 items.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from bot.briefing.embed import Vectors, from_blob
from storage.repositories import retrieval


class VectorIndex:
    """The stored vectors of one model, by item id; ``refresh`` before ``nearest``."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._ids: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._matrix: Vectors = np.zeros((0, 0), dtype=np.float32)
        self._row: dict[int, int] = {}
        self._seen_until: tuple[datetime, int] | None = None
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._row)

    @property
    def nbytes(self) -> int:
        return int(self._matrix.nbytes + self._ids.nbytes)

    async def refresh(self, session: AsyncSession) -> int:
        """Load the vectors stored since the last refresh; returns how many were new."""
        async with self._lock:
            rows = await retrieval.vectors_since(session, model=self.model, since=self._seen_until)
            if not rows:
                return 0
            self._seen_until = (rows[-1][2], rows[-1][0])
            new_ids: list[int] = []
            new_rows: list[Vectors] = []
            added = 0
            for item_id, blob, _when in rows:
                vector = from_blob(blob)
                if item_id in self._row:  # re-embedded (or read twice at the boundary)
                    self._matrix[self._row[item_id]] = vector
                    continue
                self._row[item_id] = len(self._ids) + len(new_ids)
                new_ids.append(item_id)
                new_rows.append(vector)
                added += 1
            if new_rows:
                block = np.stack(new_rows).astype(np.float32)
                self._matrix = (
                    block if not len(self._ids) else np.concatenate([self._matrix, block])
                )
                self._ids = np.concatenate([self._ids, np.asarray(new_ids, dtype=np.int64)])
            return added

    def nearest(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        """The ``k`` items closest to ``query`` (cosine), closest first."""
        if not len(self._ids) or k <= 0:
            return []
        scores = self._matrix @ query.astype(np.float32)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(self._ids[i]), float(scores[i])) for i in top]
