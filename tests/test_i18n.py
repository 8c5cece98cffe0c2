"""The phrase files: both languages complete, read by one module, a mechanical move into them."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot import i18n
from bot.i18n import (
    LocaleDataError,
    catalog,
    format_date,
    format_due,
    merge,
    phrase,
    placeholders,
    render_file,
    topics,
)

ROOT = Path(__file__).resolve().parent.parent


def test_every_phrase_is_in_both_languages_with_the_same_placeholders() -> None:
    en, ja = topics("en"), topics("ja")
    assert set(en) == set(ja)
    problems = []
    for topic, phrases in en.items():
        if set(phrases) != set(ja[topic]):
            problems.append(f"[{topic}] keys differ: {sorted(set(phrases) ^ set(ja[topic]))}")
            continue
        for key, text in phrases.items():
            if not text or not ja[topic][key]:
                problems.append(f"[{topic}] {key} is empty")
            elif placeholders(text) != placeholders(ja[topic][key]):
                problems.append(
                    f"[{topic}] {key}: {placeholders(text)} != {placeholders(ja[topic][key])}"
                )
    assert problems == []
    # The catalogs the modules use are all there (an emptied file would pass the comparison).
    assert {"briefing", "editor", "commands", "dispatcher", "handlers.feeds", "slack.home"} <= set(
        en
    )


def test_modules_read_their_phrases_from_the_files() -> None:
    from adapters.slack.home import PHRASES as HOME
    from bot.briefing.compose import CATALOG
    from bot.commands.handlers.feeds import MESSAGES as FEEDS

    assert CATALOG["sources_many"]["ja"] == topics("ja")["briefing"]["sources_many"]
    assert CATALOG["list_and"]["ja"] == "と"  # the editor's phrases are part of the briefing's
    assert dict(FEEDS) == dict(catalog("handlers.feeds"))
    assert dict(HOME["title"]) == {
        "en": topics("en")["slack.home"]["title"],
        "ja": "ShiftBrief の設定",
    }


def test_phrase_formats_in_the_readers_language_and_falls_back_to_english() -> None:
    texts = {"n": {"en": "{n} sources", "ja": "{n}件の情報源"}, "only_en": {"en": "Only {x}"}}
    assert phrase(texts, "n", "ja", n=3) == "3件の情報源"
    assert phrase(texts, "n", "en", n=1) == "1 sources"
    assert phrase(texts, "only_en", "ja", x="this") == "Only this"
    assert phrase(catalog("briefing"), "sources_many", "ja", n=4) == "4件の情報源"


def test_dates_follow_the_locale() -> None:
    day = date(2026, 1, 20)
    assert format_date(day, "en") == "January 20, 2026"
    assert format_date(day, "ja") == "2026年1月20日"
    assert format_due(date(2027, 3, 1), "month", "en") == "March 2027"
    assert format_due(date(2027, 3, 1), "month", "ja") == "2027年3月"
    assert format_due(date(2027, 3, 1), "year", "en") == "2027"
    assert format_due(date(2027, 3, 1), "year", "ja") == "2027年"
    assert format_due(date(2027, 3, 9), "day", "ja") == "2027年3月9日"
    # A quarter is a quarter, not its first month ("third quarter of 2027" is not "July 2027").
    assert format_due(date(2027, 7, 1), "quarter", "en") == "Q3 2027"
    assert format_due(date(2027, 7, 1), "quarter", "ja") == "2027年第3四半期"
    # A Japanese fiscal year runs April to March: 2027年度 is not the calendar year 2027,
    # and the phrase nests in a watch line's parentheses without brackets of its own.
    assert format_due(date(2027, 4, 1), "fiscal_year", "ja") == "2027年度：2027年4月～2028年3月"
    assert (
        format_due(date(2027, 4, 1), "fiscal_year", "en") == "fiscal 2027: April 2027 to March 2028"
    )


def _copy_files(tmp_path: Path) -> Path:
    for language in i18n.LANGUAGES:
        text = render_file(language, topics(language))
        (tmp_path / f"{language}.toml").write_text(text, "utf-8")
    return tmp_path


def test_a_modules_dict_moves_into_the_files_and_reads_back_the_same(tmp_path: Path) -> None:
    directory = _copy_files(tmp_path)
    new = {
        "tenant_gone": {
            "en": "Workspace {name} is gone.",
            "ja": "ワークスペース {name} は削除されました。",
        },
        "quote": {"en": 'Say "hi"\nthen \\ go', "ja": "「こんにちは」\nと言う"},
    }
    # A key the files already hold with the same text merges quietly.
    same_key, same = next(iter(catalog("handlers.feeds").items()))
    new[same_key] = dict(same)
    added = merge("handlers.feeds", new, directory)
    assert added == ["tenant_gone", "quote"]
    for language in i18n.LANGUAGES:
        read = i18n.parse_file((directory / f"{language}.toml").read_text("utf-8"), "x")
        assert read["handlers.feeds"]["tenant_gone"] == new["tenant_gone"][language]
        assert read["handlers.feeds"]["quote"] == new["quote"][language]
        # Nothing else changed.
        for topic, phrases in topics(language).items():
            assert {k: read[topic][k] for k in phrases} == dict(phrases)


def test_the_move_refuses_a_clash_or_a_missing_language(tmp_path: Path) -> None:
    directory = _copy_files(tmp_path)
    key, entry = next(iter(catalog("handlers.feeds").items()))
    before = (directory / "en.toml").read_text("utf-8")
    with pytest.raises(
        LocaleDataError, match=rf"handlers\.feeds\.{key}: .* already has another text"
    ):
        merge("handlers.feeds", {key: {"en": entry["en"] + "!", "ja": entry["ja"]}}, directory)
    with pytest.raises(LocaleDataError, match=r"handlers\.new\.k: no Japanese text"):
        merge("handlers.new", {"k": {"en": "English only"}}, directory)
    assert (directory / "en.toml").read_text("utf-8") == before


def test_a_broken_file_is_one_line_naming_it() -> None:
    with pytest.raises(LocaleDataError, match=r"^ja\.toml: not valid TOML"):
        i18n.parse_file('[a]\nx = "unclosed\n', "ja.toml")
    with pytest.raises(LocaleDataError, match=r"^en\.toml: a\.x must be a string"):
        i18n.parse_file("[a]\nx = 3\n", "en.toml")


def test_the_command_line_move_prints_the_line_to_write(tmp_path: Path) -> None:
    # The files shipped in the repository are generated by the same writer, so a move leaves
    # unrelated lines alone: rendering them again changes nothing.
    for language in i18n.LANGUAGES:
        shipped = (ROOT / "bot" / "data" / "locale" / f"{language}.toml").read_text("utf-8")
        assert render_file(language, topics(language)) == shipped
    done = subprocess.run(
        [sys.executable, "-m", "bot.i18n", "nothing-here"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "usage: python -m bot.i18n MODULE:NAME TOPIC" in done.stderr
