"""``shiftbrief embed`` and ``ingest --embed``: vectors for the archive without running the bot."""

from __future__ import annotations

import json

import pytest

from bot.briefing import embed
from tests.feedserver import Entry, FeedServer, make_rss
from tests.test_cli import Cli, cli  # noqa: F401  (the fixture)

pytestmark = pytest.mark.skipif(not embed.available(), reason="embedding model not installed")

PRIVATE = {"SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS": '["127.0.0.1/32"]'}


def _entries(n: int) -> list[Entry]:
    titles = [
        "Sodium-ion battery plant starts production",
        "量子コンピュータの新方式を発表",
        "Robotaxi service expands to two more cities",
        "自動運転バスが竹芝で走行実証",
    ]
    return [
        Entry(title=t, summary="", link=f"https://grid.example/{i}", guid=f"g{i}", pub_date=None)
        for i, t in enumerate(titles[:n])
    ]


async def test_ingest_embed_then_embed_catch_up_on_every_item_once(cli: Cli) -> None:  # noqa: F811
    async with FeedServer() as server:
        server.set("/feed.xml", body=make_rss(_entries(2)))
        await cli("feeds", "add", server.url("/feed.xml"), **PRIVATE)
        first = json.loads((await cli("ingest", "--all", "--embed", "--json", **PRIVATE)).stdout)
        server.set("/feed.xml", body=make_rss(_entries(4)))
        second = json.loads((await cli("ingest", "--all", "--json", **PRIVATE)).stdout)
    assert (first["new_items"], first["embedded"]) == (2, 2)
    assert second["new_items"] == 2 and "embedded" not in second
    # Only the two items ingest stored without vectors are embedded now.
    caught_up = await cli("embed")
    assert caught_up.returncode == 0, caught_up.stderr
    assert "Embedded 2 items" in caught_up.stdout
