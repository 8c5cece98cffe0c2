"""Usage lines and help, in English and Japanese, from the command declarations."""

from __future__ import annotations

from bot.commands.declare import specs
from bot.commands.messages import say
from bot.models import Language


def kinds_in(topic: str) -> list[str]:
    """The declared kinds a help topic covers: one command, or every command of a group."""
    topic = " ".join(topic.lower().split())
    kinds = [s.kind for s in specs()]
    if topic in kinds:
        return [topic]
    return [k for k in kinds if topic and k.startswith(topic + " ")]


def help_topics() -> tuple[str, ...]:
    """Every command and group one can ask help on (``admin``, ``admin feeds``, ``today``)."""
    return tuple(
        sorted({" ".join(s.kind.split()[:n]) for s in specs() if s.kind for n in (1, 2, 3)})
    )


def usage(kind: str, language: Language = "en") -> str:
    """The usage line of ``kind`` (``"sector"``, ``"admin feeds add"``), or of every command
    in a group (``"admin"``, ``"admin feeds"``), one per line.

    Raises:
        KeyError: ``kind`` is neither a command nor a group.
    """
    kinds = kinds_in(kind)
    if not kinds:
        raise KeyError(kind)
    by_kind = {s.kind: s for s in specs()}
    return "\n".join(by_kind[k].usage(language) for k in kinds)


def help_text(
    language: Language = "en", topic: str | None = None, *, include_admin: bool = True
) -> str:
    """Command lines with a short description each; only ``topic``'s when given.

    Raises:
        KeyError: ``topic`` is neither a command nor a group.
    """
    if topic is None:
        chosen = [s for s in specs() if include_admin or not s.admin]
        heading: str | None = say("help_title", language)
    else:
        kinds = kinds_in(topic)
        if not kinds:
            raise KeyError(topic)
        chosen = [s for s in specs() if s.kind in kinds]
        heading = None
    lines = [f"{s.usage(language)} — {s.help(language)}" for s in chosen]
    return "\n".join([f"{heading}:", *lines] if heading else lines)
