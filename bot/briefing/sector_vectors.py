"""Sector prototypes for the veto and rescue of ``bot.briefing.sector_decision``, and the hooks
that give the bot's classifier stored vectors to decide with.

The keyword rules read only English and Japanese (``classify.has_keyword_rules``), so a German,
Spanish or Chinese item gets no sector from them; and a single low-weight term ("Post-Quantum"
in a conference advert, ワクチン in a hospital's data breach) can put an item in the wrong
section. Each sector gets a prototype vector, computed once and cached: for a built-in sector
the mean vector of labelled example items (shipped in ``data/sector_prototypes.json``, made
from the dev set by ``bench/sector_prototypes.py``); for a sector an admin added, the mean of
short passages of its name and keywords. ``sector_decision.decide`` compares an item's vector
with them.

The model never runs on ingest or a slash command: the steps here read stored vectors and
cached prototypes only; the background embedding worker makes both (``prepare``) and then
classifies the items it embedded again (``after_embed``). Items without a vector keep their
keyword result until the worker reaches them.
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
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.briefing import embed
from bot.briefing.edition import ItemClassifier, load_sector_defs, reclassify_since
from bot.briefing.sector_decision import Prototypes, Vector
from bot.briefing.sectors import BUILTIN_TERMS
from bot.ingest.timeline import NEWS_WINDOW
from bot.models import SectorDef
from storage.models import Item
from storage.repositories import embeddings as embedding_repo

log = logging.getLogger(__name__)

OFF_TOPIC = "none"
"""The key of the off-topic prototype in the shipped file."""
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
    """Built-in sectors' prototypes made from labelled examples (``bench/sector_prototypes.py``)."""
    if not PROTOTYPES_FILE.is_file():
        return {}
    stored = json.loads(PROTOTYPES_FILE.read_text(encoding="utf-8")).get(model, {})
    return {key: np.asarray(vector, dtype=np.float32) for key, vector in stored.items()}


class SectorVectors:
    """Cached sector prototypes, and the stored vectors the classifier decides with.

    Args:
        embedder: The model; by default the packaged one (the steps do nothing without it).
    """

    def __init__(self, embedder: embed.Embedder | None = None) -> None:
        self._embedder = embedder
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], embed.Vectors] = {}
        self._lock = threading.Lock()

    def model(self) -> embed.Embedder | None:
        """The model, loaded on first use; None when it is not installed."""
        if self._embedder is None:
            self._embedder = embed.default_embedder()
        return self._embedder

    @functools.cached_property
    def _shipped(self) -> dict[str, embed.Vectors]:
        return shipped_prototypes(self.model_name)

    @property
    def model_name(self) -> str:
        model = self.model()
        return model.name if model is not None else embed.model_name()

    @staticmethod
    def _key(sector: SectorDef) -> tuple[str, tuple[tuple[str, str], ...]]:
        return sector.key, tuple(sector_texts(sector))

    def prepare(self, sectors: Sequence[SectorDef]) -> int:
        """Compute the prototypes of ``sectors`` not cached yet (runs the model: worker only).

        Returns:
            How many prototypes were computed.
        """
        model = self.model()
        if model is None:
            return 0
        made = 0
        for sector in sectors:
            key = self._key(sector)
            with self._lock:
                if key in self._cache:
                    continue
            shipped = self._shipped.get(sector.key) if sector.builtin else None
            if shipped is not None:
                with self._lock:
                    self._cache[key] = shipped
                continue
            texts = key[1]
            vectors = model.embed([t for t, _ in texts], [lang for _, lang in texts])
            mean = vectors.mean(axis=0)
            norm = float(np.linalg.norm(mean)) or 1.0
            with self._lock:
                self._cache[key] = (mean / norm).astype(np.float32)
            made += 1
        if made:
            log.info("computed %d sector prototype(s)", made)
        return made

    def prototypes(self, sectors: Sequence[SectorDef]) -> Prototypes | None:
        """The prototypes of ``sectors`` made so far (rows in order); None when there are none.

        A sector whose prototype the worker has not made yet (one an admin just added) is left
        out rather than holding back the rest: re-classifying after a sector is added must not
        take away the sectors other items were rescued into.
        """
        keys, rows = [], []
        with self._lock:
            for sector in sectors:
                vector = self._cache.get(self._key(sector))
                if vector is None and sector.builtin:
                    vector = self._shipped.get(sector.key)  # a file read, never the model
                if vector is not None:
                    keys.append(sector.key)
                    rows.append(vector)
        if not rows:
            return None
        return Prototypes(tuple(keys), np.stack(rows), self._shipped.get(OFF_TOPIC))

    async def stored(
        self, session: AsyncSession, items: Sequence[Item], sectors: Sequence[SectorDef]
    ) -> tuple[Prototypes, dict[int, Vector]] | None:
        """``ItemClassifier``'s ``vectors`` step: prototypes, and the items' stored vectors."""
        found = self.prototypes(sectors)
        if found is None:
            return None  # the worker has not made them yet: keyword results stand meanwhile
        blobs = await embedding_repo.vectors_for(
            session, [i.id for i in items], model=self.model_name
        )
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


def vector_classifier(sector_vectors: SectorVectors) -> ItemClassifier:
    """An ``ItemClassifier`` that decides with the vectors and prototypes of ``sector_vectors``."""
    return ItemClassifier(vectors=sector_vectors.stored)
