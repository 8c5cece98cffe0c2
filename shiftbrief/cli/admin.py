"""``shiftbrief db``, ``console``, ``discord sync``, ``export``, ``import`` and ``run``."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.app import open_app
from shiftbrief.cli.base import (
    UserError,
    app,
    db_app,
    discord_app,
    err,
    out,
    run_async,
    settings,
)

# Each command imports what it runs in its body (see shiftbrief/cli/__init__.py).


@db_app.command("upgrade")
@run_async
async def db_upgrade() -> None:
    """Apply the database migrations (also done at every start)."""
    from storage.db import current_revision, make_engine, upgrade

    engine = make_engine(settings().database_url)
    try:
        await upgrade(engine)
        out.print(f"Database at revision {await current_revision(engine)}.")
    finally:
        await engine.dispose()


@app.command("console")
@run_async
async def console(
    user: Annotated[str, typer.Option(help="The simulated user's id.")] = "console-user",
    tenant: Annotated[str, typer.Option(help="The simulated workspace or guild.")] = "local",
    admin: Annotated[bool, typer.Option("--admin", help="Act as a workspace admin.")] = False,
    markdown: Annotated[bool, typer.Option(help="Show briefings as Markdown.")] = False,
) -> None:
    """Chat with ShiftBrief in the terminal: type /brief today, /brief help ... (quit to leave)."""
    from adapters.console import ConsoleAdapter
    from bot.commands.dispatcher import Dispatcher
    from bot.ingest.netguard import AddressPolicy

    async with open_app(settings()) as ctx:
        dispatcher = Dispatcher(
            sessionmaker=ctx.sessionmaker,
            clock=ctx.clock,
            address_policy=AddressPolicy.from_settings(ctx.settings),
            max_feeds_per_tenant=ctx.settings.max_feeds_per_tenant or None,
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
    from bot.commands.dispatcher import Dispatcher

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
    from pydantic import ValidationError

    from bot.datacare import export_config

    async with open_app(settings()) as ctx, ctx.sessionmaker() as session:
        try:
            document = await export_config(session, now=ctx.clock())
        except ValidationError as exc:  # a row an older version stored unchecked
            problem = exc.errors()[0]
            field = ".".join(str(part) for part in problem["loc"])
            raise UserError(
                f"cannot export: a stored {exc.title} has a bad {field} ({problem['msg']})"
            ) from None
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
    from bot.datacare import TransferError, import_config, read_document
    from bot.ingest.netguard import AddressPolicy

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
    from shiftbrief.logs import configure_logging
    from shiftbrief.runner import run_bot

    base = settings()
    configure_logging(base)
    asyncio.run(run_bot(base))
