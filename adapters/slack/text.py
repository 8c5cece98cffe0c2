"""Slack's markup in what users type, undone before the engine reads it.

Slack escapes ``&``, ``<`` and ``>`` in slash-command text (so ``<`` can only start its own
markup) and turns URLs into ``<https://x|x>`` links. The engine's grammar knows neither.
"""

from __future__ import annotations

import re

_LINK = re.compile(r"<((?:https?|mailto):[^<>|\s]*)(?:\|[^<>]*)?>", re.IGNORECASE)


def command_text(text: str) -> str:
    """``text`` as the user typed it: links back to their URL, then the three escapes undone."""
    text = _LINK.sub(lambda m: m[1], text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
