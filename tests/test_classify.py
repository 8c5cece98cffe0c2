"""Behaviour of the sector classifier, on headlines written for these tests and on the dev set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.briefing.classify import Classifier
from bot.briefing.classify_io import classify_jsonl
from bot.briefing.compose import compose_briefing
from bot.briefing.headlines import is_incident
from bot.briefing.sectors import default_sectors
from bot.models import Article, Profile, SectorDef

SECTORS = {s.key: s for s in default_sectors()}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(sectors=default_sectors())


def top(classifier: Classifier, title: str, summary: str = "", hint: str | None = None) -> str:
    scores = classifier.classify(title, summary, sector_hint=hint)
    return scores[0].key if scores else "none"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Utility switches on a 300 MW solar farm paired with battery storage", "green"),
        ("Offshore wind auction draws record bids as the grid decarbonizes", "green"),
        ("洋上風力の入札に過去最多の応募、脱炭素へ弾み", "green"),
        ("Startup demonstrates 100 logical qubits with new error-correction scheme", "quantum"),
        ("国産の量子コンピュータ、クラウド経由で企業に提供開始", "quantum"),
        ("Open-weight language model tops coding benchmark", "ai"),
        ("新しい大規模言語モデルを公開、日本語の性能を大幅に改善", "ai"),
        ("生成ＡＩで社内文書を要約するサービスが登場", "ai"),
        ("Humanoid robot learns to fold laundry from video demonstrations", "mobility"),
        ("物流倉庫で人型ロボットの実証実験を開始", "mobility"),
        ("自動運転バス、来春から市内で定期運行へ", "mobility"),
        ("Gene therapy trial restores hearing in children born deaf", "life"),
        ("新しいがん治療薬の臨床試験で良好な結果", "life"),
    ],
)
def test_headlines_go_to_their_sector(classifier: Classifier, title: str, expected: str) -> None:
    assert top(classifier, title) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Texas utility orders 400 MWh BESS for its grid", "green"),
        ("Molten-salt TES pilot stores heat for a steel mill", "green"),
        ("Regulator approves first SMR construction permit", "green"),
        ("Bank pilots QKD link between two data centres", "quantum"),
        ("LLMs still struggle with long-horizon planning", "ai"),
        ("eVTOL maker completes first piloted transition flight", "mobility"),
        ("CRISPR base editing corrects a liver mutation in mice", "life"),
    ],
)
def test_acronyms_count(classifier: Classifier, title: str, expected: str) -> None:
    assert top(classifier, title) == expected


def test_acronyms_are_case_sensitive_and_whole_words(classifier: Classifier) -> None:
    # "ai" inside words, "tes" inside "tests", "smr" in lower case must not count.
    assert classifier.classify("Taiwan said the tests of the smr unit were fine", "") == ()


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("OpenAI and Anthropic sign pact on model evaluations", "ai"),
        ("DeepMind spins out a new research lab", "ai"),
        ("IonQ and Rigetti both announce new systems", "quantum"),
        ("Waymo opens service to riders at two more airports", "mobility"),
        ("Boston Dynamics shows new Atlas in a car factory", "mobility"),
        ("Moderna files for approval of its combination shot", "life"),
    ],
)
def test_known_companies_count(classifier: Classifier, title: str, expected: str) -> None:
    assert top(classifier, title) == expected


@pytest.mark.parametrize(
    "title",
    [
        "This phone's battery life beats every flagship we tested",
        "Samsung's new Quantum TV line gets brighter panels",
        "Quantum dot display marketing explained: what QLED really means",
        "Ant-Man and the Wasp: Quantumania arrives on streaming",
        "The green jacket is back: a fashion guide for spring",
        "Rigetti stock rises 12% in early trading",
        "Robot vacuum deal: Roborock S8 is 40% off today",
        "Prime Day deals on e-bikes and EV chargers",
        "ロボット掃除機がタイムセールで30%オフ",
        "Ryzen AI搭載ノートPC「OmniBook 14」が発売",
        "AMD Ryzen AI 9 HX 370 laptops arrive in stores",
        "「Zen 6世代のDNAを秘めている」と評価される新型APU",
    ],
)
def test_misleading_words_do_not_count(classifier: Classifier, title: str) -> None:
    assert classifier.classify(title, "") == ()


def test_a_reviews_summary_does_not_make_a_gadget_an_ai_item(classifier: Classifier) -> None:
    features = "AI機能「Apple Intelligence」に対応し、生成AIで写真を編集できる。"
    # The same summary under a news headline is enough; under a review's, only the headline's
    # own terms count.
    assert top(classifier, "新型iPhoneの発売日が決定", features) == "ai"
    for title in (
        "新型iPhoneのベンチマーク結果を比較検証してみた",
        "新型ノートPC「Swift 14」フォトレビュー",
        "Hands-on with the new Pixel phone",
    ):
        assert classifier.classify(title, features) == (), title
    # A review of the sector's own product names it in the headline and keeps its sector.
    assert top(classifier, "ChatGPTの新機能を使ってみた", features) == "ai"
    assert top(classifier, "Review: the Kia EV9 is a family electric car done right", "") == (
        "mobility"
    )


def test_title_weighs_more_than_summary(classifier: Classifier) -> None:
    in_title = classifier.classify("Hospital adopts new vaccine schedule", "")
    in_summary = classifier.classify("City adopts new schedule", "It covers the vaccine.")
    assert in_title and in_title[0].key == "life"
    # One strong term only in the summary is not enough on its own.
    assert in_summary == ()
    both = classifier.classify(
        "Weekly roundup", "A vaccine trial and a cancer drug lead this week's news."
    )
    assert both and both[0].key == "life"
    assert both[0].score < classifier.classify("Vaccine trial and cancer drug news", "")[0].score


def test_sector_hint_boosts_evidence_but_never_decides_alone(classifier: Classifier) -> None:
    # No evidence at all: the feed's hint is ignored.
    assert classifier.classify("Our office is moving", "", sector_hint="ai") == ()
    # Weak evidence (one summary mention): not enough alone, enough with the hint.
    title, summary = "Company update for March", "The team shipped a new chatbot."
    assert classifier.classify(title, summary) == ()
    hinted = classifier.classify(title, summary, sector_hint="ai")
    assert [s.key for s in hinted] == ["ai"]
    # A hint for another sector adds nothing to the evidence.
    assert classifier.classify(title, summary, sector_hint="green") == ()


def test_scores_are_ordered_bounded_and_keep_matched_terms(classifier: Classifier) -> None:
    scores = classifier.classify(
        "Robotaxi fleet switches to AI model trained on a billion miles",
        "The electric vehicle fleet runs a new neural network.",
    )
    keys = [s.key for s in scores]
    assert keys[:2] == ["mobility", "ai"] or keys[:2] == ["ai", "mobility"]
    assert all(0.0 < s.score <= 1.0 for s in scores)
    assert [s.score for s in scores] == sorted((s.score for s in scores), reverse=True)
    mobility = next(s for s in scores if s.key == "mobility")
    assert any(term.startswith("robot") for term in mobility.matched)
    assert "electric vehicle" in mobility.matched


def test_off_topic_items_get_no_sector(classifier: Classifier) -> None:
    assert classifier.classify("Yankees win in extra innings", "A walk-off single.") == ()
    assert classifier.classify("新宿駅に大型商業施設がオープン", "") == ()


def test_admin_sector_is_picked_up_without_restart(classifier: Classifier) -> None:
    space = SectorDef("space", "Space", "宇宙", keywords=("satellite", "launch vehicle", "宇宙"))
    title = "Startup puts its first satellite in orbit"
    assert classifier.classify(title, "") == ()
    same = classifier.with_sectors(default_sectors())
    assert same is classifier
    extended = classifier.with_sectors((*default_sectors(), space))
    assert [s.key for s in extended.classify(title, "")] == ["space"]
    assert top(extended, "民間ロケットで宇宙へ") == "space"
    # Admin keywords can also extend a built-in sector.
    green = SectorDef("green", "Green Tech", "環境・エネルギー", keywords=("agrivoltaics",))
    custom = Classifier(sectors=(green,))
    assert top(custom, "Agrivoltaics pilot doubles farm income") == "green"


def test_bad_admin_pattern_is_refused() -> None:
    broken = SectorDef("x", "X", "X", keywords=("re:(unclosed",))
    with pytest.raises(ValueError, match="bad pattern"):
        Classifier(sectors=(broken,))


def test_classify_jsonl_outputs_one_line_per_item(classifier: Classifier) -> None:
    lines = [
        json.dumps({"id": 1, "title": "Anthropic releases a new Claude model", "summary": ""}),
        "",
        json.dumps({"id": "b", "title": "Local bakery wins award"}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"id": 7, "summary": "no title"}),
        json.dumps({"id": 8, "title": "量子コンピュータの新型機を発表", "summary": None}),
    ]
    out = [json.loads(line) for line in classify_jsonl(lines, classifier)]
    assert len(out) == 6  # the blank line is skipped
    assert out[0]["id"] == 1
    assert out[0]["sectors"][0]["key"] == "ai"
    assert 0 < out[0]["sectors"][0]["score"] <= 1
    assert out[1] == {"id": "b", "sectors": []}
    assert out[2]["id"] is None and out[2]["line"] == 4 and out[2]["error"]
    assert out[3]["id"] is None and out[3]["line"] == 5
    assert out[4]["id"] == 7 and out[4]["line"] == 6 and "title" in out[4]["error"]
    assert out[5]["sectors"][0]["key"] == "quantum"


@pytest.mark.corpus
def test_dev_set_meets_accuracy_targets(corpus: Path) -> None:
    from bench.classify import figures, load_dev_set

    items = load_dev_set(corpus)
    assert len(items) >= 400
    assert {i.language for i in items} >= {"en", "ja"}
    classifier = Classifier(sectors=default_sectors())
    result = figures(classifier, items)
    held_out = figures(classifier, [i for i in items if i.held_out])
    print(f"dev set: {result}\nheld-out: {held_out}")
    assert result.off_topic >= 100
    assert result.on_topic_rate >= 0.85
    assert result.off_topic_rate >= 0.85


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Graph neural networks predict molecule properties from few examples", "ai"),
        ("Mixture-of-experts model halves inference cost on long prompts", "ai"),
        ("Entangling two trapped ions with a single photon over a kilometre", "quantum"),
        ("Bell inequality violated with a loophole-free setup", "quantum"),
        ("Single-cell RNA-seq atlas maps zebrafish heart regeneration", "life"),
        ("Antibiotic resistance spreads through hospital microbes", "life"),
        ("Dexterous in-hand manipulation with a tactile gripper", "mobility"),
        ("Quadcopter swarm maps a collapsed tunnel without GPS", "mobility"),
        ("Rooftop solar and heat pumps cut a town's carbon footprint", "green"),
        ("基盤モデルをマルチモーダル化、画像と文章を同時に扱う", "ai"),
        ("量子もつれ光子の長距離伝送に成功", "quantum"),
        ("免疫細胞の働きを解明、新たな治療法に期待", "life"),
        ("遠隔操作で動く配送ロボ、公道で実証へ", "mobility"),
        ("電力需給ひっ迫で節電要請、蓄電の活用広がる", "green"),
    ],
)
def test_general_field_vocabulary_counts(classifier: Classifier, title: str, expected: str) -> None:
    assert top(classifier, title) == expected


def test_a_specific_quantum_phrase_outweighs_a_bare_ai_mention(classifier: Classifier) -> None:
    title = "Lab links its AI supercomputers to quantum computers for hybrid research"
    assert top(classifier, title) == "quantum"
    # Without the quantum phrase the same headline is AI news.
    assert top(classifier, "Lab links its AI supercomputers for hybrid research") == "ai"


@pytest.mark.parametrize(
    "title",
    [
        "3 Quantum Computing Stocks to Buy Now Before They Soar",
        "Is This AI Chip Maker a Once-in-a-Lifetime Opportunity?",
        "Billionaires Are Buying This Robotics Stock Hand Over Fist",
        "Carmaker earnings top estimates as prices climb",
    ],
)
def test_stock_tips_and_earnings_get_no_sector(classifier: Classifier, title: str) -> None:
    assert classifier.classify(title, "") == ()


def test_strong_sector_words_do_not_make_a_stock_tip_sector_news(classifier: Classifier) -> None:
    title = "Why Some Investors Are Betting Big on Quantum Computing as a Moonshot Play"
    summary = "Quantum technology is forecast to become a $200 billion market as quantum computers"
    assert classifier.classify(title, summary) == ()


def test_pandemic_context_alone_is_not_life_science(classifier: Classifier) -> None:
    assert classifier.classify("Stadium reopens to fans despite COVID-19 limits", "") == ()
    assert classifier.classify("Singer's clip goes viral on tour", "") == ()
    assert top(classifier, "COVID-19 vaccine trial enrols 30,000 volunteers") == "life"
    # "evolved" in a gadget review is not biology.
    assert classifier.classify("新しい腕時計はどう進化したのかレビュー", "") == ()


def test_a_publisher_suffix_neither_decides_nor_blocks(classifier: Classifier) -> None:
    # The site's name is not the story: a sports result stays off-topic ...
    assert classifier.classify("City wins the derby in extra time - AI Sports Journal", "") == ()
    # ... and a site called "Stock News" does not turn real news into a stock tip.
    title = "Startup demonstrates 48 logical qubits on a neutral-atom machine | Quantum Stock News"
    assert top(classifier, title) == "quantum"
    # A dash inside a headline that is not a publisher stays headline text.
    assert top(classifier, "Robots learn to cook - and they clean up afterwards") == "mobility"


@pytest.mark.corpus
def test_external_sets_meet_targets_with_margin(corpus: Path) -> None:
    from bench.classify import figures, load_external_sets

    sets = {s.name: s for s in load_external_sets(corpus)}
    classifier = Classifier(sectors=default_sectors())
    off_topic = sets["newsapi business/entertainment/sports (-> none)"]
    assert len(off_topic.items) >= 3000
    # Measured 93%; some "business" headlines are really EV or energy news.
    assert figures(classifier, off_topic.items).off_topic_rate >= 0.88
    quantum = sets["quantum news without stock/investing titles (-> quantum)"]
    titles_only = [i for i in quantum.items if i.held_out]
    assert figures(classifier, titles_only).on_topic_rate >= 0.90
    math_papers = sets["arxiv off-topic (math.* only)"]
    assert figures(classifier, math_papers.items).off_topic_rate >= 0.93


def _feed_articles(corpus: Path, name: str) -> list[Article]:
    from bot.ingest.parse import parse_feed

    classifier = Classifier(sectors=default_sectors())
    body = (corpus / "realfeeds" / name).read_bytes()
    articles = []
    for n, p in enumerate(parse_feed(body, url="https://example.com/feed").items):
        when = p.published_at or datetime(2026, 1, 1, tzinfo=UTC)
        articles.append(
            Article(
                item_id=n,
                feed_id=1,
                source=name,
                title=p.title,
                summary=p.summary,
                link=p.link,
                published_at=when,
                first_seen_at=when,
                language=p.language,
                sectors=classifier.classify(p.title, p.summary, language=p.language),
            )
        )
    return articles


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("feed", "title", "sector"),
    [
        (
            "electrek_scraped_2026-04__prospect-rss-feeds.xml",
            "Volkswagen is recalling nearly 100,000 EVs",
            "green",
        ),
        (
            "electrek_scraped_2026-04__prospect-rss-feeds.xml",
            "Volkswagen is recalling nearly 100,000 EVs",
            "mobility",
        ),
        (
            "yahoo_news_jp_it_2022-07__PrcmNovel-extracted.xml",
            "リモートワークの採用面接にディープフェイクを悪用する事例",
            "ai",
        ),
    ],
)
def test_an_incident_about_a_product_does_not_lead_its_sector(
    corpus: Path, feed: str, title: str, sector: str
) -> None:
    articles = _feed_articles(corpus, feed)
    incident = next(a for a in articles if a.title.startswith(title))
    assert is_incident(incident.title)
    # The edition of the incident's day, with every item of the feed published by then.
    now = incident.when + timedelta(hours=2)
    window = [a for a in articles if now - timedelta(days=2) <= a.when <= now]
    assert any(s.key == sector for s in incident.sectors)  # it is about the sector's subject
    briefing = compose_briefing(window, Profile(sectors=(sector,)), now, sectors=SECTORS)
    section = next(s for s in briefing.sections if s.key == sector)
    assert not section.lead.title.startswith(title)
    assert not is_incident(section.lead.title)


@pytest.mark.parametrize(
    ("title", "incident"),
    [
        ("Volkswagen is recalling nearly 100,000 EVs", True),
        ("Ford issues a recall of 50,000 trucks over brake fluid leaks", True),
        ("FBI warns of deepfake calls impersonating officials", True),
        ("You can recall anything you saw on your PC with this feature", False),
        ("you can recall every prompt you typed in the new app", False),
        ("How to recall an email in Outlook", False),
        ("Microsoft brings Recall to more Copilot+ PCs", False),
    ],
)
def test_an_incident_is_a_recall_advisory_or_warning_not_the_verb_recall(
    title: str, incident: bool
) -> None:
    assert is_incident(title) is incident
