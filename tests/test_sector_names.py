"""Sector names as people type them: any case, key, English or Japanese name, or a word of one."""

from __future__ import annotations

import pytest

from bot.briefing.sectors import default_sectors
from bot.commands.grammar import CommandError, Subscribe, parse_command
from bot.commands.values import SectorIndex


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("AI", "ai"),
        ("ai", "ai"),
        ("ＡＩ", "ai"),
        ("人工知能", "ai"),
        ("量子", "quantum"),
        ("Quantum & Advanced Tech", "quantum"),
        ("robotics", "mobility"),
        ("Robotics", "mobility"),
        ("ライフサイエンス", "life"),
        ("life science", "life"),
        ("Green", "green"),
        ("エネルギー", "green"),
    ],
)
def test_sector_by_key_name_or_a_word_of_its_name(typed: str, key: str) -> None:
    assert SectorIndex(default_sectors()).find(typed) == key


def test_a_word_two_sectors_share_names_neither() -> None:
    # "Tech" is in "Green Tech" and "Quantum & Advanced Tech".
    assert SectorIndex(default_sectors()).find("tech") is None


def test_subscribe_in_japanese_by_a_word_of_the_name() -> None:
    command = parse_command("subscribe 量子 robotics", known_sectors=default_sectors())
    assert command == Subscribe(("quantum", "mobility"))


def test_an_unknown_sector_is_named_with_the_valid_ones_in_the_readers_language() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("subscribe 宇宙", known_sectors=default_sectors(), language="ja")
    assert "「宇宙」というセクターはありません" in caught.value.message
    # Japanese readers are told the Japanese names (issue 19), which they can type too.
    assert "量子・先端技術" in caught.value.message and "quantum" not in caught.value.message
