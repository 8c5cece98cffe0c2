"""Why a story matters, without a model: the source sentence that carries a consequence (pure).

A reason is a whole sentence of the story's own text, in the language it is shown in, that
says what follows from the news: a first, a record, an amount, a change for users, a decision.
It is never the headline again in other words, never a sentence the feed cut off ("..."), never
an abstract speaking of itself ("we train…", "本研究では…"), and never shortened: when no
sentence qualifies there is no reason, which is better than a summary repeated or a sentence
cut mid-word.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from importlib import resources

from bot.briefing.editor.dates import is_japanese
from bot.briefing.editor.text import split_sentences
from bot.models import Article, Story

_TRUNCATED = re.compile(r"(?:\.\.\.|…)[\s\"'”’」』）)]*$")
_ENDED = re.compile(r"[.!?。！？][\s\"'”’」』）)]*$")
_WORDS = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_NUMBER = re.compile(r"\d[\d,.]*")
MAX_CHARS = {"en": 240, "ja": 140}
"""The longest reason shown; a longer sentence is left out rather than cut."""
_SAME_AS_TITLE = 0.5
"""Share of a sentence's words (or Japanese character pairs) found in the headline from which it
only says the headline again, unless it adds a number the headline lacks."""


@dataclass(frozen=True, slots=True)
class _Markers:
    en: re.Pattern[str]
    ja: re.Pattern[str]
    function_words: frozenset[str]
    voice: re.Pattern[str]


@functools.cache
def _markers() -> _Markers:
    """The signs of a consequence, from ``bot/data/editor/reasons.toml``."""
    path = resources.files("bot").joinpath("data", "editor", "reasons.toml")
    data = tomllib.loads(path.read_text("utf-8"))
    english = "|".join(f"(?:{p})" for p in data["consequence_en"])
    voice_en = "|".join(f"(?:{p})" for p in data["author_voice_en"])
    voice_ja = "|".join(f"(?:{p})" for p in data["author_voice_ja"])
    return _Markers(
        en=re.compile(rf"(?i)(?<![\w$€£¥])(?:{english})(?![\w-])"),
        ja=re.compile("|".join(f"(?:{p})" for p in data["consequence_ja"])),
        function_words=frozenset(data["function_words"]),
        voice=re.compile(rf"(?i)(?<!\w)(?:{voice_en})(?!\w)|{voice_ja}"),
    )


def _words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    words = (w.removesuffix("'s") for w in _WORDS.findall(folded))
    found = {w.rstrip("s") if len(w) > 4 else w for w in words if len(w) > 2}
    return found - _markers().function_words


def _pairs(text: str) -> set[str]:
    text = "".join(unicodedata.normalize("NFKC", text).split())
    return {text[i : i + 2] for i in range(len(text) - 1)}


def restates(sentence: str, title: str) -> bool:
    """Whether ``sentence`` only says ``title`` again."""
    numbers = set(_NUMBER.findall(unicodedata.normalize("NFKC", sentence)))
    if numbers - set(_NUMBER.findall(unicodedata.normalize("NFKC", title))):
        return False
    if is_japanese(sentence):
        mine, theirs = _pairs(sentence), _pairs(title)
    else:
        mine, theirs = _words(sentence), _words(title)
    return bool(mine) and len(mine & theirs) >= _SAME_AS_TITLE * len(mine)


def consequence(sentence: str) -> int:
    """How many signs of a consequence ``sentence`` carries (a first, an amount, a decision)."""
    pattern = _markers().ja if is_japanese(sentence) else _markers().en
    return len({m.group(0).casefold() for m in pattern.finditer(sentence)})


def why_sentence(story: Story, shown: Article) -> str:
    """The sentence of the story's text, in ``shown``'s language, that says why it matters.

    Read from the shown article's summary and those of the story's other articles in the same
    language; the sentence with the most signs of a consequence wins, the earlier one on a tie.
    Empty when none has one, or only the headline's words.
    """
    limit = MAX_CHARS["ja" if is_japanese(shown.title + shown.summary) else "en"]
    titles = [a.title for a in story.articles]
    best, best_score = "", 0
    for article in (shown, *story.articles):
        if article is not shown and article.language != shown.language:
            continue
        for sentence in split_sentences(" ".join(article.summary.split())):
            if (
                len(sentence) > limit
                or not _ENDED.search(sentence)
                or _TRUNCATED.search(sentence)
                or _markers().voice.search(sentence)  # an abstract about itself
                or any(restates(sentence, t) for t in titles)
            ):
                continue
            score = consequence(sentence)
            if score > best_score:
                best, best_score = sentence, score
    return best


def without(text: str, sentence: str) -> str:
    """``text`` without ``sentence`` (the reason shown apart from its summary)."""
    if not sentence:
        return text
    kept = [s for s in split_sentences(" ".join(text.split())) if s != sentence]
    return " ".join(kept)
