"""Put feed items into sectors by the terms in their title and summary.

Pure Python and deterministic. A ``Classifier`` indexes the terms of a sector set once: English
terms by their words (a dict lookup per candidate word, longest phrase first), Japanese terms as
substrings (longest first, each match blanked so it counts once), and a few raw patterns.
Classifying an item reads its title and the start of its summary once each.

Term syntax (built-in terms in ``bot.briefing.sectors`` and admin keywords alike):

* Plain text. English is matched on word boundaries (ASCII letters and digits only, so ``AI`` is
  found in ``生成AIの`` and in ``AI-powered``) with an optional plural ``s``/``es``; Japanese, which
  has no spaces, is matched as a substring.
* Case: a term with a capital letter after its first character (``AI``, ``LLM``, ``eVTOL``,
  ``IonQ``) is matched case-sensitively, so ``AI`` does not match "ai" and ``TES`` not "tes";
  other terms ignore case (``Waymo`` matches "waymo").
* A trailing ``*`` matches any word ending (``robot*``: robots, robotics, robotaxi).
* ``re:`` starts a raw regular expression, for the few terms that need one.

Scoring: each distinct term adds its weight, in full when it is in the title and half when it is
only in the summary. A sector needs a total of at least 1.0: one strong title term, or two strong
summary terms. Misleading phrases (a phone's battery life, a Quantum TV, robots.txt) are blanked
before matching; a shopping post, an event's advert or a share-price headline or stock tip
counts for nothing; a security-incident headline counts for little (a hospital's data breach is
not life science).
A feed's sector hint adds a little to a sector that already has evidence, never on its own.
A publisher's category that names a sector (``bot.briefing.categories``) counts as one title
term of that sector (``CATEGORY_WEIGHT``), in any language, and is discounted like terms are;
so does a long category that is a name (a journal's) holding a sector's full-weight term
(``NAME_WORDS``). A product review's headline ("... フォトレビュー", "hands-on") counts its own
terms only: its summary lists the product's features, not what the review is about
(``bot/data/classify/rules.toml``, which also blanks brand names such as "Ryzen AI").

Languages: the term lists and admin keywords are English and Japanese. An item in another
language is read only with that language's own built-in terms (``language = "de"`` groups of the
sector files, ``sectors.FOREIGN_TERMS``), a short list of words that say a sector in any German,
Spanish or Chinese headline (``Quantencomputer``, ``AKW``, ``inteligencia artificial``); an item
in a language with no such list gets no keyword sector. The rest is the vector's
(``bot.briefing.sector_decision``).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.briefing.categories import category_forms, category_sectors
from bot.briefing.headlines import is_digest, is_security_incident
from bot.briefing.sectors import (
    BUILTIN_TERMS,
    FOREIGN_TERMS,
    MISLEADING,
    REVIEW,
    REVIEW_TRIGGERS,
    SHARE_PRICE,
    SHARE_PRICE_TRIGGERS,
    SHOPPING,
    SHOPPING_TRIGGERS,
    Misleading,
    Term,
)
from bot.models import SectorDef, SectorScore

TITLE_WEIGHT = 1.0
SUMMARY_WEIGHT = 0.5
THRESHOLD = 1.0
HINT_BOOST = 0.5
SHARE_PRICE_FACTOR = 0.0
"""What a share-price headline or stock tip ("Why investors are betting big on quantum
computing") keeps of its terms: nothing, as the labelling rule says (a headline that is only a
share price or a tip is no sector's news, however strong its sector words). Chosen on the dev
folds (``bench/sector_model.py``) among 0.3, 0.2, 0.1 and 0: below 0.3 one more dev off-topic
item is rejected (0.960 -> 0.963) and five more of the external sets' stock tips (0.930 ->
0.939), no on-topic item lost."""
INCIDENT_FACTOR = 0.3
CATEGORY_WEIGHT = 1.0
"""What a category naming a sector adds to it: as much as one title term, so the publisher's
own word for the subject is enough alone, and the share-price and incident rules still
apply to it. Chosen on the dev split's folds (``bench/sector_model.py``) among 0.5 and 1.0."""
NAME_WORDS = 4
"""A category of at least this many words that the category mapping does not know is a name (a
journal's, "IEEE Transactions on Pattern Analysis and Machine Intelligence Early Access", often
a paper feed's only category): it is read with the sector terms, and a sector one of its terms
of full weight names gets ``CATEGORY_WEIGHT``, as a mapped category would. Shorter categories
are tags ("Apple", "Startups") and count only through the mapping."""
SUMMARY_CHARS = 600
"""Only the start of a summary is read: it says what the item is about, the rest wanders."""
SCORE_SCALE = 2.0
"""A raw total maps to a score of ``1 - exp(-total / SCORE_SCALE)``: 1.0 -> 0.39, 4.0 -> 0.86."""

_TAG = re.compile(r"<[^>]{0,500}>")
_PIPE = re.compile(r"\s[|｜]\s")
_DASH = re.compile(r"\s[-–—]\s")
PUBLISHER_WORDS = 6
"""A trailing "| Site Name" or "- Publisher" part longer than this many words is headline text."""
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class _Contribution:
    sector_index: int
    weight: float
    entity: bool


_TOKEN = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A term in the form the matcher uses."""

    tokens: tuple[str, ...] = ()
    """ASCII terms: the words, lower-cased unless ``case_sensitive``."""
    case_sensitive: bool = False
    prefix: bool = False
    substring: str = ""
    """Terms with non-ASCII characters (Japanese): matched as a substring."""
    pattern: re.Pattern[str] | None = None


def compile_term(text: str) -> _Compiled:
    """How one term is matched, following the syntax in the module docstring.

    Raises:
        ValueError: the term is empty or its ``re:`` pattern does not compile.
    """
    text = text.strip()
    if text.startswith("re:"):
        try:
            return _Compiled(pattern=re.compile(text[3:]))
        except re.error as exc:
            raise ValueError(f"bad pattern in term {text!r}: {exc}") from exc
    prefix = text.endswith("*")
    body = text.rstrip("*").strip()
    if not body:
        raise ValueError("empty term")
    if not body.isascii():
        return _Compiled(substring=body)
    tokens = tuple(_TOKEN.findall(body))
    if not tokens:
        raise ValueError(f"term {text!r} has no letters or digits")
    case_sensitive = any(ch.isupper() for ch in body[1:])
    if not case_sensitive:
        tokens = tuple(t.lower() for t in tokens)
    return _Compiled(tokens=tokens, case_sensitive=case_sensitive, prefix=prefix)


def _singular(token: str) -> tuple[str, ...]:
    """Forms of ``token`` without a plural ending ("LLMs" -> "LLM", "batteries" -> "batterie")."""
    if len(token) > 2 and token[-1] in "sS":
        if len(token) > 3 and token[-2] in "eE":
            return (token[:-1], token[:-2])
        return (token[:-1],)
    return ()


def _plain(text: str) -> str:
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        # Full-width "ＡＩ" and half-width katakana are common in Japanese headlines.
        text = unicodedata.normalize("NFKC", text)
    return _SPACE.sub(" ", text).strip()


def split_publisher(title: str) -> tuple[str, str]:
    """``title`` without a trailing publisher part, and that part (``""`` when there is none).

    Aggregated headlines end with where they came from ("... - The Globe and Mail", "... |
    Medium"). That part names a site, not the story: it is read with summary weight, so a
    site called "AI World Journal" or "ZENA Stock News" neither decides a sector nor turns the
    headline into a share-price tip.
    """
    if " " not in title:
        return title, ""
    pipe = _PIPE.search(title)
    if pipe is not None:
        head, tail = title[: pipe.start()], title[pipe.end() :]
        if len(head.split()) >= 3 and all(
            len(part.split()) <= PUBLISHER_WORDS for part in _PIPE.split(tail)
        ):
            return head, tail
    dashes = list(_DASH.finditer(title))
    if dashes:
        last = dashes[-1]
        head, tail = title[: last.start()], title[last.end() :]
        if (
            len(head.split()) >= 3
            and 0 < len(tail.split()) <= PUBLISHER_WORDS
            and not tail[0].islower()
            and not tail.endswith(("?", "!"))
        ):
            return head, tail
    return title, ""


class Classifier:
    """Scores items against a fixed set of sectors; build a new one when the set changes.

    Args:
        sectors: the sectors to classify into, in display order (ties go to the earlier one).
        builtin_terms: terms per sector key, used in addition to each ``SectorDef.keywords``.
        misleading: phrases (term syntax) blanked before matching.
        foreign_terms: built-in terms of other languages (language -> sector key -> terms).

    Raises:
        ValueError: a term does not compile, or two sectors share a key.
    """

    def __init__(
        self,
        *,
        sectors: Sequence[SectorDef],
        builtin_terms: Mapping[str, Sequence[Term]] = BUILTIN_TERMS,
        misleading: Sequence[Misleading] = MISLEADING,
        foreign_terms: Mapping[str, Mapping[str, Sequence[Term]]] = FOREIGN_TERMS,
    ) -> None:
        self._sectors = tuple(sectors)
        self._builtin_terms = builtin_terms
        self._misleading_terms = tuple(misleading)
        self._foreign_terms = foreign_terms
        self._foreign: dict[str, Classifier] = {}
        keys = [s.key for s in self._sectors]
        self._index_of = {key: i for i, key in enumerate(keys)}
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate sector keys in {keys}")

        # One entry per distinct term text; a term may count for several sectors.
        contributions: dict[str, list[_Contribution]] = {}
        for index, sector in enumerate(self._sectors):
            terms = [*builtin_terms.get(sector.key, ()), *(Term(k) for k in sector.keywords)]
            # A term listed twice for a sector counts once, with its highest weight.
            strongest: dict[str, tuple[str, Term]] = {}
            for term in terms:
                text = term.text.strip()
                if not text:
                    continue
                kept = strongest.get(text.casefold())
                if kept is None or term.weight > kept[1].weight:
                    strongest[text.casefold()] = (kept[0] if kept else text, term)
            for text, term in strongest.values():
                contributions.setdefault(text, []).append(
                    _Contribution(index, term.weight, term.kind == "entity")
                )
        texts = list(contributions)
        # An admin's keyword that is also a publisher's category names the sector as a
        # mapped category does: folded keyword -> indexes of the sectors that have it.
        self._keyword_categories: dict[str, list[tuple[int, str]]] = {}
        for index, sector in enumerate(self._sectors):
            for keyword in sector.keywords:
                plain = keyword.strip().rstrip("*").strip()
                if plain and not keyword.strip().startswith("re:"):
                    folded = " ".join(plain.split()).casefold()
                    self._keyword_categories.setdefault(folded, []).append((index, plain))
        self._labels = tuple(t[3:] if t.startswith("re:") else t.rstrip("*") for t in texts)
        self._contributions = tuple(tuple(contributions[t]) for t in texts)

        # ASCII terms are looked up by words; a set of first words lets the scan skip the rest.
        self._exact_cs: dict[tuple[str, ...], int] = {}
        self._exact_ci: dict[tuple[str, ...], int] = {}
        self._prefixes: dict[tuple[str, ...], list[tuple[str, int]]] = {}
        self._first_words: dict[str, int] = {}
        """Lower-cased first word of a term (and its plurals) -> the longest such term, in words."""
        self._substrings: list[tuple[str, int]] = []
        self._patterns: list[tuple[re.Pattern[str], int]] = []
        for index, text in enumerate(texts):
            compiled = compile_term(text)
            if compiled.pattern is not None:
                self._patterns.append((compiled.pattern, index))
            elif compiled.substring:
                self._substrings.append((compiled.substring, index))
            else:
                tokens = compiled.tokens
                if compiled.prefix:
                    key = tuple(t.lower() for t in tokens[:-1])
                    self._prefixes.setdefault(key, []).append((tokens[-1].lower(), index))
                elif compiled.case_sensitive:
                    self._exact_cs.setdefault(tokens, index)
                else:
                    self._exact_ci.setdefault(tokens, index)
                first = tokens[0].lower()
                for form in (first, first + "s", first + "es"):
                    self._first_words[form] = max(self._first_words.get(form, 0), len(tokens))
        self._substrings.sort(key=lambda s: (-len(s[0]), s[0]))
        # Each substring is filed under its first non-ASCII character, which any text holding
        # it must contain: English text with a curly quote then checks no substring at all, and
        # Japanese text only those whose key characters it has, still longest first.
        self._substrings_by_char: dict[str, list[int]] = {}
        for rank, (substring, _) in enumerate(self._substrings):
            key_char = next(ch for ch in substring if not ch.isascii())
            self._substrings_by_char.setdefault(key_char, []).append(rank)
        self._single_prefixes = tuple(p for p, _ in self._prefixes.get((), ()))
        # Set lookups of a word's first letters rule out most words before any startswith().
        all_prefixes = [p for entries in self._prefixes.values() for p, _ in entries]
        self._head = min((len(p) for p in all_prefixes), default=1)
        self._single_heads = frozenset(p[: self._head] for p in self._single_prefixes)
        self._prefix_heads = frozenset(p[: self._head] for p in all_prefixes)
        self._prefix_index: dict[tuple[tuple[str, ...], str], list[tuple[str, int]]] = {}
        for before, entries in self._prefixes.items():
            for prefix, candidate in entries:
                index_key = (before, prefix[: self._head])
                self._prefix_index.setdefault(index_key, []).append((prefix, candidate))
        self._misleading = tuple(
            (m.trigger.lower(), re.compile(m.pattern)) for m in self._misleading_terms
        )
        self._share_price = re.compile(SHARE_PRICE)
        self._shopping = re.compile(SHOPPING)
        self._review = re.compile(REVIEW)

    @property
    def sectors(self) -> tuple[SectorDef, ...]:
        return self._sectors

    def with_sectors(self, sectors: Sequence[SectorDef]) -> Classifier:
        """This classifier if ``sectors`` is unchanged, else a new one for them.

        Call it with the current sector list before each run, so sectors an admin added are
        picked up without a restart and nothing is recompiled when nothing changed.
        """
        if tuple(sectors) == self._sectors:
            return self
        return Classifier(
            sectors=sectors,
            builtin_terms=self._builtin_terms,
            misleading=self._misleading_terms,
            foreign_terms=self._foreign_terms,
        )

    def _reader(self, language: str) -> Classifier:
        """The classifier of the built-in terms of ``language`` (no admin keywords): none at
        all for a language without a word list, which is read by its categories alone.
        Categories are read in every language, admins' keywords as categories too."""
        base = language.lower().split("-")[0]
        terms = self._foreign_terms.get(base, {})
        key = base if terms else ""
        if key not in self._foreign:
            reader = Classifier(
                sectors=[replace(s, keywords=()) for s in self._sectors],
                builtin_terms=terms,
                misleading=(),
                foreign_terms={},
            )
            reader._keyword_categories = self._keyword_categories
            self._foreign[key] = reader
        return self._foreign[key]

    def _matches(self, text: str) -> set[int]:
        """Indexes of the terms found in ``text``."""
        found: set[int] = set()
        if not text:
            return found
        lowered = text.lower()
        for trigger, pattern in self._misleading:
            if trigger in lowered:
                text = pattern.sub(" ", text)
                lowered = text.lower()
        for pattern, index in self._patterns:
            if pattern.search(text):
                found.add(index)
        if not text.isascii():
            # Longest first, and each match is blanked out: "量子コンピュータ" counts once and
            # not also as "量子", and a matched "生成AI" does not count again as the word "AI".
            by_char = self._substrings_by_char
            ranks = [r for ch in set(text) if ch in by_char for r in by_char[ch]]
            ranks.sort()
            for rank in ranks:
                substring, index = self._substrings[rank]
                if substring in text:
                    found.add(index)
                    text = text.replace(substring, " ")
            lowered = text.lower()
        words = _TOKEN.findall(text)
        lower = _TOKEN.findall(lowered) if text.isascii() else [w.lower() for w in words]
        first_words = self._first_words
        i = 0
        single_prefixes = self._single_prefixes
        single_heads = self._single_heads
        head = self._head
        while i < len(words):
            longest = first_words.get(lower[i], 0)
            if (
                not longest
                and lower[i][:head] in single_heads
                and lower[i].startswith(single_prefixes)
            ):
                longest = 1
            if not longest:
                i += 1
                continue
            width = self._match_at(words, lower, i, longest, found)
            i += width or 1
        return found

    def _match_at(
        self, words: list[str], lower: list[str], i: int, longest: int, found: set[int]
    ) -> int:
        """Match the longest term starting at word ``i``; returns its width in words, or 0."""
        for n in range(min(longest, len(words) - i), 0, -1):
            exact = tuple(words[i : i + n])
            folded = tuple(lower[i : i + n])
            index = self._exact_cs.get(exact)
            if index is None:
                index = self._exact_ci.get(folded)
            if index is None:
                for singular in _singular(exact[-1]):
                    index = self._exact_cs.get((*exact[:-1], singular))
                    if index is None:
                        index = self._exact_ci.get((*folded[:-1], singular.lower()))
                    if index is not None:
                        break
            if index is None and folded[-1][: self._head] in self._prefix_heads:
                key = (folded[:-1], folded[-1][: self._head])
                for prefix, candidate in self._prefix_index.get(key, ()):
                    if folded[-1].startswith(prefix):
                        index = candidate
                        break
            if index is not None:
                found.add(index)
                return n
        return 0

    def _category_evidence(self, categories: Sequence[str]) -> dict[int, str]:
        """Sector index -> the word that names it, for the categories of one item: the
        mapping's (``bot.briefing.categories``), a category equal to one of a sector's
        admin-added keywords, then the full-weight topic terms of a name of ``NAME_WORDS`` or
        more words the mapping does not know."""
        found: dict[int, str] = {}
        for key, category in category_sectors(categories).items():
            i = self._index_of.get(key, -1)
            if i >= 0:
                found[i] = category
        if self._keyword_categories:
            for category in categories:
                for form in category_forms(category):
                    for i, keyword in self._keyword_categories.get(form, ()):
                        found.setdefault(i, keyword)
        for category in categories:
            if len(category.split()) < NAME_WORDS or category_sectors((category,)):
                continue
            for index in self._matches(_plain(category)):
                for c in self._contributions[index]:
                    if c.weight >= TITLE_WEIGHT and not c.entity:
                        found.setdefault(c.sector_index, self._labels[index])
        return found

    def classify(
        self,
        title: str,
        summary: str = "",
        *,
        sector_hint: str | None = None,
        language: str | None = None,
        categories: Sequence[str] = (),
    ) -> tuple[SectorScore, ...]:
        """The sectors ``title`` and ``summary`` belong to, best first; ``()`` when off-topic.

        Args:
            title: the item's headline (plain text or light HTML).
            summary: the item's summary; only its start is read.
            sector_hint: the key of the sector the item's feed is about, if any; it adds to that
                sector only when the text already points there.
            language: the item's detected language. The term lists are English and Japanese:
                other languages are read with their own built-in terms only, or get ``()``
                (their sectors come from elsewhere, see ``has_keyword_rules``); ``None`` or
                "und" reads the text as it comes.
            categories: the publisher's categories of the item (``bot.briefing.categories``);
                read in every language, also one whose words the rules do not know.
        """
        if language and not has_keyword_rules(language):
            return self._reader(language).classify(
                title, summary, sector_hint=sector_hint, categories=categories
            )
        title, publisher = split_publisher(_plain(title or ""))
        summary = _plain((summary or "")[: SUMMARY_CHARS * 3])[:SUMMARY_CHARS]
        lowered = title.lower()
        if any(t in lowered for t in SHOPPING_TRIGGERS) and self._shopping.search(title):
            return ()
        if is_digest(title):
            return ()
        share_price = (
            any(t in lowered for t in SHARE_PRICE_TRIGGERS)
            and self._share_price.search(title) is not None
        )
        incident = is_security_incident(title)

        totals = [0.0] * len(self._sectors)
        title_totals = [0.0] * len(self._sectors)
        matched: list[list[tuple[float, str]]] = [[] for _ in self._sectors]
        in_title = self._matches(title)
        review = any(t in lowered for t in REVIEW_TRIGGERS) and self._review.search(title)
        # A review's summary lists the product's features: only its headline's terms count.
        in_summary = set() if review else self._matches(summary)
        if publisher:
            in_summary |= self._matches(publisher)
        for index in in_title | in_summary:
            field = TITLE_WEIGHT if index in in_title else SUMMARY_WEIGHT
            for c in self._contributions[index]:
                weight = c.weight * field
                if share_price and c.entity:
                    weight = 0.0
                if weight <= 0.0:
                    continue
                totals[c.sector_index] += weight
                if index in in_title:
                    title_totals[c.sector_index] += weight
                matched[c.sector_index].append((weight, self._labels[index]))
        if categories:
            for i, category in self._category_evidence(categories).items():
                totals[i] += CATEGORY_WEIGHT
                matched[i].append((CATEGORY_WEIGHT, category))

        results: list[tuple[float, float, int]] = []
        for i, sector in enumerate(self._sectors):
            total = totals[i]
            if total <= 0.0:
                continue
            if share_price:
                total *= SHARE_PRICE_FACTOR
            if incident:
                total *= INCIDENT_FACTOR
            if sector_hint is not None and sector.key == sector_hint:
                total += HINT_BOOST
            if total >= THRESHOLD:
                results.append((total, title_totals[i], i))
        results.sort(key=lambda r: (-r[0], -r[1], r[2]))
        return tuple(
            SectorScore(
                key=self._sectors[i].key,
                score=round(1.0 - math.exp(-total / SCORE_SCALE), 3),
                matched=tuple(label for _, label in sorted(matched[i], key=lambda m: -m[0])),
            )
            for total, _, i in results
        )


KEYWORD_LANGUAGES = ("en", "ja")
"""Languages the term lists are written for. Japanese text also matches the English terms,
since Japanese headlines write names and acronyms in Latin letters ("生成AI", "NVIDIA")."""


def has_keyword_rules(language: str | None) -> bool:
    """Whether the keyword rules may read text in ``language`` (unknown: yes).

    German "will" is not the English future, nor is Chinese 量子 matched by Japanese rules:
    items in other languages get no keyword sector, and are left to the embedding classifier
    (see ``bot.briefing.edition.ItemClassifier``).
    """
    if not language or language == "und":
        return True
    return language.lower().split("-")[0] in KEYWORD_LANGUAGES
