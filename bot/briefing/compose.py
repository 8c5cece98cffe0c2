"""Compose a reader's briefing from stories: pure, no I/O, in the reader's language.

``compose_briefing`` is the simple entry point. Delivering to many subscribers uses
``BriefingContext``: ``prepare`` clusters (when given articles), ranks every sector, finds the
cross-sector and forward-looking candidates and caches keyword matches once; ``compose(profile)``
then only filters and re-weighs a handful of candidates per reader. Both give the same briefing.

Feed text stays in its own language; only our fixed phrases (``CATALOG``) follow the reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import date as date_type
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.briefing.cluster import cluster_articles
from bot.briefing.outlets import distinct_sources
from bot.briefing.rank import (
    base_score,
    follow_boost,
    keyword_pattern,
    story_text,
)
from bot.i18n import Catalog, phrase
from bot.models import (
    Article,
    Briefing,
    KeyPoint,
    Language,
    Profile,
    ReadingLink,
    SectorDef,
    SectorScore,
    SectorSection,
    SourceRef,
    Story,
    StoryEntry,
    Synergy,
    WatchEntry,
)

CATALOG: Catalog = {
    "key_points": {"en": "Key points", "ja": "本日の重要ポイント"},
    "by_sector": {"en": "By sector", "ja": "分野別動向"},
    "more": {"en": "Also in this sector", "ja": "そのほかの動き"},
    "related_reading": {"en": "Related reading", "ja": "関連記事"},
    "synergies": {"en": "Across sectors", "ja": "分野横断のシナジー"},
    "watch": {"en": "What to watch", "ja": "今後の注目点"},
    "sources": {"en": "Sources", "ja": "情報源"},
    "sources_one": {"en": "1 source", "ja": "1件の情報源"},
    "sources_many": {"en": "{n} sources", "ja": "{n}件の情報源"},
    "read": {"en": "Read", "ja": "記事を読む"},
    "empty_heading": {"en": "Nothing new today", "ja": "本日の新着はありません"},
    "title": {"en": "Briefing for {date}: {headline}", "ja": "{date}のブリーフィング：{headline}"},
    "title_empty": {"en": "Briefing for {date}", "ja": "{date}のブリーフィング"},
    "empty_no_news": {
        "en": "There is no news in your sectors ({sectors}) for this briefing. "
        "We will be back with the next one.",
        "ja": "今回は、ご登録の分野（{sectors}）に新しいニュースがありませんでした。"
        "次回のブリーフィングをお待ちください。",
    },
    "empty_no_sectors": {
        "en": "You are not subscribed to any sector yet. "
        "Try /brief subscribe followed by a sector to start receiving news.",
        "ja": "まだ分野が登録されていません。"
        "/brief subscribe に続けて分野を指定すると、ニュースが届くようになります。",
    },
    "synergy_why": {"en": "Connects {sectors}.", "ja": "{sectors}をつなぐ動きです。"},
    "list_and": {"en": " and ", "ja": "と"},
    "list_comma": {"en": ", ", "ja": "、"},
    "terms": {"en": " ({terms})", "ja": "（{terms}）"},
    "signal_deadline": {"en": "Deadline", "ja": "期限"},
    "signal_decision": {"en": "Decision due", "ja": "判断・決定待ち"},
    "signal_announcement": {"en": "Announcement due", "ja": "発表予定"},
    "signal_launch": {"en": "Launch or start", "ja": "開始・投入"},
    "signal_plan": {"en": "Plan", "ja": "計画"},
    "signal_outlook": {"en": "Outlook", "ja": "見通し"},
    "signal_upcoming": {"en": "Coming up", "ja": "今後の予定"},
}

LABEL_KEYS = (
    "key_points",
    "by_sector",
    "more",
    "related_reading",
    "synergies",
    "watch",
    "sources",
    "sources_one",
    "sources_many",
    "read",
    "empty_heading",
)
"""The catalog entries handed to renderers in ``Briefing.labels`` ("sources_many" has ``{n}``)."""

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

# Forward-looking signals, most specific first: the first kind that matches names the entry.
_SIGNALS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "deadline",
        (
            r"\bby (?:the )?(?:end of |early |mid-?|late )?(?:19|20)\d\d\b",
            r"\bdeadlines?\b",
            r"\bby the end of (?:the|this|next) (?:year|month|quarter)\b",
            r"\bdue (?:by|on|in) ",
            r"までに",
            r"期限",
            r"締め?切り?",
        ),
    ),
    (
        "decision",
        (
            r"\b(?:will|to|set to|expected to) (?:decide|rule|vote|approve)\b",
            r"\b(?:vote|ruling|verdict|decision) (?:is )?(?:expected|due|on|next)\b",
            r"決定へ",
            r"判断へ",
            r"採決",
            r"承認へ",
            r"判決",
            r"審議",
        ),
    ),
    (
        "announcement",
        (
            r"\bwill (?:announce|unveil|reveal|present|publish)\b",
            r"発表へ",
            r"公開へ",
            r"公表へ",
            r"発表する予定",
        ),
    ),
    (
        "launch",
        (
            r"\b(?:will|to|set to|plans to|expected to) (?:launch|release|ship|open|start|begin"
            r"|debut|roll out|go live|enter service|come online)\b",
            r"\blaunch(?:es|ing)? (?:in|on|next|later)\b",
            r"\bcoming soon\b",
            r"開始へ",
            r"発売へ",
            r"稼働へ",
            r"開業へ",
            r"提供を?開始する",
            r"運用を?開始する",
        ),
    ),
    (
        "plan",
        (
            r"\bplans? to\b",
            r"\bplanned\b",
            r"\bintends? to\b",
            r"\baims? to\b",
            r"\broadmap\b",
            r"計画",
            r"予定",
            r"方針",
            r"目指す",
        ),
    ),
    (
        "outlook",
        (
            r"\bexpected\b",
            r"\bforecasts?\b",
            r"\bprojected\b",
            r"\boutlook\b",
            r"\blikely to\b",
            r"見通し",
            r"見込み",
            r"予測",
            r"予想",
        ),
    ),
    (
        "upcoming",
        (
            r"\bwill\b",
            r"\bupcoming\b",
            r"\bnext (?:week|month|year|quarter)\b",
            r"来週",
            r"来月",
            r"来年",
            r"今後",
        ),
    ),
)
_SIGNAL_PATTERNS = tuple((kind, re.compile("|".join(p))) for kind, p in _SIGNALS)

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "inc",
        "ltd",
        "co",
        "corp",
        "vs",
        "etc",
        "jr",
        "sr",
        "st",
        "no",
        "fig",
        "approx",
        "est",
        "dept",
        "gov",
    ]
)
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_JA_ENDS = "。！？"
_EN_ENDS = ".!?"
_CLOSERS = "」』）)]\"'”’"


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of each part a briefing length shows."""

    more: int
    lead_sentences: int
    lead_chars: int
    more_sentences: int
    more_chars: int
    synergies: int
    watch: int
    reading: int


LIMITS: Mapping[str, Limits] = {
    "short": Limits(
        more=1,
        lead_sentences=1,
        lead_chars=220,
        more_sentences=0,
        more_chars=0,
        synergies=1,
        watch=2,
        reading=1,
    ),
    "full": Limits(
        more=4,
        lead_sentences=3,
        lead_chars=480,
        more_sentences=1,
        more_chars=220,
        synergies=3,
        watch=5,
        reading=3,
    ),
}

KEY_POINTS = 3
MIN_SECTOR_SCORE = 0.1
"""A story counts for a sector from this score (classifier scores run from 0 to 1)."""
SYNERGY_SCORE = 0.3
"""A story links sectors in which it scores at least this much."""


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: Japanese ends at 。！？, English at .!? before a space or the end.

    "U.S.", "Dr." and "3.5" do not end an English sentence; quotes and brackets that close a
    sentence stay with it.
    """
    sentences: list[str] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        char = text[i]
        if char in _JA_ENDS or char in _EN_ENDS:
            j = i + 1
            while j < n and (text[j] in _JA_ENDS or text[j] in _EN_ENDS or text[j] in _CLOSERS):
                j += 1
            if char in _EN_ENDS and j < n and not text[j].isspace():
                i = j
                continue
            if char == ".":
                before = text[start:i].split()
                word = before[-1] if before else ""
                if (
                    word.lower() in _ABBREVIATIONS
                    or _INITIALS.fullmatch(word)
                    or (len(word) == 1 and word.isupper())
                ):
                    i = j
                    continue
            sentence = text[start:j].strip()
            if sentence:
                sentences.append(sentence)
            start = i = j
            continue
        i += 1
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _ends_sentence(sentence: str) -> bool:
    return sentence.rstrip(_CLOSERS)[-1:] in _JA_ENDS + _EN_ENDS


def _cut(text: str, max_chars: int) -> str:
    """``text`` cut at a word boundary (any character for Japanese) with an ellipsis."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:、") + "…"


def trim_summary(text: str, *, max_sentences: int, max_chars: int) -> str:
    """At most ``max_sentences`` whole sentences of ``text`` within ``max_chars``.

    An unfinished trailing fragment (a feed that cut its summary mid-sentence) is dropped when
    a whole sentence precedes it; a first sentence longer than ``max_chars`` is cut at a word
    with an ellipsis rather than shown whole.
    """
    if max_sentences <= 0 or max_chars <= 0:
        return ""
    sentences = split_sentences(" ".join(text.split()))
    if not sentences:
        return ""
    if len(sentences) > 1 and not _ends_sentence(sentences[-1]):
        sentences.pop()
    kept: list[str] = []
    length = 0
    for sentence in sentences[:max_sentences]:
        joined = length + len(sentence) + (1 if kept else 0)
        if joined > max_chars:
            break
        kept.append(sentence)
        length = joined
    if not kept:
        return _cut(sentences[0], max_chars)
    spaced = " ".join(kept)
    # Japanese sentences follow each other without a space.
    return re.sub(r"(?<=[。！？」』）]) (?=\S)", "", spaced)


def detect_signal(text: str) -> str | None:
    """The kind of forward-looking signal in normalised ``text`` ("plan", "deadline", ...)."""
    for kind, pattern in _SIGNAL_PATTERNS:
        if pattern.search(text):
            return kind
    return None


def format_date(day: date_type, language: Language) -> str:
    """``day`` as a reader writes it: "January 20, 2026" or "2026年1月20日"."""
    if language == "ja":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def briefing_date(now: datetime, timezone: str) -> date_type:
    """The reader's calendar day at ``now`` (UTC for an unknown zone)."""
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    try:
        zone: ZoneInfo | None = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    return aware.astimezone(zone or UTC).date()


def _join(items: Sequence[str], language: Language) -> str:
    if len(items) <= 1:
        return "".join(items)
    comma = phrase(CATALOG, "list_comma", language)
    return comma.join(items[:-1]) + phrase(CATALOG, "list_and", language) + items[-1]


def _same_language(article: Article, language: Language) -> bool:
    return article.language.lower().startswith(language)


@dataclass(frozen=True, slots=True)
class _Candidate:
    story: Story
    base: float
    timestamp: float
    scores: Mapping[str, float]

    @classmethod
    def of(cls, story: Story, base: float) -> _Candidate:
        return cls(story, base, story.when.timestamp(), {s.key: s.score for s in story.sectors})


class BriefingContext:
    """Work shared by every subscriber's briefing for one edition: build with ``prepare``."""

    def __init__(
        self,
        *,
        stories: Sequence[Story],
        sectors: Mapping[str, SectorDef],
        reading: Sequence[ReadingLink],
        now: datetime,
        min_sector_score: float = MIN_SECTOR_SCORE,
        synergy_score: float = SYNERGY_SCORE,
    ) -> None:
        """Rank and index ``stories``; prefer ``prepare``, which also accepts articles."""
        self.now = now
        self.sectors = dict(sectors)
        self.reading = tuple(reading)
        self.min_sector_score = min_sector_score
        self.stories = {s.key: s for s in stories}
        self._text = {s.key: story_text(s) for s in stories}
        self._keyword_hits: dict[str, frozenset[str]] = {}
        self._entries: dict[tuple[str, Language, str, str], StoryEntry] = {}
        self._ranked: dict[str, list[_Candidate]] = {}
        for key in self.sectors:
            ranked = []
            for story in stories:
                relevance = story.sector_score(key)
                if relevance >= min_sector_score:
                    base = base_score(story, now, relevance=relevance)
                    ranked.append(_Candidate.of(story, base))
            ranked.sort(key=self._order)
            self._ranked[key] = ranked
        self._good: dict[str, tuple[SectorScore, ...]] = {}
        synergies, watch = [], []
        self._signal: dict[str, str] = {}
        for story in stories:
            known = [s for s in story.sectors if s.key in self.sectors]
            if not known or known[0].score < min_sector_score:
                continue
            base = base_score(story, now, relevance=known[0].score)
            good = tuple(s for s in known if s.score >= synergy_score)
            if len(good) >= 2:
                self._good[story.key] = good
                synergies.append(_Candidate.of(story, base))
            signal = detect_signal(self._text[story.key])
            if signal is not None:
                self._signal[story.key] = signal
                watch.append(_Candidate.of(story, base))
        self._synergies = sorted(synergies, key=self._order)
        self._watch = sorted(watch, key=self._order)

    @staticmethod
    def _order(candidate: _Candidate) -> tuple[float, float, str]:
        return (-candidate.base, -candidate.timestamp, candidate.story.key)

    @classmethod
    def prepare(
        cls,
        stories: Iterable[Story | Article],
        sectors: Mapping[str, SectorDef],
        reading: Sequence[ReadingLink],
        now: datetime,
        *,
        min_sector_score: float = MIN_SECTOR_SCORE,
        synergy_score: float = SYNERGY_SCORE,
    ) -> BriefingContext:
        """Do the per-edition work once: cluster loose articles, rank each sector, index.

        Args:
            stories: Stories, or articles still to cluster (or a mix).
            sectors: Every known sector by key (names in both languages).
            reading: Explainer links attached to sectors or keywords.
            now: The edition's reference time.
            min_sector_score: Score from which a story counts for a sector.
            synergy_score: Score from which a story links a sector to others.
        """
        items = list(stories)
        ready = [s for s in items if isinstance(s, Story)]
        loose = [a for a in items if isinstance(a, Article)]
        if loose:
            ready.extend(cluster_articles(loose))
        return cls(
            stories=ready,
            sectors=sectors,
            reading=reading,
            now=now,
            min_sector_score=min_sector_score,
            synergy_score=synergy_score,
        )

    def keyword_hits(self, keyword: str) -> frozenset[str]:
        """Keys of the stories whose titles or summaries contain ``keyword`` (cached)."""
        hits = self._keyword_hits.get(keyword)
        if hits is None:
            pattern = keyword_pattern(keyword)
            hits = (
                frozenset()
                if pattern is None
                else frozenset(k for k, text in self._text.items() if pattern.search(text))
            )
            self._keyword_hits[keyword] = hits
        return hits

    @staticmethod
    def _top(
        ranked: Sequence[_Candidate],
        n: int,
        accept: Callable[[_Candidate], bool],
        boost_of: Callable[[Story], float],
        max_boost: float,
    ) -> list[tuple[float, Story]]:
        """The ``n`` best accepted stories of ``ranked`` (best base score first) after boosts.

        Exact without scoring everything: the scan stops once even the largest follow boost
        could not lift the next base score above the ``n``-th best score found so far.
        """
        best: list[tuple[tuple[float, float, str], float, Story]] = []
        for candidate in ranked:
            if len(best) >= n and candidate.base * max_boost < best[-1][1]:
                break
            if not accept(candidate):
                continue
            story = candidate.story
            score = candidate.base * boost_of(story) if max_boost > 1.0 else candidate.base
            order = (-score, -candidate.timestamp, story.key)
            if len(best) < n or order < best[-1][0]:
                best.append((order, score, story))
                best.sort(key=lambda entry: entry[0])
                del best[n:]
        return [(score, story) for _, score, story in best]

    def _entry(self, story: Story, language: Language, role: str, limits: Limits) -> StoryEntry:
        length_key = f"{limits.lead_chars}/{limits.more_chars}"
        cache_key = (story.key, language, role, length_key)
        cached = self._entries.get(cache_key)
        if cached is not None:
            return cached
        shown = next((a for a in story.articles if _same_language(a, language)), story.lead)
        summary = shown.summary
        if not summary.strip():
            summary = next(
                (
                    a.summary
                    for a in story.articles
                    if a.summary.strip() and a.language == shown.language
                ),
                "",
            )
        if role == "lead":
            sentences, chars = limits.lead_sentences, limits.lead_chars
        else:
            sentences, chars = limits.more_sentences, limits.more_chars
        trimmed = trim_summary(summary, max_sentences=sentences, max_chars=chars)
        if " ".join(trimmed.split()).casefold() == " ".join(shown.title.split()).casefold():
            trimmed = ""
        # By outlet: the same article carried by two feeds is one source (bot.briefing.outlets).
        sources = [SourceRef(a.source, a.link) for a in distinct_sources((shown, *story.articles))]
        dated = [a.published_at for a in story.articles if a.published_at is not None]
        entry = StoryEntry(
            story_key=story.key,
            title=" ".join(shown.title.split()),
            summary=trimmed,
            link=shown.link,
            sources=tuple(sources),
            sectors=tuple(
                s.key
                for s in story.sectors
                if s.key in self.sectors and s.score >= self.min_sector_score
            ),
            published_at=min(dated) if dated else None,
        )
        self._entries[cache_key] = entry
        return entry

    def _reading_for(
        self, key: str, stories: Sequence[Story], limit: int
    ) -> tuple[ReadingLink, ...]:
        found: dict[str, ReadingLink] = {}
        for link in self.reading:
            if len(found) >= limit:
                break
            if link.url in found:
                continue
            if link.sector == key:
                found[link.url] = link
            elif link.keyword:
                hits = self.keyword_hits(link.keyword)
                if any(s.key in hits for s in stories):
                    found[link.url] = link
        return tuple(found.values())

    def _why(self, good: Sequence[SectorScore], language: Language) -> str:
        parts = []
        comma = phrase(CATALOG, "list_comma", language)
        for score in good:
            name = self.sectors[score.key].name(language)
            terms = comma.join(score.matched[:3])
            parts.append(name + (phrase(CATALOG, "terms", language, terms=terms) if terms else ""))
        return phrase(CATALOG, "synergy_why", language, sectors=_join(parts, language))

    def compose(self, profile: Profile, *, date: date_type | None = None) -> Briefing:
        """The briefing for ``profile`` from the prepared stories."""
        language: Language = "ja" if profile.language == "ja" else "en"
        limits = LIMITS.get(profile.length, LIMITS["full"])
        day = date or briefing_date(self.now, profile.timezone)
        subscribed = [k for k in dict.fromkeys(profile.sectors) if k in self.sectors]
        # Look the reader's keywords up lazily: a popular keyword can match thousands of
        # stories, and only the few near the top of each list are ever asked about.
        mute_hits = [self.keyword_hits(k) for k in dict.fromkeys(profile.mute)]
        follow_hits = [self.keyword_hits(k) for k in dict.fromkeys(profile.follow)]

        def muted(story: Story) -> bool:
            return any(story.key in hits for hits in mute_hits)

        def boost(story: Story) -> float:
            return follow_boost(sum(1 for hits in follow_hits if story.key in hits))

        # The largest boost this reader can give bounds how far down each list to look.
        max_boost = follow_boost(len(follow_hits))
        rank_of = {k: i for i, k in enumerate(subscribed)}

        def home(candidate: _Candidate) -> str:
            # A story shows once, in the reader's sector it fits best.
            scores = candidate.scores
            return max(subscribed, key=lambda k: (scores.get(k, 0.0), -rank_of[k]))

        sections: list[SectorSection] = []
        section_scores: list[tuple[float, int]] = []
        more_points: list[tuple[float, str, StoryEntry]] = []
        for key in subscribed:

            def accept(candidate: _Candidate, key: str = key) -> bool:
                return home(candidate) == key and not muted(candidate.story)

            top = self._top(self._ranked[key], 1 + limits.more, accept, boost, max_boost)
            if not top:
                continue
            lead = self._entry(top[0][1], language, "lead", limits)
            more = tuple(self._entry(s, language, "more", limits) for _, s in top[1:])
            stories_here = [s for _, s in top]
            sections.append(
                SectorSection(
                    key=key,
                    name=self.sectors[key].name(language),
                    lead=lead,
                    more=more,
                    reading=self._reading_for(key, stories_here, limits.reading),
                )
            )
            section_scores.append((top[0][0], len(sections) - 1))
            more_points.extend(
                (score, key, self._entry(s, language, "more", limits)) for score, s in top[1:]
            )

        key_points: list[KeyPoint] = []
        for _, index in sorted(section_scores, key=lambda p: -p[0])[:KEY_POINTS]:
            section = sections[index]
            key_points.append(self._key_point(section.key, section.name, section.lead))
        if len(key_points) < KEY_POINTS:
            # Few sectors have news: the best of their other stories fill the key points.
            more_points.sort(key=lambda p: -p[0])
            for _, key, entry in more_points[: KEY_POINTS - len(key_points)]:
                key_points.append(self._key_point(key, self.sectors[key].name(language), entry))

        reader = set(subscribed)
        synergies = tuple(
            Synergy(
                sectors=tuple(s.key for s in self._good[story.key]),
                sector_names=tuple(
                    self.sectors[s.key].name(language) for s in self._good[story.key]
                ),
                why=self._why(self._good[story.key], language),
                story=self._entry(story, language, "more", limits),
            )
            for _, story in self._top(
                self._synergies,
                limits.synergies,
                lambda c: (
                    any(g.key in reader for g in self._good[c.story.key]) and not muted(c.story)
                ),
                boost,
                max_boost,
            )
        )
        watch = tuple(
            WatchEntry(
                signal=phrase(CATALOG, f"signal_{self._signal[story.key]}", language),
                story=self._entry(story, language, "more", limits),
            )
            for _, story in self._top(
                self._watch,
                limits.watch,
                lambda c: (
                    any(c.scores.get(k, 0.0) >= self.min_sector_score for k in subscribed)
                    and not muted(c.story)
                ),
                boost,
                max_boost,
            )
        )

        date_text = format_date(day, language)
        if sections:
            headline = _cut(key_points[0].text, 90)
            title = phrase(CATALOG, "title", language, date=date_text, headline=headline)
            empty_note = None
        else:
            title = phrase(CATALOG, "title_empty", language, date=date_text)
            names = [self.sectors[k].name(language) for k in subscribed] or list(profile.sectors)
            empty_note = (
                phrase(CATALOG, "empty_no_news", language, sectors=_join(names, language))
                if names
                else phrase(CATALOG, "empty_no_sectors", language)
            )
        return Briefing(
            title=title,
            language=language,
            length=profile.length,
            date=day,
            generated_at=self.now,
            key_points=tuple(key_points),
            sections=tuple(sections),
            synergies=synergies,
            watch=watch,
            empty_note=empty_note,
            labels={k: phrase(CATALOG, k, language) for k in LABEL_KEYS},
        )

    @staticmethod
    def _key_point(key: str, name: str, entry: StoryEntry) -> KeyPoint:
        return KeyPoint(
            sector=key,
            sector_name=name,
            text=entry.title,
            story_key=entry.story_key,
            link=entry.link,
        )


def compose_briefing(
    stories: Sequence[Story | Article],
    profile: Profile,
    now: datetime,
    *,
    sectors: Mapping[str, SectorDef],
    reading: Sequence[ReadingLink] = (),
    date: date_type | None = None,
) -> Briefing:
    """The briefing for one reader (pure).

    Args:
        stories: Stories of the edition; loose articles are clustered first.
        profile: The reader: sectors, language, length, follow and mute keywords, zone.
        now: The reference time (recency, and the date when ``date`` is not given).
        sectors: Every known sector by key.
        reading: Explainer links attached to sectors or keywords.
        date: The briefing's date; by default the reader's local date at ``now``.

    Returns:
        The briefing; ``empty_note`` is set when none of the reader's sectors has news.
    """
    context = BriefingContext.prepare(stories, sectors, reading, now)
    return context.compose(profile, date=date)
