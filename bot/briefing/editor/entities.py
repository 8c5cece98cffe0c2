"""What a story is about, as things a reader can name: companies, materials, technologies, places.

Synergies link stories that share one of these, and the reason a reader sees names it in the
reader's language ("batteries" / "蓄電池"), never the pattern that found it. Themes come from a
small bilingual lexicon (each with its English and Japanese spellings); company and product names
are the capitalised names a headline uses (or the Latin-script names inside Japanese text), kept
as written since a name is not translated.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.models import Language, Story

Kind = Literal["material", "technology", "place", "organisation"]


@dataclass(frozen=True, slots=True)
class Entity:
    """A thing stories can share; ``key`` identifies it across languages."""

    key: str
    kind: Kind
    name_en: str
    name_ja: str

    def name(self, language: Language) -> str:
        return self.name_ja if language == "ja" else self.name_en


# (key, kind, English name, Japanese name, spellings that find it: English words, Japanese text)
_LEXICON: tuple[tuple[str, Kind, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "battery",
        "technology",
        "batteries",
        "蓄電池",
        ("battery", "batteries", "bess"),
        ("電池", "蓄電"),
    ),
    ("lithium", "material", "lithium", "リチウム", ("lithium",), ("リチウム",)),
    ("hydrogen", "material", "hydrogen", "水素", ("hydrogen",), ("水素",)),
    ("silicon", "material", "silicon", "シリコン", ("silicon",), ("シリコン",)),
    (
        "rare-earth",
        "material",
        "rare earths",
        "レアアース",
        ("rare earth", "rare earths"),
        ("レアアース", "希土類"),
    ),
    (
        "semiconductor",
        "technology",
        "chips",
        "半導体",
        ("chip", "chips", "semiconductor", "semiconductors", "gpu", "gpus"),
        ("半導体", "チップ", "GPU"),
    ),
    (
        "data-centre",
        "technology",
        "data centres",
        "データセンター",
        ("data center", "data centers", "data centre", "data centres", "datacenter"),
        ("データセンター",),
    ),
    (
        "quantum-computing",
        "technology",
        "quantum computing",
        "量子コンピューティング",
        ("quantum", "qubit", "qubits"),
        ("量子",),
    ),
    (
        "language-model",
        "technology",
        "language models",
        "大規模言語モデル",
        ("llm", "llms", "language model", "language models", "chatbot"),
        ("LLM", "言語モデル", "生成AI"),
    ),
    (
        "robot",
        "technology",
        "robots",
        "ロボット",
        ("robot", "robots", "robotics", "humanoid"),
        ("ロボット",),
    ),
    (
        "solar",
        "technology",
        "solar power",
        "太陽光発電",
        ("solar", "photovoltaic"),
        ("太陽光", "太陽電池"),
    ),
    (
        "wind",
        "technology",
        "wind power",
        "風力発電",
        ("wind power", "wind farm", "offshore wind", "wind turbine"),
        ("風力",),
    ),
    (
        "nuclear",
        "technology",
        "nuclear power",
        "原子力",
        ("nuclear", "reactor", "fusion"),
        ("原子力", "原発", "核融合"),
    ),
    ("grid", "technology", "the power grid", "電力網", ("grid",), ("送電網", "電力網", "系統")),
    (
        "ev",
        "technology",
        "electric vehicles",
        "電気自動車",
        ("electric vehicle", "electric vehicles", "ev", "evs"),
        ("電気自動車", "EV"),
    ),
    ("satellite", "technology", "satellites", "衛星", ("satellite", "satellites"), ("衛星",)),
    (
        "gene-editing",
        "technology",
        "gene editing",
        "ゲノム編集",
        ("crispr", "gene editing", "gene-editing"),
        ("ゲノム編集", "遺伝子編集"),
    ),
    (
        "drug",
        "technology",
        "drug development",
        "創薬",
        ("drug", "drugs", "therapy"),
        ("創薬", "治療薬"),
    ),
    (
        "cybersecurity",
        "technology",
        "cybersecurity",
        "サイバーセキュリティ",
        ("cybersecurity", "encryption", "ransomware"),
        ("セキュリティ", "暗号"),
    ),
    ("japan", "place", "Japan", "日本", ("japan", "japanese", "tokyo"), ("日本", "国内", "東京")),
    (
        "us",
        "place",
        "the United States",
        "米国",
        ("u.s.", "united states", "american"),
        ("米国", "アメリカ"),
    ),
    ("china", "place", "China", "中国", ("china", "chinese"), ("中国",)),
    ("europe", "place", "Europe", "欧州", ("europe", "european", "eu"), ("欧州", "ヨーロッパ")),
    ("germany", "place", "Germany", "ドイツ", ("germany", "german"), ("ドイツ",)),
    ("uk", "place", "the UK", "英国", ("uk", "britain", "british"), ("英国", "イギリス")),
    ("india", "place", "India", "インド", ("india", "indian"), ("インド",)),
    (
        "australia",
        "place",
        "Australia",
        "オーストラリア",
        ("australia", "australian", "queensland"),
        ("オーストラリア", "豪州"),
    ),
    ("texas", "place", "Texas", "テキサス州", ("texas",), ("テキサス",)),
    ("california", "place", "California", "カリフォルニア州", ("california",), ("カリフォルニア",)),
    ("korea", "place", "South Korea", "韓国", ("korea", "korean"), ("韓国",)),
    ("taiwan", "place", "Taiwan", "台湾", ("taiwan", "taiwanese"), ("台湾",)),
)

THEMES: dict[str, Entity] = {key: Entity(key, kind, en, ja) for key, kind, en, ja, _, _ in _LEXICON}
_EN_THEME = re.compile(
    r"(?<![\w.])("
    + "|".join(
        sorted((re.escape(w) for *_, words, _ in _LEXICON for w in words), key=len, reverse=True)
    )
    + r")(?![\w])"
)
_EN_THEME_KEY = {w: key for key, *_, words, _ in _LEXICON for w in words}
_JA_THEME = tuple((key, ja) for key, *_, words_ja in _LEXICON for ja in words_ja)

# A run of capitalised words (inner "&", "-", digits): "Rondo Energy", "Tensor AI", "BlackRock".
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9&\-]*[A-Za-z0-9](?: [A-Z][A-Za-z0-9&\-]*[A-Za-z0-9])*")
_NOT_NAMES = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "in",
        "on",
        "at",
        "of",
        "for",
        "from",
        "to",
        "by",
        "with",
        "and",
        "or",
        "but",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "new",
        "how",
        "why",
        "what",
        "when",
        "who",
        "where",
        "which",
        "our",
        "we",
        "you",
        "they",
        "he",
        "she",
        "his",
        "her",
        "their",
        "here",
        "there",
        "today",
        "now",
        "after",
        "before",
        "over",
        "under",
        "more",
        "most",
        "first",
        "last",
        "next",
        "year",
        "week",
        "month",
        "report",
        "study",
        "research",
        "paper",
        "update",
        "news",
        "breaking",
        "exclusive",
        "opinion",
        "analysis",
        "review",
        "video",
        "watch",
        "live",
        "ai",
        "says",
        "said",
        "will",
        "can",
        "could",
        "may",
        "might",
        "should",
        "would",
        "about",
        "into",
        "out",
        "up",
        "down",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)


def _org(name: str) -> Entity | None:
    words = name.split()
    while words and words[0].casefold() in _NOT_NAMES:
        words.pop(0)
    if not words or len("".join(words)) < 3:
        return None
    text = " ".join(words)
    folded = text.casefold()
    if folded in _EN_THEME_KEY or folded in _NOT_NAMES or text.isdigit():
        return None
    return Entity("org:" + folded, "organisation", text, text)


def entities_of(text: str, language: str) -> set[Entity]:
    """The themes and names in ``text`` (one article's title and summary, in ``language``).

    Themes are looked up only in English and Japanese text; names in any Latin-script text.
    """
    text = unicodedata.normalize("NFKC", text)
    found: set[Entity] = set()
    if language == "ja":
        for key, spelling in _JA_THEME:
            if spelling in text:
                found.add(THEMES[key])
    elif language == "en":  # English words in German ("Chips") or Spanish text mean other things
        for match in _EN_THEME.finditer(text.casefold()):
            found.add(THEMES[_EN_THEME_KEY[match.group(1)]])
    # Names: capitalised runs, except a sentence's first word alone (it is capitalised anyway).
    for match in _NAME.finditer(text):
        start = match.start()
        before = text[:start].rstrip()
        first_word = not before or before[-1] in ".!?:。！？「"
        if first_word and " " not in match.group(0) and not _looks_like_a_name(match.group(0)):
            continue
        entity = _org(match.group(0))
        if entity is not None:
            found.add(entity)
    return found


def _looks_like_a_name(word: str) -> bool:
    """A lone capitalised first word counts when it is written like a name: "BlackRock", "DLR"."""
    return any(ch.isupper() for ch in word[1:]) or any(ch.isdigit() for ch in word)


_MEMO_LIMIT = 200_000
_story_memo: dict[str, tuple[Story, frozenset[Entity]]] = {}
_title_memo: dict[str, tuple[Story, frozenset[Entity]]] = {}


def _memo(
    memo: dict[str, tuple[Story, frozenset[Entity]]], story: Story
) -> frozenset[Entity] | None:
    # By key and identity: hashing a whole Story (every article's text) costs more than the
    # lookup saves, and a key reused by another edition's different story must not match.
    found = memo.get(story.key)
    return found[1] if found is not None and found[0] is story else None


def _remember(
    memo: dict[str, tuple[Story, frozenset[Entity]]], story: Story, value: frozenset[Entity]
) -> frozenset[Entity]:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[story.key] = (story, value)
    return value


def story_entities(story: Story) -> frozenset[Entity]:
    """What ``story`` is about, over all its articles.

    Themes count from titles and summaries; names only from titles, since summaries carry
    publishers' boilerplate ("Continue reading", the site's own name) that would link
    unrelated stories. A name that is one of the story's sources is not what it is about.
    """
    known = _memo(_story_memo, story)
    if known is not None:
        return known
    found: set[Entity] = set()
    sources = {a.source.casefold() for a in story.articles}
    for article in story.articles:
        language = article.language.lower()[:2]
        found |= {
            e
            for e in entities_of(f"{article.title}. {article.summary}", language)
            if e.kind != "organisation"
        }
        found |= {
            e
            for e in entities_of(article.title, language)
            if e.kind == "organisation" and not any(e.name_en.casefold() in s for s in sources)
        }
    return _remember(_story_memo, story, frozenset(found))


def shared(groups: Iterable[set[Entity]]) -> set[Entity]:
    """Entities every group has."""
    result: set[Entity] | None = None
    for group in groups:
        result = set(group) if result is None else result & group
    return result or set()


def title_entities(story: Story) -> frozenset[Entity]:
    """What the headlines of ``story`` name (a subset of ``story_entities``)."""
    known = _memo(_title_memo, story)
    if known is not None:
        return known
    found: set[Entity] = set()
    for article in story.articles:
        found |= entities_of(article.title, article.language.lower()[:2])
    return _remember(_title_memo, story, frozenset(found) & story_entities(story))
