"""Benchmark: a recorded week of real feeds, one reader's digests (issue 18, point 2).

Replays ``tests/week_replay.py``'s week (TechCrunch AI, The Verge AI, Google DeepMind and
Interconnects, 2026-08-11 to 08-18, from ``../shared/corpus/realfeeds``): every morning a digest
at 07:00 and the reader's ``/brief today`` at 13:00, each item embedded as the running bot would.
Reports, per digest, what was shown, left out (received, nothing new) and marked as an update
with its note; then the stories shown again without news (goal 0) and updates that name no news
(goal 0).

Run: ``nice .venv/bin/python bench/continuity.py [--no-embed]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from tests.conftest import Database  # noqa: E402
from tests.week_replay import replay  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-embed", action="store_true", help="lexical grouping only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/week.db"
        engine = make_engine(url)
        await upgrade(engine)
        week = await replay(
            Database(url, engine, make_sessionmaker(engine)),
            ROOT.parent / "shared" / "corpus",
            embed=not args.no_embed,
        )
        await engine.dispose()
    updates = 0
    for day in week.days:
        entries = day.entries
        marked = [e for e in entries if e.update]
        updates += len(marked)
        print(
            f"{day.morning:%a %m-%d %H:%M}: {len(entries)} stories shown, {len(marked)} updates, "
            f"{day.hidden} left out (received, nothing new)"
        )
        for e in marked:
            print(f"    update: {e.title}\n            {e.update}")
    problems = week.problems()
    print(f"\n{len(week.days)} digests; {updates} updates; problems: {len(problems)}")
    for problem in problems:
        print(f"  {problem}")


if __name__ == "__main__":
    asyncio.run(main())
