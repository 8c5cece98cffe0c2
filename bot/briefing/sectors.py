"""The built-in sectors, read from data files, and the phrases that must not count for them.

Each built-in sector is one TOML file in ``bot/data/sectors/`` (shipped as package data): its key,
English and Japanese names, other names readers may type (``aliases``, optional), display
order, and its terms in groups that share a weight, a kind and, for the few groups of German,
Spanish or Chinese words, a ``language`` (those read only items in that language).
Adding a sector is adding a file. Terms are written for the classifier in
``bot.briefing.classify``; its docstring explains the matching rules (case, word boundaries,
Japanese substrings, plurals, ``*`` prefixes, ``re:`` patterns).
Weights: 1.0 for a term that on its own says what the item is about (``qubit``, ``CRISPR``,
``OpenAI``); 0.5 for a term that supports a sector but is too common or ambiguous to decide
(``battery``, ``patients``, ``Nvidia``). Lists are general vocabulary of each field, not tuned to
any one feed.

A file that does not follow this shape stops the import with one line naming the file and the
field, so a mistake in a vocabulary never classifies quietly with part of its terms.
"""

from __future__ import annotations

import functools
import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any, Literal, cast

from bot.models import SectorDef

log = logging.getLogger(__name__)

TermKind = Literal["topic", "entity"]
_KINDS: tuple[TermKind, ...] = ("topic", "entity")
_FIELDS = frozenset({"key", "name_en", "name_ja", "aliases", "order", "terms"})
_GROUP_FIELDS = frozenset({"weight", "kind", "texts", "language"})


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a sector: its text (see ``bot.briefing.classify`` for syntax), weight and kind.

    ``entity`` marks company and product names: they count for a sector, but not in a headline
    that is only about a share price.
    """

    text: str
    weight: float = 1.0
    kind: TermKind = "topic"
    language: str = ""
    """"" for the keyword languages (English and Japanese, ``classify.KEYWORD_LANGUAGES``);
    otherwise the one language whose items the term is read in ("de", "es", "zh")."""


@dataclass(frozen=True, slots=True)
class Misleading:
    """A phrase whose sector words must not count, found only when ``trigger`` is in the text.

    The trigger (lower case, a plain substring) lets the classifier skip the pattern cheaply.
    """

    trigger: str
    pattern: str


@dataclass(frozen=True, slots=True)
class BuiltinSector:
    """One sector as its data file declares it."""

    sector: SectorDef
    order: int
    terms: tuple[Term, ...]


class SectorDataError(ValueError):
    """A sector data file that does not follow the expected shape."""


def _field(data: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = data.get(name)
    # bool is an int in Python; a weight or an order of ``true`` is a typo, not a number.
    if not isinstance(value, kind) or isinstance(value, bool):
        wanted = "an integer" if kind is int else "a string"
        raise SectorDataError(f"{where}: {name!r} must be {wanted}, got {value!r}")
    return value


def _terms(groups: Any, where: str) -> tuple[Term, ...]:
    if not isinstance(groups, list) or not groups:
        raise SectorDataError(f"{where}: needs at least one [[terms]] group")
    terms: list[Term] = []
    for n, group in enumerate(groups, 1):
        at = f"{where} [[terms]] #{n}"
        if not isinstance(group, dict):
            raise SectorDataError(f"{at}: must be a table, got {group!r}")
        unknown = set(group) - _GROUP_FIELDS
        if unknown:
            raise SectorDataError(f"{at}: unknown field(s) {', '.join(sorted(unknown))}")
        weight = group.get("weight", 1.0)
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
            raise SectorDataError(f"{at}: 'weight' must be a positive number, got {weight!r}")
        kind = group.get("kind", "topic")
        if kind not in _KINDS:
            raise SectorDataError(f"{at}: 'kind' must be one of {_KINDS}, got {kind!r}")
        texts = group.get("texts")
        if not isinstance(texts, list) or not all(isinstance(t, str) and t for t in texts):
            raise SectorDataError(f"{at}: 'texts' must be a list of non-empty strings")
        language = group.get("language", "")
        if not isinstance(language, str):
            raise SectorDataError(f"{at}: 'language' must be a language code, got {language!r}")
        terms.extend(Term(text, float(weight), cast(TermKind, kind), language) for text in texts)
    return tuple(terms)


def parse_sector(text: str, where: str) -> BuiltinSector:
    """One sector from the text of its TOML file.

    Args:
        text: the file's content.
        where: the file's name, for error messages.

    Raises:
        SectorDataError: the text is not TOML or misses or mistypes a field.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SectorDataError(f"{where}: not valid TOML ({exc})") from exc
    unknown = set(data) - _FIELDS
    if unknown:
        raise SectorDataError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise SectorDataError(f"{where}: 'aliases' must be a list of non-empty strings")
    sector = SectorDef(
        _field(data, "key", str, where),
        _field(data, "name_en", str, where),
        _field(data, "name_ja", str, where),
        builtin=True,
        aliases=tuple(aliases),
    )
    return BuiltinSector(
        sector, _field(data, "order", int, where), _terms(data.get("terms"), where)
    )


def load_sectors(folder: Traversable) -> tuple[BuiltinSector, ...]:
    """Every ``*.toml`` sector in ``folder``, in display order.

    Raises:
        SectorDataError: a file is malformed, or two files share a key or an order.
    """
    found = sorted(
        (
            parse_sector(entry.read_text(encoding="utf-8"), entry.name)
            for entry in folder.iterdir()
            if entry.name.endswith(".toml")
        ),
        key=lambda s: s.order,
    )
    for attr in ("key", "order"):
        values = [s.sector.key if attr == "key" else s.order for s in found]
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise SectorDataError(f"{folder}: more than one sector file with {attr} {repeated}")
    return tuple(found)


@functools.cache
def builtin_sectors() -> tuple[BuiltinSector, ...]:
    """The sectors shipped in ``bot/data/sectors`` (read once per process)."""
    sectors = load_sectors(resources.files("bot").joinpath("data", "sectors"))
    log.debug("loaded %d built-in sectors", len(sectors))
    return sectors


GREEN_KEY = "green"
QUANTUM_KEY = "quantum"
AI_KEY = "ai"
MOBILITY_KEY = "mobility"
LIFE_KEY = "life"

BUILTIN_TERMS: MappingProxyType[str, tuple[Term, ...]] = MappingProxyType(
    {s.sector.key: tuple(t for t in s.terms if not t.language) for s in builtin_sectors()}
)
"""Built-in English and Japanese terms per sector key. Admin keywords (``SectorDef.keywords``)
are added to these."""

FOREIGN_TERMS: MappingProxyType[str, MappingProxyType[str, tuple[Term, ...]]] = MappingProxyType(
    {
        language: MappingProxyType(
            {
                s.sector.key: tuple(t for t in s.terms if t.language == language)
                for s in builtin_sectors()
            }
        )
        for language in sorted({t.language for s in builtin_sectors() for t in s.terms} - {""})
    }
)
"""Built-in terms of other languages: language -> sector key -> terms. Items in that language
are read with these alone (no admin keywords, no English words: German "will" is no English
future)."""


def _classify_rules() -> dict[str, Any]:
    """The classifier's rules kept as data (``bot/data/classify/rules.toml``).

    Raises:
        SectorDataError: the file is not TOML or misses a field.
    """
    entry = resources.files("bot").joinpath("data", "classify", "rules.toml")
    try:
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SectorDataError(f"{entry.name}: not valid TOML ({exc})") from exc
    for n, item in enumerate(data.get("misleading", ()), 1):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(f), str) and item.get(f) for f in ("trigger", "pattern")
        ):
            raise SectorDataError(f"{entry.name} [[misleading]] #{n}: needs 'trigger', 'pattern'")
    review = data.get("review")
    if not isinstance(review, dict) or not isinstance(review.get("pattern"), str):
        raise SectorDataError(f"{entry.name}: [review] needs 'pattern' and 'triggers'")
    if not isinstance(review.get("triggers"), list):
        raise SectorDataError(f"{entry.name}: [review] needs 'pattern' and 'triggers'")
    return data


_RULES = _classify_rules()

MISLEADING: tuple[Misleading, ...] = (
    # Consumer gadgets: a phone's or laptop's battery, not energy storage.
    Misleading("batter", r"(?i:battery[- ]life|battery lasts?|battery drain|battery percentage)"),
    Misleading(
        "batter",
        r"(?i:(?:phone|laptop|smartphone|iphone|watch|headphones?|earbuds?|tablet|mouse)(?:'s)?"
        r" batter(?:y|ies))",
    ),
    Misleading("バッテリー", r"バッテリー(?:持ち|駆動|残量)|モバイルバッテリー"),
    # "Quantum" as a brand or an idiom.
    Misleading("quantum", r"(?i:quantum[- ]dots?|quantum ?(?:tv|qled|display|mini ?led))"),
    Misleading(
        "quantum",
        r"(?i:quantum ?leaps?|quantumania|quantum of solace|quantum realm|quantum break\b)",
    ),
    Misleading("qd", r"(?i:qd-?oled)"),
    Misleading("量子ドット", r"量子ドット"),
    Misleading("hydrogen", r"(?i:hydrogen atoms?|hydrogen-like)"),
    # "Robot" in names that are not robotics, and robot vacuums on sale.
    Misleading(
        "robo",
        r"(?i:robots\.txt|mr\.? robot|robocalls?|natasha ?the ?robot|giant robots|robot framework)",
    ),
    Misleading(
        "vac",
        r"(?i:robot(?:ic)? vacuums?|robovacs?)(?=[^.]{0,60}"
        r"(?:deal|sale|\d+% off|discount|price|save|\$\d|cheap|bargain))",
    ),
    Misleading(
        "vac",
        r"(?i:(?:deal|sale|\d+% off|discount|price|save|\$\d)[^.]{0,60}robot(?:ic)? vacuums?)",
    ),
    Misleading(
        "ロボット掃除機", r"ロボット掃除機(?=.{0,30}(?:セール|特価|割引|値下げ|円引き|OFF|オフ|安))"
    ),
    # Given names and graphics terms that collide with sector words.
    Misleading("gene ", r"(?i:gene (?:wilder|hackman|simmons|kelly|roddenberry))"),
    Misleading("vertex", r"(?i:vertex (?:shader|buffer))"),
    *(Misleading(m["trigger"], m["pattern"]) for m in _RULES.get("misleading", ())),
)
"""Phrases blanked out before matching, so the sector words inside them do not count (with the
product names of ``bot/data/classify/rules.toml``)."""

REVIEW: str = str(_RULES["review"]["pattern"])
"""A product review's headline ("... photo review", "使ってみた"): only its own terms count, not
its summary's list of the product's features (``bot/data/classify/rules.toml``)."""
REVIEW_TRIGGERS: tuple[str, ...] = tuple(_RULES["review"]["triggers"])
"""Lower-case substrings one of which every ``REVIEW`` match contains."""

SHARE_PRICE: str = (
    r"(?i:\b(?:stocks?|shares?|share price|stock price|market cap)\b[^.]{0,40}\b"
    r"(?:rise|rises|rose|jump|jumps|jumped|soar|soars|soared|surge|surges|surged|fall|falls|fell"
    r"|drop|drops|dropped|plunge|plunges|plunged|tumble|tumbles|tumbled|slide|slides|slid"
    r"|rally|rallies|rallied|climb|climbs|climbed|sink|sinks|sank|gain|gains|slump|slumps"
    r"|skyrocket\w*|sky-high|record high|all-time high|up \d|down \d)\b"
    r"|\b(?:buy|sell|top|best|hot)\b[^.]{0,20}\bstocks?\b|\bstocks? to (?:buy|watch)\b"
    r"|\bprice target\b|\bpenny stocks?\b|\bstocks\b|\bshareholders?\b|\bmillionaires?\b"
    r"|\b52-week\b|\bETFs?\b|#stocks|\$[A-Z]{2,5}\b|motley ?fool|seeking alpha"
    r"|\bonce-in-an?-(?:lifetime|generation)\b|\bhand over fist\b|\bbuy (?:right )?now\b"
    r"|\bto buy in \d{4}\b|\binvestors? (?:are |is )?(?:betting|buying|piling)\b|\bbillionaires?\b"
    r"|\bearnings\b|\bquarterly (?:results|profit|revenue)\b"
    r"|\bstock\b(?! (?:photo|image|footage|android|firmware|rom|app)))"
    r"|株価|銘柄|ストップ高|ストップ安"
)
"""A headline that is only a share-price move or stock tip is not news of the sector."""
SHARE_PRICE_TRIGGERS: tuple[str, ...] = (
    "stock",
    "share",
    "millionaire",
    "52-week",
    "etf",
    "$",
    "fool",
    "seeking alpha",
    "price target",
    "once-in-a",
    "fist",
    "buy",
    "investor",
    "billionaire",
    "earnings",
    "quarterly",
    "株価",
    "銘柄",
    "ストップ",
)
"""Lower-case substrings one of which every ``SHARE_PRICE`` match contains (a cheap pre-check)."""

SHOPPING: str = (
    r"(?i:\b\d{1,2}% off\b|\bon sale\b|\bbest deals?\b|\bdeal alert\b|\bprime day\b"
    r"|\bblack friday\b|\bcyber monday\b|\blowest price\b|\bsave \$\d|\bfor just \$\d"
    r"|\bdeals? on\b|\bdiscount(?:ed)? to\b|\bprice drop\b|\bcoupons?\b|\bflash sale\b"
    r"|\b(?:spring|summer|easter|holiday|anniversary|big|early) sale\b"
    # Event adverts: an early-bird discount for a conference is an advert, not news of the
    # topics on its programme (heise's "Frühbucherrabatt" for a post-quantum crypto track).
    r"|\bearly[- ]bird\b|\bdiscount code\b|\bpromo code\b|\bregistration (?:is )?(?:now )?open\b"
    r"|\btickets? (?:now )?(?:on sale|available)\b|\bfrühbucher\w*|\bheise-angebot\b)"
    r"|タイムセール|セール中|特価|割引|クーポン|値下げ|円引き|早期割引|早割"
)
"""A shopping post (a sale, a coupon, an event's discount) is not news of the sector."""
DIGEST: str = r"(?i:^kurz informiert\b|^daily crunch\b|极客早知道)|[;；][^;；]+[;；]"
"""A digest of several unrelated news (heise's "Kurz informiert", a headline of three or more
parts split by semicolons) is no one sector's news, whatever words its parts hold."""
SHOPPING_TRIGGERS: tuple[str, ...] = (
    "% off",
    "sale",
    "deal",
    "prime day",
    "black friday",
    "cyber monday",
    "lowest price",
    "$",
    "discount",
    "price drop",
    "coupon",
    "セール",
    "特価",
    "割引",
    "クーポン",
    "値下げ",
    "円引き",
    "early",
    "code",
    "registration",
    "ticket",
    "frühbucher",
    "heise-angebot",
    "早割",
)
"""Lower-case substrings one of which every ``SHOPPING`` match contains (a cheap pre-check)."""

INCIDENT: str = (
    r"(?i:\bdata breach(?:es)? (?:at|of|hits?|exposes?)\b|\bransomware attack\b"
    r"|\bcyber-?attack (?:on|against|at|hits?)\b|\bhit by (?:a )?(?:cyber|ransomware|hack)"
    r"|\bpersonal (?:data|information) of\b[^.]{0,40}\b(?:stolen|exposed|leaked)\b"
    r"|\bpatient (?:data|records)\b[^.]{0,40}\b(?:stolen|exposed|leaked)\b)"
    r"|不正アクセス|情報漏えい|情報漏洩|個人情報[^。]{0,20}流出|ランサムウェア|サイバー攻撃"
)
"""A security incident at an organisation: the victim's field (a hospital, its vaccine records)
does not make it news of that sector, and such a headline counts for little, like a share-price
move. Written for the victim ("ransomware attack hampers ...", "病院に不正アクセス"), not for
technology as a threat or a target ("AI may enable cyberattacks", "accounts hacked")."""
INCIDENT_TRIGGERS: tuple[str, ...] = (
    "breach",
    "ransomware",
    "attack",
    "hit by",
    "personal",
    "patient",
    "不正アクセス",
    "漏",
    "流出",
    "ランサムウェア",
    "サイバー攻撃",
)
"""Lower-case substrings one of which every ``INCIDENT`` match contains (a cheap pre-check)."""


PRODUCT_INCIDENT: str = (
    r"(?<!\bcan )(?<!\bcould )(?<!\bto )(?<!\bnot )(?<!n't )\brecall\b"
    r"|(?i:\brecall(?:s|ed|ing)\b|\bsecurity (?:advisory|update|flaw|hole)"
    r"|\bvulnerabilit(?:y|ies)\b|\bexploit(?:s|ed)?\b|\bzero-day\b|\bwarns? (?:of|about|against)\b"
    r"|\bscams?\b|\bfraud(?:sters)?\b|\bphishing\b|\bhacked\b"
    r"|\brückruf\w*|\bsicherheitslücke\w*|\bsicherheitsupdate\w*|\bwarn(?:t|en|ung) vor\b"
    r"|\bbetrug\w*|\bretira(?:da|das)?\b|\bvulnerabilidad\w*|\bestafas?\b)"
    r"|リコール|脆弱性|警告|注意喚起|詐欺|召回|漏洞|诈骗|预警"
)
"""An incident about a product: a recall, a security advisory, a warning about scams. It is
news of the sector of its subject (an EV recall is about cars, a warning about deepfakes about
AI), but not of that sector's progress: ``bot.briefing.rank`` never lets it lead a section while
the section has other news. Read on headlines only. "recall" counts in lower case only ("Recall"
is also Microsoft's Windows feature), and not as a verb after "can", "could", "to" or a
negation ("you can recall ...")."""
INCIDENT_WORDS: tuple[str, ...] = (
    "recall",
    "security",
    "vulnerab",
    "exploit",
    "zero-day",
    "warn",
    "scam",
    "fraud",
    "phishing",
    "hacked",
    "rückruf",
    "sicherheit",
    "betrug",
    "retira",
    "estafa",
    "リコール",
    "脆弱性",
    "警告",
    "注意喚起",
    "詐欺",
    "召回",
    "漏洞",
    "诈骗",
    "预警",
)
"""Lower-case substrings one of which every ``PRODUCT_INCIDENT`` match contains."""


def default_sectors() -> tuple[SectorDef, ...]:
    """The built-in sectors, in display order; their terms live in ``BUILTIN_TERMS``."""
    return tuple(s.sector for s in builtin_sectors())
