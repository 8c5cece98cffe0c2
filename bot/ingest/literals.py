"""Strings a regular expression's every match must contain, to skip it on text without them.

Boilerplate rules run on every new entry's title and summary, and most of them never match: a
search for ``\\s*\\[continued\\]\\s*$`` still tries every position of a 4,000-character summary.
If every match contains "[continued]" and the text does not, the regular expression cannot
match, and ``str.__contains__`` says so far faster. The hint is read from the pattern's parse
tree (Python's own ``re`` parser); a pattern it cannot read plainly gets no hint and always runs.
"""

from __future__ import annotations

import re
from typing import Any

_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def required_literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Strings at least one of which occurs in every match of ``pattern``, or None.

    Case-insensitive patterns get None (their matches need not contain the literal as written).
    """
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        from re import _parser  # type: ignore[attr-defined]

        tree = _parser.parse(pattern.pattern, pattern.flags)
        found = _sequence(list(tree))
    except Exception:  # a future parser's shape: no hint, the rule just runs
        return None
    return tuple(sorted(found)) if found else None


def _sequence(items: list[tuple[Any, Any]]) -> frozenset[str] | None:
    """The best requirement of a sequence: its longest run of literal characters, or a
    requirement of one of its parts, whichever has the longer shortest string."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []
    for op, value in items:
        if str(op) == "LITERAL":
            run.append(chr(value))
            continue
        if run:
            candidates.append(frozenset({"".join(run)}))
            run = []
        part = _item(str(op), value)
        if part:
            candidates.append(part)
    if run:
        candidates.append(frozenset({"".join(run)}))
    if not candidates:
        return None
    return max(candidates, key=lambda c: min(len(s) for s in c))


def _item(op: str, value: Any) -> frozenset[str] | None:
    if op == "SUBPATTERN":
        _group, add_flags, _del_flags, body = value
        if add_flags & re.IGNORECASE:
            return None
        return _sequence(list(body))
    if op in _REPEATS:
        low, _high, body = value
        return _sequence(list(body)) if low >= 1 else None
    if op == "BRANCH":
        _none, branches = value
        found: set[str] = set()
        for branch in branches:
            part = _sequence(list(branch))
            if not part:
                return None  # a branch that needs nothing: the whole needs nothing
            found |= part
        return frozenset(found)
    return None
