"""Benchmark: a reader who prefers one subject teaches the ranking for ten days (issue 18, 6).

Ten consecutive days of a real feed (GIGAZINE's AI re-export in ``../shared/corpus/realfeeds``,
2025-01-28 to 02-06, its busiest ten days), served as it stood each morning and ingested by the
real service. Two readers subscribe to AI with short digests (two stories of the day's five to
twelve): one votes "More like this" on every story of their
digest that holds the subject and "Less like this" on the others; one never votes. Each morning
prints the subject's share of each reader's digest, and checks that the reader who never votes
gets exactly the digest composed without any learning.

Run: ``nice .venv/bin/python bench/learning.py [--subject openai]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bot.briefing.edition import ItemClassifier, load_edition, profile_of  # noqa: E402
from bot.commands.dispatcher import Dispatcher  # noqa: E402
from bot.commands.model import CommandRequest, CommandText, Invocation, Vote  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.ingest.fetch import FeedFetcher  # noqa: E402
from bot.ingest.service import IngestService  # noqa: E402
from bot.stories import digest  # noqa: E402
from bot.stories.taste import story_facets  # noqa: E402
from storage.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from storage.models import Subscriber  # noqa: E402
from storage.repositories import feeds as feed_repo  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402
from tests.week_replay import record  # noqa: E402

FEED = "gigazine_ai_keyword_filtered_large__makeRSS_GIGAZINE.xml"
FIRST = datetime(2025, 1, 28, 7, 0, tzinfo=UTC)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subject", default="openai")
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    subject = f"subject:{args.subject.casefold()}"
    recorded = record(ROOT.parent / "shared" / "corpus" / "realfeeds" / FEED)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/learn.db"
        engine = make_engine(url)
        await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        settings = Settings(database_url=url, allowed_private_networks=("127.0.0.1/32",))
        start = FIRST - timedelta(days=1)
        async with FeedServer() as server, FeedFetcher.from_settings(settings) as fetcher:
            server.set("/feed", body=recorded.as_of(start), content_type="application/xml")
            async with sessionmaker.begin() as session:
                await feed_repo.add_feed(session, url=server.url("/feed"), now=start)
            shares: dict[str, list[float]] = {"voter": [], "quiet": []}
            same = True
            for day in range(args.days + 1):
                now = start + timedelta(days=day)
                server.set("/feed", body=recorded.as_of(now), content_type="application/xml")
                await IngestService(
                    sessionmaker=sessionmaker,
                    fetcher=fetcher,
                    clock=lambda now=now: now,  # type: ignore[misc]
                    settings=settings,
                    after_store=ItemClassifier(),
                ).run_pass(all_feeds=True)
                dispatcher = Dispatcher(sessionmaker=sessionmaker, clock=lambda now=now: now)  # type: ignore[misc]
                if day == 0:
                    for user in ("voter", "quiet"):
                        invocation = Invocation("console", "t", user, "en")
                        for line in ("/brief subscribe ai", "/brief settings length short"):
                            await dispatcher.handle(CommandRequest(CommandText(line), invocation))
                    continue
                async with sessionmaker.begin() as session:
                    edition = await load_edition(session, now=now, track=True)
                for user in ("voter", "quiet"):
                    async with sessionmaker.begin() as session:
                        reader = (
                            await session.scalars(
                                select(Subscriber).where(Subscriber.external_id == user)
                            )
                        ).one()
                        base = profile_of(reader, all_sectors=list(edition.sectors))
                        view = await digest.for_reader(session, reader.id, edition, base)
                        if user == "voter" and "--debug" in sys.argv:
                            ranked = edition.edition.ranked.get("ai", ())
                            print("   ai candidates:", len(ranked), "hidden", view.hidden)
                            strongest = sorted(view.profile.learned, key=lambda x: -abs(x[1]))
                            print("   learned:", strongest[:6])
                        briefing = edition.compose(view.profile)
                        if user == "quiet":
                            plain = edition.compose(dataclasses.replace(view.profile, learned=()))
                            same = same and plain == briefing
                        await digest.remember(session, reader.id, briefing, edition)
                    keys = [e.story_key for s in briefing.sections for e in (s.lead, *s.more)]
                    hits = [k for k in keys if subject in story_facets(edition.stories[k])]
                    shares[user].append(len(hits) / len(keys) if keys else 0.0)
                    if user == "voter":
                        invocation = Invocation("console", "t", user, "en")
                        for key in keys:
                            value = 1 if key in hits else -1
                            await dispatcher.handle(
                                CommandRequest(Vote(key, value, "ai"), invocation)
                            )
                print(
                    f"{now:%m-%d}: share of {args.subject!r} stories: voter "
                    f"{shares['voter'][-1]:.0%}, never votes {shares['quiet'][-1]:.0%}"
                )
        await engine.dispose()
    # From the second day on, when the first votes count: the share against the same days
    # for the reader who never votes (how many such stories a day brings varies a lot).
    voter, quiet = shares["voter"][1:], shares["quiet"][1:]
    print(
        f"days 2-{len(shares['voter'])}: {args.subject!r} share for the voter "
        f"{sum(voter) / len(voter):.0%}, for the reader who never votes "
        f"{sum(quiet) / len(quiet):.0%}; the reader who never votes got the unlearned digest "
        f"every day: {same}"
    )


if __name__ == "__main__":
    asyncio.run(main())
