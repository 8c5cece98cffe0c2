"""The built-in sectors come from data files: what ships, how a new file is read, and how a broken
one is refused with a message naming the file."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

from bot.briefing.classify import Classifier
from bot.briefing.sectors import (
    BUILTIN_TERMS,
    FOREIGN_TERMS,
    SectorDataError,
    Term,
    default_sectors,
    load_sectors,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bot" / "data" / "sectors"

SPACE_FILE = """
key = "space"
name_en = "Space"
name_ja = "宇宙"
order = 6

[[terms]]
texts = ["satellite", "rocket launch", "人工衛星"]

[[terms]]
weight = 0.5
kind = "entity"
texts = ["SpaceX"]
"""


def test_the_five_shipped_sectors_in_display_order() -> None:
    shown = [(s.key, s.name_en, s.name_ja, s.builtin) for s in default_sectors()]
    assert shown == [
        ("green", "Green Tech", "環境・エネルギー", True),
        ("quantum", "Quantum & Advanced Tech", "量子・先端技術", True),
        ("ai", "AI", "AI・人工知能", True),
        ("mobility", "Robotics & Mobility", "ロボティクス・モビリティ", True),
        ("life", "Life Science", "ライフサイエンス", True),
    ]
    assert set(BUILTIN_TERMS) == {s.key for s in default_sectors()}
    # Groups keep their weight and kind: a decisive term, a supporting one, a company name.
    assert Term("qubit", 1.0, "topic") in BUILTIN_TERMS["quantum"]
    assert Term("battery", 0.5, "topic") in BUILTIN_TERMS["green"]
    assert any(t.kind == "entity" for t in BUILTIN_TERMS["ai"])
    # German, Spanish and Chinese groups read only their own language's items.
    assert not any(t.language for terms in BUILTIN_TERMS.values() for t in terms)
    assert set(FOREIGN_TERMS) == {"de", "es", "zh"}
    assert Term("AKW", 1.0, "topic", "de") in FOREIGN_TERMS["de"]["green"]


def test_every_sector_file_is_package_data() -> None:
    # An install from a wheel carries only what package-data names; a file left out would make
    # an installed bot classify without that sector.
    with (ROOT / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["bot"]
    files = sorted(p.relative_to(ROOT / "bot").as_posix() for p in DATA.glob("*.toml"))
    assert len(files) == len(default_sectors())
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


def test_a_new_sector_is_one_more_file(tmp_path: Path) -> None:
    for source in DATA.glob("*.toml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "space.toml").write_text(SPACE_FILE, encoding="utf-8")
    loaded = load_sectors(tmp_path)
    assert [s.sector.key for s in loaded][-1] == "space"
    classifier = Classifier(
        sectors=[s.sector for s in loaded],
        builtin_terms={s.sector.key: s.terms for s in loaded},
    )
    (best, *_) = classifier.classify("Company completes a rocket launch with a weather satellite")
    assert best.key == "space"
    (best, *_) = classifier.classify("新型の人工衛星を打ち上げ")
    assert best.key == "space"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("order = 6", 'order = "six"'), "'order' must be an integer"),
        (lambda t: t.replace("weight = 0.5", 'weight = "half"'), "must be a positive number"),
        (lambda t: t.replace('kind = "entity"', 'kind = "company"'), "'kind' must be one of"),
        (lambda t: t.replace('name_ja = "宇宙"\n', ""), "'name_ja' must be a string"),
        (lambda t: t.replace('texts = ["SpaceX"]', 'text = ["SpaceX"]'), "unknown field"),
        (lambda t: t.replace("[[terms]]", "[[terms]", 1), "not valid TOML"),
        (lambda t: t.replace("weight = 0.5", "weight = 0.5\nlanguage = 7"), "'language' must be"),
        (lambda t: t.replace("order = 6", "order = 3"), "more than one sector file with order"),
        (lambda t: t.replace('key = "space"', 'key = "ai"'), "more than one sector file with key"),
    ],
)
def test_a_broken_file_is_refused_naming_it(tmp_path: Path, edit: object, message: str) -> None:
    (tmp_path / "ai.toml").write_text((DATA / "ai.toml").read_text(encoding="utf-8"), "utf-8")
    assert callable(edit)
    (tmp_path / "space.toml").write_text(edit(SPACE_FILE), encoding="utf-8")
    with pytest.raises(SectorDataError) as caught:
        load_sectors(tmp_path)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
    assert "space.toml" in text or "more than one" in text
