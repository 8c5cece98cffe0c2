"""Exactly once under ``kill -9`` (issue 11 section 1): kills, duplicates, losses.

Each run seeds a fan-out of one digest to 40 readers (20 on Slack, 20 on Discord, a quarter of
each in DMs; 3 Slack parts or 2 Discord parts each, 100 parts in all), runs the real delivery
worker (tests/exactly_once_worker.py) against the loopback fakes and SIGKILLs it ``--kills``
times at random posts (seeded), half of them before the post's reply reaches the worker, then
restarts it until the fan-out is done. It counts messages beyond one per part (duplicates),
parts no reader got (losses) and readers whose ledger row disagrees with what was posted.

``--blind`` switches the adapters' look-up of already posted parts off: the figure shows what
the look-up is worth (the ledger alone, as before issue 11).

Run: .venv/bin/python bench/killtest.py [--runs 5] [--kills 10] [--seed 1] [--blind]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.db import make_engine, make_sessionmaker, upgrade
from tests.conftest import Database
from tests.killharness import run_fanout


async def one_run(kills: int, seed: int, blind: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/killtest.db"
        engine = make_engine(url)
        await upgrade(engine)
        try:
            db = Database(url, engine, make_sessionmaker(engine))
            outcome = await run_fanout(
                db, Path(folder), kills=kills, seed=seed, blind=blind, within=600
            )
        finally:
            await engine.dispose()
    return {
        "seed": seed,
        "kills": outcome.kills,
        "kills_before_reply": outcome.kills_before_reply,
        "parts": outcome.parts_expected,
        "posts": outcome.posts,
        "duplicates": outcome.duplicates,
        "losses": outcome.losses,
        "readers_with_duplicates_or_losses": len(outcome.readers_with_problems),
        "ledger_disagrees": len(outcome.ledger_disagrees),
    }


async def main(runs: int, kills: int, seed: int, blind: bool) -> dict[str, object]:
    results = []
    for n in range(runs):
        result = await one_run(kills, seed + n, blind)
        print(json.dumps(result), flush=True)
        results.append(result)
    total = {
        key: sum(int(r[key]) for r in results)  # type: ignore[call-overload]
        for key in ("kills", "kills_before_reply", "parts", "posts", "duplicates", "losses")
    }
    return {
        "runs": runs,
        "blind": blind,
        **total,
        "readers_affected": sum(int(r["readers_with_duplicates_or_losses"]) for r in results),  # type: ignore[call-overload]
        "ledger_disagrees": sum(int(r["ledger_disagrees"]) for r in results),  # type: ignore[call-overload]
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--blind", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.runs, args.kills, args.seed, args.blind))))
