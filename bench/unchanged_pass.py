"""An unchanged ingest pass inside a running process, ours beside the peer-style baseline.

Run from the repository root: ``nice .venv/bin/python bench/unchanged_pass.py [--feeds 200]``.

``bench/ingest.py`` times whole processes, so its unchanged pass is mostly start-up (imports).
The running bot (``shiftbrief run``) pays start-up once and then runs a pass every few minutes;
this measures that pass. A loopback server (its own process) serves ``--feeds`` small generated
feeds and answers conditional requests with 304. After one first pass each, every round times
one unchanged pass of ours (``IngestService.run_pass`` on a SQLite file, everything it does: SSRF
checks, claiming the feeds, recording each 304 and the next check) and one of the peer's
(``bench.ingest.peer_pass``: aiohttp, every feed at once), in turns, in this one process. Prints
median wall and CPU of each and their ratios, the fetch limits used and the load average.

``--latency S`` makes the server wait S seconds before each answer, as a distant host would:
then a pass is bound by how many requests are in flight (ours: ``SHIFTBRIEF_INGEST_CONCURRENCY``
in all and ``SHIFTBRIEF_PER_HOST_CONCURRENCY`` per host; the peer: aiohttp's default of 100, no
limit per host), and every feed here lives on one host.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def measure(args: argparse.Namespace, urls: list[str], tmp: Path) -> dict[str, list[float]]:
    from bench.ingest import peer_pass
    from bot.app import open_app, open_ingest
    from bot.config import load_settings
    from bot.ingest.catalog import add_feed
    from bot.ingest.netguard import AddressPolicy
    from shiftbrief.cli.base import _classify_new_items

    settings = load_settings()
    times: dict[str, list[float]] = {
        key: [] for key in ("ours_wall", "ours_cpu", "peer_wall", "peer_cpu")
    }
    state = tmp / "peer-state.json"
    async with open_app(settings) as ctx:
        policy = AddressPolicy.from_settings(settings)
        async with ctx.sessionmaker.begin() as session:
            for url in urls:
                await add_feed(session, url=url, sector=None, policy=policy, now=ctx.clock())
        async with open_ingest(ctx, after_store=_classify_new_items()) as service:
            first = await service.run_pass(all_feeds=True)
            await peer_pass(urls, state)
            assert first.ok == len(urls), first.to_json()
            for _ in range(args.rounds):
                wall, cpu = time.perf_counter(), time.process_time()
                report = await service.run_pass(all_feeds=True)
                times["ours_wall"].append(time.perf_counter() - wall)
                times["ours_cpu"].append(time.process_time() - cpu)
                assert report.not_modified == len(urls), report.to_json()
                wall, cpu = time.perf_counter(), time.process_time()
                counts = await peer_pass(urls, state)
                times["peer_wall"].append(time.perf_counter() - wall)
                times["peer_cpu"].append(time.process_time() - cpu)
                assert counts["not_modified"] == len(urls), counts
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()

    from tests.feedserver import Entry, Route, make_rss, serve_in_process

    routes = {
        f"/{i}/feed.xml": Route(
            body=make_rss([Entry(f"Story {i}.{j}", "Text.", guid=f"{i}-{j}") for j in range(5)]),
            conditional=True,
            delay=args.latency,
        )
        for i in range(args.feeds)
    }
    load_before = os.getloadavg()
    with serve_in_process(routes) as server, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ.update(
            SHIFTBRIEF_DATABASE_URL=f"sqlite:///{tmp / 'shiftbrief.db'}",
            SHIFTBRIEF_CONFIG_FILE=str(tmp / "absent.toml"),
            SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS='["127.0.0.1/32"]',
            SHIFTBRIEF_LOG_LEVEL="WARNING",
        )
        os.environ.setdefault("SHIFTBRIEF_PER_HOST_CONCURRENCY", "16")  # as bench/ingest.py
        times = asyncio.run(measure(args, [server.url(p) for p in routes], tmp))
    load_after = os.getloadavg()
    med = {key: statistics.median(values) for key, values in times.items()}
    print(
        f"{args.feeds} feeds, {args.rounds} rounds, latency {args.latency:g} s; per host "
        f"{os.environ['SHIFTBRIEF_PER_HOST_CONCURRENCY']}, in all "
        f"{os.environ.get('SHIFTBRIEF_INGEST_CONCURRENCY', 'default')}; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    for who in ("ours", "peer"):
        print(f"{who}: {med[who + '_wall']:.3f} s wall, {med[who + '_cpu']:.3f} s cpu")
    ratios = {
        "wall": med["ours_wall"] / med["peer_wall"],
        "cpu": med["ours_cpu"] / med["peer_cpu"],
    }
    print(f"ours / peer: wall {ratios['wall']:.2f}x, cpu {ratios['cpu']:.2f}x")
    print(json.dumps({"median": med, "ratios": ratios, "load": [load_before, load_after]}))


if __name__ == "__main__":
    main()
