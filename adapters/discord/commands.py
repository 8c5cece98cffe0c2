"""The ``/brief`` app-command tree, derived from the engine's command declarations.

Each declared command becomes a subcommand; its parameters become typed options with their
descriptions, fixed choices and autocomplete (sectors from the database, time zones). Discord
nests at most two levels under a command, so ``admin feeds add`` becomes ``/brief admin
feeds-add``. Options arrive as a ``CommandOptions`` request that the engine checks with the
same value parsers as typed text, so both platforms accept and refuse the same things.
Descriptions are English; ``BriefTranslator`` gives Japanese clients the declared Japanese.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands

from adapters.discord.render import truncate
from bot.commands.declare import CommandSpec, Param, specs
from bot.commands.help import help_topics
from bot.commands.model import ChannelRef, CommandOptions, language_from_locale
from bot.commands.values import zone_choices

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter

MAX_OPTION_INT = 2**53 - 1
"""Discord integer options stop here (JavaScript's safe integers)."""

BRIEF = ("Your daily tech briefing", "毎日のテックニュースまとめ")
GROUPS = {
    "admin": (
        "Server admin: feeds, schedules, sectors",
        "サーバー管理: フィード、配信予定、セクター",
    )
}
"""Descriptions of the command and its groups (English, Japanese)."""

JA_DESCRIPTIONS: dict[str, str] = {}
"""Japanese descriptions that override the declared ones, by their English text."""


def description(text: str) -> str:
    """A declared help text as a Discord description: capitalised, at most 100 characters."""
    return truncate(text[:1].upper() + text[1:], 100)


def _repeat_help(text: str, number: int) -> str:
    return f"{text} ({number})"


def declared_japanese() -> dict[str, str]:
    """Every English description and choice label of the tree, with its Japanese."""
    found = {BRIEF[0]: BRIEF[1], **dict(GROUPS.values())}
    for spec in specs():
        found[description(spec.help_en)] = spec.help_ja
        for param in spec.params:
            found[param.help_en] = param.help_ja
            for number in range(2, param.repeat + 1):
                found[_repeat_help(param.help_en, number)] = _repeat_help(param.help_ja, number)
            for choice in param.choices:
                if choice.label_ja != choice.label_en:
                    found[choice.label_en] = choice.label_ja
    return found


class BriefTranslator(app_commands.Translator):
    """Gives Japanese Discord clients (locale ``ja``) the declared Japanese descriptions and
    choice labels.

    Command and option names stay English on purpose: the grammar is the same on every platform
    and in every language, so help texts and the Slack command read alike.
    """

    TRANSLATED: ClassVar[frozenset[app_commands.TranslationContextLocation]] = frozenset(
        {
            app_commands.TranslationContextLocation.command_description,
            app_commands.TranslationContextLocation.group_description,
            app_commands.TranslationContextLocation.parameter_description,
            app_commands.TranslationContextLocation.choice_name,
        }
    )

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale is not discord.Locale.japanese or context.location not in self.TRANSLATED:
            return None
        text = string.message
        return JA_DESCRIPTIONS.get(text) or declared_japanese().get(text)


class ChannelOption(app_commands.Transformer):
    """A text channel option, read as the engine's ``ChannelRef`` (id and name)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return [discord.ChannelType.text, discord.ChannelType.news]

    async def transform(self, interaction: discord.Interaction[Any], value: Any, /) -> ChannelRef:
        return ChannelRef(id=str(value.id), name=getattr(value, "name", None) or None)


def _annotation(param: Param) -> Any:
    if param.typed == "integer":
        return app_commands.Range[int, 1, MAX_OPTION_INT]
    if param.typed == "boolean":
        return bool
    if param.typed == "channel":
        return app_commands.Transform[ChannelRef, ChannelOption]
    if param.max_length:
        return app_commands.Range[str, 1, param.max_length]
    return str


Completer = Callable[
    [discord.Interaction[Any], str], Coroutine[Any, Any, list[app_commands.Choice[str]]]
]


def _completers(adapter: DiscordAdapter) -> dict[str, Completer]:
    async def sectors(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await adapter.sector_choices(interaction, current)

    async def sectors_or_all(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        choices = await adapter.sector_choices(interaction, current)
        return [app_commands.Choice(name="all", value="all"), *choices][:25]

    async def zones(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in zone_choices(current, limit=25)]

    async def topics(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        wanted = current.strip().lower()
        found = [t for t in help_topics() if wanted in t]
        return [app_commands.Choice(name=t, value=t) for t in found[:25]]

    return {"sector": sectors, "sector_or_all": sectors_or_all, "zone": zones, "topic": topics}


def _options(spec: CommandSpec) -> Iterable[tuple[str, Param, int]]:
    """(option name, parameter, number) of every option, required ones first."""
    options = [
        (name, param, number)
        for param in spec.params
        if param.offered
        for number, name in enumerate(param.option_names, start=1)
    ]
    return sorted(options, key=lambda o: not (o[1].required and o[2] == 1))


def build_command(
    spec: CommandSpec, adapter: DiscordAdapter, completers: dict[str, Completer]
) -> app_commands.Command[Any, ..., None]:
    """One declared command as an app command whose callback hands its options to the engine."""
    kind = spec.kind

    async def callback(interaction: discord.Interaction[Any], **options: Any) -> None:
        values = {name: value for name, value in options.items() if value is not None}
        await adapter.run_command(interaction, CommandOptions(kind, values))

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    descriptions: dict[str, app_commands.locale_str] = {}
    choices: dict[str, list[app_commands.Choice[str]]] = {}
    autocompletes: dict[str, Completer] = {}
    for name, param, number in _options(spec):
        required = param.required and number == 1
        parameters.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(param),
                default=inspect.Parameter.empty if required else None,
            )
        )
        text = param.help_en if number == 1 else _repeat_help(param.help_en, number)
        descriptions[name] = app_commands.locale_str(text)
        if param.choices:
            choices[name] = [
                app_commands.Choice(name=app_commands.locale_str(c.label_en), value=c.value)
                for c in param.choices
            ]
        elif param.complete:
            autocompletes[name] = completers[param.complete]
        elif spec.kind == "help":
            autocompletes[name] = completers["topic"]
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    if descriptions:
        app_commands.describe(**descriptions)(callback)
    if choices:
        app_commands.choices(**choices)(callback)
    if autocompletes:
        app_commands.autocomplete(**autocompletes)(callback)
    words = kind.split()
    return app_commands.Command(
        name="-".join(words[1:] if words[0] in GROUPS else words),
        description=app_commands.locale_str(description(spec.help_en)),
        callback=callback,
    )


def build_brief_group(adapter: DiscordAdapter) -> app_commands.Group:
    """The ``/brief`` command group: every declared command that typed platforms list."""
    brief = app_commands.Group(name="brief", description=app_commands.locale_str(BRIEF[0]))
    groups = {
        word: app_commands.Group(name=word, description=app_commands.locale_str(text), parent=brief)
        for word, (text, _ja) in GROUPS.items()
    }
    completers = _completers(adapter)
    for spec in specs():
        if not spec.kind or not spec.typed:
            continue
        command = build_command(spec, adapter, completers)
        first = spec.kind.split()[0]
        (groups.get(first) or brief).add_command(command)
    return brief


def sector_choice(name: str, key: str) -> app_commands.Choice[str]:
    return app_commands.Choice(name=truncate(f"{name} ({key})", 100), value=key)


def language_of(interaction: discord.Interaction[Any]) -> str:
    return language_from_locale(str(interaction.locale))
