"""Text from outside inside our own replies: marked where it is quoted, defused where it is shown.

A reply's text is one of our phrases with values filled in, and some values came from outside:
a feed's title, a server's HTTP reason phrase, a URL an admin typed. Only the surface showing the
reply knows what such text could do there (a masked link in Discord, ``<!channel>`` in Slack,
rich markup or an escape sequence in a terminal), so the dispatcher wraps each outside value
with :func:`quote`, and every surface shows a reply through :func:`render` with its one
escaping function, the one it uses for feed text everywhere else.

The marks are two private-use characters; :func:`quote` removes them from the value itself, so
quoted text cannot end its quote early and pass the rest off as ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable

OPEN = "\ue000"
CLOSE = "\ue001"
_QUOTED = re.compile(f"{OPEN}([^{OPEN}{CLOSE}]*){CLOSE}")
_MARKS = re.compile(f"[{OPEN}{CLOSE}]")


def quote(value: object) -> str:
    """``value`` as text from outside, for a reply's text."""
    return f"{OPEN}{_MARKS.sub('', str(value))}{CLOSE}"


def _as_is(text: str) -> str:
    return text


def render(text: str, escape: Callable[[str], str], ours: Callable[[str], str] = _as_is) -> str:
    """``text`` for one surface: quoted parts through ``escape``, the rest through ``ours``.

    Args:
        text: a reply's text, with outside values quoted.
        escape: the surface's defusing of outside text.
        ours: what the surface does to our own phrases (they may hold markup of ours).
    """
    out: list[str] = []
    position = 0
    for match in _QUOTED.finditer(text):
        out.append(ours(plain(text[position : match.start()])))
        out.append(escape(match[1]))
        position = match.end()
    out.append(ours(plain(text[position:])))
    return "".join(out)


def plain(text: str) -> str:
    """``text`` without the quote marks (for logs, and surfaces that show text as it is)."""
    return _MARKS.sub("", text)
