"""OPML import/export: what feed readers write, we read; what we write, they read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.ingest.opml import OpmlError, OpmlFeed, parse_opml, render_opml

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="green" title="green">
      <outline type="rss" text="Grid Watch" title="Grid Watch"
               xmlUrl="https://grid.example/rss" htmlUrl="https://grid.example/"/>
    </outline>
    <outline text="Unsorted">
      <outline text="Nested deeper">
        <outline type="rss" text="Deep" xmlUrl="https://deep.example/atom"/>
      </outline>
    </outline>
    <outline type="rss" text="Top level" xmlUrl="https://top.example/feed" category="/ai"/>
  </body>
</opml>"""


def test_reads_feeds_in_folders_and_takes_sector_from_folder_or_category() -> None:
    feeds = parse_opml(READER_EXPORT)
    assert [(f.url, f.sector) for f in feeds] == [
        ("https://grid.example/rss", "green"),
        ("https://deep.example/atom", "Nested deeper"),
        ("https://top.example/feed", "ai"),
    ]
    assert feeds[0].title == "Grid Watch"
    assert feeds[0].site_url == "https://grid.example/"


def test_export_then_import_gives_the_same_feeds() -> None:
    feeds = [
        OpmlFeed(url="https://a.example/rss", title="A & B <news>", sector="green"),
        OpmlFeed(url="https://b.example/rss", title="量子ニュース", site_url="https://b.example/"),
        OpmlFeed(url="https://c.example/rss", title="C", sector="green"),
    ]
    document = render_opml(feeds, now=NOW)
    assert document.startswith(b"<?xml")
    assert b'version="2.0"' in document
    assert b"<dateCreated>Sat, 28 Nov 2026 09:00:00 +0000</dateCreated>" in document
    assert sorted(parse_opml(document), key=lambda f: f.url) == feeds


def test_entity_declarations_are_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example/"/></body></opml>"""
    with pytest.raises(OpmlError, match="entities"):
        parse_opml(bomb)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body>", "not well-formed"),
        (b"<rss version='2.0'></rss>", "not an OPML document"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
    ],
)
def test_broken_files_get_a_clear_reason(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(data)
