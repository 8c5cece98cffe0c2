"""The grounding check on machine-written text: numbers and dates only from the sources."""

from __future__ import annotations

from bot.briefing.editor.grounding import check, ungrounded

SOURCES = [
    "Akaysha Energy switches on 410MWh battery in Queensland",
    "The battery came online two months early; a second stage follows by March 2027 "
    "at a cost of A$1,200 million, 12.50% below plan.",
]


def test_translated_numbers_units_and_full_width_digits_are_grounded() -> None:
    assert (
        ungrounded("Akayshaの４１０ＭＷｈ蓄電池が2か月早く稼働、2027年3月までに第2期", SOURCES)
        == set()
    )
    assert ungrounded("A 410 MWh battery; 1,200 million; 12.5% below plan", SOURCES) == set()


def test_an_invented_number_month_or_year_is_not() -> None:
    assert ungrounded("A 999 MWh battery", SOURCES) == {"999"}
    assert ungrounded("The second stage follows in April 2027", SOURCES) == {"4"}
    assert ungrounded("第2期は2028年に", SOURCES) == {"2028"}


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
