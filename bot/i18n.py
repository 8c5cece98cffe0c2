"""Fixed phrases in English and Japanese.

Each module keeps its own catalog (``{key: {"en": ..., "ja": ...}}``) and looks phrases up with
``phrase``; a test checks that every catalog has both languages for every key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.models import Language

Catalog = Mapping[str, Mapping[str, str]]

LANGUAGES: tuple[Language, ...] = ("en", "ja")


def phrase(catalog: Catalog, key: str, language: Language, /, **values: Any) -> str:
    """The phrase ``key`` in ``language`` (English when missing), formatted with ``values``."""
    entry = catalog[key]
    text = entry.get(language) or entry["en"]
    return text.format(**values) if values else text


def missing_translations(catalog: Catalog) -> list[str]:
    """Keys that lack a language; used by tests."""
    return [key for key, entry in catalog.items() if any(not entry.get(lang) for lang in LANGUAGES)]
