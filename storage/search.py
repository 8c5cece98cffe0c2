"""Text prepared for full-text search in English and Japanese alike.

Neither SQLite's FTS5 default tokenizer nor PostgreSQL's ``simple`` configuration splits Japanese
into words (it has no spaces). We index a derived text instead: Latin words lower-cased as they
are, and every run of CJK characters spelled out as overlapping character bigrams. A query goes
through the same function and is searched as phrases, so 量子コンピュータ finds 量子コンピュータ
and never 量子 alone somewhere and コンピュータ elsewhere.
"""

from __future__ import annotations

import re
import unicodedata

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f々〆ヵヶー"
# A Latin word stops where CJK starts: "GWシティで自動運転バス" is the word "gw" and a CJK run,
# not one long token that no query of its parts would ever match.
_TOKEN = re.compile(rf"[{_CJK}]+|(?:(?![{_CJK}])[^\W_])+", re.UNICODE)
_CJK_RUN = re.compile(rf"[{_CJK}]+")


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def search_terms(text: str) -> list[list[str]]:
    """The phrases of ``text``: each a list of index tokens that must stand in a row."""
    text = unicodedata.normalize("NFKC", text).lower()
    phrases: list[list[str]] = []
    for token in _TOKEN.findall(text):
        phrases.append(_bigrams(token) if _CJK_RUN.fullmatch(token) else [token])
    return phrases


def query_words(text: str) -> list[str]:
    """The words and CJK runs of ``text`` as typed, normalised like the index (for ranking)."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


def search_text(*parts: str) -> str:
    """The indexable form of a document made of ``parts`` (title, summary ...)."""
    return " ".join(" ".join(p) for part in parts for p in search_terms(part))
