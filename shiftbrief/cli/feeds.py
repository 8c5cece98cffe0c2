"""``shiftbrief feeds ...`` and ``shiftbrief ingest``: the feed list and fetching it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.app import open_app
from shiftbrief.cli.base import (
    UserError,
    app,
    err,
    feeds_app,
    one_sector,
    out,
    print_ingest_report,
    run_async,
    run_pass,
    run_plain_pass,
    settings,
    shown,
)
from shiftbrief.tenancy import TenantOption, TenantSpecError, tenant_id

if TYPE_CHECKING:
    from bot.config import Settings
    from storage.plain_sqlite import FeedRow

# Each command imports what it runs in its body (see shiftbrief/cli/__init__.py): listing the
# feeds needs neither the HTTP client nor the parsers, and on a migrated SQLite file not even
# SQLAlchemy (storage/plain_sqlite.py).


@feeds_app.command("add")
@run_async
async def feeds_add(
    url: Annotated[str, typer.Argument(help="The feed's http(s) URL.")],
    sector: Annotated[
        str | None, typer.Option(help="Sector this feed leans to (a hint, never decisive).")
    ] = None,
    tenant: TenantOption = None,
) -> None:
    """Follow a feed. Its current items are kept as archive; later ones are news."""
    from bot.briefing.edition import load_sector_defs
    from bot.ingest.catalog import FeedExistsError, UnsafeURLError, add_feed
    from bot.ingest.netguard import AddressPolicy

    base = settings()
    async with open_app(base) as ctx, ctx.sessionmaker.begin() as session:
        try:
            owner = await tenant_id(session, tenant, now=ctx.clock())
            # By key or name, as `brief --sectors` reads them, among the sectors it sees.
            hint = one_sector(sector, await load_sector_defs(session, owner)) if sector else None
            feed = await add_feed(
                session,
                url=url,
                sector=hint,
                policy=AddressPolicy.from_settings(base),
                now=ctx.clock(),
                tenant_id=owner,
            )
        except (UnsafeURLError, FeedExistsError, TenantSpecError) as exc:
            raise UserError(str(exc)) from None
    from rich.text import Text

    out.print(Text(f"Added feed {feed.id}: "), shown(url), sep="")


@feeds_app.command("list")
@run_async
async def feeds_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    tenant: TenantOption = None,
) -> None:
    """List feeds with their owners and health (with --tenant: what that tenant sees)."""
    from bot.config_plain import plain_settings
    from storage.plain_sqlite import migrated_sqlite

    rows: list[FeedRow] | None = None
    plain = plain_settings() if tenant is None else None
    if plain is not None:
        # Most often a migrated SQLite file: read it without loading SQLAlchemy or pydantic.
        with migrated_sqlite(plain.database_url) as conn:
            if conn is not None:
                from storage.plain_sqlite import feed_rows

                rows = feed_rows(conn)
    if rows is None:
        rows = await listed_feeds(settings(), tenant)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        out.print("No feeds yet. Add one with: shiftbrief feeds add URL")
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("id", "owners", "title", "sector", "errors", "next check (UTC)", "url")
    for row in rows:
        errors = Text(str(row["errors"]), style="red" if row["errors"] else "")
        table.add_row(
            str(row["id"]),
            shown(", ".join(row["owners"])),
            shown(row["title"]),
            shown(row["sector"]),
            errors,
            row["next_check_at"][:16],
            shown(row["url"]),
            end_section=False,
        )
    out.print(table)


async def listed_feeds(base: Settings, tenant: str | None) -> list[FeedRow]:
    """The feeds ``tenant`` sees (None: every feed) through the ORM repositories, migrating
    the database first as every command does."""
    from storage.repositories import feeds as feed_repo
    from storage.scope import EVERY, Scope

    async with open_app(base) as ctx, ctx.sessionmaker() as session:
        try:
            scope: Scope = EVERY if tenant is None else await tenant_id(session, tenant)
        except TenantSpecError as exc:
            raise UserError(str(exc)) from None
        feeds = await feed_repo.list_feeds(session, scope)
        owners = await feed_repo.feed_owners(session)
    return [
        {
            "id": f.id,
            "owners": owners.get(f.id, []),
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


@feeds_app.command("remove")
@run_async
async def feeds_remove(
    feed_id: Annotated[int, typer.Argument(help="The feed's id.")],
    tenant: TenantOption = None,
) -> None:
    """Stop following a feed in the shared catalog (or, with --tenant, for that tenant); its
    items go with its last owner."""
    from storage.repositories import feeds as feed_repo

    async with open_app(settings()) as ctx, ctx.sessionmaker.begin() as session:
        try:
            owner = await tenant_id(session, tenant, now=ctx.clock())
        except TenantSpecError as exc:
            raise UserError(str(exc)) from None
        removed = await feed_repo.remove_feed(session, feed_id, owner)
    if not removed:
        whose = f"{tenant} follows" if tenant else "the shared catalog has"
        raise UserError(f"{whose} no feed with id {feed_id} (see: shiftbrief feeds list)")
    out.print(f"Removed feed {feed_id}.")


@feeds_app.command("import-opml")
@run_async
async def feeds_import_opml(
    file: Annotated[Path, typer.Argument(help="An OPML file exported by a feed reader.")],
) -> None:
    """Follow every feed of an OPML file (feeds already followed are skipped)."""
    from bot.ingest.catalog import FeedExistsError, UnsafeURLError, add_feed
    from bot.ingest.netguard import AddressPolicy
    from bot.ingest.opml import OpmlError, parse_opml

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
                async with ctx.sessionmaker.begin() as session:
                    await add_feed(
                        session,
                        url=entry.url,
                        sector=entry.sector,
                        title=entry.title,
                        policy=policy,
                        now=ctx.clock(),
                    )
                added += 1
            except UnsafeURLError as exc:
                problems.append(f"{entry.url}: {exc}")
            except FeedExistsError:
                skipped += 1
    from rich.text import Text

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
    from bot.ingest.opml import OpmlFeed, render_opml
    from storage.repositories import feeds as feed_repo

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
    embed: Annotated[
        bool, typer.Option("--embed", help="Then embed every item not embedded yet.")
    ] = False,
) -> None:
    """Fetch the feeds that are due, once, and store what is new."""
    from bot.ingest.report import FeedResult, IngestReport

    embedded: int | None = None

    async def passes(on_progress: Callable[[FeedResult], None] | None) -> IngestReport:
        nonlocal embedded
        # Most passes find nothing changed: on a migrated SQLite file such a pass loads
        # neither SQLAlchemy nor pydantic (bot/ingest/plain_pass.py).
        if not embed:
            plain = await run_plain_pass(all_feeds=all_feeds, on_progress=on_progress)
            if plain is not None:
                return plain
        async with open_app(settings()) as ctx:
            report = await run_pass(ctx, all_feeds=all_feeds, on_progress=on_progress)
            if embed:
                from shiftbrief.cli.archive import embed_archive

                embedded = await embed_archive(ctx, quiet=as_json)
        return report

    if as_json or not out.is_terminal:
        report = await passes(None)
    else:
        from rich.progress import Progress

        with Progress(console=out.console, transient=True) as progress:
            task = progress.add_task("Fetching feeds", total=None)

            def advance(_result: FeedResult) -> None:
                progress.advance(task)

            report = await passes(advance)
    if as_json:
        payload = report.to_json()
        if embedded is not None:
            payload["embedded"] = embedded
        print(json.dumps(payload, ensure_ascii=False))
        return
    print_ingest_report(report)
    if embedded is not None:
        out.print(f"Embedded {embedded} items.")
