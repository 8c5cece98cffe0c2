"""What every command shares: the typer apps, the consoles, one-line errors, async bodies."""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text
    from sqlalchemy.ext.asyncio import AsyncSession
    from typer.models import CommandFunctionType

    from bot.app import AppContext
    from bot.config import Settings
    from bot.ingest.feed_state import Fetched
    from bot.ingest.report import FeedResult, IngestReport
    from bot.models import SectorDef
    from storage.models import Item


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


def _help_is_a_flag(option: Any) -> Any:
    """``--help`` with False, the value it means when not given, as its default instead of None.

    typer (0.29) turns each option's value into its type through a pydantic ``TypeAdapter``,
    made on first use (importing pydantic: 0.1 s of CPU), except for a ``bool`` option whose
    value already is a bool. Its ``--help`` is a bool whose default is None, so every command
    imported pydantic just to learn that ``--help`` was not given. Help and errors are the same.
    """
    if option is not None and option.default is None:
        option.default = False
    return option


class _Command(TyperCommand):
    """A command whose ``--help`` costs no pydantic (:func:`_help_is_a_flag`)."""

    def get_help_option(self, ctx: Any) -> Any:
        return _help_is_a_flag(super().get_help_option(ctx))


class _Group(TyperGroup):
    """A group whose ``--help`` costs no pydantic (:func:`_help_is_a_flag`)."""

    def get_help_option(self, ctx: Any) -> Any:
        return _help_is_a_flag(super().get_help_option(ctx))


class _Typer(typer.Typer):
    """``typer.Typer`` whose commands and groups are :class:`_Command` and :class:`_Group`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", _Group)
        super().__init__(**kwargs)

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", _Command)
        return super().command(*args, **kwargs)


app = _Typer(
    name="shiftbrief",
    help="ShiftBrief: personalised daily tech briefings for Slack and Discord.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
feeds_app = _Typer(help="Add, list, remove, import and export feeds.", no_args_is_help=True)
db_app = _Typer(help="Database maintenance.", no_args_is_help=True)
discord_app = _Typer(help="Discord application commands.", no_args_is_help=True)
app.add_typer(discord_app, name="discord")
app.add_typer(feeds_app, name="feeds")
app.add_typer(db_app, name="db")


class LazyConsole:
    """A rich ``Console`` made on first use: a command that prints only JSON (``ingest
    --json``) never imports rich. Its attributes are the console's; ``console`` is the console
    itself, for what takes one (``Progress(console=...)``)."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, soft_wrap=True)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


out = LazyConsole()
err = LazyConsole(stderr=True)


class UserError(Exception):
    """A problem the user can fix; shown as one line."""


def shown(text: object) -> Text:
    """Outside text (a feed's title, an error from a server) for rich: ``clean_text``, the
    terminal's defusing (no escape sequences), in a ``Text``, which rich never reads as markup."""
    from rich.text import Text

    from bot.briefing.render_text import clean_text

    return Text(clean_text("" if text is None else str(text)))


def run_async(func: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Run an async command body on a fresh event loop."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return asyncio.run(func(*args, **kwargs))

    return wrapper


def settings() -> Settings:
    """The validated settings (``bot.config``: pydantic-settings loads here)."""
    from bot.config import load_settings

    return load_settings()


def sector_keys(text: str, defs: Sequence[SectorDef]) -> tuple[str, ...]:
    """Comma-separated sectors as typed (``AI,Green``, ``量子``) -> their keys, as in chat.

    Raises:
        UserError: one is not a sector; the message names it and the valid ones.
    """
    from bot.commands.values import SectorIndex

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


def one_sector(text: str, defs: Sequence[SectorDef]) -> str:
    """The key of the one sector ``text`` names (see ``sector_keys``).

    Raises:
        UserError: it names no sector, or more than one.
    """
    keys = sector_keys(text, defs)
    if len(keys) != 1:
        raise UserError(f"name one sector, not {text!r}")
    return keys[0]


async def run_pass(
    ctx: AppContext, *, all_feeds: bool, on_progress: Callable[[FeedResult], None] | None = None
) -> IngestReport:
    from bot.app import open_ingest

    async with open_ingest(ctx, after_store=_classify_new_items()) as service:
        return await service.run_pass(all_feeds=all_feeds, on_progress=on_progress)


async def run_plain_pass(
    *, all_feeds: bool, on_progress: Callable[[FeedResult], None] | None = None
) -> IngestReport | None:
    """An ingest pass on a migrated SQLite file that loads SQLAlchemy, pydantic and the parsers
    only when a feed changed (``bot.ingest.plain_pass``); None when it is not for this
    configuration or this pass (PostgreSQL, a migration due, settings that are not plainly
    valid, a feed never fetched): nothing was done, :func:`run_pass` does it all."""
    from bot.config_plain import plain_settings
    from storage.plain_sqlite import migrated_sqlite

    plain = plain_settings()
    if plain is None:
        return None
    with migrated_sqlite(plain.database_url) as conn:
        if conn is None:
            return None
        from bot.app import utc_now
        from bot.ingest.fetch import FeedFetcher
        from bot.ingest.plain_pass import plain_pass

        async with FeedFetcher.from_settings(plain) as fetcher:
            return await plain_pass(
                conn,
                fetcher=fetcher,
                settings=plain,
                clock=utc_now,
                changed=_store_changed,
                all_feeds=all_feeds,
                on_progress=on_progress,
            )


async def _store_changed(
    fetched: AsyncIterator[Fetched], feeds: int, on_progress: Callable[[FeedResult], None]
) -> IngestReport:
    """The changed bodies of a plain pass, read and stored by the whole machinery."""
    from bot.app import open_app, open_ingest

    async with (
        open_app(settings()) as ctx,
        open_ingest(ctx, after_store=_classify_new_items()) as service,
    ):
        return await service.store_fetched(fetched, feeds=feeds, on_progress=on_progress)


def _classify_new_items() -> Callable[[AsyncSession, Sequence[Item]], Awaitable[None]]:
    """``ItemClassifier`` as ingest's after-store hook, made when the first new items arrive:
    a pass that stores nothing never loads the sector rules."""
    classifier: Callable[[AsyncSession, Sequence[Item]], Awaitable[None]] | None = None

    async def classify(session: AsyncSession, items: Sequence[Item]) -> None:
        nonlocal classifier
        if classifier is None:
            from bot.briefing.edition import ItemClassifier

            classifier = ItemClassifier()
        await classifier(session, items)

    return classify


def print_ingest_report(report: IngestReport) -> None:
    out.print(
        f"{report.feeds} feeds: {report.ok} ok, {report.not_modified} not modified, "
        f"{report.failed} failed; {report.new_items} new items."
    )
    from rich.text import Text

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
