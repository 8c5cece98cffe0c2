"""``shiftbrief demo``, ``classify`` and ``brief``: briefings from the command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.app import open_app
from shiftbrief.cli.base import (
    BriefLength,
    EditorChoice,
    Lang,
    OutputFormat,
    UserError,
    app,
    err,
    out,
    print_ingest_report,
    run_async,
    run_pass,
    sector_keys,
    settings,
    shown,
)

if TYPE_CHECKING:
    from bot.briefing.sector_vectors import SectorVectors
    from bot.models import SectorDef

# Each command imports what it runs in its body (see shiftbrief/cli/__init__.py).


@app.command("demo")
@run_async
async def demo(
    reset: Annotated[bool, typer.Option(help="Start from an empty database.")] = False,
) -> None:
    """Ingest the bundled sample feeds from a loopback server (no network, no tokens)."""
    from rich.table import Table

    from adapters.console import ConsoleAdapter
    from bot.briefing import embed
    from bot.briefing.embed_worker import embed_until_done
    from bot.briefing.sector_vectors import SectorVectors, vector_classifier
    from bot.commands.dispatcher import Dispatcher
    from bot.demo import SECTOR_HINTS, serve_sample_feeds
    from storage.repositories import archive
    from storage.repositories import feeds as feed_repo

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
        first = await run_pass(ctx, all_feeds=True)
        out.print(
            f"Followed {first.feeds} sample feeds; their {first.new_items} existing items are "
            "stored as archive, not news."
        )
        server.edition = "current"
        second = await run_pass(ctx, all_feeds=True)
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
def classify(
    lexical: Annotated[
        bool,
        typer.Option("--lexical", help="Use only the keyword rules (no model), as on ingest."),
    ] = False,
) -> None:
    """Read JSON Lines {"id", "title", "summary", "lang"} on stdin and write their sectors as JSON
    Lines, as the bot decides them (with the embedding rescue when the model is installed)."""
    from bot.briefing.classify import Classifier
    from bot.briefing.classify_io import classify_jsonl

    vectors = None
    if not lexical:
        from bot.briefing import embed
        from bot.briefing.sector_vectors import SectorVectors

        vectors = SectorVectors() if embed.available() else None
    defs = _current_sectors(vectors)
    for line in classify_jsonl(sys.stdin, Classifier(sectors=defs), vectors=vectors):
        sys.stdout.write(line + "\n")


@app.command("cluster")
def cluster(
    lexical: Annotated[
        bool, typer.Option("--lexical", help="Use only the lexical clusterer (no model).")
    ] = False,
) -> None:
    """Read JSON Lines {"id", "lang", "source", "title", "summary", "published"} on stdin and
    write {"id", "story"} per item: items of one story share the story value."""
    from bot.briefing.cluster_io import cluster_jsonl

    for line in cluster_jsonl(sys.stdin, use_embeddings=not lexical):
        sys.stdout.write(line + "\n")


def _current_sectors(vectors: SectorVectors | None = None) -> list[SectorDef]:
    """The sectors in the database (admins' included), or the defaults when there is none;
    with ``vectors``, their prototypes are made as the bot makes them."""
    from bot.briefing.edition import load_sector_defs

    async def load() -> list[SectorDef]:
        async with open_app(settings()) as ctx, ctx.sessionmaker() as session:
            defs = await load_sector_defs(session)
            if vectors is not None:
                vectors.prepare(defs)
                await vectors.refresh(session, defs)
            return defs

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
    from bot.briefing.edition import load_edition, load_sector_defs
    from bot.briefing.editor.factory import close_editor, make_editor
    from bot.briefing.render_text import briefing_to_json, render_markdown, render_text
    from bot.models import Profile

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
        try:
            defs = await load_sector_defs(session)
            known = [s.key for s in defs]
            chosen = sector_keys(sectors, defs) if sectors else ()
            now = ctx.clock()
            since = until = None
            day = None
            if date is not None:
                try:
                    day = dt.date.fromisoformat(date)
                except ValueError:
                    raise UserError(f"--date {date!r} is not a date like 2026-11-28") from None
                since = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
                try:
                    until = since + dt.timedelta(days=1)
                except OverflowError:  # 9999-12-31 ends past the last datetime Python has
                    raise UserError(
                        f"--date {date} is out of range: there can be no news on that day"
                    ) from None
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
        finally:
            await close_editor(writer)
    if writer.name != "extractive":
        from bot.briefing.editor.llm import LLMEditor  # loaded already: it wrote the text

        if isinstance(writer, LLMEditor) and writer.fallbacks:
            reasons = ", ".join(f"{n} {why}" for why, n in writer.fallbacks.most_common())
            err.print(
                f"note: the language model did not write every piece ({reasons}); "
                "those use extractive text",
                markup=False,
            )
    profile = Profile(sectors=chosen or tuple(known), language=lang.value, length=length.value)
    briefing = edition.compose(profile, date=day)
    if fmt is OutputFormat.json:
        print(json.dumps(briefing_to_json(briefing), ensure_ascii=False, indent=2))
    elif fmt is OutputFormat.text:
        print(render_text(briefing))
    else:
        print(render_markdown(briefing))


def _remove_sqlite_file(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise UserError("--reset only removes SQLite databases")
    for suffix in ("", "-wal", "-shm"):
        Path(parsed.database + suffix).unlink(missing_ok=True)
