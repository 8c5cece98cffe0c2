"""Ranking: recency, sources, sector fit, weight; follow boosts and mute removes."""

from __future__ import annotations

import math
from dataclasses import replace

from bot.briefing.cluster import make_story
from bot.briefing.rank import is_muted, keyword_pattern, rank_stories, score_story
from bot.models import Profile
from tests.test_compose import NOW, art

ENERGY = Profile(sectors=("energy",))


def story(item_id: int, title: str, summary: str = "", **kw: object):  # type: ignore[no-untyped-def]
    sectors = kw.pop("sectors", {"energy": 0.8})
    return make_story([art(item_id, title, summary, sectors, **kw)])  # type: ignore[arg-type]


def test_newer_story_ranks_above_an_otherwise_equal_older_one() -> None:
    new = story(1, "Grid battery opens", hours_ago=1)
    old = story(2, "Grid battery closes", hours_ago=30)
    assert rank_stories([old, new], ENERGY, NOW) == [new, old]
    # Half-life of about 18 hours: a day-old story keeps well under half its weight.
    ratio = score_story(old, ENERGY, NOW) / score_story(new, ENERGY, NOW)
    assert 0.2 < ratio < 0.4


def test_more_sources_rank_higher() -> None:
    one = story(1, "Battery plant opens")
    two = make_story(
        [
            art(2, "Battery plant opens in Ohio", "", {"energy": 0.8}),
            art(3, "Ohio battery plant opens", "", {"energy": 0.8}),
        ]
    )
    assert rank_stories([one, two], ENERGY, NOW)[0] is two


def test_sector_score_counts_for_the_given_sector() -> None:
    energy = story(1, "Solar", sectors={"energy": 0.9, "ai": 0.1})
    ai = story(2, "Model", sectors={"energy": 0.1, "ai": 0.9})
    both = Profile(sectors=("energy", "ai"))
    assert rank_stories([energy, ai], both, NOW, sector="ai")[0] is ai
    assert rank_stories([energy, ai], both, NOW, sector="energy")[0] is energy


def test_source_weight_counts() -> None:
    light = story(1, "Wind farm")
    heavy = make_story([replace(art(2, "Wind park", "", {"energy": 0.8}), source_weight=2.0)])
    assert rank_stories([light, heavy], ENERGY, NOW)[0] is heavy


def test_follow_keyword_boosts_and_mute_removes_case_insensitively() -> None:
    a = story(1, "Hydrogen hub funded", hours_ago=1)
    b = story(2, "Bitcoin miners buy BATTERIES", hours_ago=8)
    assert rank_stories([a, b], ENERGY, NOW)[0] is a
    assert rank_stories([a, b], replace(ENERGY, follow=("bitcoin",)), NOW)[0] is b
    muted = replace(ENERGY, mute=("BITCOIN",))
    assert rank_stories([a, b], muted, NOW) == [a]
    assert score_story(b, muted, NOW) == -math.inf


def test_mute_matches_in_the_summary_and_japanese_substrings() -> None:
    s = story(1, "蓄電池の新工場", "全固体電池の量産を開始した。")
    assert is_muted(s, ("全固体",))
    assert is_muted(story(2, "Plant opens", "Funded by a crypto fund."), ("Crypto",))
    assert not is_muted(s, ("水素",))


def test_latin_keywords_match_whole_words_only() -> None:
    pattern = keyword_pattern("AI")
    assert pattern is not None
    assert pattern.search("new ai chips")
    assert not pattern.search("said the maid")
    chip = keyword_pattern("chip")
    assert chip is not None and chip.search("chips are scarce")
    assert keyword_pattern("  ") is None
    assert keyword_pattern("ＡＩ") is not None and keyword_pattern("ＡＩ").search("ai")  # type: ignore[union-attr]


def test_future_dates_do_not_outrank_now() -> None:
    future = story(1, "Fusion record", hours_ago=-10)
    current = story(2, "Fusion result", hours_ago=0)
    assert score_story(future, ENERGY, NOW) == score_story(current, ENERGY, NOW)
