"""The extractive editor: watch dates, synergy reasons, key points and the title, EN and JA.

Golden tests run on the bundled demo feeds and on real feeds from the shared corpus, through the
real parser, classifier, clusterer and composer.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.briefing.compose import BriefingContext
from bot.briefing.editor.dates import find_dates
from bot.briefing.editor.entities import Entity, entities_of, is_publisher
from bot.briefing.editor.extractive import choose_key_points, signal_of, watch_item
from bot.briefing.editor.reasons import why_sentence
from bot.demo import render_sample_feed, sample_feed_names
from bot.models import Article, Briefing, Profile, SectorScore, Story
from tests.editor_feeds import ALL_SECTORS, SECTORS, articles_from

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
MATCHER_INTERNALS = re.compile(r"\\[dswb]|\(\?|\[\^|\*\)|\|\w+\|")


@pytest.fixture(scope="module")
def demo() -> BriefingContext:
    documents = [(n, render_sample_feed(n, now=NOW)) for n in sample_feed_names()]
    articles = [a for a in articles_from(documents, NOW) if a.when >= NOW - timedelta(days=1)]
    return BriefingContext.prepare(articles, SECTORS, (), NOW)


def shown_keys(b: Briefing) -> list[str]:
    return [e.story_key for s in b.sections for e in (s.lead, *s.more)]


def test_demo_watch_items_quote_the_forward_sentence_with_a_date_after_the_edition(
    demo: BriefingContext,
) -> None:
    en = demo.compose(Profile(sectors=ALL_SECTORS))
    assert en.watch
    for item in en.watch:
        assert item.due is not None and item.due > NOW.date()
        assert item.sentence and item.due_text
    by_sentence = {w.sentence: w for w in en.watch}
    trial = by_sentence["A larger phase 2 study is scheduled to begin in 2027."]
    assert trial.due_text == "2027" and "CRISPR" in trial.story.title
    # The English reader's five come from English sentences, of which there are enough.
    assert not any(w.sentence.startswith("[JA]") for w in en.watch)
    # "goes live two months ahead of schedule" already happened: the entry is its next stage.
    victoria = next(s for s in demo.edition.stories.values() if "Victoria" in s.lead.title)
    item = watch_item(victoria, NOW.date())
    assert item is not None and item.sentence == "A second stage is planned for 2028."
    ja = demo.compose(Profile(sectors=ALL_SECTORS, language="ja"))
    assert {w.due_text for w in ja.watch} >= {"2030年", "2027年"}
    # "…までに…計画だ" dates a plan: calling it a deadline would tell the reader something false.
    assert next(w for w in ja.watch if w.due_text == "2030年").signal == "計画"


def test_demo_synergy_links_stories_of_different_sectors_and_names_what_they_share(
    demo: BriefingContext,
) -> None:
    en = demo.compose(Profile(sectors=ALL_SECTORS))
    battery = en.synergies[0]
    assert len(battery.stories) >= 2 and len(set(battery.sectors)) == len(battery.sectors)
    # What they share, as a fact; batteries are Green Tech's own field, so the link is between
    # AI's electrolyte screening and Quantum's battery-material search, not a Green story.
    assert battery.why == "Both stories involve batteries."
    assert set(battery.sectors) == {"ai", "quantum"}
    titles = " ".join(e.title for e in battery.stories)
    assert "electrolyte" in titles and "電池材料" in titles
    ja = demo.compose(Profile(sectors=ALL_SECTORS, language="ja"))
    assert ja.synergies[0].why == "いずれも蓄電池に関わるニュースです。"
    for b in (en, ja):
        for synergy in b.synergies:
            assert not MATCHER_INTERNALS.search(synergy.why), synergy.why
            keys = [e.story_key for e in synergy.stories]
            assert len(keys) == len(set(keys)) >= 2


def test_demo_key_points_follow_importance_and_the_title_names_the_theme(
    demo: BriefingContext,
) -> None:
    en = demo.compose(Profile(sectors=ALL_SECTORS))
    # The story two sources cover leads; the three points come from three sectors.
    assert "thermal battery" in en.key_points[0].text
    assert len({p.sector for p in en.key_points}) == 3
    # A reason is a whole sentence of the story's own text that carries a consequence.
    texts = " ".join(a.summary for s in demo.stories.values() for a in s.articles)
    assert en.key_points[0].why == (
        "Construction has started on a 120 MWh thermal energy storage (TES) unit that will "
        "store surplus wind power as heat in refractory bricks."
    )
    assert all(p.why in texts and not p.why.endswith(("…", "...")) for p in en.key_points)
    # The title names the story two outlets cover.
    assert en.title == (
        "Briefing for November 30, 2026: "
        "Brick-based thermal battery breaks ground at a Bavarian chemicals plant"
    )
    ja = demo.compose(Profile(sectors=ALL_SECTORS, language="ja"))
    assert ja.title.startswith("2026年11月30日のブリーフィング：")


def test_a_story_appears_once_also_in_a_single_sector_answer(demo: BriefingContext) -> None:
    for length in ("short", "full"):
        b = demo.compose(Profile(sectors=("green",), length=length))  # type: ignore[arg-type]
        keys = shown_keys(b)
        assert len(keys) == len(set(keys))
        points = [p.story_key for p in b.key_points]
        assert len(points) == len(set(points)) >= 2
        # A key point is its section's lead, or it is not listed again under "more".
        leads = {s.lead.story_key for s in b.sections}
        more = {e.story_key for s in b.sections for e in s.more}
        assert points[0] in leads and not set(points) & more


def _story(*articles: Article) -> Story:
    return Story(key="s", articles=articles, sectors=articles[0].sectors)


def _article(
    title: str, summary: str, *, language: str = "en", published: datetime | None = NOW
) -> Article:
    return Article(
        item_id=1,
        feed_id=1,
        source="Feed",
        title=title,
        summary=summary,
        link="https://news.example/1",
        published_at=published,
        first_seen_at=NOW,
        language=language,
        sectors=(SectorScore("green", 0.9),),
    )


def test_english_patterns_only_read_english_and_past_events_are_not_coming_up() -> None:
    today = NOW.date()
    german = _article(
        "Neue Fabrik", "Die Firma will 2027 ein Werk in Sachsen eröffnen.", language="de"
    )
    assert watch_item(_story(german), today) is None
    english = _article("New plant", "The company will open a plant in Saxony in 2027.")
    item = watch_item(_story(english), today)
    assert item is not None and item.due == date(2027, 1, 1) and item.precision == "year"
    past = _article("Battery online", "The battery went live on November 2, 2026, early.")
    assert watch_item(_story(past), today) is None
    # Japanese patterns do not run on an English sentence and vice versa.
    assert find_dates("2027年3月に開始する", "en", today) == []
    assert find_dates("It opens in March 2027.", "ja", today) == []
    # A date without a year counts from the day it was written, not from the edition.
    old = _article(
        "Sale", "The sale will end on September 23.", published=NOW - timedelta(days=800)
    )
    assert watch_item(_story(old), today) is None


def test_full_width_and_relative_japanese_dates() -> None:
    today = NOW.date()
    found = find_dates("２０２７年３月に稼働を開始する予定だ。", "ja", today)
    assert [(d.day, d.precision) for d in found] == [(date(2027, 3, 1), "month")]
    ja = _article("新工場", "来月に量産を開始する予定だ。", language="ja")
    item = watch_item(_story(ja), today)
    assert item is not None and item.due == date(2026, 12, 1) and item.kind == "launch"
    done = _article("新工場", "2026年度の方針を聞いた。", language="ja")
    assert watch_item(_story(done), today) is None


def test_a_japanese_fiscal_year_runs_from_april_to_march() -> None:
    # "来年度" written in December 2026 is April 2027 to March 2028, not "2027".
    today = date(2026, 12, 8)
    (next_year,) = find_dates("成果は来年度中に公開する予定。", "ja", today)
    assert (next_year.day, next_year.precision) == (date(2027, 4, 1), "fiscal_year")
    assert next_year.last_day == date(2028, 3, 31)
    # Written in February, "来年度" is the fiscal year that begins in April of the same year.
    (soon,) = find_dates("来年度に量産を始める。", "ja", date(2026, 2, 10))
    assert soon.day == date(2026, 4, 1)
    (named,) = find_dates("2027年度に稼働する計画だ。", "ja", today)
    assert (named.day, named.precision) == (date(2027, 4, 1), "fiscal_year")
    # A calendar year stays a calendar year.
    (calendar_year,) = find_dates("2027年に稼働する計画だ。", "ja", today)
    assert (calendar_year.day, calendar_year.precision) == (date(2027, 1, 1), "year")
    ja = _article("新工場", "成果は来年度中に公開する予定だ。", language="ja")
    item = watch_item(_story(ja), today)
    assert item is not None and (item.due, item.precision) == (date(2027, 4, 1), "fiscal_year")


def test_an_undated_item_never_outranks_dated_news_as_a_key_point() -> None:
    # The undated page was first seen just now, so its recency alone would put it on top.
    dated = [
        _article(f"Grid operator {n} adds storage", "Operators added storage.") for n in range(3)
    ]
    dated = [Article(**{**_fields(a), "published_at": NOW - timedelta(hours=20)}) for a in dated]
    undated = _article("Evergreen battery explainer", "Batteries store energy.", published=None)
    stories = [Story(key=f"d{i}", articles=(a,), sectors=a.sectors) for i, a in enumerate(dated)]
    stories.append(Story(key="u", articles=(undated,), sectors=undated.sectors))
    b = BriefingContext.prepare(stories, SECTORS, (), NOW).compose(Profile(sectors=("green",)))
    assert "u" in shown_keys(b)
    assert sorted(p.story_key for p in b.key_points) == ["d0", "d1", "d2"]


def _fields(article: Article) -> dict[str, object]:
    return {f: getattr(article, f) for f in article.__dataclass_fields__}


CORPUS_EN = (
    "electrek_scraped_2026-04__prospect-rss-feeds.xml",
    "cleantechnica_scraped_2026-02__prospect-rss-feeds.xml",
    "newatlas_scraped_2026-02__prospect-rss-feeds.xml",
    "interestingengineering_scraped_2026-02__prospect-rss-feeds.xml",
    "statnews_scraped_2026-02__prospect-rss-feeds.xml",
)
CORPUS_JA = (
    "itmedia_ja_scraped_2026-02__prospect-rss-feeds.xml",
    "impresswatch_ja_scraped_2026-03__prospect-rss-feeds.xml",
    "ledge_ai_ja_scraped__makeRSS_Ledge.ai.xml",
    "newspicks_ai_ja_scraped__makeRSS_NewsPicks.xml",
)


def _corpus_edition(corpus: Path, names: tuple[str, ...], now: datetime) -> BriefingContext:
    documents = [(n, (corpus / "realfeeds" / n).read_bytes()) for n in names]
    return BriefingContext.prepare(articles_from(documents, now), SECTORS, (), now)


def test_real_japanese_feeds(corpus: Path) -> None:
    now = datetime(2026, 3, 25, 0, 0, tzinfo=UTC)
    ja = _corpus_edition(corpus, CORPUS_JA, now).compose(
        Profile(sectors=ALL_SECTORS, language="ja")
    )
    turing = next(w for w in ja.watch if "チューリング" in w.sentence)
    assert "2030年までに完全自動運転車両の開発を目指して" in turing.sentence
    assert turing.due_text == "2030年" and turing.signal == "計画"
    assert ":::" not in turing.sentence and "{" not in turing.sentence
    # "2026年から2027年の間に発売される見込み": the current year alone is not "ahead".
    apple = next(w for w in ja.watch if "発売される見込み" in w.sentence)
    assert apple.due_text == "2027年" and apple.signal == "見通し"
    # "2026年度の方針を聞いた" reports an interview: it is not a thing to watch.
    assert not any("方針を聞いた" in w.sentence for w in ja.watch)
    assert all(w.due is not None and w.due > now.date() for w in ja.watch)
    # Language models are AI's own field and robots Robotics': they linked AI and Quantum, and
    # AI and Robotics stories, on nothing they specifically share.
    assert not any("大規模言語モデル" in s.why or "ロボット" in s.why for s in ja.synergies)
    for synergy in ja.synergies:
        assert len(set(synergy.sectors)) >= 2 and "いずれも" in synergy.why
        assert not MATCHER_INTERNALS.search(synergy.why)


def test_real_english_feeds(corpus: Path) -> None:
    now = datetime(2026, 4, 30, 0, 0, tzinfo=UTC)
    en = _corpus_edition(corpus, CORPUS_EN, now).compose(Profile(sectors=ALL_SECTORS))
    # "...after Ottawa slashed Chinese EV tariffs ... in January": a past January, not next.
    assert not any("slashed" in w.sentence for w in en.watch)
    assert all(w.due is not None and w.due > now.date() for w in en.watch)
    for synergy in en.synergies:
        assert not MATCHER_INTERNALS.search(synergy.why)
        assert "CleanTechnica" not in synergy.why  # a publisher's name links nothing
    assert "CleanTechnica" not in en.title
    points = [p.story_key for p in en.key_points]
    assert len(points) == len(set(points)) == 3


def test_german_feed_gives_no_english_watch_items_or_english_themes(corpus: Path) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    names = ("heise_online_atom_150items__nextcloud-news.xml",)
    de = _corpus_edition(corpus, names, now).compose(Profile(sectors=ALL_SECTORS))
    assert de.watch == ()
    assert not any("chips" in s.why for s in de.synergies)  # "Chips" in German are snacks


def test_a_japanese_headline_is_quoted_as_a_japanese_sentence() -> None:
    headline = _article("新工場、2027年に稼働を開始する予定", "", language="ja")
    item = watch_item(_story(headline), NOW.date())
    assert item is not None and item.sentence == "新工場、2027年に稼働を開始する予定。"


def test_watch_items_are_listed_as_a_calendar_reads(demo: BriefingContext) -> None:
    # "2027" is all of 2027: listed before "January 15, 2027" it read as out of order.
    en = demo.compose(Profile(sectors=ALL_SECTORS, language="en")).watch
    assert [w.due_text for w in en] == [
        "December 2026",
        "December 2026",
        "January 15, 2027",
        "Q3 2027",
        "2027",
    ]
    ja = [w.due_text for w in demo.compose(Profile(sectors=ALL_SECTORS, language="ja")).watch]
    assert len(ja) >= 3 and ja[-1] == "2030年", ja
    # The calendar year 2027 ends before the fiscal year 2027 (April 2027 to March 2028).
    assert ja.index("2027年") < ja.index("2027年度：2027年4月～2028年3月"), ja


def test_japanese_ranges_and_dates_without_a_year_resolve_against_the_items_day() -> None:
    written = date(2026, 3, 24)
    bus = "JR東日本とKDDIは、3月28日から5月10日までの期間、自動運転バスの走行実証を実施する。"
    (found,) = find_dates(bus, "ja", written)
    assert (found.day, found.precision) == (date(2026, 3, 28), "day")
    assert found.end is not None and found.end.day == date(2026, 5, 10)
    assert [d.day for d in find_dates("年内に提供を始める。", "ja", written)] == [
        date(2026, 12, 31)
    ]
    assert [d.day for d in find_dates("来月に発売する。", "ja", written)] == [date(2026, 4, 1)]
    (english,) = find_dates("The pilot runs from March 28 to May 10.", "en", written)
    assert english.day == date(2026, 3, 28) and english.end is not None


def test_a_watch_item_starts_after_the_edition_and_is_never_under_way() -> None:
    written = datetime(2026, 3, 24, 9, 0, tzinfo=UTC)
    trial = "JR東日本とKDDIは、3月28日から5月10日までの期間、自動運転バスの走行実証を実施する。"
    item = watch_item(
        _story(_article("自動運転バスを無料運行", trial, language="ja", published=written)),
        date(2026, 3, 25),
    )
    assert item is not None and item.due == date(2026, 3, 28) and item.kind == "launch"
    # Read on April 1, the same trial is under way: nothing is coming up.
    assert (
        watch_item(
            _story(_article("運行", trial, language="ja", published=written)), date(2026, 4, 1)
        )
        is None
    )
    # A deadline of the current year still lies ahead; the year alone does not.
    soon = _article("新機能", "年内に提供を開始する。", language="ja", published=written)
    item = watch_item(_story(soon), date(2026, 3, 25))
    assert item is not None and item.due == date(2026, 12, 31) and item.precision == "year"
    # "effective from November. 10" written on November 5 is one sentence, and the feed cut it
    # off ("..."): a sentence a reader cannot finish is not quoted.
    order = _article(
        "Bird housing order",
        "Ireland on Wednesday imposed a housing order for poultry, effective from November. 10, "
        "following the first outbreak of highly...",
        published=datetime(2025, 11, 5, 11, 0, tzinfo=UTC),
    )
    assert watch_item(_story(order), date(2025, 11, 6)) is None


def test_a_reason_is_the_sentence_that_carries_a_consequence() -> None:
    byd = _article(
        "BYD outsells Tesla in Europe for second straight month as gap widens",
        "Registrations were published on Tuesday. BYD registered 17,954 vehicles in Europe in "
        "February, beating Tesla's 17,664 for the second consecutive month.",
    )
    story = _story(byd)
    assert why_sentence(story, byd) == (
        "BYD registered 17,954 vehicles in Europe in February, beating Tesla's 17,664 for the "
        "second consecutive month."
    )
    # The headline again in other words, or a sentence the feed cut off, is no reason.
    google = _article(
        "Google will now allow users to remove visible watermark from its AI generations",
        "Google will now allow you to remove visible watermarks from the images, videos, and "
        "music made with AI tools. The feature ships to all users with costs cut...",
    )
    assert why_sentence(_story(google), google) == ""
    denny = _article(
        "デニーズに日清「完全メシ」が登場",
        "デニーズジャパンと日清食品は、3月25日から全国のデニーズ店舗で販売する。"
        "完全メシが全国規模の外食チェーンでグランドメニューに登場するのは初めてとなる。",
        language="ja",
    )
    assert why_sentence(_story(denny), denny) == (
        "完全メシが全国規模の外食チェーンでグランドメニューに登場するのは初めてとなる。"
    )
    # A paper's abstract speaking of itself is no reason, however many amounts it carries.
    paper = _article(
        "OSReward: Standardized Evaluation for Computer-Use Reward Models",
        "Reward models are costly to evaluate. On it, we train two open reward models that match "
        "commercial judges at 30-60% lower cost than the frontier.",
    )
    assert why_sentence(_story(paper), paper) == ""
    ronbun = _article(
        "自動運転の新しい評価手法",
        "本研究では、評価の費用を30%削減する手法を示した。",
        language="ja",
    )
    assert why_sentence(_story(ronbun), ronbun) == ""


def test_names_are_what_a_headline_is_about_not_its_publisher_or_title_case() -> None:
    names = {e.name_en for e in entities_of("Toyota opens a cell line with CATL", "en")}
    assert {"Toyota", "CATL"} <= names
    title_case = entities_of("Mandatory Bird Housing Imposed in Ireland After Bird Flu", "en")
    assert not any(e.kind == "organisation" for e in title_case)
    arxiv = entities_of("Rethinking Inference-Time Scaling in Computer-Use Agents", "en")
    assert not any(e.kind == "organisation" for e in arxiv)
    found = entities_of("Chipmaker sues rival, Reuters reports", "en")
    reuters = next(e for e in found if e.name_en == "Reuters")
    assert is_publisher(reuters)
    assert is_publisher(Entity("org:stat", "organisation", "STAT", "STAT"), ["STAT News"])


def test_a_dated_plan_is_called_a_plan_and_a_deadline_stays_a_deadline() -> None:
    # What a reader is told: "Deadline" promises that something must happen by then.
    assert signal_of("The company aims to triple capacity by 2030.", "en") == "plan"
    assert signal_of("Comments on the proposal are due on 15 January.", "en") == "deadline"
    assert signal_of("Operators must file their plans by 2027 under the rule.", "en") == "deadline"
    assert signal_of("2030年までに生産能力を10倍に拡大する計画だ。", "ja") == "plan"
    assert signal_of("成果は来年度中に公開する予定。", "ja") == "plan"
    assert signal_of("意見募集の締め切りは1月15日までだ。", "ja") == "deadline"
    # A launch someone only intends is a plan; a scheduled one is a launch.
    assert signal_of("The group plans to release the dataset next month.", "en") == "plan"
    assert signal_of("The line is scheduled to open in March.", "en") == "launch"
    # A decision that has a date is a decision; a target date with no obligation is not a
    # deadline: a plan, or an expectation where the sentence says so.
    assert signal_of("The regulator will decide by March 2027 whether to hold auctions.", "en") == (
        "decision"
    )
    assert signal_of("The programme will expand to twelve countries by 2028.", "en") == "plan"
    assert signal_of("Utilities are required to report by 2027.", "en") == "deadline"
    bus = "レベル4の自動運転バスが、来年春までに全国10路線に拡大される見通しとなった。"
    assert signal_of(bus, "ja") == "outlook"
    item = watch_item(_story(_article("自動運転バス", bus, language="ja")), NOW.date())
    assert item is not None and item.kind == "outlook" and item.due == date(2027, 1, 1)


def test_a_quarter_is_shown_as_a_quarter_and_an_expectation_is_watched() -> None:
    # The demo's lead: "Operators expect the first steam deliveries in the third quarter of
    # 2027." was never watched ("expect" was not read), and would have been "July 2027".
    today = date(2026, 12, 8)
    steam = "Operators expect the first steam deliveries in the third quarter of 2027."
    (found,) = find_dates(steam, "en", today)
    assert (found.day, found.precision, found.last_day) == (
        date(2027, 7, 1),
        "quarter",
        date(2027, 9, 30),
    )
    item = watch_item(_story(_article("Thermal battery", steam)), today)
    assert item is not None and (item.kind, item.precision) == ("outlook", "quarter")
    (ja,) = find_dates("2027年第3四半期に量産を始める。", "ja", today)
    assert (ja.day, ja.precision) == (date(2027, 7, 1), "quarter")
    (soon,) = find_dates("It ships next quarter.", "en", today)
    assert (soon.day, soon.precision) == (date(2027, 1, 1), "quarter")


def test_a_day_written_before_its_month_is_read() -> None:
    # "Responses are due on 15 January": the consultation's deadline, in British order.
    today = date(2026, 11, 30)
    (found,) = find_dates("Responses are due on 15 January.", "en", today)
    assert (found.day, found.precision) == (date(2027, 1, 15), "day")
    item = watch_item(_story(_article("Consultation", "Responses are due on 15 January.")), today)
    assert item is not None and item.kind == "deadline" and item.due == date(2027, 1, 15)
    # A year after the month is read whole, once.
    (whole,) = find_dates("It closes on 15 January 2027.", "en", today)
    assert (whole.day, whole.precision) == (date(2027, 1, 15), "day")


def test_a_synergy_names_each_story_by_the_section_the_reader_sees_it_in(
    demo: BriefingContext,
) -> None:
    # A reader of AI, Green Tech and Life Science sees the quantum battery-material search under
    # Green Tech; a synergy calling it "Quantum" would contradict the briefing above it.
    for sectors in (("ai", "green", "life"), ("green", "quantum", "mobility")):
        for language in ("en", "ja"):
            b = demo.compose(Profile(sectors=sectors, language=language))
            section_of = {e.story_key: s.key for s in b.sections for e in (s.lead, *s.more)}
            assert b.synergies, (sectors, language)
            for synergy in b.synergies:
                assert len(set(synergy.sectors)) == len(synergy.sectors) >= 2
                assert set(synergy.sectors) & set(sectors)
                for label, entry in zip(synergy.sectors, synergy.stories, strict=True):
                    assert section_of.get(entry.story_key, label) == label, synergy


def test_a_synergy_links_stories_the_reader_is_shown(demo: BriefingContext) -> None:
    # A short Japanese briefing of Green Tech, AI and Life Science showed neither the AI
    # electrolyte screening nor the quantum battery-material search, yet linked them: a link
    # between two stories the reader never sees is not supported by what they receive.
    readers = itertools.product(
        itertools.chain(*(itertools.combinations(ALL_SECTORS, n) for n in (1, 2, 3))),
        ("en", "ja"),
        ("short", "full"),
    )
    for sectors, language, length in readers:
        b = demo.compose(Profile(sectors=sectors, language=language, length=length))
        shown = {e.story_key for s in b.sections for e in (s.lead, *s.more)}
        shown |= {p.story_key for p in b.key_points}
        for synergy in b.synergies:
            assert shown & {e.story_key for e in synergy.stories}, (sectors, language, synergy)


def test_a_section_shows_the_stories_its_reader_can_read_first(demo: BriefingContext) -> None:
    # A short Japanese briefing of Green Tech, Quantum and Mobility led Quantum and Mobility with
    # English stories ("[EN] Madrid network ...") and left out the Japanese quantum
    # battery-material search and the level-4 bus: a story in another language ranks after the
    # ones the reader can read (README).
    short_ja = demo.compose(
        Profile(sectors=("green", "quantum", "mobility"), language="ja", length="short")
    )
    leads = {s.key: s.lead.title for s in short_ja.sections}
    assert leads["quantum"].startswith("量子コンピュータで電池材料を探索")
    assert leads["mobility"].startswith("自動運転バス")
    readers = itertools.product(
        [*itertools.combinations(ALL_SECTORS, 3), ALL_SECTORS], ("en", "ja"), ("short", "full")
    )
    for sectors, language, length in readers:
        b = demo.compose(Profile(sectors=sectors, language=language, length=length))
        other = "[JA]" if language == "en" else "[EN]"
        for section in b.sections:
            marked = [e.title.startswith(other) for e in (section.lead, *section.more)]
            # A section leads with a story its reader can read wherever it has one, even one of
            # a feed beyond its share of the briefing (the only Japanese outlet in Life Science).
            assert not marked[0] or all(marked), (sectors, language, length, section.key)
    # Within the feeds' shares of a section, readable stories come first (a feed's stories
    # beyond its two places follow all others: tests/test_spread.py).
    for section in short_ja.sections:
        marked = [e.title.startswith("[EN]") for e in (section.lead, *section.more)]
        assert marked == sorted(marked), section.key


def test_watch_puts_what_a_reader_can_read_and_date_first(demo: BriefingContext) -> None:
    # Five plans for "2027" and "2030" of better-ranked stories pushed out the consultation's
    # closing day; a Japanese reader was given [EN] sentences while Japanese ones were there.
    full_en = demo.compose(Profile(sectors=ALL_SECTORS, language="en", length="full"))
    deadline = next(w for w in full_en.watch if "15 January" in w.sentence)
    assert deadline.signal == "Deadline" and deadline.due == date(2027, 1, 15)
    short_ja = demo.compose(
        Profile(sectors=("green", "quantum", "mobility"), language="ja", length="short")
    )
    assert short_ja.watch and not any(w.sentence.startswith("[EN]") for w in short_ja.watch)
    assert any(w.due_text.startswith("2027年度") for w in short_ja.watch)


def test_a_bare_title_is_a_key_point_only_when_nothing_with_text_is_left() -> None:
    # 2026-03-24: a TPAMI survey with no abstract in its feed led AI and became a key point,
    # telling the reader only its title, while Mobility had three stories with text.
    def story(key: str, summary: str) -> Story:
        return Story(key=key, articles=(_article(key, summary),), sectors=())

    survey = story("survey", "")
    gm = story("gm", "GM tests eyes-off driving.")
    byd = story("byd", "BYD outsold Tesla in Europe.")
    zoox = story("zoox", "Zoox adds two cities.")
    candidates = [
        ("ai", survey, 0.9, True),
        ("mobility", gm, 0.8, True),
        ("mobility", byd, 0.7, False),
        ("mobility", zoox, 0.6, False),
    ]
    chosen = choose_key_points(candidates, 3, lambda s: True)
    assert [s.key for _, s in chosen] == ["gm", "byd", "zoox"]
    # With nothing else to show, the bare title is still a key point.
    assert [s.key for _, s in choose_key_points(candidates[:2], 3, lambda s: True)] == [
        "gm",
        "survey",
    ]
