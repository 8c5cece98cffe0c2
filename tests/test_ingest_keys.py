"""Each key that recognises a stored entry again, tested where only that key matches.

An entry seen before is found by its GUID, else by its link, else by its text (content hash).
When a publisher edits an entry, only the GUID or the link still match; each test below keeps
exactly one of them, so dropping that key's lookup stores the edit as a second item. A feed that
gives all its entries one GUID (or one link) must not have that key used at all, or every new
entry would be taken for an edit of an old one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import Settings
from tests.feedserver import Entry, FeedServer, make_rss
from tests.test_ingest_service import START, Clock, Harness


@pytest.fixture
async def harness(db: Any) -> AsyncIterator[Harness]:
    settings = Settings(
        database_url=db.url,
        allowed_private_networks=("127.0.0.1/32",),
        fetch_timeout=5.0,
        min_check_interval=60,
        max_check_interval=3600,
    )
    async with FeedServer() as server:
        yield Harness(server, db, Clock(START), settings)


async def _republish(harness: Harness, path: str, entries: list[Entry]) -> tuple[int, int]:
    """Serve ``entries`` at ``path`` an hour later; (new items, updated items) of that pass."""
    harness.server.set(path, body=make_rss(entries))
    harness.clock.advance(hours=1)
    report = await harness.run()
    (result,) = report.results
    return report.new_items, result.updated_items


async def test_an_edit_keeping_only_the_guid_updates_the_item(harness: Harness) -> None:
    first = Entry("Solar farm opens", "A 50 MW plant.", link="https://a.example/1", guid="post-1")
    feed_id = await harness.add("/guid.xml", body=make_rss([first]))
    await harness.run()

    # The publisher moved the story to a new address and rewrote it; the GUID is the only key.
    edited = Entry(
        "Solar farm opens early", "A 60 MW plant.", link="https://b.example/x", guid="post-1"
    )
    assert await _republish(harness, "/guid.xml", [edited]) == (0, 1)
    items = await harness.items(feed_id)
    assert [(i.title, i.summary) for i in items] == [("Solar farm opens early", "A 60 MW plant.")]


async def test_an_edit_keeping_only_the_link_updates_the_item(harness: Harness) -> None:
    first = Entry("Robot taxi trial", "Ten cars.", link="https://a.example/taxi", guid="cms-1")
    feed_id = await harness.add("/link.xml", body=make_rss([first]))
    await harness.run()

    # A CMS rebuild gave the entry a new GUID, and the text was corrected; the link is the key.
    edited = Entry(
        "Robot taxi trial widens", "Twenty cars.", link="https://a.example/taxi", guid="cms-2"
    )
    assert await _republish(harness, "/link.xml", [edited]) == (0, 1)
    items = await harness.items(feed_id)
    assert [(i.title, i.summary) for i in items] == [("Robot taxi trial widens", "Twenty cars.")]


def _shared_guid_entries(n: int) -> list[Entry]:
    return [
        Entry(f"Quantum story {i}", f"Text {i}.", link=f"https://a.example/q/{i}", guid="same")
        for i in range(n)
    ]


async def test_a_guid_repeated_inside_the_feed_identifies_nothing(harness: Harness) -> None:
    feed_id = await harness.add("/sameguid.xml", body=make_rss(_shared_guid_entries(3)))
    first = await harness.run()
    assert first.new_items == 3

    # One more story, with the same GUID as all the others: it is new, not an edit of an old one.
    assert await _republish(harness, "/sameguid.xml", _shared_guid_entries(4)) == (1, 0)
    titles = [i.title for i in await harness.items(feed_id)]
    assert titles == [f"Quantum story {i}" for i in range(4)]


async def test_a_link_repeated_inside_the_feed_identifies_nothing(harness: Harness) -> None:
    def entries(n: int) -> list[Entry]:
        return [Entry(f"AI story {i}", f"Text {i}.", link="https://a.example/") for i in range(n)]

    feed_id = await harness.add("/samelink.xml", body=make_rss(entries(2)))
    await harness.run()
    assert await _republish(harness, "/samelink.xml", entries(3)) == (1, 0)
    titles = [i.title for i in await harness.items(feed_id)]
    assert titles == [f"AI story {i}" for i in range(3)]
