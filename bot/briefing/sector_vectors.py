"""What the sector decision compares stored vectors with, and the hooks that give the bot's
classifier those vectors.

``bot.briefing.sector_decision`` rescues an item the keyword rules found no sector in by its
vector: into a built-in sector with the classifier of ``bot.briefing.sector_model`` (shipped
weights), into a sector an admin added by that sector's prototype. An admin sector's prototype
is the normalised sum of two unit vectors: the mean of short passages of its names and keywords
(embedded once by the worker and cached), and the mean vector of the newest items its keywords
placed there (read from storage each time the classifier runs, so it follows what the sector
gathers). Built-in sectors' prototypes, the mean vectors of the dev split's items of each sector
(``data/sector_prototypes.json``, made by ``bench/sector_model.py``), are what an admin
sector's prototype has to be nearer than.

The model never runs on ingest or a slash command: the steps here read stored vectors and
cached prototypes only; the background embedding worker makes the passages' vectors
(``prepare``) and then classifies the items it embedded again (``after_embed``). Items without
a vector keep their keyword result until the worker reaches them.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.briefing import embed
from bot.briefing.edition import ItemClassifier, load_sector_defs, reclassify_since
from bot.briefing.sector_decision import Vector, VectorEvidence
from bot.briefing.sector_model import shipped_model
from bot.briefing.sectors import BUILTIN_TERMS
from bot.ingest.timeline import NEWS_WINDOW
from bot.models import SectorDef
from storage.models import Item
from storage.repositories import embeddings as embedding_repo

log = logging.getLogger(__name__)

MAX_TERMS = 80
"""Terms embedded per sector and script: enough to say what the sector is about."""
CHUNK = 10
"""Terms per embedded passage."""
PROTOTYPES_FILE = Path(__file__).with_name("data") / "sector_prototypes.json"


def sector_texts(sector: SectorDef) -> list[tuple[str, str]]:
    """The texts (with languages) whose embeddings make a prototype from ``sector``'s terms.

    Short passages ("Space: satellite, rocket launch, ...") rather than one text per term: on
    the dev set's tune rows they pick the right sector more often (72 % against 66 %), since the
    model reads a passage like the items it is compared with.
    """
    terms = [t.text for t in BUILTIN_TERMS.get(sector.key, ())] if sector.builtin else []
    terms += list(sector.keywords)
    seen: set[str] = set()
    english: list[str] = []
    other: list[str] = []
    for term in terms:
        if term.startswith("re:"):
            continue  # a pattern is not text the model can read
        text = term.rstrip("*").strip()
        if not text or text.casefold() in seen:
            continue
        seen.add(text.casefold())
        (english if text.isascii() else other).append(text)
    # Admin keywords may be in any language; the centring only knows English and Japanese.
    texts: list[tuple[str, str]] = []
    for words, name, lang in ((english, sector.name_en, "en"), (other, sector.name_ja, "ja")):
        words = words[:MAX_TERMS]
        for start in range(0, len(words), CHUNK):
            texts.append((f"{name}: {', '.join(words[start : start + CHUNK])}", lang))
    return texts or [(sector.name_en, "en"), (sector.name_ja or sector.name_en, "ja")]


def shipped_prototypes(model: str) -> dict[str, embed.Vectors]:
    """Built-in sectors' prototypes made from labelled examples (``bench/sector_model.py``)."""
    if not PROTOTYPES_FILE.is_file():
        return {}
    stored = json.loads(PROTOTYPES_FILE.read_text(encoding="utf-8")).get(model, {})
    return {key: np.asarray(vector, dtype=np.float32) for key, vector in stored.items()}


class SectorVectors:
    """Cached prototypes and the shipped model, and the stored vectors the classifier decides with.

    Args:
        embedder: The model; by default the packaged one (the steps do nothing without it).
    """

    def __init__(self, embedder: embed.Embedder | None = None) -> None:
        self._embedder = embedder
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], embed.Vectors] = {}
        self._matched: dict[str, embed.Vectors] = {}
        self._lock = threading.Lock()

    def model(self) -> embed.Embedder | None:
        """The model, loaded on first use; None when it is not installed."""
        if self._embedder is None:
            self._embedder = embed.default_embedder()
        return self._embedder

    @functools.cached_property
    def _shipped(self) -> dict[str, embed.Vectors]:
        model = self.model()  # a server of the same model uses the packaged one's prototypes
        return shipped_prototypes(model.family if model is not None else embed.model_name())

    @property
    def model_name(self) -> str:
        model = self.model()
        return model.name if model is not None else embed.model_name()

    @staticmethod
    def _key(sector: SectorDef) -> tuple[str, tuple[tuple[str, str], ...]]:
        return sector.key, tuple(sector_texts(sector))

    def prepare(self, sectors: Sequence[SectorDef]) -> int:
        """Embed the keyword passages of admin-added ``sectors`` not cached yet (runs the model:
        worker only).

        Returns:
            How many sectors' passages were embedded.
        """
        model = self.model()
        if model is None:
            return 0
        made = 0
        for sector in sectors:
            if sector.builtin:
                continue  # their prototypes ship with the package
            key = self._key(sector)
            with self._lock:
                if key in self._cache:
                    continue
            texts = key[1]
            vectors = model.embed([t for t, _ in texts], [lang for _, lang in texts])
            with self._lock:
                self._cache[key] = _unit(vectors.mean(axis=0))
            made += 1
        if made:
            log.info("computed %d sector prototype(s)", made)
        return made

    async def refresh(self, session: AsyncSession, sectors: Sequence[SectorDef]) -> None:
        """Read the vectors of the items the admin sectors' keywords placed (their prototypes'
        second half) from storage."""
        for sector in sectors:
            if sector.builtin:
                continue
            blobs = await embedding_repo.keyword_matched_vectors(
                session, sector.key, model=self.model_name
            )
            with self._lock:
                if blobs:
                    self._matched[sector.key] = _unit(
                        np.mean([embed.from_blob(b) for b in blobs], axis=0)
                    )
                else:
                    self._matched.pop(sector.key, None)

    def evidence(self, sectors: Sequence[SectorDef]) -> VectorEvidence | None:
        """The shipped model and the prototypes of ``sectors`` made so far; None when there is
        neither.

        An admin sector whose passages the worker has not embedded yet (one just added) is left
        out rather than holding back the rest: classifying again after a sector is added must
        not take away the sectors other items were rescued into.
        """
        keys, rows, admin = [], [], set()
        with self._lock:
            for sector in sectors:
                if sector.builtin:
                    vector = self._shipped.get(sector.key)  # a file read, never the model
                else:
                    vector = self._cache.get(self._key(sector))
                    if vector is not None:
                        admin.add(sector.key)
                        matched = self._matched.get(sector.key)
                        if matched is not None:
                            vector = _unit(vector + matched)
                if vector is not None:
                    keys.append(sector.key)
                    rows.append(vector)
        served = self.model()  # a server of the same model uses the packaged one's classifier
        model = shipped_model(served.family if served is not None else embed.model_name())
        if model is None and not rows:
            return None
        matrix = np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
        return VectorEvidence(model, tuple(keys), matrix, frozenset(admin))

    async def stored(
        self, session: AsyncSession, items: Sequence[Item], sectors: Sequence[SectorDef]
    ) -> tuple[VectorEvidence, dict[int, Vector]] | None:
        """``ItemClassifier``'s ``vectors`` step: the evidence, and the items' stored vectors."""
        blobs = await embedding_repo.vectors_for(
            session, [i.id for i in items], model=self.model_name
        )
        if not blobs:
            return None  # nothing embedded yet: the keyword results stand meanwhile
        await self.refresh(session, sectors)
        found = self.evidence(sectors)
        if found is None:
            return None
        return found, {item_id: embed.from_blob(blob) for item_id, blob in blobs.items()}

    def after_embed(
        self, classifier: ItemClassifier, *, clock: Callable[[], datetime] | None = None
    ) -> Callable[[AsyncSession, Sequence[int]], Awaitable[None]]:
        """The embedding worker's hook: make missing prototypes, classify the items again.

        Args:
            classifier: The classifier with this object's steps (``vector_classifier``).
            clock: The current time; with it, when a new prototype was made (an admin added a
                sector), every news item of the window is classified again, not only the batch.
        """

        async def hook(session: AsyncSession, item_ids: Sequence[int]) -> None:
            defs = await load_sector_defs(session)
            made = await asyncio.to_thread(self.prepare, defs)
            if made and clock is not None:
                await reclassify_since(session, since=clock() - NEWS_WINDOW, classifier=classifier)
                return
            items = (await session.scalars(select(Item).where(Item.id.in_(item_ids)))).all()
            await classifier(session, list(items))

        return hook


def _unit(vector: npt.NDArray[np.floating]) -> embed.Vectors:
    norm = float(np.linalg.norm(vector)) or 1.0
    out: embed.Vectors = (vector / norm).astype(np.float32)
    return out


def vector_classifier(sector_vectors: SectorVectors) -> ItemClassifier:
    """An ``ItemClassifier`` that decides with the vectors and prototypes of ``sector_vectors``."""
    return ItemClassifier(vectors=sector_vectors.stored)
