"""The extractive editor: no model, never fails, the fallback for whatever a model did not write.

It works from the feed text alone and says less rather than something wrong: the forward-looking
sentence of a story and the date it names, when that date lies after the edition (English
patterns on English text, Japanese on Japanese); stories of different outlets and sectors that
share a specific subject (a company, product, material or technology that is not simply their
sector's field); the day's most covered story or subject; and how important a story is (how
many sources cover it, how many named things it mentions). Feed text stays in its language;
only our phrases follow the reader (``bot.briefing.compose.CATALOG``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.briefing.editor.base import Edition, EditionText, SynergyItem, WatchItem
from bot.briefing.editor.dates import FoundDate, find_dates, is_japanese
from bot.briefing.editor.entities import Entity, is_publisher, story_entities, subjects
from bot.briefing.editor.reasons import without
from bot.briefing.editor.text import split_sentences, trim_summary
from bot.briefing.headlines import is_incident
from bot.briefing.outlets import outlet_keys
from bot.models import Article, Language, Story

# Forward-looking signals per language, most specific first: the first kind found names it
# ("will decide by March 2027" is a decision that has a date, not a deadline).
_EN_SIGNALS: tuple[tuple[str, str], ...] = (
    (
        "decision",
        r"\b(?:will|to|set to|expected to) (?:decide|rule|vote|approve)\b"
        r"|\b(?:vote|ruling|verdict|decision) (?:is )?(?:expected|due|scheduled)\b",
    ),
    (
        "deadline",
        r"\bby (?:the )?(?:end of |early |mid-?|late )?(?:[A-Z]\w+ )?(?:19|20)\d\d\b|\bdeadlines?\b"
        r"|\bdue (?:by|on|in)\b",
    ),
    ("announcement", r"\bwill (?:announce|unveil|reveal|present|publish)\b"),
    (
        "launch",
        r"\b(?:will|to|set to|expected to|scheduled to|slated to) (?:launch"
        r"|release|ship|open|start|begin|debut|roll out|go live|enter service|come online)\b"
        r"|\b(?:launch(?:es|ing)?|starts?|opens?) (?:in|on|next|later)\b|\bcoming soon\b",
    ),
    (
        "plan",
        r"\bplans? to\b|\bplanned\b|\bintends? to\b|\baims? to\b|\broadmap\b"
        r"|\bscheduled\b|\bslated\b",
    ),
    (
        "outlook",
        r"\bexpect(?:s|ed)?\b|\bforecasts?\b|\bprojected\b|\boutlook\b|\blikely to\b",
    ),
    (
        "upcoming",
        r"\bwill\b|\bupcoming\b|\bstarting\b|\blater this\b|\bnext (?:week|month|year"
        r"|quarter)\b",
    ),
)
_JA_SIGNALS: tuple[tuple[str, str], ...] = (
    ("decision", r"決定へ|判断へ|採決|承認へ|判決|審議"),
    ("deadline", r"までに|期限|締め?切り?|(?:年|年度|月)(?:内|中)に"),
    ("announcement", r"発表へ|公開へ|公表へ|発表する予定|発表予定"),
    (
        "launch",
        r"開始へ|発売へ|稼働へ|開業へ|開始する|開始予定|発売予定|稼働予定|提供を?開始"
        r"|(?:から|より)[^。]{0,80}(?:実施|開催|販売|発売|提供|運行|運用|導入|スタート)(?:する|します)",
    ),
    ("plan", r"計画|予定|方針|目指す|目標"),
    ("outlook", r"見通し|見込み|予測|予想"),
    # Japanese news states what is scheduled in the non-past: "4月1日より…省略する。"
    ("upcoming", r"来週|来月|来年|今後|以降|(?:る|す|ます|へ)[」』）)]*[。！]?$"),
)
_EN = tuple((kind, re.compile(p)) for kind, p in _EN_SIGNALS)
_JA = tuple((kind, re.compile(p)) for kind, p in _JA_SIGNALS)

WATCH_CANDIDATES = 40
"""Stories per sector searched for things to watch (the ones a reader can be shown)."""
SYNERGY_CANDIDATES = 30
"""Stories per sector searched for shared entities."""
_KIND_WEIGHT = {"organisation": 1.0, "material": 1.0, "technology": 0.8, "place": 0.0}


def _language_of(article: Article, sentence: str) -> str | None:
    """ "en" or "ja" when both the feed and the sentence agree on it, else None (no patterns)."""
    declared = article.language.lower()
    if is_japanese(sentence):
        return "ja" if declared.startswith("ja") or not declared else None
    return "en" if declared.startswith("en") else None


_FIRM_DEADLINE = {
    "en": re.compile(
        r"\bdeadlines?\b|\bdue (?:by|on|in)\b|\bmust\b|\bno later than\b|\brequire[sd]?\b"
        r"|\bmandatory\b|\bobliged\b"
    ),
    "ja": re.compile(r"期限|締め?切り?|義務"),
}
"""Words that make a date a deadline someone must meet, not the target of a plan."""
_INTENT = re.compile(r"\b(?:plans?|planned|intends?|aims?|hopes?) to\b")
"""An English launch that is only intended ("plans to release"): a plan, not a launch."""
_OUTLOOK = {
    "en": re.compile(dict(_EN_SIGNALS)["outlook"]),
    "ja": re.compile(dict(_JA_SIGNALS)["outlook"]),
}


def signal_of(sentence: str, language: str) -> str | None:
    """The kind of forward-looking signal in ``sentence`` of ``language``, or None.

    "By 2030" is a deadline only where the sentence names a deadline or an obligation
    ("must", "due on", "期限"). Otherwise it dates a target: an expectation where the sentence
    says so ("来年春までに…拡大される見通し"), else a plan ("will expand to twelve by 2028",
    "2030年までに…拡大する計画だ"). So is a launch someone only plans ("plans to release the
    dataset next month").
    """
    for kind, pattern in _JA if language == "ja" else _EN:
        if pattern.search(sentence):
            lang = "ja" if language == "ja" else "en"
            if kind == "deadline" and not _FIRM_DEADLINE[lang].search(sentence):
                return "outlook" if _OUTLOOK[lang].search(sentence) else "plan"
            if kind == "launch" and lang == "en" and _INTENT.search(sentence):
                return "plan"
            return kind
    return None


_JUNK = re.compile(r":::\w*|\{[^}]*\}|\[[^\]]*\]\([^)]*\)")
"""Markup some scraped feeds leave in their text (":::small", "{target=_blank}", [x](y))."""
_THIS_PERIOD = re.compile(
    r"年内|年中|年度(?:内|中|末)|今月(?:中|末)|月内|年末まで|までに"
    r"|\bby\b|\bend of\b|\bthis year\b|\blater\b|\bbefore\b"
)
_JA_PAST = re.compile(r"(?:た|だった)[。！]?$")
_TRUNCATED = re.compile(r"(?:\.\.\.|…)[\s\"'”’」』）)]*$")


_UNDER_WAY = ("launch", "upcoming")
"""Kinds of signal for which a range that has begun is under way: "runs from March to May"."""


def _ahead(
    sentence: str, language: str, kind: str, when: FoundDate, today: date
) -> FoundDate | None:
    """The date ``when`` of ``sentence`` names after the edition's day ``today``, if any.

    A date counts when it begins after ``today``. The current month or year ("in 2026",
    "2026年度の方針") counts only as a deadline ("by", "年内", "までに"), and a day that has come
    is past. A range that has begun is under way, not coming up, unless it is the window of
    something expected ("2026年から2027年の間に発売される見込み": its end counts). A Japanese
    sentence in the past tense reports what happened, unless it names a deadline or a date
    something is due by ("までに…見通しとなった").
    """
    # "来年春までに…拡大される見通しとなった" looks ahead though its verb is past.
    if (
        language == "ja"
        and kind != "deadline"
        and "までに" not in sentence
        and _JA_PAST.search(sentence)
    ):
        return None
    if when.day > today:
        return when
    if when.end is not None:
        return when.end if kind not in _UNDER_WAY and when.end.day > today else None
    if when.precision == "day" or when.last_day <= today or not _THIS_PERIOD.search(sentence):
        return None
    return when


def watch_item(story: Story, today: date) -> WatchItem | None:
    """The story's forward-looking sentence that names a date after ``today``, if any.

    A sentence about the past, naming only dates up to the edition's day, or cut off by the
    feed ("..."), is not "coming up". Relative dates ("next month", "3月28日") count from the day
    the article was published.
    """
    best: WatchItem | None = None
    for article in story.articles:
        written = article.published_at.date() if article.published_at else today
        stop = "。" if is_japanese(article.title) else "."
        text = _JUNK.sub(" ", f"{article.title}{stop} {article.summary}")
        for sentence in split_sentences(" ".join(text.split())):
            language = _language_of(article, sentence)
            if language is None or _TRUNCATED.search(sentence):
                continue
            kind = signal_of(sentence, language)
            if kind is None:
                continue
            found = find_dates(sentence, language, written)
            ahead = [d for d in (_ahead(sentence, language, kind, f, today) for f in found) if d]
            if not ahead:
                continue
            when = min(ahead, key=lambda d: d.day)
            item = WatchItem(story.key, kind, sentence.strip(), when.day, when.precision)
            if best is None or (item.due, len(item.sentence)) < (best.due, len(best.sentence)):
                best = item
    return best


def find_watch(edition: Edition) -> tuple[WatchItem, ...]:
    """Things to watch among each sector's top stories, best-ranked story first."""
    today = edition.now.date()
    items = []
    for key in edition.top(WATCH_CANDIDATES):
        item = watch_item(edition.stories[key], today)
        if item is not None:
            items.append(item)
    items.sort(key=lambda i: -edition.base.get(i.story_key, 0.0))
    return tuple(items)


def _linkable(edition: Edition, keys: Iterable[str]) -> dict[Entity, list[str]]:
    """The stories (best first) of ``keys`` each specific subject could link.

    A subject links nothing for a story whose sector's own field it is, and a publisher or a
    feed's name is never a subject.
    """
    sources = {a.source for k in keys for a in edition.stories[k].articles}
    found: dict[Entity, list[str]] = defaultdict(list)
    for key in sorted(keys, key=lambda k: -edition.base.get(k, 0.0)):
        sector = edition.home.get(key)
        if sector is None:
            continue
        for entity in subjects(edition.stories[key]):
            if sector not in entity.field_of and not is_publisher(entity, sources):
                found[entity].append(key)
    return found


def find_synergies(edition: Edition, limit: int = 12) -> tuple[SynergyItem, ...]:
    """Stories of different outlets and sectors that share a specific subject.

    For each subject, stories join a group best first when their sector and their outlets are
    not in it yet; a group needs two stories, takes three at most, and a story joins one group.
    Groups are taken best first (importance of the stories, how specific the shared thing is).
    Places, publishers and a sector's own field words link nothing: no synergy is better than
    a wrong one.
    """
    keys = edition.top(SYNERGY_CANDIDATES)
    groups: list[tuple[float, str, Entity, list[str]]] = []
    for entity, found in _linkable(edition, keys).items():
        members: list[str] = []
        sectors: set[str] = set()
        outlets: set[str] = set()
        for key in found:
            mine = outlet_keys(edition.stories[key])
            if edition.home[key] in sectors or outlets & mine:
                continue
            members.append(key)
            sectors.add(edition.home[key])
            outlets |= mine
            if len(members) == 3:
                break
        if len(members) < 2:
            continue
        best_two = [edition.base[k] for k in members[:2]]
        groups.append((sum(best_two) / 2 * _KIND_WEIGHT[entity.kind], entity.key, entity, members))
    groups.sort(key=lambda g: (-g[0], g[1]))
    used: set[str] = set()
    chosen: list[SynergyItem] = []
    for _, _, entity, members in groups:
        if used.intersection(members):
            continue
        used.update(members)
        chosen.append(
            SynergyItem(
                story_keys=tuple(members),
                sectors=tuple(edition.home[k] for k in members),
                shared=(entity,),
            )
        )
        if len(chosen) >= limit:
            break
    return tuple(chosen)


def importance(story: Story, base: float) -> tuple[int, int, float]:
    """Sort key (descending) for key points: news before incidents (a recall, a security
    advisory, a warning about scams), dated news first, then sources and named things."""
    news = 0 if is_incident(story.lead.title) else 1
    dated = any(a.published_at is not None for a in story.articles)
    named = min(len(story_entities(story)), 6)
    return (
        news,
        1 if dated else 0,
        base * (1 + 0.35 * (story.source_count - 1)) * (1 + 0.08 * named),
    )


def reads(story: Story, language: Language) -> bool:
    """Whether ``story`` has a report in ``language``."""
    return any(a.language.lower().startswith(language) for a in story.articles)


def choose_key_points(
    candidates: Sequence[tuple[str, Story, float, bool]],
    n: int,
    readable: Callable[[Story], bool],
) -> list[tuple[str, Story]]:
    """``n`` (sector, story) pairs: the sections' leads first, most important first.

    Stories the reader can read (``readable``: a report or a written text in their language)
    go before the others, so an English reader's first point is English text. Leads of as many
    sections as possible come first; when there are fewer sections than ``n``, the best other
    stories follow.

    Incidents rank below every other story, so an incident is the first key point (and names
    the briefing) only when the reader's sections show nothing else. A bare title (a journal's
    entry with no abstract in its feed) tells a reader nothing a key point should: it is one only
    when there are not enough stories with text.

    Args:
        candidates: (sector, story, score, is the section's lead) for every story shown.
        n: How many key points.
        readable: Whether the reader gets a story in their own language.
    """
    weight = {c[1].key: importance(c[1], c[2]) for c in candidates}
    told = {c[1].key: any(a.summary.strip() for a in c[1].articles) for c in candidates}
    ranked = sorted(
        candidates,
        # Readable first, news before incidents, dated before undated, text before a bare
        # title, leads before the rest.
        key=lambda c: (
            readable(c[1]),
            *weight[c[1].key][:2],
            told[c[1].key],
            c[3],
            weight[c[1].key],
        ),
        reverse=True,
    )
    chosen: list[tuple[str, Story]] = []
    seen: set[str] = set()
    for lead_pass in (True, False):
        for sector, story, _score, lead in ranked:
            # An undated page (an explainer first seen today) is no key point over dated news.
            news, dated, _ = weight[story.key]
            first = lead and dated == 1 and news == 1 and told[story.key]
            if len(chosen) < n and first == lead_pass and story.key not in seen:
                chosen.append((sector, story))
                seen.add(story.key)
    chosen.sort(key=lambda c: not readable(c[1]))
    return chosen


_Facts = tuple[frozenset[Entity], frozenset[str], int]
_theme_memo: dict[str, tuple[Story, _Facts]] = {}


def _theme_facts(story: Story) -> _Facts:
    """The subjects of ``story`` that could name a day, its outlets and how many sources it
    has (memoised: every reader's title asks again)."""
    known = _theme_memo.get(story.key)
    if known is not None and known[0] is story:
        return known[1]
    if len(_theme_memo) >= 100_000:
        _theme_memo.clear()
    named = frozenset(e for e in subjects(story) if e.kind in _THEME_KINDS)
    facts = (named, outlet_keys(story), story.source_count)
    _theme_memo[story.key] = (story, facts)
    return facts


def _one_outlet(keys: set[str]) -> bool:
    """Whether ``outlet_keys`` of several stories name one outlet (one feed, or one host)."""
    feeds = {k for k in keys if k.startswith("feed:")}
    hosts = {k for k in keys if k.startswith("host:")}
    return len(feeds) <= 1 or len(hosts) == 1


@dataclass(frozen=True, slots=True)
class DayTheme:
    """What the day's briefing is most about: a story many outlets cover, or a subject many
    stories share (``count`` of them)."""

    story: Story | None = None
    subject: Entity | None = None
    count: int = 0


_THEME_KINDS = ("organisation", "material")
"""Subjects that can name a day: a company, product or project, or a material. A technology
("language models") is too broad a tag for a day, and a place says where, not what."""


def day_theme(stories: Sequence[tuple[str, Story]], language: Language) -> DayTheme | None:
    """The day's most covered story or subject among the reader's ``stories`` (sector, story).

    A subject counts when three stories share it, or two of two outlets, and it is not their
    sector's own field, a publisher or a place; a story counts when at least two outlets cover
    it, it has a report in the reader's ``language`` and it is not an incident. A subject three
    stories share beats a story two outlets cover.
    """
    count: dict[Entity, set[str]] = defaultdict(set)
    outlets: dict[Entity, set[str]] = defaultdict(set)
    for sector, story in stories:
        named, where, _ = _theme_facts(story)
        for entity in named:
            if sector not in entity.field_of:
                count[entity].add(story.key)
                outlets[entity] |= where
    # One outlet's habit of naming a thing (arXiv titles) is no theme: two stories of two
    # outlets, or three of one, are.
    sources = {a.source for _, s in stories for a in s.articles}
    shared = [
        (len(keys), len(outlets[e]), e.key, e)
        for e, keys in count.items()
        if (len(keys) >= 3 or (len(keys) == 2 and not _one_outlet(outlets[e])))
        and not is_publisher(e, sources)
    ]
    subject = max(shared, key=lambda s: s[:3]) if shared else None
    covered = [(_theme_facts(s)[2], s) for _, s in stories]
    top = max(
        # An incident (a recall, an advisory) is never the day's theme, as it is never the
        # first key point: it is news for the few it concerns.
        (
            (n, s)
            for n, s in covered
            if n >= 2 and reads(s, language) and not is_incident(s.lead.title)
        ),
        key=lambda c: c[0],
        default=None,
    )
    if subject is not None and (subject[0] >= 3 or top is None):
        return DayTheme(subject=subject[3], count=subject[0])
    if top is not None:
        return DayTheme(story=top[1], count=top[0])
    return None


class ExtractiveEditor:
    """The editor without a model: watch items and synergies found in the feed text."""

    name = "extractive"

    async def write(
        self, edition: Edition, languages: Sequence[Language]
    ) -> dict[Language, EditionText]:
        synergies, watch = find_synergies(edition), find_watch(edition)
        return {
            lang: EditionText(language=lang, synergies=synergies, watch=watch) for lang in languages
        }


def shown_article(story: Story, language: Language) -> Article:
    """The article a reader of ``language`` is shown: one in that language, else the lead."""
    return next((a for a in story.articles if a.language.lower().startswith(language)), story.lead)


def story_summary(
    story: Story, shown: Article, *, sentences: int, chars: int, leave_out: str = ""
) -> str:
    """Whole sentences of the shown article's summary (or a same-language sibling's), without
    the sentence ``leave_out`` (the reason, shown on its own)."""
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
    trimmed = trim_summary(without(summary, leave_out), max_sentences=sentences, max_chars=chars)
    if " ".join(trimmed.split()).casefold() == " ".join(shown.title.split()).casefold():
        return ""
    return trimmed
