"""Clustering: same event from several sources -> one story; different events stay apart."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.briefing.cluster import cluster_articles
from bot.briefing.cluster_lexical import similar_pairs
from bot.models import Article, SectorScore

T0 = datetime(2026, 1, 20, 6, 0, tzinfo=UTC)


def art(
    item_id: int,
    title: str,
    summary: str = "",
    *,
    feed_id: int | None = None,
    source: str = "Feed",
    hours: float = 0.0,
    language: str = "en",
    sectors: tuple[SectorScore, ...] = (),
    weight: float = 1.0,
) -> Article:
    return Article(
        item_id=item_id,
        feed_id=item_id if feed_id is None else feed_id,
        source=source,
        title=title,
        summary=summary,
        link=f"https://example.com/{item_id}",
        published_at=T0 + timedelta(hours=hours),
        first_seen_at=T0 + timedelta(hours=hours),
        language=language,
        sectors=sectors,
        source_weight=weight,
    )


AKAYSHA_A = art(
    1,
    "Akaysha Energy switches on 410MWh battery in Queensland ahead of schedule",
    "The BlackRock-backed developer said its Brendale battery energy storage system began "
    "commercial operation two months early. The 410MWh BESS will help stabilise the grid.",
    source="Energy Storage News",
    sectors=(SectorScore("energy", 0.8, ("battery", "BESS")),),
)
AKAYSHA_B = art(
    2,
    "BlackRock-backed Akaysha brings 410 MWh Brendale BESS online early",
    "Akaysha Energy has energised its 410MWh battery in Brendale, Queensland, months before "
    "the planned date.",
    source="PV Magazine",
    hours=3,
    weight=1.2,
    sectors=(SectorScore("energy", 0.7, ("battery",)), SectorScore("finance", 0.4, ("BlackRock",))),
)
TESLA_NEAR_MISS = art(
    3,
    "Tesla Megapack battery project approved in California",
    "A 300MWh battery energy storage system near Fresno was approved by county supervisors "
    "on Tuesday, clearing the way for construction.",
    source="Electrek",
    hours=1,
    sectors=(SectorScore("energy", 0.75, ("battery",)),),
)
SODIUM_NEAR_MISS = art(
    4,
    "CATL starts mass production of sodium-ion battery cells",
    "The Chinese battery maker said its Naxtra sodium-ion cells for passenger cars and energy "
    "storage began shipping this week.",
    source="CnEVPost",
    hours=2,
)
RONDO_JA_A = art(
    5,
    "Rondo Energy、ドイツで100MWhの熱電池を着工 コベストロ向け",
    "Rondo Energyは独化学大手コベストロの工場で100MWh規模の熱エネルギー貯蔵設備の建設を開始した。",
    source="日経クロステック",
    language="ja",
    hours=4,
)
RONDO_JA_B = art(
    6,
    "コベストロ工場に100MWh熱電池、Rondo Energyが建設開始",
    "米Rondo Energyがドイツでレンガに熱を蓄える100MWhの熱電池の建設に着手した。"
    "産業用蒸気を供給する。",
    source="スマートジャパン",
    language="ja",
    hours=6,
)
QKD_JA_NEAR_MISS = art(
    7,
    "スペイン初のMDI-QKDネットワークを展開、マドリード工科大学",
    "マドリード工科大学とQ*Birdは、測定デバイス非依存型の量子鍵配送ネットワークを構築した。",
    source="量子ニュース",
    language="ja",
    hours=5,
)
BATTERY_JA_NEAR_MISS = art(
    8,
    "東芝、ドイツで蓄電池工場の建設を開始",
    "東芝はドイツでリチウムイオン蓄電池の新工場の建設を開始した。2027年の稼働を予定する。",
    source="電気新聞",
    language="ja",
    hours=5,
)


def keys_by_item(articles: list[Article]) -> dict[int, str]:
    return {a.item_id: s.key for s in cluster_articles(articles) for a in s.articles}


def test_same_event_from_two_english_sources_becomes_one_story() -> None:
    stories = cluster_articles([AKAYSHA_A, AKAYSHA_B, TESLA_NEAR_MISS, SODIUM_NEAR_MISS])
    akaysha = next(s for s in stories if AKAYSHA_A in s.articles)
    assert {a.item_id for a in akaysha.articles} == {1, 2}
    assert akaysha.source_count == 2
    assert len(stories) == 3


def test_two_different_battery_stories_on_the_same_day_stay_apart() -> None:
    keys = keys_by_item([AKAYSHA_A, AKAYSHA_B, TESLA_NEAR_MISS, SODIUM_NEAR_MISS])
    assert len({keys[1], keys[3], keys[4]}) == 3


def test_same_event_in_japanese_from_two_sources_becomes_one_story() -> None:
    keys = keys_by_item([RONDO_JA_A, RONDO_JA_B, QKD_JA_NEAR_MISS, BATTERY_JA_NEAR_MISS])
    assert keys[5] == keys[6]
    assert len({keys[5], keys[7], keys[8]}) == 3


def test_japanese_near_miss_building_in_germany_does_not_join_the_thermal_battery() -> None:
    # Shares "ドイツ", "建設を開始", "電池" with the Rondo story but is a different event.
    keys = keys_by_item([RONDO_JA_A, BATTERY_JA_NEAR_MISS])
    assert keys[5] != keys[8]


def test_feed_reposting_the_same_item_joins_its_first_post() -> None:
    repost = art(
        20,
        AKAYSHA_A.title,
        AKAYSHA_A.summary,
        feed_id=AKAYSHA_A.feed_id,
        source=AKAYSHA_A.source,
        hours=10,
    )
    stories = cluster_articles([AKAYSHA_A, repost])
    assert len(stories) == 1
    assert stories[0].source_count == 1
    assert len(stories[0].articles) == 2


def test_items_outside_the_window_are_not_joined() -> None:
    later = art(30, AKAYSHA_B.title, AKAYSHA_B.summary, hours=24 * 5)
    stories = cluster_articles([AKAYSHA_A, later], window=timedelta(hours=48))
    assert len(stories) == 2


def test_lead_is_the_heaviest_source_and_sectors_merge_by_max() -> None:
    story = cluster_articles([AKAYSHA_A, AKAYSHA_B])[0]
    assert story.lead is AKAYSHA_B  # weight 1.2 beats 1.0
    assert [s.key for s in story.sectors] == ["energy", "finance"]
    assert story.sector_score("energy") == 0.8
    assert set(story.sectors[0].matched) == {"battery", "BESS"}


def test_lead_prefers_an_article_with_a_summary_then_the_earliest() -> None:
    bare = art(40, AKAYSHA_A.title, "", hours=-2)
    story = cluster_articles([bare, AKAYSHA_A])[0]
    assert story.lead is AKAYSHA_A
    early = art(41, AKAYSHA_A.title, AKAYSHA_A.summary, hours=-1)
    story = cluster_articles([AKAYSHA_A, early])[0]
    assert story.lead is early


def test_story_key_is_stable_for_the_same_items_in_any_order() -> None:
    items = [AKAYSHA_A, AKAYSHA_B, TESLA_NEAR_MISS]
    first = {s.key for s in cluster_articles(items)}
    second = {s.key for s in cluster_articles(list(reversed(items)))}
    assert first == second
    assert keys_by_item(items)[2] == "s1"


def test_similarity_is_symmetric_in_input_order() -> None:
    forward = {(min(i, j), max(i, j)) for i, j, _ in similar_pairs([AKAYSHA_A, AKAYSHA_B])}
    backward = {(min(i, j), max(i, j)) for i, j, _ in similar_pairs([AKAYSHA_B, AKAYSHA_A])}
    assert forward == backward == {(0, 1)}


def synthetic(n: int, seed: int = 7) -> list[Article]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    common = ["battery", "quantum", "robot", "model", "gene", "grid", "chip", "storage"]
    out = []
    for i in range(n):
        words = rng.sample(vocab, 12) + rng.sample(common, 3)
        out.append(art(i + 1, " ".join(words[:8]), " ".join(words[8:]), hours=rng.uniform(0, 72)))
    return out


def test_five_thousand_unrelated_articles_stay_apart() -> None:
    # Each shares three of eight common words with thousands of others: the field's vocabulary
    # must not glue them together. (How long 5,000 articles take is measured by
    # bench/compose.py, not asserted here: wall time flakes on a loaded machine.)
    stories = cluster_articles(synthetic(5000))
    assert sorted(len(s.articles) for s in stories) == [1] * 5000
