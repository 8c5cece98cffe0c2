"""Ingest benchmark: 200 feeds x 50 items on loopback, ShiftBrief's pass against a naive loop.

Run from the repository root: ``.venv/bin/python bench/ingest.py``.

The feeds are served by a separate process (so the server never competes for the client's
GIL) and answer conditional requests with 304, as real servers do. Each contender runs in its
own child process so its peak RSS is its own:

* naive: ``feedparser.parse(url)`` for every URL, one after another (feedparser's defaults);
* shiftbrief: a first pass over freshly added feeds into a temporary SQLite file, then a second
  pass where nothing changed.

Prints a small table and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.feedserver import Entry, Route, make_rss, serve_in_process  # noqa: E402

WORDS = [
    "battery",
    "grid",
    "solar",
    "quantum",
    "chip",
    "model",
    "robot",
    "launch",
    "funding",
    "regulator",
    "policy",
    "cloud",
    "network",
    "outage",
    "research",
    "paper",
    "startup",
    "acquisition",
    "factory",
    "supply",
    "export",
    "satellite",
]


def build_routes(n_feeds: int, n_items: int, latency: float = 0.0) -> dict[str, Route]:
    """Feeds shaped like real ones: HTML summaries of a few sentences, RFC 822 dates."""
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    routes = {}
    for f in range(n_feeds):
        entries = []
        for i in range(n_items):
            w = [WORDS[(f * 7 + i * 3 + k) % len(WORDS)] for k in range(12)]
            entries.append(
                Entry(
                    title=f"Feed {f}: {' '.join(w[:6]).capitalize()} story {i}",
                    summary=(
                        f"<p>{' '.join(w).capitalize()} &amp; more about item {i}.</p>"
                        f"<p>A <a href='/x/{i}'>second</a> paragraph with <b>markup</b>, "
                        f"{' '.join(reversed(w))}.</p>"
                    ),
                    link=f"https://site{f}.example/{i}",
                    guid=f"site{f}-{i}",
                    pub_date=(start - timedelta(minutes=37 * i)).strftime(
                        "%a, %d %b %Y %H:%M:%S +0000"
                    ),
                )
            )
        routes[f"/feed/{f}.xml"] = Route(body=make_rss(entries), conditional=True, delay=latency)
    return routes


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_naive(urls: list[str]) -> dict[str, float]:
    import feedparser

    start = time.perf_counter()
    entries = 0
    for url in urls:
        entries += len(feedparser.parse(url).entries)
    return {
        "seconds": time.perf_counter() - start,
        "entries": entries,
        "peak_rss_mb": _peak_rss_mb(),
    }


async def _run_shiftbrief(urls: list[str], db_path: Path, processes: int) -> dict[str, float]:
    from bot.config import Settings
    from bot.ingest.fetch import FeedFetcher
    from bot.ingest.service import IngestService
    from storage.db import make_engine, make_sessionmaker, upgrade
    from storage.repositories.feeds import add_feed

    url = f"sqlite+aiosqlite:///{db_path}"
    # All 200 feeds share one loopback host here; real feeds are spread over many hosts, so the
    # per-host limit (2 by default) is raised to what the pass would see across hosts.
    settings = Settings(
        database_url=url,
        allowed_private_networks=("127.0.0.1/32",),
        per_host_concurrency=16,
    )
    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    now = datetime.now(UTC)
    async with sessionmaker.begin() as session:
        for feed_url in urls:
            await add_feed(session, url=feed_url, now=now)

    def clock() -> datetime:
        return datetime.now(UTC)

    out: dict[str, float] = {}
    async with FeedFetcher.from_settings(settings, clock=clock) as fetcher:
        service = IngestService(
            sessionmaker=sessionmaker,
            fetcher=fetcher,
            clock=clock,
            settings=settings,
            parse_processes=processes,
        )
        start = time.perf_counter()
        first = await service.run_pass(all_feeds=True)
        out["first_seconds"] = time.perf_counter() - start
        out["first_new_items"] = first.new_items
        out["first_failed"] = first.failed
        start = time.perf_counter()
        second = await service.run_pass(all_feeds=True)
        out["second_seconds"] = time.perf_counter() - start
        out["second_not_modified"] = second.not_modified
        out["second_new_items"] = second.new_items
        service.close()
    await engine.dispose()
    out["peak_rss_mb"] = _peak_rss_mb()
    # The largest parser process, if any (ru_maxrss of the biggest child that has ended).
    out["worker_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def _child(mode: str, urls_file: Path, processes: int) -> None:
    urls = json.loads(urls_file.read_text())
    if mode == "naive":
        result = run_naive(urls)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(_run_shiftbrief(urls, Path(tmp) / "bench.db", processes))
    print(json.dumps(result))


def _spawn(mode: str, urls_file: Path, processes: int = 0) -> dict[str, float]:
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--urls",
            str(urls_file),
            "--parse-processes",
            str(processes),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--child", choices=["naive", "shiftbrief"])
    parser.add_argument("--urls", type=Path)
    parser.add_argument(
        "--parse-processes",
        type=int,
        default=0,
        help="IngestService(parse_processes=N): 0 parses in a thread, N>0 in N processes",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds each response waits, as a server across the internet would (default 0: "
        "pure loopback, as the issue asks)",
    )
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.urls, args.parse_processes)
        return

    routes = build_routes(args.feeds, args.items, args.latency)
    body_mb = sum(len(r.body) for r in routes.values()) / 1e6
    with serve_in_process(routes) as server, tempfile.TemporaryDirectory() as tmp:
        urls_file = Path(tmp) / "urls.json"
        urls_file.write_text(json.dumps([server.url(p) for p in routes]))
        naive = _spawn("naive", urls_file)
        ours = _spawn("shiftbrief", urls_file, args.parse_processes)

    first_ratio = ours["first_seconds"] / naive["seconds"]
    second_ratio = ours["second_seconds"] / naive["seconds"]
    rows = [
        ("naive feedparser.parse(url) loop", naive["seconds"], 1.0, naive["peak_rss_mb"]),
        ("shiftbrief first pass", ours["first_seconds"], first_ratio, ours["peak_rss_mb"]),
        ("shiftbrief unchanged pass (304)", ours["second_seconds"], second_ratio, float("nan")),
    ]
    print(
        f"{args.feeds} feeds x {args.items} items, {body_mb:.1f} MB of XML, loopback, "
        f"server latency {args.latency * 1000:.0f} ms, parse_processes={args.parse_processes}"
    )
    print(f"{'run':36} {'seconds':>8} {'ratio':>7} {'peak RSS MB':>12}")
    for name, secs, ratio, rss in rows:
        rss_text = f"{rss:12.0f}" if rss == rss else f"{'(same run)':>12}"
        print(f"{name:36} {secs:8.2f} {ratio:7.3f} {rss_text}")
    print(
        f"targets: first <= 0.30x ({'met' if first_ratio <= 0.3 else 'MISSED'}), "
        f"unchanged <= 0.05x ({'met' if second_ratio <= 0.05 else 'MISSED'})"
    )
    if args.parse_processes:
        print(f"largest parser process: {ours['worker_peak_rss_mb']:.0f} MB peak RSS")
    print(
        json.dumps(
            {
                "feeds": args.feeds,
                "items_per_feed": args.items,
                "parse_processes": args.parse_processes,
                "latency_seconds": args.latency,
                "naive_seconds": round(naive["seconds"], 3),
                "naive_entries": naive["entries"],
                "first_pass_seconds": round(ours["first_seconds"], 3),
                "first_pass_new_items": ours["first_new_items"],
                "first_pass_failed": ours["first_failed"],
                "unchanged_pass_seconds": round(ours["second_seconds"], 3),
                "unchanged_pass_not_modified": ours["second_not_modified"],
                "first_ratio": round(first_ratio, 3),
                "unchanged_ratio": round(second_ratio, 4),
                "naive_peak_rss_mb": round(naive["peak_rss_mb"], 1),
                "shiftbrief_peak_rss_mb": round(ours["peak_rss_mb"], 1),
                "parser_process_peak_rss_mb": round(ours["worker_peak_rss_mb"], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
