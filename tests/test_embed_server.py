"""Embedding through an OpenAI-compatible ``/v1/embeddings`` server serving the same model.

The server is a loopback stand-in that serves the packaged model's real vectors
(``tests/embed_api.py``). Through it the vectors are the packaged model's, sent in batches;
they are stored under the server's model name, so after a switch the old vectors are never
compared with the new ones and every item is embedded again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from bot.app import open_app
from bot.briefing import embed
from bot.briefing.edition import load_articles
from bot.briefing.embed_worker import EmbeddingWorker
from bot.config import ConfigError, Settings, load_settings
from storage.models import ItemEmbedding
from tests.conftest import Database
from tests.embed_api import EmbedAPI
from tests.seed import seed_news

pytestmark = pytest.mark.skipif(not embed.available(), reason="the packaged model is not here")

TEXTS = [
    ("Sodium-ion battery plant starts production in Sweden", "en"),
    ("量子コンピュータで新薬候補を探索、製薬大手が共同研究", "ja"),
    ("Open large language model matches GPT-4 on reasoning benchmarks", "en"),
    ("Neutral-atom quantum computer reaches 1,000 qubits", "en"),
    ("ナトリウムイオン電池の工場がスウェーデンで生産開始", "ja"),
] * 20  # 100 texts: two requests of at most 64


@pytest.fixture(autouse=True)
def packaged_model_afterwards() -> Iterator[None]:
    yield
    embed.configure(None)


async def test_the_server_gives_the_packaged_models_vectors_in_batches_of_64() -> None:
    texts, langs = [t for t, _ in TEXTS], [lang for _, lang in TEXTS]
    async with EmbedAPI() as api:
        remote = embed.remote_embedder(embed.EmbedServer(base_url=api.base_url, model=api.model))
        # Off the event loop, as the worker calls it (the stand-in answers on this loop).
        vectors = await asyncio.to_thread(remote.embed, texts, langs)
    local = embed.Embedder().embed(texts, langs)
    assert api.batches == [64, 36]
    assert vectors.shape == local.shape
    assert np.allclose(vectors, local, atol=1e-4)
    assert remote.name == "intfloat/multilingual-e5-small"


async def test_a_batch_larger_than_the_server_takes_is_split() -> None:
    texts, langs = [t for t, _ in TEXTS[:50]], [lang for _, lang in TEXTS[:50]]
    async with EmbedAPI(max_batch=20) as api:
        server = embed.EmbedServer(base_url=api.base_url, model=api.model, batch=64)
        vectors = await asyncio.to_thread(embed.remote_embedder(server).embed, texts, langs)
    assert api.refused >= 1 and max(api.batches) <= 20 and sum(api.batches) == 50
    assert vectors.shape == (50, 384)


async def test_a_switch_to_the_server_embeds_again_instead_of_mixing(
    sqlite_db: Database, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    await seed_news(sqlite_db, now)
    packaged = EmbeddingWorker(sessionmaker=sqlite_db.sessionmaker, clock=lambda: now)
    assert await packaged.run_once() == 5
    async with EmbedAPI() as api:
        settings = Settings(
            database_url=sqlite_db.url,
            embed_base_url=api.base_url,
            embed_model=api.model,
            config_file=str(tmp_path / "none.toml"),
        )
        async with open_app(settings) as ctx:
            assert embed.model_name() == api.model
            async with ctx.sessionmaker() as session:
                before = await load_articles(session, since=now.replace(year=now.year - 1))
            # The packaged model's vectors are not the server's: none is read.
            assert before and all(a.embedding is None for a in before)
            worker = EmbeddingWorker(sessionmaker=ctx.sessionmaker, clock=lambda: now)
            assert await worker.run_once() == 5
            assert await worker.run_once() == 0
            async with ctx.sessionmaker() as session:
                after = await load_articles(session, since=now.replace(year=now.year - 1))
                stored = (await session.execute(select(ItemEmbedding.model))).scalars().all()
    assert api.batches == [5]
    assert set(stored) == {api.model}
    assert all(a.embedding is not None for a in after)
    # ... and they are the same model's vectors.
    local = embed.Embedder().embed(
        [embed.article_text(a.title, a.summary) for a in after], [a.language for a in after]
    )
    served = np.stack([embed.from_blob(a.embedding) for a in after if a.embedding])
    assert np.allclose(served, local, atol=1e-4)


def test_a_server_without_its_model_name_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(
            embed_base_url="http://127.0.0.1:8080/v1", config_file=str(tmp_path / "none.toml")
        )
    assert "SHIFTBRIEF_EMBED_MODEL" in str(refused.value)
