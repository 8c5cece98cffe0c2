"""Remove publishers' boilerplate from titles and summaries, by rules kept as data.

The rules live in ``boilerplate.toml`` next to this module (see its header for the format), so
adding one is an edit to a data file with a test, not to code. Each was seen on a real feed: a
WordPress "The post ... appeared first on ...", arXiv's announcement header, Hacker News scores,
journal citations and author lists standing in for a summary, "Continue reading", "[…]",
newsletter lead-ins, aggregators' publisher suffixes, a query string as a feed's name.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from bot.ingest.literals import required_literals

Field = Literal["title", "summary", "feed"]
"""What a rule reads: an item's title or summary, or the feed's own title (its display name)."""
Action = Literal["strip", "drop"]
_WS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Rule:
    """One boilerplate rule (see ``boilerplate.toml``)."""

    name: str
    field: Field
    action: Action
    pattern: re.Pattern[str]
    replace: str = ""
    hint: tuple[str, ...] | None = None
    """Strings one of which every match contains (``bot.ingest.literals``); text with none
    of them is not searched."""


def load_rules(text: str) -> tuple[Rule, ...]:
    """Rules from TOML text in the format of ``boilerplate.toml``.

    Raises:
        ValueError: a rule lacks a key, names an unknown field or action, or its pattern does
            not compile.
    """
    rules = []
    for number, raw in enumerate(tomllib.loads(text).get("rule", []), start=1):
        name = raw.get("name") or f"rule {number}"
        field, action = raw.get("field"), raw.get("action")
        if field not in ("title", "summary", "feed"):
            raise ValueError(f"boilerplate {name}: field must be 'title', 'summary' or 'feed'")
        if action not in ("strip", "drop"):
            raise ValueError(f"boilerplate {name}: action must be 'strip' or 'drop'")
        try:
            pattern = re.compile(str(raw["pattern"]))
        except KeyError:
            raise ValueError(f"boilerplate {name}: no pattern") from None
        except re.error as exc:
            raise ValueError(f"boilerplate {name}: bad pattern: {exc}") from exc
        replace = str(raw.get("replace", ""))
        rules.append(Rule(name, field, action, pattern, replace, required_literals(pattern)))
    return tuple(rules)


@functools.cache
def builtin_rules() -> tuple[Rule, ...]:
    """The rules shipped in ``bot/ingest/boilerplate.toml``."""
    return load_rules(_builtin_text())


@functools.cache
def rules_fingerprint() -> str:
    """A digest of the shipped rules: what normalised text depends on besides the code."""
    return hashlib.sha256(_builtin_text().encode("utf-8")).hexdigest()[:16]


@functools.cache
def _builtin_text() -> str:
    return resources.files("bot.ingest").joinpath("boilerplate.toml").read_text("utf-8")


def clean(text: str, field: Field, rules: Sequence[Rule] | None = None) -> str:
    """``text`` (plain, whitespace collapsed) without the boilerplate the rules describe."""
    if not text:
        return text
    for rule in builtin_rules() if rules is None else rules:
        if rule.field != field:
            continue
        if rule.hint is not None and not any(literal in text for literal in rule.hint):
            continue  # it cannot match: most rules, for most text
        if rule.action == "drop":
            if rule.pattern.fullmatch(text):
                return ""
        else:
            text = rule.pattern.sub(rule.replace, text)
    return _WS.sub(" ", text).strip()
