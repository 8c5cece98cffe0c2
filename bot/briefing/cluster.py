"""Group articles about the same event into stories (English and Japanese), without I/O.

Articles carrying a stored sentence embedding (``bot.briefing.embed``) are grouped by complete
linkage over their vectors, which joins English and Japanese reports of one event and keeps
two events of one company apart. The rest fall back to the lexical similarity below.

Each article becomes a weighted bag of tokens: English word stems minus stop words, Japanese
character bigrams of kanji and katakana runs, with numbers carrying units ("410MWh") and named
entities ("Rondo", "BESS", long katakana names) weighted up because two reports of one event
share them while two different events in one field rarely do. Tokens are weighted by inverse
document frequency over the batch, and two articles join when the cosine of their vectors
reaches a threshold tuned on the fixtures in ``tests/test_cluster.py``.

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

import numpy as np
import numpy.typing as npt

from bot.models import Article, SectorScore, Story

DEFAULT_WINDOW = timedelta(hours=48)

SIMILARITY_THRESHOLD = 0.34
"""Cosine at or above which two articles report the same event (tuned on test fixtures)."""

VECTOR_THRESHOLD = 0.40
"""Score (``2 * cosine`` of centred e5 vectors minus both items' hub scores) at which two
reports within ``DEFAULT_WINDOW`` may join. Chosen on the dev half of
tests/data/cluster_events.jsonl (bench/cluster_quality.py)."""

LATE_WINDOW = timedelta(days=7)
LATE_VECTOR_THRESHOLD = 0.70
"""Reports up to ``LATE_WINDOW`` apart join only this close: weekly outlets and slow
translators cover an event days later, while two events of one company within days rarely
come this close (chosen on the same dev events)."""

SURE_VECTOR_THRESHOLD = 1.0
"""Score at which reports in two languages, or two Japanese reports, join on their vectors
alone. Below it, where two events of one field (a grid battery in Australia, a Japanese
subsidy for grid batteries) score like two reports of one event, they join only when both
name something concrete in common: a number with its unit, a name in Latin letters or a
katakana name (``concrete_tokens``). All but one of the cross-language pairs of one event in
tests/data/cluster_events.jsonl share such a token; the dev half does not bound this from
above (any value from 0.6 up scores the same), so it sits where the cosine is about 0.5,
above all of them (bench/cluster_quality.py)."""

HUB_NEIGHBOURS = 10
HUB_PRIOR = 200
"""See ``hub_scores``: the neighbourhood size, and the batch size at which it counts half."""

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
_NAMES_STAND_OUT = frozenset({"ja", "zh", "ko"})
"""Languages whose reports write names in Latin letters that stand out from their script."""
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


def _rare_concrete_tokens(articles: Sequence[Article]) -> list[frozenset[str]]:
    """``concrete_tokens`` of each article, minus those in many of them.

    A name in a tenth of the batch ("Google" on a day of Google news) is the day's topic,
    not evidence that two reports share an event.
    """
    tokens = [concrete_tokens(a) for a in articles]
    counts: dict[str, int] = defaultdict(int)
    for found in tokens:
        for token in found:
            counts[token] += 1
    cap = max(3, len(articles) // 10)
    return [frozenset(t for t in found if counts[t] <= cap) for found in tokens]


class _DisjointSet:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _lead_order(article: Article) -> tuple[float, int, float, int]:
    return (
        -article.source_weight,
        0 if article.summary.strip() else 1,
        article.when.timestamp(),
        article.item_id,
    )


def merge_sectors(articles: Sequence[Article]) -> tuple[SectorScore, ...]:
    """Sector scores over ``articles``: the best score per sector, matched terms united."""
    best: dict[str, float] = {}
    terms: dict[str, dict[str, None]] = defaultdict(dict)
    for article in articles:
        for score in article.sectors:
            best[score.key] = max(best.get(score.key, 0.0), score.score)
            for term in score.matched:
                terms[score.key][term] = None
    merged = [SectorScore(key, value, tuple(terms[key])) for key, value in best.items()]
    merged.sort(key=lambda s: (-s.score, s.key))
    return tuple(merged)


def make_story(articles: Sequence[Article]) -> Story:
    """A story from articles already known to report one event.

    The key comes from the smallest item id, so it stays the same when later reports join.
    """
    ordered = sorted(articles, key=_lead_order)
    lead, rest = ordered[0], sorted(ordered[1:], key=lambda a: (a.when, a.item_id))
    key = f"s{min(a.item_id for a in articles)}"
    return Story(key=key, articles=(lead, *rest), sectors=merge_sectors(articles))


def similar_pairs(
    articles: Sequence[Article],
    *,
    window: timedelta = DEFAULT_WINDOW,
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


def hub_scores(
    vectors: npt.NDArray[np.float32], *, k: int = HUB_NEIGHBOURS, prior: int = HUB_PRIOR
) -> npt.NDArray[np.float32]:
    """Each row's mean cosine to its ``k`` nearest rows, shrunk by ``n / (n + prior)``.

    In a large batch every item has some neighbour near any fixed threshold (papers of one
    field, generic AI news): subtracting how close an item's neighbourhood is anyway (the
    CSLS correction of cross-lingual retrieval) leaves what is special about a pair. Small
    batches say little about neighbourhoods, hence the shrinking. (Shrinking towards a large
    day's typical value instead was tried: the labelled dev events, themselves a small batch,
    need joins at cosines as low as the false ones, so it only moved the threshold; see
    ``SURE_VECTOR_THRESHOLD`` for what separates them.)
    """
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=np.float32)
    kk = min(k, n - 1)
    out = np.empty(n, dtype=np.float32)
    block = 512
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = vectors[start:stop] @ vectors.T
        sims[np.arange(stop - start), np.arange(start, stop)] = -1.0  # not its own neighbour
        top = np.partition(sims, n - kk, axis=1)[:, n - kk :]
        out[start:stop] = top.mean(axis=1)
    shrunk: npt.NDArray[np.float32] = (out * (n / (n + prior))).astype(np.float32)
    return shrunk


def vector_pairs(
    vectors: npt.NDArray[np.float32],
    timestamps: Sequence[float],
    *,
    threshold: float = VECTOR_THRESHOLD,
    window: timedelta = DEFAULT_WINDOW,
    late_threshold: float = LATE_VECTOR_THRESHOLD,
    late_window: timedelta = LATE_WINDOW,
) -> list[tuple[float, int, int]]:
    """Pairs ``(score, i, j)``, ``i < j``, that may belong to one story.

    The score is ``2 * cosine - hub(i) - hub(j)`` (see ``hub_scores``). A pair qualifies
    within ``window`` at ``threshold``, or within ``late_window`` at the stricter
    ``late_threshold`` (some outlets report days later). Rows are compared in blocks against
    only the rows inside the late window (sorted by time), so memory stays at one block of
    similarities however many articles there are.
    """
    n = len(timestamps)
    if n < 2:
        return []
    times = np.asarray(timestamps, dtype=np.float64)
    order = np.argsort(times, kind="stable")
    sorted_times = times[order]
    sorted_vectors = vectors[order]
    hubs = hub_scores(sorted_vectors)
    span = window.total_seconds()
    late_span = max(late_window.total_seconds(), span)
    pairs: list[tuple[float, int, int]] = []
    block = 512
    for start in range(0, n, block):
        stop = min(start + block, n)
        hi = int(np.searchsorted(sorted_times, sorted_times[stop - 1] + late_span, side="right"))
        sims = 2 * (sorted_vectors[start:stop] @ sorted_vectors[start:hi].T)
        sims -= hubs[start:stop, None] + hubs[None, start:hi]
        gaps = sorted_times[start:hi][None, :] - sorted_times[start:stop][:, None]
        near = (sims >= threshold) & (gaps <= span)
        late = (sims >= late_threshold) & (gaps <= late_span)
        rows, cols = np.nonzero(near | late)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a, b = start + r, start + c
            if b <= a:
                continue
            i, j = int(order[a]), int(order[b])
            pairs.append((float(sims[r, c]), min(i, j), max(i, j)))
    return pairs


def complete_linkage(n: int, pairs: Sequence[tuple[float, int, int]]) -> list[int]:
    """Group labels for ``n`` items joined by complete linkage over the given ``pairs``.

    Two groups merge (most similar pair first) only when every member of one is paired with
    every member of the other: a story never chains from one event to a different one through
    a report that mentions both, which single linkage would do.
    """
    linked: set[tuple[int, int]] = {(i, j) for _, i, j in pairs}
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    label = list(range(n))
    for _, i, j in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        a, b = label[i], label[j]
        if a == b:
            continue
        if all((min(x, y), max(x, y)) in linked for x in members[a] for y in members[b]):
            keep, gone = min(a, b), max(a, b)
            for x in members[gone]:
                label[x] = keep
            members[keep].extend(members.pop(gone))
    return label


def _lang_key(lang: str | None) -> str:
    return (lang or "und").split("-")[0].lower()


BATCH_CENTRING_PRIOR = 50
"""Items a language needs in a batch before its own mean counts as much as the fixed one."""


def _recentred(vectors: npt.NDArray[np.float32], langs: Sequence[str]) -> npt.NDArray[np.float32]:
    """Subtract each language's mean over this batch, shrunk towards zero for small batches.

    The stored vectors are centred on fixed news means, but a day can be dominated by one
    kind of text (a journal's papers share a direction news does not); their common part
    then makes unrelated items look alike. With few items the batch mean is mostly the items
    themselves, so its weight grows with their number: n / (n + BATCH_CENTRING_PRIOR).
    """
    out = vectors.copy()
    keys = np.array([_lang_key(lang) for lang in langs])
    for key in set(keys.tolist()):
        rows = keys == key
        n = int(rows.sum())
        out[rows] -= (n / (n + BATCH_CENTRING_PRIOR)) * vectors[rows].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: npt.NDArray[np.float32] = (out / norms).astype(np.float32)
    return result


def cluster_articles(
    articles: Sequence[Article],
    *,
    window: timedelta = DEFAULT_WINDOW,
    threshold: float = SIMILARITY_THRESHOLD,
    vector_threshold: float = VECTOR_THRESHOLD,
    late_window: timedelta = LATE_WINDOW,
    late_threshold: float = LATE_VECTOR_THRESHOLD,
    sure_threshold: float = SURE_VECTOR_THRESHOLD,
) -> list[Story]:
    """Group ``articles`` about the same event into stories, newest story first.

    Articles carrying a stored embedding are grouped by complete linkage over their vectors
    (which joins English and Japanese reports of one event); articles without one (the model
    is not installed, or the background worker has not reached them yet) join by the lexical
    similarity of this module.

    Args:
        articles: Stored items in any language mix; duplicates by ``item_id`` count once.
        window: Articles further apart in time than this are never joined directly.
        threshold: Lexical cosine similarity at which two articles join.
        vector_threshold: Embedding score (see ``vector_pairs``) at which two articles join.
        late_window: Articles with vectors up to this far apart may join at ``late_threshold``.
        late_threshold: The stricter embedding score for reports more than ``window`` apart.
        sure_threshold: The embedding score at which a pair joins without sharing a number
            or a name (see ``SURE_VECTOR_THRESHOLD``).

    Returns:
        One story per event; ``story.articles[0]`` is the lead (highest source weight, then
        with a summary, then earliest).
    """
    unique = list({a.item_id: a for a in articles}.values())
    groups = _DisjointSet(len(unique))
    embedded = [i for i, a in enumerate(unique) if a.embedding]
    if embedded:
        dims = {len(unique[i].embedding or b"") for i in embedded}
        if len(dims) == 1:
            matrix = _recentred(
                np.stack(
                    [np.frombuffer(unique[i].embedding or b"", dtype="<f4") for i in embedded]
                ).astype(np.float32),
                [unique[i].language for i in embedded],
            )
            pairs = vector_pairs(
                matrix,
                [unique[i].when.timestamp() for i in embedded],
                threshold=vector_threshold,
                window=window,
                late_threshold=late_threshold,
                late_window=late_window,
            )
            # A feed does not report one event twice, but a journal or a topic feed publishes
            # many close neighbours at once (a day's remote-sensing papers): two items of one
            # feed are never a pair, so complete linkage keeps them in different stories.
            feeds = [unique[i].feed_id for i in embedded]
            pairs = [p for p in pairs if feeds[p[1]] != feeds[p[2]]]
            # Pairs in one Latin-script language keep joining on vectors alone: their Latin
            # words are any words, and the labelled English reports of one event often
            # share no rare name at all. In Japanese, Latin words and katakana runs are names.
            langs = [_lang_key(unique[i].language) for i in embedded]
            concrete = _rare_concrete_tokens([unique[i] for i in embedded])
            pairs = [
                p
                for p in pairs
                if p[0] >= sure_threshold
                or (langs[p[1]] == langs[p[2]] and langs[p[1]] not in _NAMES_STAND_OUT)
                or concrete[p[1]] & concrete[p[2]]
            ]
            for local, group in enumerate(complete_linkage(len(embedded), pairs)):
                groups.union(embedded[local], embedded[group])
        else:
            embedded = []  # vectors of different models: compare none of them
    has_vector = set(embedded)
    if len(has_vector) < len(unique):
        for i, j, _ in similar_pairs(unique, window=window, threshold=threshold):
            if i not in has_vector or j not in has_vector:
                groups.union(i, j)
    members: dict[int, list[Article]] = defaultdict(list)
    for i, article in enumerate(unique):
        members[groups.find(i)].append(article)
    stories = [make_story(group) for group in members.values()]
    stories.sort(key=lambda s: (-s.lead.when.timestamp(), s.key))
    return stories
