"""Train the sector classifier over item vectors and choose the sector decision's constants.

Run: ``.venv/bin/python bench/sector_model.py [--corpus PATH] [--write] [--means]``

Training data: the dev split (``tests/data/classify_dev.tsv``) and a fixed sample of the tune
parts of the corpus's labelled sets (arXiv papers by category, quantum news, physical-AI news,
newsapi health headlines as life science, and business, entertainment, sports and technology
headlines the keyword rules give no sector as none; ``external_items``). The TEST split and the
held-out parts of those sets are never read.

The decision is also measured on a headline-only view of the dev split (the same items, folds
and models, summaries removed), as feeds that give no summary (news aggregators, paper feeds)
reach the bot; the off-topic floor must hold on both views. ``HEADLINE_COPIES`` (learning each
item a second time as its headline alone) was tried and is off; why is said next to it.

Cross-validation: the dev split is cut into five folds by feed (a feed of more than 30 rows in
chunks of its rows), the external items into five by position. For each fold the classifier
(``bot.briefing.sector_model``, multinomial logistic regression with an L2 penalty) is trained
on the other folds, and ``bot.briefing.sector_decision`` is run on the fold with every
combination of the rescue thresholds. The thresholds chosen give the best on-topic accuracy on
the dev folds (pooled) with off-topic rejection of at least ``OFF_TOPIC_GOAL``; printed with
the spread over folds, with the vetoes the decision no longer has, and with a simulation of
admin-added sectors (each built-in sector in turn, its prototype made from its terms and the
items its terms matched in the training folds) for ``ADMIN_RESCUE_MIN``.

The keyword rules read the publishers' categories of dev items as ingest stores them;
``CATEGORY_WEIGHT`` is compared over the same folds.

``--write`` trains on everything and writes ``bot/briefing/data/sector_model.json`` and the
built-in sectors' prototypes (mean vectors of the dev split's items per sector)
``bot/briefing/data/sector_prototypes.json``. ``--means`` compares centring German, Spanish and
Chinese items on per-language means (from those feeds' items outside the test split) with the
embedder's average of the English and Japanese means, on those languages' dev items.

Vectors are cached under ``$XDG_CACHE_HOME/shiftbrief-bench`` (embedding takes minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.classify import (
    _INVESTING,
    DEFAULT_CORPUS,
    NEWSAPI,
    DevItem,
    _numbered,
    is_right,
    load_dev_set,
    load_external_sets,
    load_test_set,
)
from bot.briefing import classify, embed, sector_decision
from bot.briefing.classify import Classifier
from bot.briefing.sector_decision import VectorEvidence, rescue
from bot.briefing.sector_model import NONE, SectorModel
from bot.briefing.sector_vectors import PROTOTYPES_FILE, sector_texts
from bot.briefing.sectors import default_sectors
from bot.ingest.parse import parse_feed
from bot.models import SectorDef, SectorScore

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shiftbrief-bench"
MODEL_FILE = Path(__file__).resolve().parents[1] / "bot" / "briefing" / "data" / "sector_model.json"
OFF_TOPIC_GOAL = 0.95
FOLDS = 5
L2 = 1e-4
"""The penalty: among 1e-5, 1e-4 and 1e-3, 1e-4 classified the dev folds best together with the
rescue (1e-3 left most German items below any threshold)."""
STEPS = 400
HEADLINE_COPIES = False
"""Whether to train on each item with a summary twice, whole and as its headline alone. Tried
and left off: on the dev folds at the thresholds chosen either way (0.85 / 0.4) it moves
on-topic 0.961 -> 0.968 (rejection 0.968 both), and on the headline-only view 0.944 -> 0.950
and 0.965 -> 0.968, three items or fewer each; but the external sets' newsapi health headlines
(headlines alone, the kind of feed it was meant for) lose 7 of 250 (210 -> 203), and the
external on-topic rate falls 0.856 -> 0.842. Copying only the dev split's items loses 5 of
them; copying only on-topic items drops the headline view's rejection to 0.92."""
READ_GRID = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 2.0)
OTHER_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 2.0)
"""Thresholds tried; 2.0 switches that rescue off."""
CATEGORY_GRID = (0.0, 0.5, 0.75, 1.0)
ADMIN_GRID = (0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
OTHER_FEEDS = (
    "heise_online_atom_150items__nextcloud-news.xml",
    "heise_developer_atom__rss-parser.xml",
    "mittechreview_es_scraped_2026-02__prospect-rss-feeds.xml",
    "geekpark_zh_rss__Feeder.xml",
    "kc0011_gb2312_forum_rss__NetNewsWire.xml",
)
Matrix = npt.NDArray[np.float32]


def raw_vectors(embedder: embed.Embedder, texts: Sequence[str]) -> Matrix:
    """The model's own vectors of ``texts``, embedded once and kept on disk."""
    CACHE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"raw-{embedder.name}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    vectors = embedder.raw(texts)
    np.save(path, vectors)
    return vectors


def item_vectors(embedder: embed.Embedder, items: Sequence[DevItem]) -> Matrix:
    """The vectors the bot stores for ``items``."""
    raw = raw_vectors(embedder, [embed.article_text(i.title, i.summary) for i in items])
    return embedder.centre(raw, [i.language for i in items])


def external_items(corpus: Path, known: frozenset[str]) -> list[DevItem]:
    """A fixed sample of the tune parts of the labelled sets (``known`` keys left out)."""
    rng = random.Random(16)
    out: list[DevItem] = []
    classifier = Classifier(sectors=default_sectors())
    for found in load_external_sets(corpus, known):
        tune = [i for i in found.items if not i.held_out and i.key not in known]
        if found.name.startswith("arxiv on-topic"):
            for key in ("quantum", "life", "ai"):
                chosen = [i for i in tune if i.acceptable[0] == key]
                picked = rng.sample(chosen, min(100, len(chosen)))
                out += [replace(i, acceptable=(key,)) for i in picked]
        elif found.name.startswith("arxiv off-topic"):
            out += rng.sample(tune, min(100, len(tune)))
        elif found.name.startswith("quantum news without"):
            out += rng.sample(tune, min(120, len(tune)))
        elif found.name.startswith("quantum news (->"):
            # Stock tips ("3 Quantum Computing Stocks to Buy") are none by the labelling rule.
            tips = [replace(i, acceptable=()) for i in tune if _INVESTING.search(i.title)]
            out += rng.sample(tips, min(60, len(tips)))
        elif found.name.startswith("physical-AI"):
            out += [replace(i, acceptable=("mobility", "ai")) for i in tune]
        elif found.name.startswith("newsapi"):
            out += rng.sample(tune, min(300, len(tune)))
    health: list[tuple[str, tuple[str, ...], str, str]] = []
    technology: list[tuple[str, tuple[str, ...], str, str]] = []
    lines = (corpus / NEWSAPI).read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        title, _, label = line.rstrip().rpartition(" ")
        if number % 3 == 2:
            continue  # the held-out third
        if label == "2":
            health.append((str(number), ("life",), title.strip(), ""))
        elif label == "5" and not classifier.classify(title.strip(), ""):
            # Technology headlines are general IT (none) unless a sector's term says otherwise.
            technology.append((str(number), (), title.strip(), ""))
    out += rng.sample(list(_numbered(NEWSAPI, health)), 250)
    out += rng.sample(list(_numbered(NEWSAPI, technology)), 150)
    return out


def dev_folds(items: Sequence[DevItem]) -> npt.NDArray[np.int64]:
    """A fold per item: by feed, a feed of more than 30 rows in chunks of its rows."""
    size = Counter(i.file for i in items)
    seen: Counter[str] = Counter()
    groups = []
    for item in items:
        chunks = max(1, -(-size[item.file] // 30))
        groups.append((item.file, seen[item.file] % chunks))
        seen[item.file] += 1
    fold_of: dict[tuple[str, int], int] = {}
    load = [0] * FOLDS
    for group, n in sorted(Counter(groups).items(), key=lambda g: (-g[1], g[0])):
        fold_of[group] = min(range(FOLDS), key=lambda f: load[f])
        load[fold_of[group]] += n
    return np.array([fold_of[g] for g in groups])


def train(vectors: Matrix, labels: Sequence[str], classes: Sequence[str]) -> SectorModel:
    """Multinomial logistic regression (Adam, ``STEPS`` full-batch steps, L2 ``L2``)."""
    n, dim = vectors.shape
    x = np.hstack([vectors, np.ones((n, 1), np.float32)])
    y = np.eye(len(classes), dtype=np.float32)[[classes.index(label) for label in labels]]
    w = np.zeros((dim + 1, len(classes)), np.float32)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for step in range(1, STEPS + 1):
        z = x @ w
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = x.T @ (p - y) / n
        grad[:-1] += L2 * w[:-1]
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return SectorModel(tuple(classes), w[:-1].copy(), w[-1].copy())


def label(item: DevItem) -> str:
    return item.acceptable[0] if item.acceptable else NONE


class Rates:
    """On-topic and off-topic counts."""

    def __init__(self) -> None:
        self.on = self.on_right = self.off = self.off_right = 0

    def add(self, item: DevItem, found: Sequence[SectorScore]) -> None:
        right = is_right(item, found)
        if item.on_topic:
            self.on, self.on_right = self.on + 1, self.on_right + right
        else:
            self.off, self.off_right = self.off + 1, self.off_right + right

    @property
    def on_rate(self) -> float:
        return self.on_right / max(self.on, 1)

    @property
    def off_rate(self) -> float:
        return self.off_right / max(self.off, 1)

    def __str__(self) -> str:
        return (
            f"on-topic {self.on_right}/{self.on} = {self.on_rate:.3f}  "
            f"off-topic {self.off_right}/{self.off} = {self.off_rate:.3f}"
        )


Decision = Callable[[int, DevItem], tuple[SectorScore, ...]]


class Split:
    """Items with their vectors, keyword results and out-of-fold model per item."""

    def __init__(
        self, items: Sequence[DevItem], vectors: Matrix, folds: npt.NDArray[np.int64]
    ) -> None:
        self.items = list(items)
        self.vectors = vectors
        self.folds = folds
        self.models: list[SectorModel] = []
        self.headlines: Matrix | None = None
        """The vectors of the items' headlines alone (``item_vectors`` with no summary)."""
        self.rule()

    def rule(self) -> None:
        """The keyword rules' sectors of every item (again after a constant of theirs changed)."""
        classifier = Classifier(sectors=default_sectors())
        self.keyword = [
            classifier.classify(i.title, i.summary, language=i.language, categories=i.categories)
            for i in self.items
        ]

    def rates(self, decide: Decision, fold: int | None = None, language: str = "*") -> Rates:
        out = Rates()
        for n, item in enumerate(self.items):
            if fold is not None and self.folds[n] != fold:
                continue
            if language not in ("*", item.language):
                continue
            out.add(item, decide(n, item))
        return out

    def spread(self, decide: Decision) -> str:
        per = [self.rates(decide, f) for f in range(FOLDS)]
        pooled = self.rates(decide)
        on = [r.on_rate for r in per]
        off = [r.off_rate for r in per]
        return (
            f"on-topic {pooled.on_rate:.3f} ({min(on):.3f}-{max(on):.3f})  "
            f"off-topic {pooled.off_rate:.3f} ({min(off):.3f}-{max(off):.3f})"
        )


KEYS = tuple(s.key for s in default_sectors())
CLASSES = (NONE, *KEYS)


def training_rows(
    splits: Sequence[tuple[Split, npt.NDArray[np.bool_]]],
) -> tuple[Matrix, list[str]]:
    """The vectors and labels the model learns from: the chosen rows of each split and, with
    ``HEADLINE_COPIES``, each of those rows that has a summary once more as its headline alone."""
    vectors, labels = [], []
    for split, rows in splits:
        vectors.append(split.vectors[rows])
        labels += [label(i) for i, t in zip(split.items, rows, strict=True) if t]
        if HEADLINE_COPIES and split.headlines is not None:
            copied = rows & np.array([bool(i.summary.strip()) for i in split.items])
            vectors.append(split.headlines[copied])
            labels += [label(i) for i, t in zip(split.items, copied, strict=True) if t]
    return np.vstack(vectors), labels


def cross_validate(dev: Split, ext: Split) -> None:
    for fold in range(FOLDS):
        vectors, labels = training_rows([(dev, dev.folds != fold), (ext, ext.folds != fold)])
        model = train(vectors, labels, CLASSES)
        dev.models.append(model)
        ext.models.append(model)


def headline_view(split: Split) -> Split:
    """The same items with their summaries removed (a feed that gives headlines only), with the
    split's folds and out-of-fold models."""
    assert split.headlines is not None
    items = [replace(i, summary="") for i in split.items]
    view = Split(items, split.headlines, split.folds)
    view.models = split.models
    return view


Keep = Callable[[int, SectorScore], bool]


def is_weak(score: SectorScore) -> bool:
    """What the former veto could drop: one matched term and a score below 0.45 (one title term
    of weight 1 scores 0.39)."""
    return bool(score.matched) and len(score.matched) <= 1 and score.score < 0.45


def with_thresholds(split: Split, read: float, other: float, keep: Keep | None = None) -> Decision:
    """``decide`` with the fold's model and these thresholds; ``keep`` (a veto) may drop
    weak keyword sectors first."""
    keys = frozenset(KEYS)

    def decide(n: int, item: DevItem) -> tuple[SectorScore, ...]:
        scores = split.keyword[n]
        if keep is not None:
            scores = tuple(s for s in scores if not is_weak(s) or keep(n, s))
        if scores or not sector_decision.rescuable(item.title):
            return scores
        model = split.models[split.folds[n]]
        sector_decision.READ_RESCUE_P, sector_decision.OTHER_RESCUE_P = read, other
        return rescue(split.vectors[n], VectorEvidence(model), item.language, keys)

    return decide


def choose(dev: Split, ext: Split) -> tuple[float, float]:
    print("keyword rules alone:")
    for name, split in (("dev", dev), ("external", ext)):
        print(f"  {name:8} {split.rates(lambda n, i, s=split: s.keyword[n])}")  # type: ignore[misc]
    # Feeds that give headlines only (news aggregators): the same items without summaries.
    headlines = headline_view(dev)
    results = []
    for read, other in itertools.product(READ_GRID, OTHER_GRID):
        rates = dev.rates(with_thresholds(dev, read, other))
        alone = headlines.rates(with_thresholds(headlines, read, other))
        results.append((rates.on_rate, rates.off_rate, read, other, alone.off_rate))
    # The floor must hold with a margin of one standard error of the pooled off-topic rate:
    # a choice at the very edge of the floor on dev (0.952 at 0.8/0.3) fell to 0.897 on unseen
    # items, so the edge is not evidence enough. It must hold on the headline-only view too:
    # the same thresholds serve items that come without a summary.
    off_n = sum(1 for i in dev.items if not i.on_topic)

    def holds(rate: float) -> bool:
        return rate - math.sqrt(rate * (1 - rate) / off_n) >= OFF_TOPIC_GOAL

    feasible = [r for r in results if holds(r[1]) and holds(r[4])]
    best = max(feasible, key=lambda r: (r[0], r[1], -r[2], -r[3]))
    _, _, read, other, _ = best
    print(f"chosen READ_RESCUE_P={read} OTHER_RESCUE_P={other} (dev folds, pooled and spread):")
    print(f"  dev      {dev.spread(with_thresholds(dev, read, other))}")
    print(f"  external {ext.spread(with_thresholds(ext, read, other))}")
    for language in ("en", "ja", "de", "es", "zh"):
        print(f"  dev {language}   {dev.rates(with_thresholds(dev, read, other), None, language)}")
    print(f"  dev headline only  {headlines.spread(with_thresholds(headlines, read, other))}")
    for language in ("en", "ja", "de"):
        rates = headlines.rates(with_thresholds(headlines, read, other), None, language)
        print(f"  dev {language} headline only  {rates}")
    print("READ_RESCUE_P on the headline-only view (dev folds):")
    for value in READ_GRID:
        print(f"  {value:4}  {headlines.spread(with_thresholds(headlines, value, other))}")
    print("READ_RESCUE_P around the choice (dev folds):")
    for value in READ_GRID:
        print(f"  {value:4}  {dev.spread(with_thresholds(dev, value, other))}")
    print("OTHER_RESCUE_P around the choice (dev folds; headline-only view):")
    for value in OTHER_GRID:
        alone = headlines.spread(with_thresholds(headlines, read, value))
        print(f"  {value:4}  {dev.spread(with_thresholds(dev, read, value))}; {alone}")
    return read, other


def category_weights(dev: Split, read: float, other: float) -> None:
    """What a publisher's category naming a sector is worth (``classify.CATEGORY_WEIGHT``);
    0 reads no categories."""
    print("CATEGORY_WEIGHT (dev folds, with the chosen rescue):")
    chosen = classify.CATEGORY_WEIGHT
    for weight in CATEGORY_GRID:
        classify.CATEGORY_WEIGHT = weight
        dev.rule()
        print(f"  {weight:4}  {dev.spread(with_thresholds(dev, read, other))}")
    classify.CATEGORY_WEIGHT = chosen
    dev.rule()


def admin_categories(dev: Split) -> None:
    """Each built-in sector treated as if an admin had added it with its English and Japanese
    terms as keywords (and no category mapping): the keyword rules on the dev split with and
    without its keywords counting as publishers' categories."""
    print("admin sectors' keywords as categories, simulated (keyword rules, dev split):")
    for reads in (False, True):
        on = on_right = off_wrong = 0
        for sector in default_sectors():
            admin = SectorDef(
                f"admin-{sector.key}",
                sector.name_en,
                sector.name_ja,
                keywords=tuple(t.text for t in classify.BUILTIN_TERMS[sector.key]),
            )
            others = [s for s in default_sectors() if s.key != sector.key]
            terms = {k: v for k, v in classify.BUILTIN_TERMS.items() if k != sector.key}
            classifier = Classifier(sectors=[*others, admin], builtin_terms=terms)
            if not reads:
                classifier._keyword_categories = {}
            for item in dev.items:
                if item.language not in ("en", "ja"):
                    continue
                found = classifier.classify(
                    item.title, item.summary, language=item.language, categories=item.categories
                )
                best = found[0].key if found else ""
                if sector.key in item.acceptable:
                    on += 1
                    on_right += best == admin.key
                elif not item.acceptable:
                    off_wrong += any(s.key == admin.key for s in found)
        name = "read as categories" if reads else "not read as categories"
        print(f"  keywords {name:24} on-topic {on_right}/{on}, off-topic given it {off_wrong}")


def vetoes(dev: Split, read: float, other: float) -> None:
    """The vetoes the decision had or might have, on top of the chosen rescue."""
    print("veto of a weak keyword sector by the model's 'none' (dev folds):")
    for veto in (0.5, 0.7, 0.8, 0.9, 0.95, 2.0):

        def by_model(n: int, s: SectorScore, veto: float = veto) -> bool:
            model = dev.models[dev.folds[n]]
            return model.probabilities(dev.vectors[n])[NONE] < veto

        print(f"  {veto:4}  {dev.spread(with_thresholds(dev, read, other, by_model))}")
    print("the former prototype veto, VETO_OFF_MARGIN / VETO_MARGIN (dev folds):")
    sims = np.zeros((len(dev.items), len(CLASSES)), np.float32)
    labels = np.array([label(i) for i in dev.items])
    for fold in range(FOLDS):
        rows = dev.folds != fold
        centroids = np.stack([dev.vectors[rows & (labels == c)].mean(axis=0) for c in CLASSES])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        sims[dev.folds == fold] = dev.vectors[dev.folds == fold] @ centroids.T
    for off_margin, margin in itertools.product((0.0, 0.05, 0.1, 0.2, 9.0), (0.2, 0.3, 9.0)):

        def by_prototypes(
            n: int, s: SectorScore, off_margin: float = off_margin, margin: float = margin
        ) -> bool:
            own = sims[n][CLASSES.index(s.key)]
            return bool(sims[n][0] - own < off_margin and sims[n][1:].max() - own < margin)

        decide = with_thresholds(dev, read, other, by_prototypes)
        print(f"  {off_margin:4} / {margin:3}  {dev.spread(decide)}")


def admin_simulation(dev: Split, embedder: embed.Embedder) -> None:
    """Each built-in sector treated as if an admin had added it: how precise the rescue is."""
    print("admin sectors, simulated (items with no keyword sector; right / wrong):")
    passages = {}
    for sector in default_sectors():
        texts = sector_texts(sector)
        mean = embedder.embed([t for t, _ in texts], [lang for _, lang in texts]).mean(axis=0)
        passages[sector.key] = mean / np.linalg.norm(mean)
    labels = np.array([label(i) for i in dev.items])
    ruled = np.array([s[0].key if s else "" for s in dev.keyword])
    read = np.array([i.language in ("en", "ja") for i in dev.items])
    variants = (
        (False, "labelled means"),
        (False, "English and Japanese labelled means"),
        (False, "made alike"),
        (True, "labelled means"),
    )
    for read_too, against in variants:
        counts: dict[tuple[float, float], list[int]] = {}
        for fold in range(FOLDS):
            train_rows = dev.folds != fold
            if against.startswith("English"):
                train_rows = train_rows & read
            centroids, made = {}, {}
            for key in KEYS:
                mean = dev.vectors[train_rows & (labels == key)].mean(axis=0)
                centroids[key] = mean / np.linalg.norm(mean)
                matched = dev.vectors[train_rows & (ruled == key)].mean(axis=0)
                proto = passages[key] + matched / np.linalg.norm(matched)
                made[key] = proto / np.linalg.norm(proto)
            # The other sectors' prototypes: the means of their labelled items, or made as the
            # admin sector's is (terms and the items they matched).
            others = made if against == "made alike" else centroids
            for key in KEYS:
                rows = [made[key]] + [others[k] for k in KEYS if k != key]
                matrix = np.stack(rows)
                for n, item in enumerate(dev.items):
                    if dev.folds[n] != fold or dev.keyword[n]:
                        continue
                    if item.language in ("en", "ja") and not read_too:
                        continue
                    sims = matrix @ dev.vectors[n]
                    order = np.argsort(-sims)
                    if order[0] != 0:
                        continue
                    for low, margin in itertools.product(ADMIN_GRID, (0.0, 0.04, 0.08, 0.12)):
                        if sims[0] >= low and sims[0] - sims[order[1]] >= margin:
                            right = key in item.acceptable
                            counts.setdefault((low, margin), [0, 0])[0 if right else 1] += 1
        scope = "every language" if read_too else "languages the rules cannot read"
        print(f"  {scope}, other sectors' prototypes {against}:")
        for (low, margin), (right, wrong) in sorted(counts.items()):
            if margin in (0.0, 0.04):
                share = right / max(right + wrong, 1)
                print(f"    min {low:4} margin {margin:4}: {right:3} / {wrong:3}  ({share:.2f})")


def compare_means(corpus: Path, dev: Split, ext: Split, embedder: embed.Embedder) -> None:
    """Per-language means for German, Spanish and Chinese against the embedder's average."""
    test_keys = {i.key for i in load_test_set(corpus)}
    raw: dict[str, list[Matrix]] = {"de": [], "es": [], "zh": []}
    for name in OTHER_FEEDS:
        parsed = parse_feed((corpus / "realfeeds" / name).read_bytes(), url="https://x.test/")
        texts = [embed.article_text(p.title, p.summary) for p in parsed.items]
        for p, vector in zip(parsed.items, raw_vectors(embedder, texts), strict=True):
            language = p.language.split("-")[0]
            if language in raw and not {p.guid, p.link} & test_keys:
                raw[language].append(vector)
    means = {language: np.mean(rows, axis=0) for language, rows in raw.items()}
    counts = ", ".join(f"{k} {len(v)}" for k, v in raw.items())
    print(f"centring German, Spanish and Chinese items (means from {counts} feed items):")
    dev_raw = raw_vectors(embedder, [embed.article_text(i.title, i.summary) for i in dev.items])
    for name in ("average of en/ja (in force)", "own means"):
        vectors = dev.vectors.copy()
        if name == "own means":
            for n, item in enumerate(dev.items):
                if item.language in means:
                    own = dev_raw[n] - means[item.language]
                    vectors[n] = own / np.linalg.norm(own)
        split = Split(dev.items, vectors, dev.folds)
        cross_validate(split, Split(ext.items, ext.vectors, ext.folds))
        decide = with_thresholds(split, 2.0, sector_decision.OTHER_RESCUE_P)
        for language in ("de", "es", "zh"):
            print(f"  {name:28} {language} {split.rates(decide, None, language)}")


def write(dev: Split, ext: Split, model_name: str) -> None:
    every = [(dev, np.ones(len(dev.items), bool)), (ext, np.ones(len(ext.items), bool))]
    vectors, labels = training_rows(every)
    model = train(vectors, labels, CLASSES)
    stored = json.loads(MODEL_FILE.read_text()) if MODEL_FILE.is_file() else {}
    stored[model_name] = model.to_json()
    MODEL_FILE.write_text(json.dumps(stored) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_FILE} ({len(vectors)} items)")
    prototypes: dict[str, list[float]] = {}
    for key in KEYS:
        rows = dev.vectors[[label(i) == key for i in dev.items]]
        mean = rows.mean(axis=0)
        prototypes[key] = [round(float(x), 5) for x in mean / np.linalg.norm(mean)]
        print(f"  prototype {key}: {len(rows)} dev items")
    stored = json.loads(PROTOTYPES_FILE.read_text()) if PROTOTYPES_FILE.is_file() else {}
    stored[model_name] = prototypes
    PROTOTYPES_FILE.write_text(json.dumps(stored) + "\n", encoding="utf-8")
    print(f"wrote {PROTOTYPES_FILE}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--write", action="store_true", help="write the model and prototypes")
    parser.add_argument("--means", action="store_true", help="compare per-language means")
    args = parser.parse_args(argv)
    try:
        embedder = embed.Embedder(embed.DEFAULT_MODEL)
    except Exception as exc:  # the model package is not installed here
        print(f"embedding model not available: {exc}", file=sys.stderr)
        return 2
    dev_items = load_dev_set(args.corpus)
    known = frozenset(i.key for i in dev_items) | frozenset(
        i.key for i in load_test_set(args.corpus)
    )
    ext_items = external_items(args.corpus, known)
    dev = Split(dev_items, item_vectors(embedder, dev_items), dev_folds(dev_items))
    ext = Split(ext_items, item_vectors(embedder, ext_items), np.arange(len(ext_items)) % FOLDS)
    for split in (dev, ext):
        split.headlines = item_vectors(embedder, [replace(i, summary="") for i in split.items])
    print(f"{len(dev.items)} dev items, {len(ext.items)} external items")
    cross_validate(dev, ext)
    read, other = choose(dev, ext)
    category_weights(dev, read, other)
    admin_categories(dev)
    vetoes(dev, read, other)
    admin_simulation(dev, embedder)
    if args.means:
        compare_means(args.corpus, dev, ext, embedder)
    if args.write:
        write(dev, ext, embedder.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
