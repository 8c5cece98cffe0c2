"""Grounded, or not shown: checks on every piece of machine-written text (pure).

A number, amount, percentage or date in generated text must be stated by the sources of the
story it is about; text that carries a link or a mention is refused whatever it says. Numbers
are compared as values (``numbers``), whichever way they are written: "2億5000万ドル" is
grounded by "$250M", "10万台近く" by "close to 100,000", "3倍" by "triple", "2カ月連続" by
"second consecutive month", "3月" by "March"; "nine hundred eighty-seven thousand percent" and
"九十八万七千六百五十四パーセント" are numbers like any other and refused unless stated.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.briefing.editor.numbers import Stated, find_numbers, is_grounded, stated

_UNSAFE = re.compile(
    r"https?:|www\.|\]\(|<[!@#]|@(?:everyone|here|channel)\b|@\w|\b[\w-]+\.(?:com|net|org|io|"
    r"example|jp|co)\b",
    re.IGNORECASE,
)


def numbers(text: str, *, source: bool = False) -> set[float]:
    """The values of the numbers ``text`` states (every reading, for a source)."""
    return {v for found in find_numbers(text, source=source) for v in found.values}


def ungrounded(generated: str, sources: Iterable[str] | Stated) -> set[str]:
    """The numbers of ``generated``, as written, that none of ``sources`` states."""
    facts = sources if isinstance(sources, Stated) else stated(sources)
    return {f.text for f in find_numbers(generated) if not is_grounded(f, facts)}


def unsafe(generated: str) -> bool:
    """Whether ``generated`` carries a link, a domain or a mention (never shown, whatever)."""
    return bool(_UNSAFE.search(unicodedata.normalize("NFKC", generated)))


def check(pieces: Iterable[str], sources: Iterable[str]) -> str | None:
    """Why ``pieces`` of generated text may not be shown (None: they may).

    Returns:
        "unsafe" for a link or mention, "ungrounded" for a number or date not in ``sources``.
    """
    facts = stated(sources)
    for piece in pieces:
        if unsafe(piece):
            return "unsafe"
        if ungrounded(piece, facts):
            return "ungrounded"
    return None
