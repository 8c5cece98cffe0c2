"""The ``shiftbrief`` command line (typer + rich).

Every command reads the validated settings once, opens the database (migrating it first) and
prints either a rich table for people or JSON for scripts. Errors are one clear line on stderr and
a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from adapters.console import ConsoleAdapter
from bot.app import AppContext, open_app, open_ingest
from bot.briefing import embed
from bot.briefing.classify import Classifier, classify_jsonl
from bot.briefing.cluster_io import cluster_jsonl
from bot.briefing.edition import ItemClassifier, load_edition, load_sector_defs
from bot.briefing.editor.factory import make_editor
from bot.briefing.embed_worker import embed_until_done
from bot.briefing.render_text import briefing_to_json, clean_text, render_markdown, render_text
from bot.briefing.sector_vectors import SectorVectors, vector_classifier
from bot.commands.dispatcher import Dispatcher
from bot.commands.values import SectorIndex
from bot.config import ConfigError, Settings, load_settings
from bot.datacare import TransferError, export_config, import_config, read_document
from bot.demo import SECTOR_HINTS, serve_sample_feeds
from bot.ingest.catalog import FeedExistsError, UnsafeURLError, add_feed
from bot.ingest.netguard import AddressPolicy, validate_feed_url
from bot.ingest.opml import OpmlError, OpmlFeed, parse_opml, render_opml
from bot.ingest.service import FeedResult, IngestReport
from bot.models import Profile, SectorDef
from shiftbrief.logs import configure_logging
from shiftbrief.runner import run_bot
from storage.db import current_revision, make_engine, upgrade
from storage.repositories import archive
from storage.repositories import feeds as feed_repo


class Lang(enum.StrEnum):
    en = "en"
    ja = "ja"


class BriefLength(enum.StrEnum):
    short = "short"
    full = "full"


class EditorChoice(enum.StrEnum):
    extractive = "extractive"
    llm = "llm"


class OutputFormat(enum.StrEnum):
    markdown = "markdown"
    text = "text"
    json = "json"


P = ParamSpec("P")
T = TypeVar("T")

app = typer.Typer(
    name="shiftbrief",
    help="ShiftBrief: personalised daily tech briefings for Slack and Discord.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
feeds_app = typer.Typer(help="Add, list, remove, import and export feeds.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
discord_app = typer.Typer(help="Discord application commands.", no_args_is_help=True)
app.add_typer(discord_app, name="discord")
app.add_typer(feeds_app, name="feeds")
app.add_typer(db_app, name="db")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class UserError(Exception):
    """A problem the user can fix; shown as one line."""


def shown(text: object) -> Text:
    """Outside text (a feed's title, an error from a server) for rich: ``clean_text``, the
    terminal's defusing (no escape sequences), in a ``Text``, which rich never reads as markup."""
    return Text(clean_text("" if text is None else str(text)))


def run_async(func: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Run an async command body on a fresh event loop."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return asyncio.run(func(*args, **kwargs))

    return wrapper


def settings() -> Settings:
    return load_settings()


async def _ingest(
    ctx: AppContext, *, all_feeds: bool, on_progress: Callable[[FeedResult], None] | None = None
) -> IngestReport:
    async with open_ingest(ctx, after_store=ItemClassifier()) as service:
        return await service.run_pass(all_feeds=all_feeds, on_progress=on_progress)


@feeds_app.command("add")
@run_async
async def feeds_add(
    url: Annotated[str, typer.Argument(help="The feed's http(s) URL.")],
    sector: Annotated[
        str | None, typer.Option(help="Sector this feed leans to (a hint, never decisive).")
    ] = None,
) -> None:
    """Follow a feed. Its current items are kept as archive; later ones are news."""
    base = settings()
    async with open_app(base) as ctx, ctx.sessionmaker.begin() as session:
        try:
            feed = await add_feed(
                session,
                url=url,
                sector=sector,
                policy=AddressPolicy.from_settings(base),
                now=ctx.clock(),
            )
        except (UnsafeURLError, FeedExistsError) as exc:
            raise UserError(str(exc)) from None
    out.print(Text(f"Added feed {feed.id}: "), shown(url), sep="")


@feeds_app.command("list")
@run_async
async def feeds_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List feeds with their health."""
    async with open_app(settings()) as ctx, ctx.sessionmaker() as session:
        feeds = await feed_repo.list_feeds(session)
    rows = [
        {
            "id": f.id,
            "url": f.url,
            "title": f.title,
            "sector": f.sector_hint,
            "disabled": f.disabled,
            "errors": f.state.error_count,
            "last_error": f.state.last_error,
            "note": f.state.note,
            "next_check_at": f.state.next_check_at.isoformat(),
        }
        for f in feeds
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        out.print("No feeds yet. Add one with: shiftbrief feeds add URL")
        return
    table = Table("id", "title", "sector", "errors", "next check (UTC)", "url")
    for row in rows:
        errors = Text(str(row["errors"]), style="red" if row["errors"] else "")
        table.add_row(
            str(row["id"]),
            shown(row["title"]),
            shown(row["sector"]),
            errors,
            str(row["next_check_at"])[:16],
            shown(row["url"]),
            end_section=False,
        )
    out.print(table)


@feeds_app.command("remove")
@run_async
async def feeds_remove(feed_id: Annotated[int, typer.Argument(help="The feed's id.")]) -> None:
    """Stop following a feed and delete its items."""
    async with open_app(settings()) as ctx, ctx.sessionmaker.begin() as session:
        removed = await feed_repo.remove_feed(session, feed_id)
    if not removed:
        raise UserError(f"no feed with id {feed_id} (see: shiftbrief feeds list)")
    out.print(f"Removed feed {feed_id}.")


@feeds_app.command("import-opml")
@run_async
async def feeds_import_opml(
    file: Annotated[Path, typer.Argument(help="An OPML file exported by a feed reader.")],
) -> None:
    """Follow every feed of an OPML file (feeds already followed are skipped)."""
    try:
        entries = parse_opml(file.read_bytes())
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror}") from None
    except OpmlError as exc:
        raise UserError(f"{file}: {exc}") from None
    added = skipped = 0
    problems: list[str] = []
    base = settings()
    policy = AddressPolicy.from_settings(base)
    async with open_app(base) as ctx:
        for entry in entries:
            try:
                url = validate_feed_url(entry.url, policy)
            except UnsafeURLError as exc:
                problems.append(f"{entry.url}: {exc}")
                continue
            try:
                async with ctx.sessionmaker.begin() as session:
                    await feed_repo.add_feed(
                        session,
                        url=url,
                        title=entry.title,
                        sector_hint=entry.sector,
                        now=ctx.clock(),
                    )
                added += 1
            except feed_repo.FeedExistsError:
                skipped += 1
    for problem in problems:
        err.print(Text("skipped "), shown(problem), sep="")
    out.print(f"Imported {added} feeds ({skipped} already followed, {len(problems)} refused).")


@feeds_app.command("export-opml")
@run_async
async def feeds_export_opml(
    file: Annotated[
        Path | None, typer.Argument(help="Where to write; standard output when left out.")
    ] = None,
) -> None:
    """Write every feed as OPML 2.0, readable by common feed readers."""
    async with open_app(settings()) as ctx, ctx.sessionmaker() as session:
        feeds = await feed_repo.list_feeds(session)
        document = render_opml(
            (
                OpmlFeed(url=f.url, title=f.title, site_url=f.site_url, sector=f.sector_hint)
                for f in feeds
            ),
            now=ctx.clock(),
        )
    if file is None:
        sys.stdout.buffer.write(document)
    else:
        try:
            file.write_bytes(document)
        except OSError as exc:
            raise UserError(f"cannot write {file}: {exc.strerror}") from None
        out.print(f"Wrote {len(feeds)} feeds to {file}.")


@app.command("ingest")
@run_async
async def ingest(
    all_feeds: Annotated[bool, typer.Option("--all", help="Fetch every feed, due or not.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fetch the feeds that are due, once, and store what is new."""
    async with open_app(settings()) as ctx:
        if as_json or not out.is_terminal:
            report = await _ingest(ctx, all_feeds=all_feeds)
        else:
            with Progress(console=out, transient=True) as progress:
                task = progress.add_task("Fetching feeds", total=None)

                def advance(_result: FeedResult) -> None:
                    progress.advance(task)

                report = await _ingest(ctx, all_feeds=all_feeds, on_progress=advance)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return
    print_ingest_report(report)


def print_ingest_report(report: IngestReport) -> None:
    out.print(
        f"{report.feeds} feeds: {report.ok} ok, {report.not_modified} not modified, "
        f"{report.failed} failed; {report.new_items} new items."
    )
    for result in report.results:
        if result.status == "failed":
            err.print(
                Text(f"  feed {result.feed_id} failed: "),
                shown(result.error),
                Text(" ("),
                shown(result.url),
                Text(")"),
                sep="",
            )


@db_app.command("upgrade")
@run_async
async def db_upgrade() -> None:
    """Apply the database migrations (also done at every start)."""
    engine = make_engine(settings().database_url)
    try:
        await upgrade(engine)
        out.print(f"Database at revision {await current_revision(engine)}.")
    finally:
        await engine.dispose()


@app.command("demo")
@run_async
async def demo(
    reset: Annotated[bool, typer.Option(help="Start from an empty database.")] = False,
) -> None:
    """Ingest the bundled sample feeds from a loopback server (no network, no tokens)."""
    base = settings()
    if reset:
        _remove_sqlite_file(base.database_url)
    # The sample feeds are served on 127.0.0.1: allow exactly that, nothing else private.
    demo_settings = base.model_copy(update={"allowed_private_networks": ("127.0.0.1/32",)})
    async with serve_sample_feeds() as server, open_app(demo_settings) as ctx:
        out.rule("[bold]ShiftBrief demo[/bold]")
        out.print(f"Database: {demo_settings.database_url}")
        async with ctx.sessionmaker.begin() as session:
            known = {f.url for f in await feed_repo.list_feeds(session)}
            for name, url in server.urls():
                if url not in known:
                    await feed_repo.add_feed(
                        session, url=url, sector_hint=SECTOR_HINTS.get(name), now=ctx.clock()
                    )
        server.edition = "earlier"
        first = await _ingest(ctx, all_feeds=True)
        out.print(
            f"Followed {first.feeds} sample feeds; their {first.new_items} existing items are "
            "stored as archive, not news."
        )
        server.edition = "current"
        second = await _ingest(ctx, all_feeds=True)
        print_ingest_report(second)
        if embed.available():  # what `run` does in the background, done now for the demo
            with out.status("Embedding the news items so one event's reports make one story"):
                vectors = SectorVectors()  # and sectors for items the keyword rules cannot read
                done = await embed_until_done(
                    ctx.sessionmaker,
                    ctx.clock,
                    after_embed=vectors.after_embed(vector_classifier(vectors)),
                )
            out.print(f"Embedded {done} news items with {embed.model_name()}.")
        async with ctx.sessionmaker() as session:
            items = await archive.recent_items(session, limit=50, include_backlog=False)
        table = Table("feed", "lang", "published (UTC)", "title", title="What came in")
        for item, feed_title in items:
            published = item.published_at.strftime("%m-%d %H:%M") if item.published_at else "-"
            table.add_row(shown(feed_title), item.language, published, shown(item.title))
        out.print(table)
        dispatcher = Dispatcher(sessionmaker=ctx.sessionmaker, clock=ctx.clock)
        for user, locale, script in DEMO_SUBSCRIBERS:
            out.rule(f"[bold]{user}[/bold]")
            console = ConsoleAdapter(user_id=user, tenant_id="demo", locale=locale)
            for line in script:
                out.print(f"[bold cyan]> {line}[/bold cyan]", highlight=False)
                await console.ask(dispatcher, line)


DEMO_SUBSCRIBERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "sam",
        "en",
        (
            "/brief subscribe ai green life",
            "/brief follow battery",
            "/brief settings time 07:30 tz Europe/Berlin days mon-fri",
            "/brief today",
        ),
    ),
    (
        "aiko",
        "ja",
        (
            "/brief subscribe green quantum mobility",
            "/brief settings lang ja length short tz Asia/Tokyo",
            "/brief today",
            "/brief sector quantum",
            "/brief search 太陽電池",
            "/brief subscribe space",
            "/brief settings tz Mars/Olympus",
        ),
    ),
)


@app.command("classify")
def classify() -> None:
    """Read JSON Lines {"id", "title", "summary"} on stdin, write their sectors as JSON Lines."""
    classifier = Classifier(sectors=_current_sectors())
    for line in classify_jsonl(sys.stdin, classifier):
        sys.stdout.write(line + "\n")


def _sector_keys(text: str, defs: Sequence[SectorDef]) -> tuple[str, ...]:
    """Comma-separated sectors as typed (``AI,Green``, ``量子``) -> their keys, as in chat.

    Raises:
        UserError: one is not a sector; the message names it and the valid ones.
    """
    index = SectorIndex(defs)
    keys: list[str] = []
    for word in (w.strip() for w in re.split(r"[,、]", text)):
        if not word:
            continue
        if (key := index.find(word)) is None:
            valid = ", ".join(f"{d.key} ({d.name_en} / {d.name_ja})" for d in defs)
            raise UserError(f"unknown sector {word!r}: use a key or a name: {valid}")
        keys.append(key)
    return tuple(dict.fromkeys(keys))


@app.command("cluster")
def cluster(
    lexical: Annotated[
        bool, typer.Option("--lexical", help="Use only the lexical clusterer (no model).")
    ] = False,
) -> None:
    """Read JSON Lines {"id", "lang", "source", "title", "summary", "published"} on stdin and
    write {"id", "story"} per item: items of one story share the story value."""
    for line in cluster_jsonl(sys.stdin, use_embeddings=not lexical):
        sys.stdout.write(line + "\n")


def _current_sectors() -> list[SectorDef]:
    """The sectors in the database (admins' included), or the defaults when there is none."""

    async def load() -> list[SectorDef]:
        async with open_app(settings()) as ctx, ctx.sessionmaker() as session:
            return await load_sector_defs(session)

    return asyncio.run(load())


@app.command("brief")
@run_async
async def brief(
    sectors: Annotated[
        str | None,
        typer.Option(help="Comma-separated sectors, by key or name (default: all)."),
    ] = None,
    lang: Annotated[Lang, typer.Option(help="Language of the briefing.")] = Lang.en,
    length: Annotated[BriefLength, typer.Option(help="short or full.")] = BriefLength.full,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.markdown
    ),
    date: Annotated[
        str | None,
        typer.Option(
            help="YYYY-MM-DD: what was published that day (UTC), archive included, instead "
            "of the last 24 hours' news."
        ),
    ] = None,
    editor: Annotated[
        EditorChoice | None,
        typer.Option(
            help="Who writes it: extractive (no model) or llm (SHIFTBRIEF_LLM_BASE_URL and "
            "SHIFTBRIEF_LLM_MODEL). Default: SHIFTBRIEF_EDITOR."
        ),
    ] = None,
) -> None:
    """Print a briefing from what is stored."""
    config = settings()
    async with open_app(config) as ctx, ctx.sessionmaker() as session:
        try:
            writer = make_editor(
                config,
                sessionmaker=ctx.sessionmaker,
                clock=ctx.clock,
                choice=editor.value if editor else None,
            )
        except ValueError as exc:
            raise UserError(f"--editor llm: {exc}") from None
        defs = await load_sector_defs(session)
        known = [s.key for s in defs]
        chosen = _sector_keys(sectors, defs) if sectors else ()
        now = ctx.clock()
        since = until = None
        day = None
        if date is not None:
            try:
                day = dt.date.fromisoformat(date)
            except ValueError:
                raise UserError(f"--date {date!r} is not a date like 2026-11-28") from None
            since = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
            until = since + dt.timedelta(days=1)
            now = min(now, until)
        # A past day as the archive has it: new feeds' back issues of that day count too.
        edition = await load_edition(
            session,
            now=now,
            since=since,
            until=until,
            include_archive=day is not None,
            editor=writer,
            languages=[lang.value],
        )
    profile = Profile(sectors=chosen or tuple(known), language=lang.value, length=length.value)
    briefing = edition.compose(profile, date=day)
    if fmt is OutputFormat.json:
        print(json.dumps(briefing_to_json(briefing), ensure_ascii=False, indent=2))
    elif fmt is OutputFormat.text:
        print(render_text(briefing))
    else:
        print(render_markdown(briefing))


@app.command("console")
@run_async
async def console(
    user: Annotated[str, typer.Option(help="The simulated user's id.")] = "console-user",
    tenant: Annotated[str, typer.Option(help="The simulated workspace or guild.")] = "local",
    admin: Annotated[bool, typer.Option("--admin", help="Act as a workspace admin.")] = False,
    markdown: Annotated[bool, typer.Option(help="Show briefings as Markdown.")] = False,
) -> None:
    """Chat with ShiftBrief in the terminal: type /brief today, /brief help ... (quit to leave)."""
    async with open_app(settings()) as ctx:
        dispatcher = Dispatcher(
            sessionmaker=ctx.sessionmaker,
            clock=ctx.clock,
            address_policy=AddressPolicy.from_settings(ctx.settings),
        )
        adapter = ConsoleAdapter(user_id=user, tenant_id=tenant, is_admin=admin, markdown=markdown)
        if sys.stdin.isatty():
            out.print("ShiftBrief console: type /brief help, or quit to leave.")
        await adapter.start(dispatcher)
        await adapter.close()


@discord_app.command("sync")
@run_async
async def discord_sync(
    guild: Annotated[
        int | None, typer.Option(help="Sync to one guild only (shows up at once; for testing).")
    ] = None,
) -> None:
    """Register the /brief commands with Discord (Discord allows 200 creates a day per guild)."""
    from adapters.discord.adapter import DiscordAdapter, sync_commands

    base = settings()
    if base.discord_token is None:
        raise UserError("DISCORD_TOKEN is not set")
    async with open_app(base) as ctx:
        adapter = DiscordAdapter(
            settings=base, sessionmaker=ctx.sessionmaker, clock=ctx.clock, sync_at_login=False
        )
        try:
            await adapter.login(Dispatcher(sessionmaker=ctx.sessionmaker, clock=ctx.clock))
            names = await sync_commands(adapter.client, guild)
        finally:
            await adapter.close()
    where = f"guild {guild}" if guild else "every guild (global commands)"
    out.print(f"Synced {', '.join(names)} to {where}.")


@app.command("export")
@run_async
async def export(
    file: Annotated[
        Path | None, typer.Argument(help="Where to write; standard output when left out.")
    ] = None,
) -> None:
    """Write subscribers, schedules, feeds, sectors and related reading as JSON."""
    async with open_app(settings()) as ctx, ctx.sessionmaker() as session:
        document = await export_config(session, now=ctx.clock())
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if file is None:
        sys.stdout.write(text)
        return
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {file}: {exc.strerror}") from None
    err.print(f"Exported the configuration to {file}.")


@app.command("import")
@run_async
async def import_(
    file: Annotated[Path, typer.Argument(help="A file written by shiftbrief export.")],
) -> None:
    """Load a configuration exported from any ShiftBrief database (SQLite or PostgreSQL).

    Rows with the same natural key are updated, nothing is deleted, and importing twice
    changes nothing; a running bot picks up imported schedules within its takeover interval.
    """
    try:
        document = read_document(file.read_bytes())
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror}") from None
    except TransferError as exc:
        raise UserError(f"{file} is {exc}") from None
    async with open_app(settings()) as ctx:
        try:
            async with ctx.sessionmaker.begin() as session:
                report = await import_config(
                    session,
                    document,
                    now=ctx.clock(),
                    address_policy=AddressPolicy.from_settings(ctx.settings),
                )
        except TransferError as exc:
            raise UserError(f"{file}: {exc}") from None
    out.print(report.summary(), markup=False, highlight=False)


@app.command("run")
def run() -> None:
    """Run the bot: scheduler, ingest, delivery, and every configured adapter."""
    base = settings()
    configure_logging(base)
    asyncio.run(run_bot(base))


def _remove_sqlite_file(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise UserError("--reset only removes SQLite databases")
    for suffix in ("", "-wal", "-shm"):
        Path(parsed.database + suffix).unlink(missing_ok=True)


def main() -> None:
    """Entry point of the ``shiftbrief`` console script."""
    try:
        app()
    except (UserError, ConfigError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason = str(orig) if orig is not None else str(exc).splitlines()[0]
        err.print(f"error: database: {reason}", markup=False, highlight=False)
        sys.exit(1)
    except OSError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
