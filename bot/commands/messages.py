"""The parser's phrases, English and Japanese: errors, the help title, names of arguments."""

from __future__ import annotations

from bot.i18n import Catalog, catalog, phrase
from bot.models import Language

MESSAGES: Catalog = catalog("commands")


_ECHO_CHARS = 60
_ECHOED = ("value", "word", "words")


def say(key: str, language: Language, /, **values: str) -> str:
    """A catalog phrase; the user's own text is shortened so a reply stays readable."""
    for name in _ECHOED:
        if name in values and len(values[name]) > _ECHO_CHARS:
            values[name] = values[name][: _ECHO_CHARS - 1] + "…"
    return phrase(MESSAGES, key, language, **values)
