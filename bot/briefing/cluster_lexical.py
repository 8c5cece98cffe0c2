"""The lexical clusterer: reports that share rare words, numbers and names (no model needed).

Used for items without a stored vector (the model is not installed, or the background worker
has not reached them yet). Each article becomes a weighted bag of tokens: English word stems
minus stop words, Japanese character bigrams of kanji and katakana runs, with numbers carrying
units ("410MWh") and named entities ("Rondo", "BESS", long katakana names) weighted up because
two reports of one event share them while two different events in one field rarely do. Tokens
are weighted by inverse document frequency over the batch, and two articles join when the cosine
of their vectors reaches ``SIMILARITY_THRESHOLD`` (tuned on the fixtures in
``tests/test_cluster.py``). It does not join English and Japanese reports.

Pairs are found through an inverted index (only articles sharing a reasonably rare token are
ever compared) and only within ``window`` of each other, so 5,000 articles take well under a
second rather than the 12.5 million comparisons of all pairs.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.models import Article

SIMILARITY_THRESHOLD = 0.34
"""Cosine at or above which two articles report the same event (tuned on test fixtures)."""

LEXICAL_WINDOW = timedelta(hours=48)
"""The window the lexical threshold was tuned with."""

_MIN_SHARED_TOKENS = 2

_SUMMARY_CHARS = 600
"""Only the start of a summary is used: it restates the event; the rest drifts to background."""

_TITLE_WEIGHT = 1.5
_NUMBER_WEIGHT = 3.0
"""A number with a unit or letters ("410MWh", "GPT-5") nearly identifies an event."""
_PLAIN_NUMBER_WEIGHT = 1.5
_YEAR_WEIGHT = 0.7
_ENTITY_WEIGHT = 2.0
_KATAKANA_NAME_WEIGHT = 2.0
_BIGRAM_WEIGHT = 1.0

_NUMBER_WITH_UNIT = re.compile(r"(\d+(?:[.,]\d+)*)\s?([A-Za-z%]+)?")
_GENERIC_TEXT = """ai llm llms gpu cpu it iot dx gx api app ceo ev evs pv bess ess esg co2 h2 ar
    vr xr mw mwh gw gwh kw kwh tb gb"""
_GENERIC_NAMES = frozenset(_GENERIC_TEXT.split())
"""Acronyms and units of a whole field ("BESS", "EV"): Japanese reports use them as they
are, so sharing one says nothing about the event."""
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+(?:['.\-][A-Za-z0-9]+)*")
_KANJI_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヵヶ]{2,}")
_KATAKANA_RUN = re.compile(r"[\u30a1-\u30fa\u30fc\uff66-\uff9f]{2,}")
_YEAR = re.compile(r"(?:19|20)\d\d")

_STOP_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my new news no nor not now of off on once only or other our out over own same
    says said she should so some such than that the their them then there these they this
    those through to too under until up very via was we were what when where which while who
    whom why will with would you your yours report reports today week year years first one two
    per amid announces announced unveils launches update updates latest how why what
    """
_STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(slots=True)
class _Doc:
    index: int
    weights: dict[str, float]
    timestamp: float


def _stem(word: str) -> str:
    """A light English stemmer: enough to join "batteries"/"battery" and "plans"/"planned"."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("sses"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    return word


def _mostly_capitalised(words: list[str]) -> bool:
    """Title Case headlines capitalise everything, so capitals there say nothing about names."""
    letters = [w for w in words if w[0].isalpha() and w.lower() not in _STOP_WORDS]
    if len(letters) < 3:
        return False
    return sum(1 for w in letters if w[0].isupper()) >= 0.6 * len(letters)


def _add(weights: dict[str, float], token: str, weight: float) -> None:
    if weight > weights.get(token, 0.0):
        weights[token] = weight


def _ascii_tokens(text: str, weights: dict[str, float], scale: float, entities: set[str]) -> None:
    words = _ASCII_WORD.findall(text)
    for word in words:
        lower = word.lower()
        if any(c.isdigit() for c in lower):
            if any(c.isalpha() for c in lower):
                _add(weights, "#" + lower, _NUMBER_WEIGHT * scale)
            elif _YEAR.fullmatch(lower):
                _add(weights, "#" + lower, _YEAR_WEIGHT * scale)
            elif len(lower) >= 2:
                _add(weights, "#" + lower, _PLAIN_NUMBER_WEIGHT * scale)
            continue
        if lower in _STOP_WORDS or len(lower) < 2:
            continue
        stem = _stem(lower)
        strong = stem in entities
        _add(weights, stem, (_ENTITY_WEIGHT if strong else 1.0) * scale)


def _entities_in(text: str) -> set[str]:
    """Stems written with a capital in running text (not after a sentence end), or in capitals."""
    found: set[str] = set()
    words = list(_ASCII_WORD.finditer(text))
    if _mostly_capitalised([m.group() for m in words]):
        return {
            _stem(m.group().lower()) for m in words if m.group().isupper() and len(m.group()) > 1
        }
    for match in words:
        word = match.group()
        if not word[0].isupper() or word.lower() in _STOP_WORDS:
            continue
        before = text[: match.start()].rstrip()
        sentence_start = not before or before[-1] in ".!?:。！？「『\"'"
        if len(word) > 1 and (word.isupper() or not sentence_start):
            found.add(_stem(word.lower()))
    return found


def _japanese_tokens(text: str, weights: dict[str, float], scale: float) -> None:
    for run in _KANJI_RUN.findall(text):
        for i in range(len(run) - 1):
            _add(weights, run[i : i + 2], _BIGRAM_WEIGHT * scale)
    for run in _KATAKANA_RUN.findall(text):
        for i in range(len(run) - 1):
            _add(weights, run[i : i + 2], _BIGRAM_WEIGHT * scale)
        if len(run) >= 3:
            # Long katakana runs are mostly names and loanwords: a whole-run token rewards
            # matching the full name over sharing a common fragment such as "ステ".
            _add(weights, "@" + run, _KATAKANA_NAME_WEIGHT * scale)


def article_tokens(article: Article) -> dict[str, float]:
    """The weighted tokens that represent ``article`` for similarity (before IDF)."""
    title = unicodedata.normalize("NFKC", article.title)
    summary = unicodedata.normalize("NFKC", article.summary[:_SUMMARY_CHARS])
    entities = _entities_in(summary) | _entities_in(title)
    weights: dict[str, float] = {}
    _ascii_tokens(summary, weights, 1.0, entities)
    _japanese_tokens(summary, weights, 1.0)
    _ascii_tokens(title, weights, _TITLE_WEIGHT, entities)
    _japanese_tokens(title, weights, _TITLE_WEIGHT)
    return weights


def concrete_tokens(article: Article) -> frozenset[str]:
    """What reports of one event in two languages write alike: numbers and Latin names.

    Numbers with their unit ("450 MWh" and "450MWh" both give ``450mwh``) and bare numbers of
    three or more characters, years left out; words in Latin letters, minus stop words,
    units and generic acronyms. Only tokens on both sides of a cross-language pair matter,
    and the Latin words of Japanese text are names ("Gemma", "SIMA", "Aeneas"), as are its
    katakana runs of three or more (kept with a leading ``@``).
    """
    text = unicodedata.normalize("NFKC", f"{article.title}\n{article.summary[:_SUMMARY_CHARS]}")
    found: set[str] = set()
    for match in _NUMBER_WITH_UNIT.finditer(text):
        number, unit = match.group(1).replace(",", ""), (match.group(2) or "").lower()
        if _YEAR.fullmatch(number) and not unit:
            continue
        if unit:
            found.add(number + unit)
        if len(number) >= 3 and not _YEAR.fullmatch(number):
            found.add(number)
    for word in _ASCII_WORD.findall(text):
        lower = word.lower()
        generic = lower in _STOP_WORDS or lower in _GENERIC_NAMES
        if word[0].isalpha() and len(word) > 1 and not generic:
            found.add(_stem(lower))
    found.update("@" + run for run in _KATAKANA_RUN.findall(text) if len(run) >= 3)
    return frozenset(found)


def similar_pairs(
    articles: Sequence[Article],
    *,
    window: timedelta = LEXICAL_WINDOW,
    threshold: float = SIMILARITY_THRESHOLD,
) -> list[tuple[int, int, float]]:
    """Index pairs ``(i, j, cosine)`` with ``i < j`` that reach ``threshold`` within ``window``."""
    docs = [_Doc(i, article_tokens(a), a.when.timestamp()) for i, a in enumerate(articles)]
    n = len(docs)
    postings: dict[str, list[int]] = defaultdict(list)
    for doc in docs:
        for token in doc.weights:
            postings[token].append(doc.index)
    # Tokens in very many articles are the field's vocabulary, not an event's: they would make
    # every article a candidate of every other and their IDF is near zero anyway.
    df_cap = max(30, n // 100)
    idf = {t: math.log((n + 20) / (len(p) + 1)) for t, p in postings.items() if len(p) <= df_cap}
    vectors: list[dict[str, float]] = []
    norms: list[float] = []
    for doc in docs:
        vec = {t: w * idf[t] for t, w in doc.weights.items() if t in idf}
        vectors.append(vec)
        norms.append(math.sqrt(sum(v * v for v in vec.values())) or 1.0)
    span = window.total_seconds()
    pairs: list[tuple[int, int, float]] = []
    for i, vec in enumerate(vectors):
        dots: dict[int, float] = defaultdict(float)
        shared: dict[int, int] = defaultdict(int)
        ti = docs[i].timestamp
        for token, weight in vec.items():
            for j in postings[token]:
                if j > i and abs(docs[j].timestamp - ti) <= span:
                    dots[j] += weight * vectors[j][token]
                    shared[j] += 1
        for j, dot in dots.items():
            cosine = dot / (norms[i] * norms[j])
            # One shared token, however rare, is a coincidence (the same "500MW" in two
            # unrelated projects); two reports of one event share several.
            if cosine >= threshold and shared[j] >= _MIN_SHARED_TOKENS:
                pairs.append((i, j, cosine))
    return pairs
