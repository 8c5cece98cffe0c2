"""Feed parsing and normalisation: plain text, UTC dates, languages, hashes, hostile input."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ingest.parse import ParseError, content_hash, html_to_text, parse_feed
from tests.feedserver import Entry, make_rss

URL = "https://news.example.com/feeds/main.xml"


def test_html_is_reduced_to_collapsed_plain_text() -> None:
    assert html_to_text("<p>Chips &amp; <b>power</b></p>\n\n<p>  grid\tnews </p>") == (
        "Chips & power grid news"
    )
    assert html_to_text("<script>alert(1)</script>Safe") == "Safe"
    # Escaped twice by the publisher: still comes out as text, not as tags.
    assert html_to_text("&lt;p&gt;Hello&lt;/p&gt;") == "Hello"


def test_rss_items_are_normalised() -> None:
    body = make_rss(
        [
            Entry(
                "Solar &amp; storage",
                "<p>Big <b>news</b>&nbsp;today.</p>",
                link="/a/1",
                guid="id-1",
                pub_date="Mon, 02 Mar 2026 10:30:00 +0900",
            ),
            Entry("Undated story", "No date here.", link="https://other.example/b"),
        ],
        ttl=45,
    )
    feed = parse_feed(body, url=URL, content_type="application/rss+xml")
    first, second = feed.items
    assert first.title == "Solar & storage"
    assert first.summary == "Big news\xa0today." or first.summary == "Big news today."
    assert first.link == "https://news.example.com/a/1"
    assert first.guid == "id-1"
    assert first.published_at == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    assert second.published_at is None
    assert feed.title == "Test feed"
    assert feed.ttl_seconds == 45 * 60


def test_atom_feed_with_xhtml_and_relative_links() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en" xml:base="https://blog.example.org/">
  <title type="html">Eng &lt;b&gt;Blog&lt;/b&gt;</title>
  <link rel="alternate" href="/"/>
  <entry>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Fast <em>builds</em></div></title>
    <id>tag:blog.example.org,2026:1</id>
    <link rel="alternate" type="text/html" href="posts/fast-builds"/>
    <updated>2026-03-01T12:00:00+02:00</updated>
    <summary type="html">&lt;p&gt;How we cut CI time.&lt;/p&gt;</summary>
  </entry>
</feed>"""
    feed = parse_feed(body, url="https://blog.example.org/atom.xml")
    (item,) = feed.items
    assert feed.title == "Eng Blog"
    assert feed.site_url == "https://blog.example.org/"
    assert item.title == "Fast builds"
    assert item.link == "https://blog.example.org/posts/fast-builds"
    assert item.summary == "How we cut CI time."
    assert item.published_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_content_hash_ignores_date_and_guid_but_not_text() -> None:
    a = parse_feed(
        make_rss([Entry("T", "S", guid="1", pub_date="Mon, 02 Mar 2026 10:00:00 GMT")]), url=URL
    )
    b = parse_feed(
        make_rss([Entry("T", "S", guid="2", pub_date="Tue, 03 Mar 2026 10:00:00 GMT")]), url=URL
    )
    c = parse_feed(make_rss([Entry("T", "S changed", guid="1")]), url=URL)
    assert a.items[0].content_hash == b.items[0].content_hash == content_hash("T", "S")
    assert c.items[0].content_hash != a.items[0].content_hash


def test_japanese_text_is_detected_even_when_the_feed_says_english() -> None:
    body = make_rss(
        [Entry("新型チップの量産を開始", "大手メーカーが次世代の半導体を発表した。")],
        language="en",
    )
    feed = parse_feed(body, url=URL)
    assert feed.declared_language == "en"
    assert feed.language == "ja"
    assert feed.items[0].language == "ja"


def test_english_feed_is_detected_as_english() -> None:
    body = make_rss([Entry("Utility signs grid storage deal", "The contract covers batteries.")])
    assert parse_feed(body, url=URL).items[0].language == "en"


def test_ill_formed_feed_is_still_read() -> None:
    # &nbsp; is not an XML entity and the item is never closed: expat refuses it.
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Loose&nbsp;feed</title>'
        b"<item><title>Still readable</title><link>https://x.example/1</link></channel></rss>"
    )
    feed = parse_feed(body, url=URL)
    assert [i.title for i in feed.items] == ["Still readable"]
    assert feed.items[0].link == "https://x.example/1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"<html><body><p>Just a web page</p></body></html>", "not"),
        (b"\x00\x01\x02 binary junk", "not"),
    ],
)
def test_documents_that_are_not_feeds_raise_parse_error(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_feed(body, url=URL)


def test_entity_bomb_is_refused_quickly_with_bounded_memory() -> None:
    decls = '<!ENTITY a0 "boom">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 16}">' for i in range(1, 12)
    )
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{decls}]><rss version="2.0"><channel>'
        "<title>x</title><item><title>&a11;</title></item></channel></rss>"
    ).encode()
    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match="entit"):
            parse_feed(bomb, url=URL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 1024 * 1024


def test_external_entities_are_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>&xxe;</title></channel></rss>'
    )
    with pytest.raises(ParseError, match="external"):
        parse_feed(body, url=URL)


def test_harmless_entity_declarations_are_allowed() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>'
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><title>A&nbsp;B</title><link>https://x.example/1</link></item></channel></rss>"
    )
    (item,) = parse_feed(body, url=URL).items
    assert item.title.replace("\xa0", " ") == "A B"


def test_itmedia_snapshot_is_japanese_despite_declaring_english(corpus: Path) -> None:
    path = corpus / "realfeeds" / "itmedia_ja_scraped_2026-02__prospect-rss-feeds.xml"
    feed = parse_feed(path.read_bytes(), url="https://rss.itmedia.co.jp/rss/2.0/news_bursts.xml")
    assert feed.declared_language and feed.declared_language.startswith("en")
    assert feed.language == "ja"
    assert feed.items and all(i.language == "ja" for i in feed.items)
    assert all(i.published_at is None or i.published_at.tzinfo is UTC for i in feed.items)


@pytest.mark.parametrize("content_type", [None, "application/rss+xml", "text/xml", "text/html"])
def test_doubly_escaped_gigazine_feed_comes_out_as_text(
    corpus: Path, content_type: str | None
) -> None:
    # GIGAZINE escapes its CDATA sections and character references once too often:
    # "&lt;![CDATA[...]]&gt;" summaries and "GPT&amp;#45;4" in titles and links.
    path = corpus / "realfeeds" / "gigazine_ai_keyword_filtered_small__makeRSS_GIGAZINE.xml"
    feed = parse_feed(
        path.read_bytes(), url="https://gigazine.net/news/rss_2.0/", content_type=content_type
    )
    assert len(feed.items) == 19
    first = feed.items[0]
    assert first.title == (
        "GPTやLlamaなどの大規模言語モデルはファインチューニングで簡単に脱獄可能だという研究結果"
    )
    assert first.summary.startswith("大規模言語モデルには、有害なコンテンツを出力しないような")
    assert first.link == "https://gigazine.net/news/20231017-gpt-llama-safety-jail-break/"
    for item in feed.items:
        assert item.language == "ja"
        assert "<" not in item.title and "&#" not in item.title
        assert "CDATA" not in item.summary and "]]>" not in item.summary
        assert "&lt;" not in item.summary and len(item.summary) > 40
        assert item.link and "&#" not in item.link


def test_relative_links_resolve_against_the_final_url_and_xml_base() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title><link>/</link>
<item><title>Relative</title><link>/a/1</link></item>
<item><title>Sibling</title><link>b/2</link></item>
<item xml:base="https://cdn.example.net/sub/"><title>Based</title><link>c/3</link></item>
<item><title>Permalink guid</title><guid>/perma/4</guid></item>
</channel></rss>"""
    feed = parse_feed(body, url="https://moved.example.org/feeds/main.xml")
    assert feed.site_url == "https://moved.example.org/"
    assert [i.link for i in feed.items] == [
        "https://moved.example.org/a/1",
        "https://moved.example.org/feeds/b/2",
        "https://cdn.example.net/sub/c/3",
        "https://moved.example.org/perma/4",
    ]


def test_atom_entry_xml_base_overrides_the_feeds() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.org/en/">
  <title>B</title>
  <entry xml:base="/archive/2026/"><title>One</title><id>urn:x:1</id>
    <link href="one.html"/></entry>
  <entry><title>Two</title><id>urn:x:2</id><link href="two.html"/></entry>
</feed>"""
    feed = parse_feed(body, url="https://elsewhere.example/atom.xml")
    assert [i.link for i in feed.items] == [
        "https://blog.example.org/archive/2026/one.html",
        "https://blog.example.org/en/two.html",
    ]
    assert [i.guid for i in feed.items] == ["urn:x:1", "urn:x:2"]


def test_http_charset_decides_how_the_document_is_decoded() -> None:
    # No encoding in the XML declaration: only the HTTP header says it is Shift_JIS.
    text = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>ニュース</title>'
        "<item><title>量子コンピューターの新しい成果</title><link>https://x.example/1</link>"
        "</item></channel></rss>"
    )
    feed = parse_feed(
        text.encode("shift_jis"), url=URL, content_type="application/xml; charset=Shift_JIS"
    )
    assert feed.title == "ニュース"
    assert feed.items[0].title == "量子コンピューターの新しい成果"
    assert feed.items[0].language == "ja"


def test_content_language_header_is_the_declared_language_when_the_feed_has_none() -> None:
    body = make_rss(
        [Entry("Netzausbau beginnt", "Die Arbeiten am Stromnetz starten.")], language=None
    )
    feed = parse_feed(body, url=URL, content_language="de")
    assert feed.declared_language == "de"


def test_numeric_references_in_links_are_decoded_but_query_strings_are_kept() -> None:
    body = make_rss(
        [
            Entry("A", "x", link="https://x.example/2023&#45;a"),
            Entry("B", "y", link="https://x.example/p?a=1&copy=2"),
        ]
    )
    links = [i.link for i in parse_feed(body, url=URL).items]
    assert links == ["https://x.example/2023-a", "https://x.example/p?a=1&copy=2"]
