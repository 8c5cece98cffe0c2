"""Publishers' own categories as evidence of an item's sector.

Many feeds say what an entry is about: RSS ``<category>``, Atom ``<category term>``, arXiv's
``quant-ph`` or ``q-bio.QM``, a news site's section ("Automotive", "AI"). Ingest stores them
with the item (``items.categories``) and ``shiftbrief classify`` reads them from a line's
``categories``. The terms that name a built-in sector's subject are data
(``bot/data/categories/sectors.toml``), the same for every feed: no rule names a feed.

A category is compared whole, ignoring case and surrounding space; a category that lists
several ("Botany, Microbiology", "Family Medicine/Primary Care") is also compared part by
part; an arXiv category ("q-bio.QM") also by its archive ("q-bio"). What a category is worth
in the decision is ``bot.briefing.classify``'s (``CATEGORY_WEIGHT``).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from types import MappingProxyType
from typing import NamedTuple

_PARTS = re.compile(r"\s*[,/;|]\s*")


class CategoryDataError(ValueError):
    """The category mapping file is malformed."""


class CategoryMap(NamedTuple):
    """A mapping file, read: folded category term -> the sector keys it names, and -> the term
    as the file spells it (what a reader is shown as the word that matched)."""

    sectors: Mapping[str, tuple[str, ...]]
    spelled: Mapping[str, str]


def parse_mapping(text: str, where: str) -> CategoryMap:
    """The category terms of a mapping file's text, one table of ``terms`` per sector key.

    Raises:
        CategoryDataError: the text is not TOML, or a table lacks a list of strings ``terms``.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CategoryDataError(f"{where}: not valid TOML ({exc})") from exc
    found: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for key, table in data.items():
        terms = table.get("terms") if isinstance(table, dict) else None
        if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
            raise CategoryDataError(f"{where}: [{key}] needs 'terms', a list of non-empty strings")
        for term in terms:
            folded = " ".join(term.split()).casefold()
            spelled.setdefault(folded, term.strip())
            keys = found.setdefault(folded, [])
            if key not in keys:
                keys.append(key)
    return CategoryMap(
        MappingProxyType({term: tuple(keys) for term, keys in found.items()}),
        MappingProxyType(spelled),
    )


@functools.cache
def builtin_mapping() -> CategoryMap:
    """The shipped mapping (read once per process)."""
    entry = resources.files("bot").joinpath("data", "categories", "sectors.toml")
    return parse_mapping(entry.read_text(encoding="utf-8"), entry.name)


def category_forms(category: str) -> list[str]:
    """The forms a category is compared by: whole (folded), each listed part, an arXiv
    category's archive."""
    folded = " ".join(category.split()).casefold()
    forms = [folded]
    parts = [p for p in _PARTS.split(folded) if p]
    if len(parts) > 1:
        forms += parts
    for form in list(forms):
        if "." in form and " " not in form:
            forms.append(form.split(".")[0])  # arXiv: "q-bio.qm" -> "q-bio"
    return forms


def category_sectors(
    categories: Sequence[str], mapping: CategoryMap | None = None
) -> dict[str, str]:
    """Sector key -> the mapping's term (ours, not the feed's text: it may be shown as what
    matched) of the first category that names it."""
    if not categories:
        return {}
    mapping = builtin_mapping() if mapping is None else mapping
    found: dict[str, str] = {}
    for category in categories:
        for form in category_forms(category):
            for key in mapping.sectors.get(form, ()):
                found.setdefault(key, mapping.spelled[form])
    return found
