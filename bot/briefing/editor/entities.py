"""What a story is about, as things a reader can name: companies, materials, technologies, places.

Synergies link stories that share one of these, and the reason a reader sees names it in the
reader's language ("batteries" / "蓄電池"), never the pattern that found it. Themes come from a
small bilingual lexicon (``bot/data/editor/subjects.toml``: each with its English and Japanese
spellings and the sectors whose own field it is); company and product names are the capitalised
names a headline uses (or the Latin-script names inside Japanese text), kept as written since a
name is not translated. Publishers and feed names are not what a story is about.
"""

from __future__ import annotations

import functools
import itertools
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast

from bot.models import Language, Story

Kind = Literal["material", "technology", "place", "organisation"]


@dataclass(frozen=True, slots=True)
class Entity:
    """A thing stories can share; ``key`` identifies it across languages."""

    key: str
    kind: Kind
    name_en: str
    name_ja: str
    field_of: frozenset[str] = frozenset()
    """Sectors whose own field this is ("quantum computing" for Quantum)."""

    def name(self, language: Language) -> str:
        return self.name_ja if language == "ja" else self.name_en


@dataclass(frozen=True, slots=True)
class _Lexicon:
    themes: dict[str, Entity]
    en_pattern: re.Pattern[str]
    en_key: dict[str, str]
    ja: tuple[tuple[str, str], ...]
    not_names: frozenset[str]
    publishers: frozenset[str]
    word_endings: tuple[str, ...]


@functools.cache
def _lexicon() -> _Lexicon:
    path = resources.files("bot").joinpath("data", "editor", "subjects.toml")
    data = tomllib.loads(path.read_text("utf-8"))
    themes: dict[str, Entity] = {}
    en_key: dict[str, str] = {}
    ja: list[tuple[str, str]] = []
    for raw in data["theme"]:
        key = str(raw["key"])
        kind = cast(Kind, raw["kind"])
        themes[key] = Entity(key, kind, raw["en"], raw["ja"], frozenset(raw["field_of"]))
        en_key.update((str(w).casefold(), key) for w in raw["find_en"])
        ja.extend((key, str(w)) for w in raw["find_ja"])
    words = sorted((re.escape(w) for w in en_key), key=len, reverse=True)
    return _Lexicon(
        themes=themes,
        en_pattern=re.compile(r"(?<![\w.])(" + "|".join(words) + r")(?![\w])"),
        en_key=en_key,
        ja=tuple(ja),
        not_names=frozenset(str(w).casefold() for w in data["not_names"]),
        publishers=frozenset(str(w).casefold() for w in data["publishers"]),
        word_endings=tuple(data["common_word_endings"]),
    )


def theme(key: str) -> Entity:
    """The lexicon's entity ``key`` ("battery", "china" ...)."""
    return _lexicon().themes[key]


# A run of capitalised words (inner "&", "-", digits): "Rondo Energy", "Tensor AI", "BlackRock".
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9&\-]*[A-Za-z0-9](?: [A-Z][A-Za-z0-9&\-]*[A-Za-z0-9])*")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]{3,}")


def _org(name: str, lexicon: _Lexicon) -> Entity | None:
    words = name.split()
    while words and words[0].casefold() in lexicon.not_names:
        words.pop(0)
    while words and words[-1].casefold() in lexicon.not_names:
        words.pop()
    if not words or len("".join(words)) < 3:
        return None
    text = " ".join(words)
    folded = text.casefold()
    if folded in lexicon.en_key or folded in lexicon.not_names or text.isdigit():
        return None
    return Entity("org:" + folded, "organisation", text, text)


def _title_case(text: str) -> bool:
    """Whether ``text`` capitalises most of its words ("Turning Speed Predicts Early Risk")."""
    words = _WORD.findall(text)
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _looks_like_a_name(word: str) -> bool:
    """A lone capitalised word counts when it is written like a name: "BlackRock", "DLR",
    "GPT-4o"; a capital after a hyphen is a compound's ("Computer-Use", "Self-Improvement")."""
    inner = [ch for before, ch in itertools.pairwise(word) if before != "-"]
    return any(ch.isupper() for ch in inner) or any(ch.isdigit() for ch in word)


def entities_of(text: str, language: str) -> set[Entity]:
    """The themes and names in ``text`` (one article's title and summary, in ``language``).

    Themes are looked up only in English and Japanese text; names in any Latin-script text.
    In a headline that capitalises every word, only words written like names count ("BYD",
    "OpenAI"), since "Bird Flu Outbreak" says nothing about a company.
    """
    lexicon = _lexicon()
    text = unicodedata.normalize("NFKC", text)
    found: set[Entity] = set()
    if language == "ja":
        for key, spelling in lexicon.ja:
            if spelling in text:
                found.add(lexicon.themes[key])
    elif language == "en":  # English words in German ("Chips") or Spanish text mean other things
        for match in lexicon.en_pattern.finditer(text.casefold()):
            found.add(lexicon.themes[lexicon.en_key[match.group(1)]])
    title_case = _title_case(text)
    for match in _NAME.finditer(text):
        run = match.group(0)
        if title_case:
            names = [w for w in run.split() if _looks_like_a_name(w)]
        else:
            # A sentence's first word alone is capitalised anyway: it names something only
            # when it does not read as an ordinary word ("Toyota opens", not "Turning speed").
            before = text[: match.start()].rstrip()
            first_word = not before or before[-1] in ".!?:。！？「"
            ordinary = run.casefold().endswith(lexicon.word_endings)
            alone = first_word and " " not in run and not _looks_like_a_name(run)
            names = [] if alone and ordinary else [run]
        for name in names:
            entity = _org(name, lexicon)
            if entity is not None:
                found.add(entity)
    return found


def is_publisher(entity: Entity, sources: Iterable[str] = ()) -> bool:
    """Whether ``entity`` names an outlet: a known publisher or one of ``sources`` (feed names)."""
    if entity.kind != "organisation":
        return False
    name = entity.name_en.casefold()
    if name in _lexicon().publishers:
        return True
    pattern = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)")
    return any(pattern.search(source.casefold()) for source in sources)


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
    unrelated stories. A name that is a publisher, or one of the story's sources, is not what
    it is about.
    """
    known = _memo(_story_memo, story)
    if known is not None:
        return known
    found: set[Entity] = set()
    sources = [a.source for a in story.articles]
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
            if e.kind == "organisation" and not is_publisher(e, sources)
        }
    return _remember(_story_memo, story, frozenset(found))


def title_entities(story: Story) -> frozenset[Entity]:
    """What the headlines of ``story`` name (a subset of ``story_entities``)."""
    known = _memo(_title_memo, story)
    if known is not None:
        return known
    found: set[Entity] = set()
    for article in story.articles:
        found |= entities_of(article.title, article.language.lower()[:2])
    return _remember(_title_memo, story, frozenset(found) & story_entities(story))


def subjects(story: Story) -> frozenset[Entity]:
    """The specific things ``story`` is about: what can link it to another story or name a day.

    Names and themes its headlines use, and materials its summaries name; never a place.
    """
    titled = title_entities(story)
    return frozenset(
        e
        for e in story_entities(story)
        if e.kind != "place" and (e in titled or e.kind == "material")
    )
