"""The grounding check on machine-written text: numbers and dates only from the sources.

Numbers are compared as values, whichever way the model writes them (digits, English words,
kanji numerals, 万/億/兆, scale suffixes, multipliers, ordinals, fractions, approximations).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.briefing.editor.grounding import check, ungrounded

SOURCES = [
    "Akaysha Energy switches on 410MWh battery in Queensland",
    "The battery came online two months early; a second stage follows by March 2027 "
    "at a cost of A$1,200 million, 12.50% below plan.",
]

# (what a careful model writes, what the source says): the same values.
HONEST = [
    ("2億5000万ドルの取引", "Meta’s ‘open’ AI, and a $250M deal gone very wrong"),
    ("a $250M deal", "2億5000万ドルの取引"),
    ("$1.5bn raised", "15億ドルを調達"),
    ("100k users", "利用者は10万人"),
    ("2.5 million users", "利用者は250万人"),
    ("a billion dollars", "10億ドル"),
    ("1.5億円", "150 million yen"),
    ("九十八万七千六百五十四台", "987,654 units"),
    ("987,654 units", "九十八万七千六百五十四台"),
    ("天然ガス価格が3倍に", "Natural gas prices could triple"),
    ("prices tripled", "価格は3倍になった"),
    ("売上は2倍に", "sales doubled"),
    ("2カ月連続でテスラを上回った", "beating Tesla for the second consecutive month"),
    ("two months running", "for the second straight month"),
    ("利用者の半数", "half of users"),
    ("50% of users", "half of users"),
    ("half of users", "50% of users"),
    ("9割の企業", "90% of companies"),
    ("１７，９５４台", "BYD registered 17,954 vehicles"),
    ("1万7954台", "BYD registered 17,954 vehicles"),
    ("3〜5年", "within three to five years"),
    ("3-5 years", "3〜5年で"),
    ("10万台近く", "Volkswagen is recalling close to 100,000 EVs"),
    ("約10万台", "nearly 100,000 EVs"),
    ("1万台以上", "BYD leads Tesla by over 10,000 units"),
    ("約1万8000台", "BYD registered 17,954 vehicles"),
    ("27%の効率", "Record twenty-seven percent efficiency"),
    ("3月28日から5月10日まで", "from March 28 to May 10"),
    ("from March 28 to May 10", "3月28日から5月10日までの期間"),
    ("on the 24th", "OpenAIは24日(米国時間)、発表した"),
    ("(月額20ドル)", "Claude Pro costs $20 a month"),
    ("匿名の3人", "citing three unnamed people"),
    ("three unnamed people", "関係者3人によると"),
    ("OmniParser V2", "OmniParser V2: Structured-Points-of-Thought"),
]

# (a number the source does not state, the source): each must be refused.
INVENTED = [
    ("revenue grew nine hundred eighty-seven thousand percent", "revenue grew 12%"),
    ("売上は九十八万七千六百五十四パーセント増えた", "revenue grew 12%"),
    ("25億ドルの取引", "a $250M deal"),
    ("a $250 billion deal", "a $250M deal"),
    ("2.5 million users", "250,000 users"),
    ("100万台をリコール", "recalling close to 100,000 EVs"),
    ("4倍に", "prices could triple"),
    ("could quadruple", "価格が3倍に"),
    ("3カ月連続", "for the second consecutive month"),
    ("15万台近く", "close to 100,000 EVs"),
    ("約2万台", "17,954 vehicles"),  # "about" allows rounding, not this much
    ("10万台以上", "over 10,000 units"),
    ("3月29日", "on March 28"),
    ("in April 2027", "by March 2027"),
    ("2028年に", "by 2027"),
    ("利用者の半数", "a third of users"),
    ("２９％の効率", "27% efficiency"),
    ("新たな五都市", "two new US cities"),
    ("tested in a dozen patients", "tested in 10 patients"),
    ("three to five new cities", "two new cities"),
    ("1兆円規模の費用", "massive bills to power their AI data centers"),
    ("9割の精度", "it excels in medical diagnostics"),
]

# Words that look like numbers and state none.
NOT_NUMBERS = [
    "十分な性能",
    "千葉県の工場",
    "数十万台の車両",
    "第三者の監査",
    "一部の地域で",
    "The idea may be a misconception",
    "third-party apps",
    "one of the largest",
    "within a year",
    "millions of users",
]


@pytest.mark.parametrize(("written", "source"), HONEST)
def test_a_source_number_rendered_another_way_is_grounded(written: str, source: str) -> None:
    assert ungrounded(written, [source]) == set()


@pytest.mark.parametrize(("written", "source"), INVENTED)
def test_a_number_the_source_does_not_state_is_refused(written: str, source: str) -> None:
    assert ungrounded(written, [source]), written
    assert check([written], [source]) == "ungrounded"


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_words_that_only_look_like_numbers_need_no_source(text: str) -> None:
    assert ungrounded(text, []) == set()


def test_translated_numbers_units_and_full_width_digits_are_grounded() -> None:
    assert (
        ungrounded("Akayshaの４１０ＭＷｈ蓄電池が2か月早く稼働、2027年3月までに第2期", SOURCES)
        == set()
    )
    assert ungrounded("A 410 MWh battery; 1,200 million; 12.5% below plan", SOURCES) == set()
    assert ungrounded("第2期の費用は12億豪ドル", SOURCES) == set()


def test_an_invented_number_month_or_year_is_not() -> None:
    assert ungrounded("A 999 MWh battery", SOURCES) == {"999"}
    assert ungrounded("The second stage follows in April 2027", SOURCES) == {"April"}
    assert ungrounded("第2期は2028年に", SOURCES) == {"2028"}
    assert ungrounded("The second stage may follow in May", SOURCES) == {"May"}
    # Each digit of "1,200" is stated somewhere, but 1,200 is not 120 or 1,201.
    assert ungrounded("A$120 million", SOURCES) == {"$120 million"}


def test_links_domains_and_mentions_are_refused_whatever_they_say() -> None:
    for text in (
        "@everyone look",
        "Read more at http://evil.example",
        "see evil.example now",
        "<!channel> news",
        "[click](https://x.example)",
        "＠ｅｖｅｒｙｏｎｅ",
    ):
        assert check([text], SOURCES) == "unsafe", text
    assert check(["A 410MWh battery came online early."], SOURCES) is None


def test_the_number_words_ship_as_package_data() -> None:
    root = Path(__file__).resolve().parents[1]
    with (root / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["bot"]
    packaged = {path for p in patterns for path in (root / "bot").glob(p)}
    assert root / "bot/briefing/editor/numbers.toml" in packaged
