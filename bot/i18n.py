"""Fixed phrases in English and Japanese, read from one data file per language.

The phrases live in ``bot/data/locale/en.toml`` and ``bot/data/locale/ja.toml`` (package data,
read with ``tomllib`` through ``importlib.resources``), one table per topic: ``[briefing]``,
``[editor]``, ``[commands]``, ``[dispatcher]``, ``[handlers.feeds]``, ``[slack.home]``... A module
asks for its topic once, ``MESSAGES = catalog("handlers.feeds")``, and looks phrases up with
``phrase(MESSAGES, key, language, **values)``; placeholders are ``str.format`` fields (``{name}``).
``tests/test_i18n.py`` checks that both files hold the same keys with the same placeholders.

Why TOML rather than gettext ``.po`` files through Babel: our keys are short names, not English
source strings, and both languages are kept by hand side by side; ``.po`` catalogs would need a
compile step into ``.mo`` files in the build and the image, while TOML is read as it is shipped.
Babel still formats what the locale decides (dates: ``format_date``, ``format_due``).

Adding a phrase: add the key to the topic's table in both files (same key, same placeholders).
Moving a module's ``{key: {"en": ..., "ja": ...}}`` dict into the files:
``python -m bot.i18n MODULE:NAME TOPIC`` merges its entries into both files; then replace the dict
with ``NAME = catalog("TOPIC")``.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import string
import sys
import tomllib
from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from babel import dates as babel_dates

from bot.models import Language

Catalog = Mapping[str, Mapping[str, str]]

LANGUAGES: tuple[Language, ...] = ("en", "ja")

_HEADER = (
    "# ShiftBrief's fixed phrases in {name}, one table per topic; keys and {{placeholders}} match\n"
    "# the other language's file (tests/test_i18n.py). See bot/i18n.py for how to add a phrase.\n"
)
_LANGUAGE_NAMES = {"en": "English", "ja": "Japanese"}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class LocaleDataError(ValueError):
    """A locale file is not valid TOML or holds something other than tables of strings."""


def _flatten(table: Mapping[str, Any], prefix: str, where: str) -> dict[str, dict[str, str]]:
    """Topics (dotted table names) to their phrases, from the nested tables of one file."""
    topics: dict[str, dict[str, str]] = {}
    for name, value in table.items():
        topic = f"{prefix}.{name}" if prefix else name
        if not isinstance(value, Mapping):
            raise LocaleDataError(f"{where}: {topic} must be a table, got {value!r}")
        phrases = {k: v for k, v in value.items() if isinstance(v, str)}
        if phrases:
            topics[topic] = phrases
        for k, v in value.items():
            if isinstance(v, Mapping):
                topics.update(_flatten({k: v}, topic, where))
            elif not isinstance(v, str):
                raise LocaleDataError(f"{where}: {topic}.{k} must be a string, got {v!r}")
    return topics


def _locale_file(language: Language) -> str:
    return resources.files("bot").joinpath("data", "locale", f"{language}.toml").read_text("utf-8")


def parse_file(text: str, where: str) -> dict[str, dict[str, str]]:
    """Topics to their phrases, from the text of one locale file.

    Raises:
        LocaleDataError: the text is not TOML, or holds something other than tables of strings.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LocaleDataError(f"{where}: not valid TOML ({exc})") from exc
    return _flatten(data, "", where)


@functools.cache
def topics(language: Language) -> Mapping[str, Mapping[str, str]]:
    """Every topic of ``language``'s file and its phrases (read once)."""
    return MappingProxyType(parse_file(_locale_file(language), f"bot/data/locale/{language}.toml"))


def catalog(topic: str) -> Catalog:
    """The phrases of ``topic`` in both languages, as ``{key: {"en": ..., "ja": ...}}``.

    Raises:
        KeyError: the English file has no such topic.
    """
    english = topics("en")[topic]
    others = {lang: topics(lang).get(topic, {}) for lang in LANGUAGES if lang != "en"}
    entries: dict[str, Mapping[str, str]] = {}
    for key, text in english.items():
        entry = {"en": text}
        entry.update({lang: found[key] for lang, found in others.items() if key in found})
        entries[key] = MappingProxyType(entry)
    return MappingProxyType(entries)


def phrase(catalog: Catalog, key: str, language: Language, /, **values: Any) -> str:
    """The phrase ``key`` in ``language`` (English when missing), formatted with ``values``."""
    entry = catalog[key]
    text = entry.get(language) or entry["en"]
    return text.format(**values) if values else text


def placeholders(text: str) -> frozenset[str]:
    """The ``str.format`` fields a phrase takes (``{n}``, ``{name}``)."""
    return frozenset(field for _, field, _, _ in string.Formatter().parse(text) if field)


def missing_translations(catalog: Catalog) -> list[str]:
    """Keys that lack a language; used by tests."""
    return [key for key, entry in catalog.items() if any(not entry.get(lang) for lang in LANGUAGES)]


def format_date(day: date, language: Language) -> str:
    """``day`` as a reader writes it, by the locale's rules: "January 20, 2026", "2026年1月20日"."""
    return babel_dates.format_date(day, format="long", locale=language)


def format_due(day: date, precision: str, language: Language) -> str:
    """A due date at its precision ("day", "month", "quarter", "year", "fiscal_year").

    By the locale's rules: "March 2027", "2027年3月", "2027", "Q3 2027"; a Japanese fiscal year
    beginning in ``day``'s April is "2027年度" with its months for a reader who may not know it.
    """
    if precision == "fiscal_year":
        return phrase(
            catalog("briefing"),
            "fiscal_year",
            language,
            year=day.year,
            start=babel_dates.format_skeleton("yMMMM", day, locale=language),
            end=babel_dates.format_skeleton("yMMMM", date(day.year + 1, 3, 1), locale=language),
        )
    if precision == "quarter":
        return phrase(
            catalog("briefing"), "quarter", language, q=(day.month + 2) // 3, year=day.year
        )
    if precision == "year":
        return babel_dates.format_skeleton("y", day, locale=language)
    if precision == "month":
        return babel_dates.format_skeleton("yMMMM", day, locale=language)
    return format_date(day, language)


# The move of a module's dict into the files (``python -m bot.i18n MODULE:NAME TOPIC``).


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def render_file(language: Language, by_topic: Mapping[str, Mapping[str, str]]) -> str:
    """The text of a locale file holding ``by_topic``, in the layout the files keep."""
    lines = [_HEADER.format(name=_LANGUAGE_NAMES[language])]
    for topic, entries in by_topic.items():
        lines.append(f"\n[{topic}]\n")
        # JSON strings are TOML basic strings; non-ASCII stays readable.
        lines.extend(
            f"{_key(k)} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in entries.items()
        )
    return "".join(lines)


def merge(topic: str, entries: Catalog, directory: Path) -> list[str]:
    """Add ``entries`` under ``topic`` to the files in ``directory``; the keys added.

    Both files are checked before either is written, so a refused move changes nothing.

    Raises:
        LocaleDataError: a key already in the files has another text, or an entry lacks a language.
    """
    texts: dict[Path, str] = {}
    added: list[str] = []
    for language in LANGUAGES:
        path = directory / f"{language}.toml"
        by_topic = parse_file(path.read_text("utf-8"), str(path))
        table = by_topic.setdefault(topic, {})
        for key, entry in entries.items():
            text = entry.get(language)
            if not text:
                raise LocaleDataError(f"{topic}.{key}: no {_LANGUAGE_NAMES[language]} text")
            if key in table and table[key] != text:
                raise LocaleDataError(f"{topic}.{key}: {path} already has another text")
            if key not in table and language == "en":
                added.append(key)
            table[key] = text
        texts[path] = render_file(language, by_topic)
        parse_file(texts[path], str(path))  # never write a file the bot could not read back
    for path, text in texts.items():
        path.write_text(text, "utf-8")
    return added


def main(argv: list[str]) -> int:
    """``python -m bot.i18n MODULE:NAME TOPIC``: move a module's catalog dict into the files."""
    if len(argv) != 2 or ":" not in argv[0]:
        print("usage: python -m bot.i18n MODULE:NAME TOPIC", file=sys.stderr)
        return 2
    module_name, name = argv[0].split(":", 1)
    entries = cast(Catalog, getattr(importlib.import_module(module_name), name))
    directory = Path(str(resources.files("bot").joinpath("data", "locale")))
    added = merge(argv[1], entries, directory)
    print(f"{len(added)} phrase(s) added to [{argv[1]}]; now write {name} = catalog({argv[1]!r})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
