"""Benchmark: answers from the archive (issue 18, point 3).

Quality: the labelled questions of ``bench/data/ask_questions.toml`` (English and Japanese,
half of them answered only by reports in the other language, each with the corpus items that
answer it) against an archive of the real news feeds of ``../shared/corpus/realfeeds`` (the
journals, paper lists and blogs of other trades are left out, as is GIGAZINE's 3,049-entry
re-export, so that embedding the archive takes minutes rather than an hour on two cores), every
item embedded. For vectors only, full text only and
hybrid (both fused): recall@5 (the share of a question's relevant items in its five best
stories) and MRR (1 / rank of the first story holding a relevant item), overall and for the
questions answered across languages; and whether questions nothing answers are told so.

Latency: ``/brief ask`` through the dispatcher (no model to write) on an archive of 100,000
items: the corpus items repeated with their vectors slightly moved, p50 and p95 over the
questions, and the process's memory (the vector index and peak RSS).

Run: ``nice .venv/bin/python bench/ask.py [--db PATH] [--items 100000]``. ``--db`` keeps the
embedded corpus archive between runs (built there when missing).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.ask.retrieve import Mode, Retriever  # noqa: E402
from bot.briefing.edition import ItemClassifier  # noqa: E402
from bot.briefing.embed_worker import embed_everything  # noqa: E402
from bot.commands.dispatcher import Dispatcher  # noqa: E402
from bot.commands.model import CommandRequest, CommandText, Invocation  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.ingest.fetch import FeedFetcher  # noqa: E402
from bot.ingest.service import IngestService  # noqa: E402
from storage.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from storage.repositories import feeds as feed_repo  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "realfeeds"
NEWS_FEEDS = (
    "cleantechnica",
    "electrek",
    "gigazine_ai_keyword_filtered_small",
    "google_deepmind",
    "googlenews",
    "hackernews",
    "impresswatch",
    "interconnects",
    "interestingengineering",
    "itmedia",
    "ledge_ai",
    "newatlas",
    "newspicks",
    "slashdot",
    "statnews",
    "techcrunch",
    "theverge",
    "yahoo_news_jp",
)
NOW = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Question:
    text: str
    language: str
    cross: bool
    relevant: frozenset[str]


def load_questions() -> tuple[list[Question], list[str]]:
    data = tomllib.loads((ROOT / "bench" / "data" / "ask_questions.toml").read_text("utf-8"))
    questions = [
        Question(q["text"], q["language"], q["cross"], frozenset(q["relevant"]))
        for q in data["question"]
    ]
    return questions, [q["text"] for q in data["unanswerable"]]


async def build_archive(path: Path) -> None:
    """Ingest the corpus feeds from loopback and embed every item (minutes)."""
    url = f"sqlite+aiosqlite:///{path}"
    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    files = [p for p in sorted(CORPUS.glob("*.xml")) if p.name.startswith(NEWS_FEEDS)]
    settings = Settings(database_url=url, allowed_private_networks=("127.0.0.1/32",))
    async with FeedServer() as server:
        async with sessionmaker.begin() as session:
            for p in files:
                server.set(f"/{p.name}", body=p.read_bytes(), content_type="application/xml")
                await feed_repo.add_feed(session, url=server.url(f"/{p.name}"), now=NOW)
        async with FeedFetcher.from_settings(settings) as fetcher:
            service = IngestService(
                sessionmaker=sessionmaker,
                fetcher=fetcher,
                clock=lambda: NOW,
                settings=settings,
                after_store=ItemClassifier(),
            )
            report = await service.run_pass()
    print(f"archive: {report.new_items} items from {len(files)} feeds; embedding them ...")
    started = time.perf_counter()
    done = await embed_everything(sessionmaker, lambda: NOW)
    print(f"embedded {done} items in {time.perf_counter() - started:.0f} s")
    await engine.dispose()


async def quality(path: Path, questions: list[Question], unanswerable: list[str]) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    sessionmaker = make_sessionmaker(engine)
    retriever = Retriever()
    print("\nmode     | recall@5 all | recall@5 cross | MRR all | MRR cross")
    for mode in ("vectors", "text", "hybrid"):
        recalls: list[tuple[bool, float]] = []
        ranks: list[tuple[bool, float]] = []
        for q in questions:
            async with sessionmaker() as session:
                found = await retriever.retrieve(session, q.text, mode=_mode(mode))
            links = [{a.link for a in s.story.articles} for s in found.stories[:5]]
            hit = set().union(*links) & q.relevant if links else set()
            recalls.append((q.cross, len(hit) / len(q.relevant)))
            first = next((n for n, ls in enumerate(links, 1) if ls & q.relevant), None)
            ranks.append((q.cross, 1 / first if first else 0.0))
            if mode == "hybrid" and not hit:
                print(f"  missed: {q.text}")
        print(
            f"{mode:8} | {_mean(recalls):12.3f} | {_mean(recalls, True):14.3f} | "
            f"{_mean(ranks):7.3f} | {_mean(ranks, True):9.3f}"
        )
    told, flagged = 0, 0
    for text in unanswerable:
        async with sessionmaker() as session:
            found = await retriever.retrieve(session, text)
        told += not found.relevant
    for q in questions:
        async with sessionmaker() as session:
            found = await retriever.retrieve(session, q.text)
        flagged += any({a.link for a in s.story.articles} & q.relevant for s in found.relevant)
    print(
        f"unanswerable questions told 'nothing relevant': {told}/{len(unanswerable)}; "
        f"answerable questions answered with a relevant story: {flagged}/{len(questions)}"
    )
    await engine.dispose()


def _mode(name: str) -> Mode:
    return "vectors" if name == "vectors" else "text" if name == "text" else "hybrid"


def _mean(pairs: list[tuple[bool, float]], cross_only: bool = False) -> float:
    values = [v for cross, v in pairs if cross or not cross_only]
    return sum(values) / len(values) if values else 0.0


async def big_archive(source: Path, target: Path, items: int) -> None:
    """``items`` items: the corpus archive's repeated, titles numbered, vectors moved a little."""
    import sqlite3

    rng = np.random.default_rng(18)
    src = sqlite3.connect(source)
    engine = make_engine(f"sqlite+aiosqlite:///{target}")
    await upgrade(engine)
    await engine.dispose()
    dst = sqlite3.connect(target)
    dst.execute("INSERT INTO feeds SELECT * FROM (SELECT * FROM feeds) WHERE 0")  # schema check
    dst.execute(f"ATTACH DATABASE '{source}' AS src")
    dst.execute("INSERT INTO feeds SELECT * FROM src.feeds")
    dst.execute("INSERT INTO feed_states SELECT * FROM src.feed_states")
    dst.execute("INSERT INTO feed_owners SELECT * FROM src.feed_owners")
    dst.commit()
    cols = [r[1] for r in src.execute("PRAGMA table_info(items)")]
    rows = src.execute(f"SELECT {', '.join(cols)} FROM items ORDER BY id").fetchall()
    vectors = dict(src.execute("SELECT item_id, vector FROM item_embeddings").fetchall())
    model, stamp = src.execute("SELECT model, created_at FROM item_embeddings LIMIT 1").fetchone()
    at = {c: n for n, c in enumerate(cols)}
    next_id, copy = 1, 0
    placeholders = ", ".join("?" for _ in cols)
    while next_id <= items:
        batch, embedded = [], []
        for row in rows:
            if next_id > items:
                break
            new = list(row)
            new[at["id"]] = next_id
            if copy:
                for key in ("guid", "link"):
                    if new[at[key]]:
                        new[at[key]] = f"{new[at[key]]}#copy{copy}"
                new[at["content_hash"]] = f"{new[at['content_hash']]}-{copy}"
                new[at["title"]] = f"{new[at['title']]} ({copy})"
            batch.append(new)
            blob = vectors.get(row[at["id"]])
            if blob is not None:
                vector = np.frombuffer(blob, dtype="<f4")
                if copy:
                    vector = vector + rng.normal(0, 0.02, vector.shape).astype(np.float32)
                    vector = vector / np.linalg.norm(vector)
                embedded.append((next_id, model, vector.astype("<f4").tobytes(), stamp))
            next_id += 1
        dst.executemany(f"INSERT INTO items ({', '.join(cols)}) VALUES ({placeholders})", batch)
        dst.executemany(
            "INSERT INTO item_embeddings (item_id, model, vector, created_at) VALUES (?,?,?,?)",
            embedded,
        )
        dst.commit()
        copy += 1
    dst.close()
    src.close()


async def latency(target: Path, questions: list[Question], rounds: int) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{target}")
    sessionmaker = make_sessionmaker(engine)
    dispatcher = Dispatcher(sessionmaker=sessionmaker, clock=lambda: NOW)
    invocation = Invocation(platform="console", tenant_id="bench", user_id="u1", locale="en")
    started = time.perf_counter()
    await dispatcher.handle(CommandRequest(CommandText("/brief ask warm up"), invocation))
    print(
        f"\nfirst /brief ask (loads the model and the vector index): "
        f"{time.perf_counter() - started:.1f} s"
    )
    times = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            reply = await dispatcher.handle(
                CommandRequest(CommandText(f"/brief ask {q.text}"), invocation)
            )
            times.append(time.perf_counter() - t)
            assert not reply.error, reply.text
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(
        f"/brief ask on {await _count(sessionmaker)} items, {len(times)} questions: "
        f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {times[-1] * 1000:.0f} ms"
    )
    index = dispatcher._services.asker.retriever.index  # type: ignore[union-attr]
    if index is not None:
        print(f"vector index: {len(index)} vectors, {index.nbytes / 2**20:.0f} MiB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MiB")
    await engine.dispose()


async def _count(sessionmaker: object) -> int:
    from sqlalchemy import func, select

    from storage.models import Item

    async with sessionmaker() as session:  # type: ignore[operator]
        return int(await session.scalar(select(func.count()).select_from(Item)) or 0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="the embedded corpus archive (kept)")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--big", type=Path, help="the 100,000-item archive (kept)")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    questions, unanswerable = load_questions()
    cross = sum(q.cross for q in questions)
    print(
        f"{len(questions)} questions ({cross} answered across languages), "
        f"{len(unanswerable)} that nothing answers"
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "archive.db"
        if not db.exists():
            await build_archive(db)
        if not args.skip_quality:
            await quality(db, questions, unanswerable)
        if not args.skip_latency:
            big = args.big or Path(tmp) / "big.db"
            if not big.exists():
                started = time.perf_counter()
                await big_archive(db, big, args.items)
                elapsed = time.perf_counter() - started
                print(f"\nbuilt a {args.items}-item archive in {elapsed:.0f} s")
            await latency(big, questions, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
