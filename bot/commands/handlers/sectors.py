"""Admin commands for sectors and their related reading."""

from __future__ import annotations

from datetime import timedelta

from bot.briefing.edition import reclassify_since
from bot.commands import params as P
from bot.commands.declare import command
from bot.commands.handlers.base import Context, Reply
from bot.commands.model import AdminReadingAdd, AdminSectorsAdd, AdminSectorsList
from bot.commands.values import MAX_KEYWORD_CHARS
from bot.i18n import Catalog, catalog
from bot.untrusted import quote
from storage.repositories import sectors as sector_repo

MESSAGES: Catalog = catalog("handlers.sectors")


@command(
    "admin sectors add",
    AdminSectorsAdd,
    admin=True,
    usage=("<key> <name_en> <name_ja> [keywords...]", "<キー> <英語名> <日本語名> [キーワード...]"),
    help=("create a sector", "セクターを作成"),
    params=(
        P.sector_key(
            "key",
            "Up to 32 lowercase letters, digits, - or _",
            "英小文字・数字・- または _ で 32 文字まで",
        ),
        P.word("name_en", "English name", "英語の名前", limit=64),
        P.word("name_ja", "Japanese name", "日本語の名前", limit=64),
        P.terms(
            "keywords",
            "Extra terms, comma-separated",
            "追加の語（カンマ区切り）",
            limit=MAX_KEYWORD_CHARS,
        ),
    ),
)
async def sectors_add(ctx: Context, command: AdminSectorsAdd) -> Reply:
    key, name_en, name_ja = command.key, command.name_en, command.name_ja
    try:
        async with ctx.session.begin_nested():
            await sector_repo.add_sector(
                ctx.session,
                key=key,
                name_en=name_en,
                name_ja=name_ja,
                keywords=command.keywords,
                now=ctx.now,
                tenant_id=ctx.tenant.id,
            )
    except sector_repo.SectorExistsError:
        # Keys are [a-z0-9_-] (``params.sector_key``): shown as they are, in code spans.
        return Reply(text=ctx.say(MESSAGES, "sector_exists", key=key))
    detail = {
        "key": key,
        "name_en": name_en,
        "name_ja": name_ja,
        "keywords": list(command.keywords),
    }
    await ctx.audit("sectors add", detail)
    count = await reclassify_since(
        ctx.session, since=ctx.now - timedelta(days=7), classifier=ctx.services.classifier
    )
    return Reply(
        text=ctx.say(
            MESSAGES,
            "sector_added",
            key=key,
            name_en=quote(name_en),
            name_ja=quote(name_ja),
            count=count,
        )
    )


@command(
    "admin sectors list", AdminSectorsList, admin=True, help=("list sectors", "セクターの一覧")
)
async def sectors_list(ctx: Context, command: AdminSectorsList) -> Reply:
    lines = [
        f"`{s.key}` {quote(s.name(ctx.language))}"
        + (f" — {', '.join(map(quote, s.keywords))}" if s.keywords else "")
        for s in ctx.sectors
    ]
    return Reply(text="\n".join([ctx.say(MESSAGES, "sectors_title"), *lines]))


def _reading(target: tuple[str, str], url: str, title: str) -> AdminReadingAdd:
    kind, value = target
    if kind == "sector":
        return AdminReadingAdd(url, title, sector=value)
    return AdminReadingAdd(url, title, keyword=value)


@command(
    "admin reading add",
    AdminReadingAdd,
    admin=True,
    usage=("<sector|keyword> <url> <title...>", "<セクター|キーワード> <URL> <タイトル...>"),
    help=("attach an explainer link", "解説リンクを登録"),
    params=(
        P.sector_or_keyword(
            "target",
            "A sector key, or a keyword",
            "セクターのキー、またはキーワード",
            limit=MAX_KEYWORD_CHARS,
        ),
        P.url("url", "The link", "リンク"),
        P.phrase("title", "What the link is", "リンクの内容", limit=200),
    ),
    build=_reading,
)
async def reading_add(ctx: Context, command: AdminReadingAdd) -> Reply:
    await sector_repo.add_reading(
        ctx.session,
        url=command.url,
        title=command.title,
        sector_key=command.sector,
        keyword=command.keyword,
        created_by=ctx.invocation.user_id,
        now=ctx.now,
        tenant_id=ctx.tenant.id,
    )
    detail = {
        "url": command.url,
        "title": command.title,
        "sector": command.sector,
        "keyword": command.keyword,
    }
    await ctx.audit("reading add", detail)
    target = command.sector or command.keyword or ""
    return Reply(
        text=ctx.say(MESSAGES, "reading_added", target=quote(target), title=quote(command.title))
    )
