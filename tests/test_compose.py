"""Composing briefings: what a reader sees in English and Japanese, short and full."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from bot.briefing.cluster import cluster_articles
from bot.briefing.compose import (
    CATALOG,
    BriefingContext,
    compose_briefing,
    split_sentences,
    trim_summary,
)
from bot.i18n import missing_translations
from bot.models import Article, Briefing, Profile, ReadingLink, SectorDef, SectorScore

NOW = datetime(2026, 1, 20, 7, 0, tzinfo=UTC)

SECTORS = {
    "energy": SectorDef("energy", "Energy & climate", "環境・エネルギー", builtin=True),
    "quantum": SectorDef("quantum", "Quantum", "量子・先端技術", builtin=True),
    "ai": SectorDef("ai", "AI", "AI・人工知能", builtin=True),
    "robotics": SectorDef("robotics", "Robotics & mobility", "ロボティクス", builtin=True),
    "bio": SectorDef("bio", "Life science", "ライフサイエンス", builtin=True),
}


def _host(source: str) -> str:
    slug = "-".join(w for w in re.split(r"[^a-z0-9]+", source.lower()) if w)
    return f"{slug or 'news'}.example"


def art(
    item_id: int,
    title: str,
    summary: str,
    sectors: dict[str, float],
    *,
    feed_id: int | None = None,
    source: str = "Feed",
    hours_ago: float = 2.0,
    language: str = "en",
    matched: dict[str, tuple[str, ...]] | None = None,
) -> Article:
    when = NOW - timedelta(hours=hours_ago)
    return Article(
        item_id=item_id,
        feed_id=item_id if feed_id is None else feed_id,
        source=source,
        title=title,
        summary=summary,
        # One host per outlet, as on the web: a story's outlets are told apart by them.
        link=f"https://{_host(source)}/{item_id}",
        published_at=when,
        first_seen_at=when,
        language=language,
        sectors=tuple(SectorScore(k, v, (matched or {}).get(k, ())) for k, v in sectors.items()),
    )


ARTICLES = [
    art(
        1,
        "Akaysha Energy switches on 410MWh battery in Queensland",
        "The BlackRock-backed developer brought its Brendale battery online two months early. "
        "It is one of the largest in the state. Further phases are under study.",
        {"energy": 0.9},
        source="Energy Storage News",
    ),
    art(
        2,
        "BlackRock-backed Akaysha brings 410MWh Brendale battery online",
        "Akaysha Energy has energised its 410MWh Brendale battery in Queensland early.",
        {"energy": 0.8},
        source="PV Magazine",
        hours_ago=1,
    ),
    art(
        3,
        "Tesla Megapack project approved in California",
        "County supervisors approved a 300MWh battery near Fresno on Tuesday.",
        {"energy": 0.7},
        source="Electrek",
        hours_ago=5,
    ),
    art(
        4,
        "Spain deploys its first MDI-QKD quantum network in Madrid",
        "UPM and Q*Bird built a multi-node measurement-device-independent QKD network.",
        {"quantum": 0.9},
        source="Quantum Insider",
    ),
    art(
        5,
        "Microsoft unveils Differential Transformer V2 for efficient LLMs",
        "The new attention design cuts compute for large language models.",
        {"ai": 0.9},
        source="AI Weekly",
        hours_ago=3,
    ),
    art(
        6,
        "DLR and Tensor AI use quantum simulation to design battery materials",
        "The German aerospace center will test quantum-assisted chemistry for new battery "
        "cathodes, with results expected by 2027.",
        {"quantum": 0.6, "energy": 0.5, "ai": 0.2},
        source="Quantum Insider",
        matched={"quantum": ("quantum simulation",), "energy": ("battery", "cathode")},
        hours_ago=4,
    ),
    art(
        7,
        "Volkswagen starts a Europe-wide road safety data programme",
        "Cars will share hazard data across Europe from March.",
        {"robotics": 0.8},
        source="Auto News",
    ),
    art(
        8,
        "Crypto miners switch to battery storage in Texas",
        "Bitcoin miners are buying batteries to sell power back to the grid.",
        {"energy": 0.6},
        source="Grid Weekly",
        hours_ago=6,
    ),
    art(
        9,
        "Rondo Energy、ドイツで100MWhの熱電池を着工",
        "Rondo Energyは独コベストロの工場で100MWh規模の熱エネルギー貯蔵設備の建設を開始した。"
        "2026年中の稼働を予定する。",
        {"energy": 0.85},
        source="日経クロステック",
        language="ja",
        hours_ago=2,
    ),
]

ALL = ("energy", "quantum", "ai", "robotics")


def brief(profile: Profile, articles: list[Article] | None = None, **kw: object) -> Briefing:
    stories = cluster_articles(ARTICLES if articles is None else articles)
    return compose_briefing(stories, profile, NOW, sectors=SECTORS, **kw)  # type: ignore[arg-type]


def shown_keys(b: Briefing) -> list[str]:
    return [k for s in b.sections for k in (s.lead.story_key, *(e.story_key for e in s.more))]


def shown_titles(b: Briefing) -> list[str]:
    return [e.title for s in b.sections for e in (s.lead, *s.more)]


def test_one_event_from_two_sources_shows_once_with_two_sources() -> None:
    b = brief(Profile(sectors=ALL))
    keys = shown_keys(b)
    assert len(keys) == len(set(keys))
    akaysha = [e for s in b.sections for e in (s.lead, *s.more) if "410MWh" in e.title]
    assert len(akaysha) == 1
    assert akaysha[0].source_count == 2
    assert {s.name for s in akaysha[0].sources} == {"Energy Storage News", "PV Magazine"}


def test_a_section_per_subscribed_sector_with_news_in_the_readers_order() -> None:
    b = brief(Profile(sectors=("robotics", "energy", "bio")))
    assert [s.key for s in b.sections] == ["robotics", "energy"]  # bio has no news
    assert b.sections[1].name == "Energy & climate"


def test_key_points_reference_section_leads_and_spread_over_sectors() -> None:
    b = brief(Profile(sectors=ALL))
    assert len(b.key_points) == 3
    assert len({p.sector for p in b.key_points}) == 3
    leads = {s.lead.story_key for s in b.sections}
    assert {p.story_key for p in b.key_points} <= leads


def test_key_points_fill_from_one_sector_when_only_it_has_news() -> None:
    b = brief(Profile(sectors=("energy",)))
    assert len(b.key_points) == 3
    assert {p.sector for p in b.key_points} == {"energy"}
    assert len({p.story_key for p in b.key_points}) == 3


def test_an_incident_alone_in_its_section_is_shown_but_is_not_the_first_key_point() -> None:
    recall = "Volkswagen is recalling nearly 100,000 EVs over a battery fire risk"
    articles = [
        # Three outlets report the recall this morning: alone it would be the day's top story.
        art(n, recall, "The recall covers ID.4 and ID.Buzz models.", {"robotics": 0.8}, hours_ago=1)
        for n in (1, 2, 3)
    ] + [
        art(
            4,
            "Mistral releases an open-weight reasoning model for code",
            "The model is available under an Apache licence.",
            {"ai": 0.8},
            hours_ago=40,
        )
    ]
    b = brief(Profile(sectors=("robotics", "ai")), articles)
    robotics = next(s for s in b.sections if s.key == "robotics")
    assert robotics.lead.title == recall  # the incident is the section's only news
    assert [p.sector for p in b.key_points] == ["ai", "robotics"]
    assert "Volkswagen" not in b.title


def test_key_points_lead_with_an_incident_only_when_nothing_else_is_shown() -> None:
    recall = "Volkswagen is recalling nearly 100,000 EVs over a battery fire risk"
    articles = [art(1, recall, "The recall covers ID.4 models.", {"robotics": 0.8})]
    b = brief(Profile(sectors=("robotics",)), articles)
    assert [p.text for p in b.key_points] == [recall]


def test_stories_in_two_sectors_sharing_a_technology_become_a_synergy_naming_it() -> None:
    b = brief(Profile(sectors=ALL))
    synergy = next(s for s in b.synergies if "quantum" in s.sectors)
    titles = [e.title for e in synergy.stories]
    assert any("DLR" in t for t in titles) and any("410MWh" in t for t in titles)
    assert set(synergy.sectors) == {"quantum", "energy"}
    # It says what they share, not why: no cause is claimed.
    assert synergy.why == "Both stories involve batteries."


def test_mute_removes_the_story_everywhere() -> None:
    b = brief(Profile(sectors=ALL, mute=("crypto",)))
    assert not any("Crypto" in t for t in shown_titles(b))
    plain = brief(Profile(sectors=ALL))
    assert any("Crypto" in t for t in shown_titles(plain))


def test_mute_matches_japanese_substrings() -> None:
    b = brief(Profile(sectors=("energy",), mute=("熱電池",)))
    assert not any("熱電池" in t for t in shown_titles(b))


def position(b: Briefing, word: str) -> int:
    return next(i for i, t in enumerate(shown_titles(b)) if word in t)


def reading_order(b: Briefing) -> list[str]:
    """Titles as a reader meets them: the key points, then the sections' other stories."""
    points = [p.text for p in b.key_points]
    return points + [t for t in shown_titles(b) if t not in points]


def test_follow_moves_a_story_up() -> None:
    plain = brief(Profile(sectors=("energy",)))
    followed = brief(Profile(sectors=("energy",), follow=("bitcoin",)))
    crypto = [
        reading_order(b).index(next(t for t in reading_order(b) if "Crypto" in t))
        for b in (plain, followed)
    ]
    assert crypto[1] < crypto[0]
    assert crypto[1] == 1  # right after the two-source lead


def test_short_shows_fewer_stories_and_shorter_summaries_than_full() -> None:
    full = brief(Profile(sectors=("energy",), length="full"))
    short = brief(Profile(sectors=("energy",), length="short"))
    # Short: a lead and one more story; a key point that is not the lead leaves the section
    # and the next story takes its place.
    assert len(short.sections[0].more) == 1
    assert not {p.story_key for p in short.key_points} & {
        e.story_key for e in short.sections[0].more
    }
    assert len(reading_order(full)) > len(reading_order(short))
    assert len(full.sections[0].more) <= 4
    assert short.sections[0].lead.summary.count(".") <= 1
    assert len(short.sections[0].lead.summary) <= len(full.sections[0].lead.summary)
    assert all(e.summary == "" for e in short.sections[0].more)


def test_japanese_reader_gets_japanese_labels_title_and_names_with_feed_text_untouched() -> None:
    b = brief(Profile(sectors=ALL, language="ja"))
    assert b.labels["key_points"] == "本日の重要ポイント"
    assert b.labels["by_sector"] == "分野別動向"
    assert b.labels["sources_many"].format(n=2) == "2件の情報源"
    assert b.title.startswith("2026年1月20日")
    assert b.sections[0].name == "環境・エネルギー"
    # English text is not translated, and it is marked as English.
    assert any(t.startswith("[EN] ") and "Akaysha" in t for t in shown_titles(b))
    assert b.synergies[0].why == "いずれも蓄電池に関わるニュースです。"
    assert set(b.synergies[0].sector_names) == {"量子・先端技術", "環境・エネルギー"}


def test_watch_lists_forward_looking_stories_with_the_signal_kind() -> None:
    en = brief(Profile(sectors=ALL))
    signals = {w.story.story_key: w.signal for w in en.watch}
    dlr = next(s.key for s in cluster_articles(ARTICLES) if "DLR" in s.lead.title)
    assert signals[dlr] == "Outlook"  # "results expected by 2027": no one must meet it
    ja = brief(Profile(sectors=("energy",), language="ja"))
    rondo = next(w for w in ja.watch if "Rondo" in w.story.title)
    assert rondo.signal == "計画"  # "予定する"


def test_empty_parts_are_left_out() -> None:
    only_ai = [a for a in ARTICLES if a.item_id == 5]
    b = brief(Profile(sectors=("ai",)), articles=only_ai)
    assert len(b.sections) == 1
    assert b.synergies == ()
    assert b.watch == ()
    assert b.sections[0].more == ()
    assert b.sections[0].reading == ()
    assert b.empty_note is None


def test_no_news_gives_a_polite_note_in_the_readers_language() -> None:
    en = brief(Profile(sectors=("bio",)))
    assert en.is_empty and en.key_points == () and en.watch == ()
    assert en.empty_note is not None and "Life science" in en.empty_note
    ja = brief(Profile(sectors=("bio",), language="ja"), articles=[])
    assert ja.empty_note is not None and "ライフサイエンス" in ja.empty_note
    none = brief(Profile(sectors=()))
    assert none.empty_note is not None and "/brief subscribe" in none.empty_note


def test_related_reading_matches_sector_or_keyword_of_the_section() -> None:
    reading = [
        ReadingLink("What is a BESS?", "https://explain.example/bess", sector="energy"),
        ReadingLink("QKD explained", "https://explain.example/qkd", keyword="QKD"),
        ReadingLink("Gene editing 101", "https://explain.example/crispr", keyword="CRISPR"),
    ]
    b = brief(Profile(sectors=ALL), reading=reading)
    by_key = {s.key: [r.url for r in s.reading] for s in b.sections}
    assert by_key["energy"] == ["https://explain.example/bess"]
    assert by_key["quantum"] == ["https://explain.example/qkd"]
    assert by_key["ai"] == []


def test_lead_summary_is_trimmed_at_a_sentence_boundary() -> None:
    b = brief(Profile(sectors=("energy",), length="short"))
    summary = b.sections[0].lead.summary
    assert summary.endswith((".", "。"))
    assert summary in " ".join(a.summary for a in ARTICLES)


def test_trim_summary_keeps_whole_english_and_japanese_sentences() -> None:
    text = "Dr. Smith moved to the U.S. in 2020. Prices rose 3.5% today! Then something"
    assert split_sentences(text) == [
        "Dr. Smith moved to the U.S. in 2020.",
        "Prices rose 3.5% today!",
        "Then something",
    ]
    assert trim_summary(text, max_sentences=3, max_chars=500) == (
        "Dr. Smith moved to the U.S. in 2020. Prices rose 3.5% today!"
    )
    assert (
        trim_summary(text, max_sentences=3, max_chars=50) == "Dr. Smith moved to the U.S. in 2020."
    )
    ja = "新工場を建設した。稼働は来年の予定だ！詳細は「未定」。"
    assert (
        trim_summary(ja, max_sentences=2, max_chars=100) == "新工場を建設した。稼働は来年の予定だ！"
    )
    long_one = "word " * 100
    cut = trim_summary(long_one, max_sentences=1, max_chars=40)
    assert len(cut) <= 40 and cut.endswith("…")


def test_briefing_date_follows_the_readers_time_zone() -> None:
    late = datetime(2026, 1, 20, 20, 0, tzinfo=UTC)
    b = compose_briefing([], Profile(sectors=ALL, timezone="Asia/Tokyo"), late, sectors=SECTORS)
    assert b.date == date(2026, 1, 21)


def test_compose_briefing_accepts_unclustered_articles() -> None:
    from_articles = compose_briefing(ARTICLES, Profile(sectors=ALL), NOW, sectors=SECTORS)
    assert from_articles == brief(Profile(sectors=ALL))


def test_shared_context_gives_the_same_briefing_as_composing_alone() -> None:
    stories = cluster_articles(ARTICLES)
    context = BriefingContext.prepare(stories, SECTORS, (), NOW)
    profiles = [
        Profile(sectors=ALL),
        Profile(sectors=("energy",), language="ja", length="short", follow=("bitcoin",)),
        Profile(sectors=("quantum", "energy"), mute=("battery",)),
    ]
    for profile in profiles:
        alone = compose_briefing(stories, profile, NOW, sectors=SECTORS)
        assert context.compose(profile) == alone


def test_every_phrase_exists_in_both_languages() -> None:
    assert missing_translations(CATALOG) == []
