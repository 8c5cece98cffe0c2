"""Rules for real-world input, each shown on a real feed from ../shared/corpus/realfeeds/.

Feeds are served over loopback HTTP and stored in a real SQLite file by the real ingest pass.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import select

from bot.briefing.classify import Classifier
from bot.briefing.compose import compose_briefing
from bot.briefing.edition import ItemClassifier, load_edition
from bot.briefing.sectors import default_sectors
from bot.briefing.spread import FEED_STORIES, FEED_STORIES_PER_SECTION
from bot.config import Settings
from bot.ingest.boilerplate import clean, load_rules
from bot.ingest.fetch import FeedFetcher
from bot.ingest.parse import ParsedItem, html_to_text, parse_feed
from bot.ingest.service import IngestService
from bot.ingest.timeline import CLOCK_SKEW, NEWS_WINDOW
from bot.models import Article, Briefing, Language, Profile
from storage.models import Item
from storage.repositories import feeds as feed_repo
from tests.feedserver import Entry, FeedServer, make_rss

pytestmark = pytest.mark.corpus


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Ingest:
    """Feeds on a loopback server, ingested into a SQLite file with a hand-set clock."""

    def __init__(self, server: FeedServer, db: Any, clock: Clock) -> None:
        self.server = server
        self.db = db
        self.clock = clock
        self.settings = Settings(
            database_url=db.url,
            allowed_private_networks=("127.0.0.1/32",),
            fetch_timeout=5.0,
            min_check_interval=60,
            max_check_interval=3600,
        )

    async def add(self, path: str, body: bytes) -> int:
        self.server.set(path, body=body)
        async with self.db.sessionmaker.begin() as session:
            feed = await feed_repo.add_feed(session, url=self.server.url(path), now=self.clock())
            return feed.id

    async def run(self, *, after_store: Any = None) -> None:
        async with FeedFetcher.from_settings(self.settings, clock=self.clock) as fetcher:
            service = IngestService(
                sessionmaker=self.db.sessionmaker,
                fetcher=fetcher,
                clock=self.clock,
                settings=self.settings,
                after_store=after_store,
            )
            await service.run_pass(all_feeds=True)

    async def items(self, feed_id: int) -> list[Item]:
        async with self.db.sessionmaker() as session:
            rows = await session.scalars(
                select(Item).where(Item.feed_id == feed_id).order_by(Item.id)
            )
            return list(rows)


def _feed(corpus: Path, name: str) -> bytes:
    return (corpus / "realfeeds" / name).read_bytes()


@pytest.fixture
async def ingest(sqlite_db: Any) -> AsyncIterator[Ingest]:
    async with FeedServer() as server:
        yield Ingest(server, sqlite_db, Clock(datetime(2026, 8, 18, 6, 0, tzinfo=UTC)))


@pytest.fixture
async def ingest_on_both(db: Any) -> AsyncIterator[Ingest]:
    """The same, on a SQLite file and on the PostgreSQL server."""
    async with FeedServer() as server:
        yield Ingest(server, db, Clock(datetime(2026, 8, 18, 6, 0, tzinfo=UTC)))


# --- dates in the future ------------------------------------------------------------------


async def test_items_dated_2035_count_as_published_when_first_seen(
    ingest: Ingest, corpus: Path
) -> None:
    # heise online's snapshot dates its entries August 2035. Added as a new feed they are
    # archive (a future date tells nothing); once the feed is known, a new such entry is news
    # published when we saw it, not eight years ahead of every real story.
    heise = _feed(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    feed_id = await ingest.add("/heise.xml", make_rss([]))
    await ingest.run()
    ingest.server.set("/heise.xml", body=heise)
    ingest.clock.now += timedelta(hours=1)
    await ingest.run()
    items = await ingest.items(feed_id)
    assert len(items) == 150
    assert {i.published_at for i in items} == {ingest.clock.now}
    assert not any(i.is_backlog for i in items)


async def test_a_new_feed_dated_in_the_future_goes_to_the_archive(
    ingest: Ingest, corpus: Path
) -> None:
    feed_id = await ingest.add(
        "/heise.xml", _feed(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    )
    await ingest.run()
    items = await ingest.items(feed_id)
    assert len(items) == 150
    assert all(i.is_backlog and i.published_at == ingest.clock.now for i in items)


async def test_a_publisher_clock_a_few_minutes_ahead_keeps_its_date(ingest: Ingest) -> None:
    ahead = ingest.clock.now + CLOCK_SKEW - timedelta(minutes=1)
    entry = Entry(
        title="Battery plant opens",
        link="https://example.com/a",
        pub_date=ahead.strftime("%a, %d %b %Y %H:%M:%S +0000"),
    )
    feed_id = await ingest.add("/ahead.xml", make_rss([entry]))
    await ingest.run()
    (item,) = await ingest.items(feed_id)
    assert item.published_at == ahead
    assert not item.is_backlog


# --- what a new feed carries: news inside the window, archive before it --------------------


async def test_a_new_feeds_recent_posts_are_news_and_older_ones_archive(
    ingest: Ingest, corpus: Path
) -> None:
    # TechCrunch's AI feed: posts from 13 to 17 August 2026. Added early on the 18th, the six
    # posts of the last day are news at once; the older ones are archive.
    feed_id = await ingest.add(
        "/tc.xml", _feed(corpus, "techcrunch_ai_category_2026-08__EienMosu-ai-news.xml")
    )
    await ingest.run()
    items = await ingest.items(feed_id)
    cutoff = ingest.clock.now - NEWS_WINDOW
    news = [i for i in items if not i.is_backlog]
    archive = [i for i in items if i.is_backlog]
    assert len(news) == 6 and len(archive) == 14
    assert all(i.published_at is not None and i.published_at >= cutoff for i in news)
    assert all(i.published_at is not None and i.published_at < cutoff for i in archive)


async def test_undated_entries_of_a_new_feed_are_archive(ingest: Ingest) -> None:
    feed_id = await ingest.add(
        "/undated.xml", make_rss([Entry(title="Undated note", link="https://example.com/u")])
    )
    await ingest.run()
    (item,) = await ingest.items(feed_id)
    assert item.is_backlog and item.published_at is None


# --- boilerplate ----------------------------------------------------------------------------


def _parsed(corpus: Path, name: str) -> list[ParsedItem]:
    return list(parse_feed(_feed(corpus, name), url="https://example.com/feed").items)


def test_wordpress_footer_and_continued_marker_are_gone(corpus: Path) -> None:
    items = _parsed(corpus, "cleantechnica_scraped_2026-02__prospect-rss-feeds.xml")
    assert len(items) == 10
    for item in items:
        assert "appeared first on" not in item.summary
        assert "[continued]" not in item.summary
    xpeng = next(i for i in items if "XPENG" in i.title)
    assert xpeng.summary.startswith("XPENG’s sales abroad")
    assert xpeng.summary.endswith("XPENG is one of…")
    # The same footer in its other word order (MIT Technology Review en español).
    spanish = _parsed(corpus, "mittechreview_es_scraped_2026-02__prospect-rss-feeds.xml")
    assert spanish and not any("first appeared on" in i.summary for i in spanish)


def test_arxiv_announcement_header_is_gone_and_the_abstract_stays(corpus: Path) -> None:
    items = _parsed(corpus, "arxiv_quant-ph_rss_2025-04__RSSFeeds.jl.xml")
    assert not any("Announce Type" in i.summary or i.summary.startswith("arXiv:") for i in items)
    first = next(i for i in items if i.title.startswith("Self-Adjoint Time Operator"))
    assert first.summary.startswith("We introduce a self-adjoint time operator")


@pytest.mark.parametrize(
    "name", ["hackernews_hnapp_atom__Feeder.xml", "hackernews_frontpage_rss__newsyacht.xml"]
)
def test_hacker_news_scores_and_comment_links_are_no_summary(corpus: Path, name: str) -> None:
    items = _parsed(corpus, name)
    assert len(items) == 30
    assert all(i.summary == "" for i in items)
    assert all(i.title for i in items)


@pytest.mark.parametrize(
    "name",
    [
        "ieee_tpami_early_access_rss__journal-rss.xml",
        "elsevier_sustainable_cities_society_rss__journal-rss.xml",
    ],
)
def test_citations_standing_in_for_a_summary_are_dropped(corpus: Path, name: str) -> None:
    items = _parsed(corpus, name)
    assert items and all(i.summary == "" for i in items)
    assert not any("DOI:" in i.title for i in items)


def test_author_lists_standing_in_for_a_summary_are_dropped(corpus: Path) -> None:
    # bioRxiv lists a paper's authors in dc:creator; some feeds put such a list in the summary.
    raw = feedparser.parse(_feed(corpus, "biorxiv_plant_biology_rdf__NetNewsWire.xml"))
    authors = [str(e["author"]) for e in raw.entries if e.get("author")]
    abstracts = [html_to_text(str(e["summary"])) for e in raw.entries if e.get("summary")]
    assert len(authors) == 30 and len(abstracts) == 30
    # One list is written in lower case ("Zhang, a., jiang, x."): not recognisable as names.
    assert sum(clean(a, "summary") == "" for a in authors) == 29
    assert all(clean(a, "summary") == a for a in abstracts)


def test_stat_plus_prefix_is_gone_from_titles(corpus: Path) -> None:
    items = _parsed(corpus, "statnews_scraped_2026-02__prospect-rss-feeds.xml")
    assert not any("STAT+" in i.title for i in items)
    assert any(i.title == "How pediatricians found themselves at war with RFK Jr." for i in items)


def test_japanese_read_more_link_is_gone(corpus: Path) -> None:
    items = _parsed(corpus, "gigazine_ai_keyword_filtered_small__makeRSS_GIGAZINE.xml")
    assert len(items) == 19
    assert not any("続きを読む" in i.summary for i in items)
    assert all(i.summary.endswith("。") for i in items)


@pytest.mark.parametrize(
    "name",
    [
        "theverge_ai_atom_2026-08__EienMosu-ai-news.xml",
        "techcrunch_2021-03__uqcsbot-slack.xml",
        "morningpaper_cs_papers_rss__Feeder.xml",
    ],
)
def test_bracketed_ellipsis_becomes_a_plain_one(corpus: Path, name: str) -> None:
    items = _parsed(corpus, name)
    assert not any("[…]" in i.summary or "More …" in i.summary for i in items)
    assert sum(i.summary.endswith("…") for i in items) >= len(items) // 2


def test_slashdot_and_ledge_footers_and_markup_are_gone(corpus: Path) -> None:
    slashdot = _parsed(corpus, "slashdot_rdf__Feeder.xml")
    assert not any("Read more of this story" in i.summary for i in slashdot)
    ledge = _parsed(corpus, "ledge_ai_ja_scraped__makeRSS_Ledge.ai.xml")
    assert not any(":::" in i.summary or "{target" in i.summary for i in ledge)
    assert all(i.summary for i in ledge)


def test_continue_reading_is_gone() -> None:
    body = make_rss(
        [
            Entry(
                title="Grid batteries",
                summary="<p>Utilities add storage.</p><p>Continue reading &rarr;</p>",
                link="https://example.com/1",
            ),
            Entry(
                title="Solar",
                summary="Panels get cheaper… Continue reading on Medium »",
                link="https://example.com/2",
            ),
        ]
    )
    items = parse_feed(body, url="https://example.com/feed").items
    assert [i.summary for i in items] == ["Utilities add storage.", "Panels get cheaper…"]


def test_newsletter_lead_ins_are_no_summary(corpus: Path) -> None:
    items = _parsed(corpus, "statnews_scraped_2026-02__prospect-rss-feeds.xml")
    readout = next(i for i in items if i.title == "Pediatricians confront HHS in vaccine showdown")
    assert readout.summary == ""
    assert not any("brought to you by" in i.summary or "And other" in i.summary for i in items)
    assert sum(bool(i.summary) for i in items) == 7  # the three newsletters' teasers are gone
    assert clean("It works. This issue is brought to you by Acme.", "summary") == "It works."


def test_newspicks_publisher_suffixes_are_gone_from_japanese_titles(corpus: Path) -> None:
    picks = _parsed(corpus, "newspicks_ai_ja_scraped__makeRSS_NewsPicks.xml")
    assert not any(
        i.title.endswith((" - 日本経済新聞", " - Reuters", " - ITmedia NEWS")) for i in picks
    )
    assert any(i.title == "群知能で生成AIの次 「トランスフォーマー」生みの親" for i in picks)
    ledge = _parsed(corpus, "ledge_ai_ja_scraped__makeRSS_Ledge.ai.xml")
    assert any(
        i.title.endswith(" - テキストからの画像生成AI開発を支援") for i in ledge
    )  # a subtitle
    # An English title keeps its dash.
    assert clean("GPT-4 - a review", "title") == "GPT-4 - a review"


def test_a_feeds_name_is_never_its_query_string(corpus: Path) -> None:
    feed = parse_feed(
        _feed(corpus, "arxiv_api_csAI-LG-CL_2026-08__personal-news-feed.xml"),
        url="https://export.arxiv.org/api/query?search_query=cat:cs.AI",
    )
    assert feed.title == "arXiv"
    impress = parse_feed(
        _feed(corpus, "impresswatch_ja_scraped_2026-03__prospect-rss-feeds.xml"),
        url="https://example.com/feed",
    )
    assert impress.title == "Impress Watch"


def test_rules_never_cut_more_than_boilerplate_from_any_corpus_feed(corpus: Path) -> None:
    # A rule gone greedy would eat real text: across all 45 feeds, what the strip rules remove
    # from a summary is short (or, in long Markdown pages, a small share of it).
    for path in sorted((corpus / "realfeeds").glob("*.xml")):
        raw = feedparser.parse(path.read_bytes())
        for entry in raw.entries[:200]:
            text = html_to_text(str(entry.get("summary") or ""))
            cleaned = clean(text, "summary")
            if cleaned:
                lost = len(text) - len(cleaned)
                assert lost < max(300, len(text) // 10), (path.name, text[-300:])


def test_a_bad_rule_file_is_refused_with_the_rules_name() -> None:
    with pytest.raises(ValueError, match="greedy: bad pattern"):
        load_rules('[[rule]]\nname = "greedy"\nfield = "summary"\naction = "strip"\npattern = "("')
    with pytest.raises(ValueError, match="field must be"):
        load_rules('[[rule]]\nname = "x"\nfield = "body"\naction = "strip"\npattern = "a"')
    assert load_rules('[[rule]]\nname = "x"\nfield = "feed"\naction = "strip"\npattern = "a"')


# --- one feed cannot fill a briefing ------------------------------------------------------


def _articles(corpus: Path, name: str, feed_id: int, source: str) -> list[Article]:
    classifier = Classifier(sectors=default_sectors())
    when = datetime(2026, 8, 18, 5, 0, tzinfo=UTC)
    articles = []
    for n, item in enumerate(_parsed(corpus, name)):
        sectors = classifier.classify(item.title, item.summary, language=item.language)
        if sectors:
            articles.append(
                Article(
                    item_id=feed_id * 10_000 + n,
                    feed_id=feed_id,
                    source=source,
                    title=item.title,
                    summary=item.summary,
                    link=item.link,
                    published_at=when,
                    first_seen_at=when,
                    language=item.language,
                    sectors=sectors,
                )
            )
    return articles


def test_one_journal_feed_cannot_fill_every_section(corpus: Path) -> None:
    # IEEE TGRS publishes 1,408 papers at once, and the classifier finds some in all five
    # sectors; the news feeds have a few stories each, none about quantum.
    journal = _articles(corpus, "ieee_tgrs_current_issue_1408items__journal-rss.xml", 1, "TGRS")
    assert {a.sectors[0].key for a in journal} == {s.key for s in default_sectors()}
    news = [
        *_articles(corpus, "techcrunch_ai_category_2026-08__EienMosu-ai-news.xml", 2, "TC"),
        *_articles(corpus, "electrek_scraped_2026-04__prospect-rss-feeds.xml", 3, "Electrek"),
        *_articles(corpus, "statnews_scraped_2026-02__prospect-rss-feeds.xml", 4, "STAT"),
    ]
    sectors = {s.key: s for s in default_sectors()}
    now = datetime(2026, 8, 18, 6, 0, tzinfo=UTC)
    briefing = compose_briefing(
        [*journal, *news], Profile(sectors=tuple(sectors)), now, sectors=sectors
    )
    shown = [
        (section.key, e) for section in briefing.sections for e in (section.lead, *section.more)
    ]
    names = {
        section.key: [e.sources[0].name for e in (section.lead, *section.more)]
        for section in briefing.sections
    }
    assert set(names) == set(sectors)
    for key, shown in names.items():
        if set(shown) != {"TGRS"}:
            # Where other feeds have news, the journal gets two places at most.
            assert shown.count("TGRS") <= FEED_STORIES_PER_SECTION, (key, shown)
    with_journal = [key for key, shown in names.items() if "TGRS" in shown]
    assert len(with_journal) <= 2, names
    shared = [shown for shown in names.values() if set(shown) != {"TGRS"}]
    assert sum(shown.count("TGRS") for shown in shared) <= FEED_STORIES


def test_a_reader_with_one_feed_still_gets_full_sections(corpus: Path) -> None:
    only = _articles(corpus, "techcrunch_ai_category_2026-08__EienMosu-ai-news.xml", 2, "TC")
    sectors = {s.key: s for s in default_sectors()}
    now = datetime(2026, 8, 18, 6, 0, tzinfo=UTC)
    briefing = compose_briefing(only, Profile(sectors=("ai",)), now, sectors=sectors)
    (section,) = briefing.sections
    assert 1 + len(section.more) == 5


# --- a new feed's recent posts reach the briefing; an empty one says where the rest went ----

ARXIV_QUANT = "arxiv_quant-ph_rss_2025-04__RSSFeeds.jl.xml"
ARXIV_DAY = datetime(2025, 4, 28, tzinfo=UTC)  # its 81 entries are dated that day


async def _quantum_briefing(ingest: Ingest, language: Language = "en") -> Briefing:
    async with ingest.db.sessionmaker() as session:
        edition = await load_edition(session, now=ingest.clock.now)
    return edition.compose(Profile(sectors=("quantum",), language=language))


async def test_a_feed_added_after_it_posted_is_in_the_next_briefing(
    ingest: Ingest, corpus: Path
) -> None:
    ingest.clock.now = ARXIV_DAY + timedelta(hours=10)
    await ingest.add("/quant-ph.xml", _feed(corpus, ARXIV_QUANT))
    await ingest.run(after_store=ItemClassifier())
    briefing = await _quantum_briefing(ingest)
    (section,) = briefing.sections
    assert section.key == "quantum"
    assert section.lead.link is not None and "arxiv.org" in section.lead.link


async def test_an_empty_briefing_says_the_new_feeds_items_are_in_the_archive(
    ingest_on_both: Ingest, corpus: Path
) -> None:
    ingest = ingest_on_both
    ingest.clock.now = ARXIV_DAY + timedelta(days=5)
    await ingest.add("/quant-ph.xml", _feed(corpus, ARXIV_QUANT))
    await ingest.run(after_store=ItemClassifier())
    english = await _quantum_briefing(ingest)
    japanese = await _quantum_briefing(ingest, "ja")
    assert english.is_empty and japanese.is_empty
    assert english.empty_note is not None and japanese.empty_note is not None
    assert "archive" in english.empty_note and "アーカイブ" in japanese.empty_note
    for note in (english.empty_note, japanese.empty_note):
        assert "/brief search" in note and "brief --date" in note
    found = re.search(r"(\d+) earlier items", english.empty_note)
    assert found is not None and int(found.group(1)) >= 40
    assert f"{found.group(1)}件" in japanese.empty_note

    # What the note points to: that day, archive included, as `shiftbrief brief --date` shows it.
    async with ingest.db.sessionmaker() as session:
        day = await load_edition(
            session,
            now=ARXIV_DAY + timedelta(days=1),
            since=ARXIV_DAY,
            until=ARXIV_DAY + timedelta(days=1),
            include_archive=True,
        )
    assert day.compose(Profile(sectors=("quantum",))).sections


async def test_an_empty_briefing_without_new_feeds_keeps_the_plain_note(ingest: Ingest) -> None:
    briefing = await _quantum_briefing(ingest)
    assert briefing.is_empty and briefing.empty_note is not None
    assert "archive" not in briefing.empty_note


# --- sector false positives -----------------------------------------------------------------


def _classify(item: ParsedItem, language: str | None = None) -> list[str]:
    classifier = Classifier(sectors=default_sectors())
    scores = classifier.classify(item.title, item.summary, language=language or item.language)
    return [s.key for s in scores]


def test_a_hospital_data_breach_is_not_life_science(corpus: Path) -> None:
    items = _parsed(corpus, "yahoo_news_jp_it_2022-07__PrcmNovel-extracted.xml")
    breach = next(i for i in items if i.title.startswith("岐阜県の病院に不正アクセス"))
    assert "ワクチン" in breach.title
    assert _classify(breach) == []
    slashdot = _parsed(corpus, "slashdot_rdf__Feeder.xml")
    ransomware = next(i for i in slashdot if i.title.startswith("Ransomware Attack Hampers"))
    assert _classify(ransomware) == []


def test_a_conference_discount_advert_is_not_quantum(corpus: Path) -> None:
    heise = _parsed(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    advert = next(i for i in heise if "Frühbucherrabatt" in i.title)
    assert "Post-Quantum" in advert.summary
    assert _classify(advert, "und") == []  # even if its language were not known
    english = ParsedItem(
        guid=None,
        link=None,
        title="Early-bird discount ends Friday: secure software conference",
        summary="From supply-chain security to post-quantum cryptography and quantum-safe TLS.",
        author=None,
        published_at=None,
        language="en",
        content_hash="",
    )
    assert _classify(english) == []


def test_real_quantum_security_and_hospital_science_news_keep_their_sectors() -> None:
    classifier = Classifier(sectors=default_sectors())
    pqc = classifier.classify("NIST finalises its first post-quantum cryptography standards")
    assert [s.key for s in pqc][:1] == ["quantum"]
    hospital = classifier.classify("病院でiPS細胞を使った治験を開始", language="ja")
    assert [s.key for s in hospital][:1] == ["life"]
    threat = classifier.classify("AI and quantum computing may enable sophisticated cyberattacks")
    assert {s.key for s in threat} & {"ai", "quantum"}
