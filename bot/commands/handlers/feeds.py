"""Admin commands for the feeds ShiftBrief follows: add, remove, list, health."""

from __future__ import annotations

from bot.commands import params as P
from bot.commands.declare import command
from bot.commands.handlers.base import Context, Reply
from bot.commands.help import usage
from bot.commands.model import AdminFeedsAdd, AdminFeedsHealth, AdminFeedsList, AdminFeedsRemove
from bot.commands.parse import CommandError
from bot.i18n import Catalog, catalog
from bot.ingest.catalog import FeedExistsError, UnsafeURLError, add_feed
from bot.untrusted import quote
from storage.repositories import feeds as feed_repo

MESSAGES: Catalog = catalog("handlers.feeds")


@command(
    "admin feeds add",
    AdminFeedsAdd,
    admin=True,
    usage=("<url> [sector]", "<URL> [セクター]"),
    help=("add a feed", "フィードを追加"),
    params=(
        P.url("url", "The feed's http(s) address", "フィードの http(s) アドレス"),
        P.sector("sector", "Sector hint", "想定するセクター", required=False),
    ),
)
async def feeds_add(ctx: Context, command: AdminFeedsAdd) -> Reply:
    limit = ctx.services.max_feeds_per_tenant
    if limit is not None:
        # The feeds of every tenant share one ingest: one admin must not fill it.
        count = await feed_repo.count_followed(ctx.session, ctx.tenant.id)
        if count >= limit:
            return Reply(text=ctx.say(MESSAGES, "feed_limit", count=count, limit=limit), error=True)
    try:
        feed = await add_feed(
            ctx.session,
            url=command.url,
            sector=command.sector,
            policy=ctx.services.address_policy,
            now=ctx.now,
            tenant_id=ctx.tenant.id,
        )
    except UnsafeURLError as exc:
        raise CommandError(
            str(exc), usage(command.kind, ctx.language), language=ctx.language
        ) from None
    except FeedExistsError:
        return Reply(text=ctx.say(MESSAGES, "feed_exists"))
    await ctx.audit("feeds add", {"url": feed.url, "sector": command.sector})
    return Reply(text=ctx.say(MESSAGES, "feed_added", id=feed.id, url=quote(feed.url)))


@command(
    "admin feeds remove",
    AdminFeedsRemove,
    admin=True,
    usage=("<id>", "<ID>"),
    help=("remove a feed", "フィードを削除"),
    params=(
        P.ident(
            "feed_id",
            "The feed id from feeds-list",
            "feeds-list に表示されるフィード ID",
            option="id",
        ),
    ),
)
async def feeds_remove(ctx: Context, command: AdminFeedsRemove) -> Reply:
    if not await feed_repo.remove_feed(ctx.session, command.feed_id, ctx.tenant.id):
        # Another tenant's feed is answered exactly like a missing one: its id says nothing.
        if command.feed_id in await feed_repo.shared_feed_ids(ctx.session):
            return Reply(text=ctx.say(MESSAGES, "feed_shared", id=command.feed_id))
        return Reply(text=ctx.say(MESSAGES, "feed_unknown", id=command.feed_id))
    await ctx.audit("feeds remove", {"feed_id": command.feed_id})
    return Reply(text=ctx.say(MESSAGES, "feed_removed", id=command.feed_id))


@command(
    "admin feeds list",
    AdminFeedsList,
    admin=True,
    help=("list feeds and their ids", "フィードと ID の一覧"),
)
async def feeds_list(ctx: Context, command: AdminFeedsList) -> Reply:
    feeds = await feed_repo.list_feeds(ctx.session, ctx.tenant.id)
    if not feeds:
        return Reply(text=ctx.say(MESSAGES, "feeds_none"))
    shared = await feed_repo.shared_feed_ids(ctx.session)
    hints = await feed_repo.sector_hints(ctx.session, ctx.tenant.id)
    mark = ctx.say(MESSAGES, "shared_mark")
    lines = [
        f"{f.id} {quote(f.title or '-')} <{quote(f.url)}>"
        + (f" [{quote(hints[f.id])}]" if f.id in hints else "")
        + (f" {mark}" if f.id in shared else "")
        for f in feeds
    ]
    return Reply(text="\n".join([ctx.say(MESSAGES, "feeds_title"), *lines]))


@command(
    "admin feeds health",
    AdminFeedsHealth,
    admin=True,
    help=("feeds that fail or went quiet", "エラーや更新停止中のフィード"),
)
async def feeds_health(ctx: Context, command: AdminFeedsHealth) -> Reply:
    feeds = await feed_repo.list_feeds(ctx.session, ctx.tenant.id)
    failing = [f for f in feeds if f.state.error_count]
    noted = [
        ctx.say(MESSAGES, "feed_note_line", id=f.id, url=quote(f.url), note=f.state.note)
        for f in feeds
        if f.state.note and not f.state.error_count
    ]
    notes = [ctx.say(MESSAGES, "feeds_noted"), *noted] if noted else []
    if not failing:
        return Reply(text="\n".join(notes or [ctx.say(MESSAGES, "feeds_healthy")]))
    lines = [
        ctx.say(
            MESSAGES,
            "feed_health_line",
            id=f.id,
            url=quote(f.url),
            errors=f.state.error_count,
            error=quote(f.state.last_error or "?"),
            next=f.state.next_check_at.strftime("%Y-%m-%d %H:%M"),
        )
        for f in sorted(failing, key=lambda f: -f.state.error_count)
    ]
    return Reply(text="\n".join([ctx.say(MESSAGES, "feeds_failing"), *lines, *notes]))
