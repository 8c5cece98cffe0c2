"""``/brief settings learned`` and ``settings reset-learning``: what votes taught the ranking.

On Discord ``settings`` is one command with options, which cannot also hold subcommands: there
these are ``/brief settings-learned`` and ``/brief settings-reset-learning`` (as ``admin feeds
add`` is ``/brief admin feeds-add``), answered by the same handlers.
"""

from __future__ import annotations

import re

from bot.commands.declare import command
from bot.commands.handlers.base import Context, Reply
from bot.commands.model import LearnedView, LearningReset
from bot.i18n import Catalog, catalog
from bot.stories.learning import learned_weights
from bot.untrusted import quote

MESSAGES: Catalog = catalog("handlers.learning")
SHOWN = 6
_PATTERN = re.compile(r"[\\\[\](){}|?*+^$]")
"""A subject with these is a sector rule's pattern (``\\d\\s?(?:[kmgt]wh?...)``), which counts
for the ranking but means nothing to a reader: it is not listed."""


def listed(weights: dict[str, float]) -> dict[str, float]:
    """The learned facets a reader is shown: all but subjects that are rule patterns."""
    return {
        f: w
        for f, w in weights.items()
        if not (f.startswith("subject:") and _PATTERN.search(f.partition(":")[2]))
    }


def _facet(ctx: Context, facet: str, weight: float) -> str:
    kind, _, value = facet.partition(":")
    names = {s.key: s.name(ctx.language) for s in ctx.sectors}
    shown = names.get(value, value) if kind == "sector" else value
    label = ctx.say(MESSAGES, f"facet_{kind}")
    return f"{quote(shown)} ({label}, {weight:+.1f})"


@command(
    "settings learned",
    LearnedView,
    help=("what your votes taught your ranking", "評価から学んだ並び順の好み"),
)
async def learned(ctx: Context, command: LearnedView) -> Reply:
    weights = await learned_weights(ctx.session, ctx.user, now=ctx.now)
    if not weights:
        return Reply(text=ctx.say(MESSAGES, "nothing"))
    ranked = sorted(listed(weights).items(), key=lambda kv: -abs(kv[1]))[: SHOWN * 2]
    more = [_facet(ctx, f, w) for f, w in ranked if w > 0][:SHOWN]
    less = [_facet(ctx, f, w) for f, w in ranked if w < 0][:SHOWN]
    lines = [ctx.say(MESSAGES, "title")]
    if more:
        lines.append(ctx.say(MESSAGES, "more", facets=", ".join(more)))
    if less:
        lines.append(ctx.say(MESSAGES, "less", facets=", ".join(less)))
    lines.append(ctx.say(MESSAGES, "how"))
    return Reply(text="\n".join(lines))


@command(
    "settings reset-learning",
    LearningReset,
    help=("forget what your votes taught", "評価から学んだ好みを消去"),
)
async def reset_learning(ctx: Context, command: LearningReset) -> Reply:
    ctx.user.learning_since = ctx.now
    ctx.user.updated_at = ctx.now
    return Reply(text=ctx.say(MESSAGES, "reset"))
