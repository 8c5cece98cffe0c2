"""Requests from a briefing's controls: votes, "More on <sector>", and the reader's view.

Adapters turn a button press, a 👍/👎 reaction (added, or removed: a vote taken back) or an App
Home visit into one of these values; they are declared like every command (``listed=False``:
nobody types them) and answered here, so feedback is stored once for every platform and replies
follow the reader's language.
"""

from __future__ import annotations

from bot.briefing.edition import load_edition, profile_of
from bot.commands.declare import command
from bot.commands.handlers.base import Context, ReaderSettings, Reply
from bot.commands.handlers.reader import sector
from bot.commands.model import MoreOn, ReaderView, SectorSummary, Vote
from bot.i18n import Catalog, catalog
from storage.repositories.feedback import record_feedback, withdraw_vote

MESSAGES: Catalog = catalog("handlers.feedback")

MAX_STORY_KEY = 64


async def _record(ctx: Context, story_key: str, kind: str, value: int, sector: str | None) -> None:
    inv = ctx.invocation
    await record_feedback(
        ctx.session,
        platform=inv.platform,
        tenant_id=inv.tenant_id or None,
        user_id=inv.user_id,
        story_key=story_key[:MAX_STORY_KEY],
        kind=kind,
        value=value,
        sector_key=sector,
        now=ctx.now,
    )


@command("vote", Vote, help=("rate a story", "記事を評価"), listed=False, typed=False)
async def vote(ctx: Context, command: Vote) -> Reply:
    value = 1 if command.value > 0 else -1
    if command.withdraw:
        inv = ctx.invocation
        await withdraw_vote(
            ctx.session,
            platform=inv.platform,
            user_id=inv.user_id,
            story_key=command.story_key[:MAX_STORY_KEY],
            value=value,
        )
        return Reply(text=ctx.say(MESSAGES, "withdrawn"))
    await _record(ctx, command.story_key, "vote", value, command.sector)
    return Reply(text=ctx.say(MESSAGES, "thanks_up" if value > 0 else "thanks_down"))


@command("more", MoreOn, help=("more on a sector", "セクターの続き"), listed=False, typed=False)
async def more(ctx: Context, command: MoreOn) -> Reply:
    # The summary first: on SQLite, the feedback row's write would hold the write lock while
    # a model writes the summary, and the editor could not store what it wrote.
    reply = await sector(ctx, SectorSummary(command.sector))
    await _record(ctx, command.story_key, "more", 1, command.sector)
    return reply


@command(
    "reader view",
    ReaderView,
    help=("your settings and today's stories", "設定と本日のニュース"),
    listed=False,
    typed=False,
)
async def reader_view(ctx: Context, command: ReaderView) -> Reply:
    user = ctx.user
    edition = await load_edition(
        ctx.session,
        now=ctx.now,
        editor=ctx.services.editor,
        languages=[ctx.language],
        scope=ctx.tenant.id,
    )
    briefing = edition.compose(profile_of(user, all_sectors=[s.key for s in ctx.sectors]))
    settings = ReaderSettings(
        sectors=tuple(user.sectors),
        delivery_time=user.delivery_time,
        timezone=user.timezone,
        days=tuple(user.days),
        language=ctx.language,
        length=user.length,
        follow=tuple(user.follow),
        mute=tuple(user.mute),
    )
    return Reply(briefing=briefing, settings=settings, sectors=tuple(ctx.sectors))
