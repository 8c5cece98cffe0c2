"""Each command declared once: its name, admin flag, typed parameters, help, and handler.

A declaration is all the engine and the adapters know about a command (errbot's ``@botcmd``
with discord.py's typed parameters): the text parser reads its parameters in order, the help
prints its usage and description in English and Japanese, the dispatcher routes to its handler,
and the Discord adapter builds its app command (options, localisations, autocomplete) from it.
Adding a command is a dataclass for its value, one ``@command(...)`` on its handler, and tests::

    @dataclass(frozen=True, slots=True)
    class Ping(CommandBase):
        pass

    @command("ping", Ping, usage=("", ""), help=("check the bot answers", "応答の確認"))
    async def ping(ctx: Context, command: Ping) -> Reply:
        return Reply(text="pong")

Built-in commands are declared in ``bot.commands.handlers``, grouped by topic.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.commands.model import CommandBase

if TYPE_CHECKING:
    from bot.commands.handlers.base import Context, Reply
    from bot.commands.parse import ArgReader

Takes = Literal["one", "rest", "raw"]
"""How a parameter reads typed text: one word, every word left, or the rest as typed."""

Typed = Literal["text", "integer", "boolean", "channel"]
"""What a parameter is on platforms with typed options (Discord)."""

Complete = Literal["sector", "sector_or_all", "zone"]
"""Which live list a typed platform offers while the user types (autocomplete)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A fixed choice offered on typed platforms; ``value`` is what the text grammar accepts."""

    value: str
    label_en: str
    label_ja: str


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a command: how to read it, and how to describe it to users.

    Args:
        name: the keyword the command value is built with (and the typed option's name).
        read: turns what the user gave (a word, a list of words, the raw rest, or a typed
            value) into the value; problems raise ``CommandError`` through the reader.
        help_en: a short description (typed platforms show it next to the option).
        help_ja: the same in Japanese.
        required: whether the command needs it.
        takes: how it reads typed text.
        typed: what it is as a typed option.
        option: the typed option's name when it differs from ``name``.
        repeat: how many typed options a list parameter gets (``sector``, ``sector_2``, ...).
        max_length: longest accepted text (typed platforms enforce it as they are typed).
        choices: fixed choices for typed platforms.
        complete: autocomplete source for typed platforms.
        aliases: other names of the parameter in ``name value`` commands (``settings``).
        what: the catalog name of the argument in "missing ..." errors (``arg_<what>``).
        offered: offered in typed text and as a typed option; False for values only an
            adapter's own controls give (Slack's App Home sets the whole sector list).
    """

    name: str
    read: Callable[[ArgReader, Any], Any]
    help_en: str
    help_ja: str
    required: bool = True
    takes: Takes = "one"
    typed: Typed = "text"
    option: str | None = None
    repeat: int = 1
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()
    complete: Complete | None = None
    aliases: tuple[str, ...] = ()
    what: str | None = None
    offered: bool = True

    @property
    def option_name(self) -> str:
        return self.option or self.name

    @property
    def option_names(self) -> tuple[str, ...]:
        """Every typed option of this parameter: ``sector``, ``sector_2``, ``sector_3``."""
        base = self.option_name
        return (base, *(f"{base}_{n}" for n in range(2, self.repeat + 1)))


Handler = Callable[["Context", Any], Awaitable["Reply"]]
TextParser = Callable[["ArgReader"], CommandBase]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """The one declaration of a command.

    Args:
        kind: its words after ``/brief`` (``"admin feeds add"``); ``""`` is bare ``/brief``.
        type: the dataclass its value is.
        handler: answers it.
        admin: only workspace or server admins may run it.
        usage_en: its arguments as shown in usage lines (``"<url> [sector]"``).
        usage_ja: the same in Japanese.
        help_en: a short description.
        help_ja: the same in Japanese.
        params: its parameters, in the order the text grammar reads them.
        named: the text grammar reads ``name value`` pairs in any order (``settings``).
        build: makes the value from the parameters read; ``type(**values)`` by default.
        parse_text: a text grammar of its own, for commands positional reading cannot express.
        build_typed: makes the value from typed options when that differs from ``build``.
        typed: whether typed platforms (Discord) list it.
        listed: whether users can type it at all; False for requests only adapters make
            (button presses, the App Home view), which are still answered by their handler.
    """

    kind: str
    type: type[CommandBase]
    handler: Handler
    admin: bool = False
    usage_en: str = ""
    usage_ja: str = ""
    help_en: str = ""
    help_ja: str = ""
    params: tuple[Param, ...] = ()
    named: bool = False
    build: Callable[..., CommandBase] | None = None
    parse_text: TextParser | None = None
    build_typed: Callable[..., CommandBase] | None = None
    typed: bool = True
    listed: bool = True

    def usage(self, language: str) -> str:
        args = self.usage_ja if language == "ja" else self.usage_en
        return " ".join(part for part in ("/brief", self.kind, args) if part)

    def help(self, language: str) -> str:
        return self.help_ja if language == "ja" else self.help_en

    def make(self, values: Mapping[str, Any], *, typed: bool = False) -> CommandBase:
        build = (self.build_typed if typed else None) or self.build or self.type
        return build(**values)


@dataclass
class Registry:
    """Declared commands by kind, in declaration order (the help order)."""

    specs: dict[str, CommandSpec] = field(default_factory=dict)

    def add(self, spec: CommandSpec) -> None:
        if spec.kind in self.specs:
            raise ValueError(f"the command {spec.kind!r} is declared twice")
        self.specs[spec.kind] = spec


_registry = Registry()
_loaded = threading.RLock()
_builtins_loaded = False


def _load_builtins() -> None:
    # The built-in commands declare themselves when their handler modules are imported.
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _loaded:
        if not _builtins_loaded:
            importlib.import_module("bot.commands.handlers")
            _builtins_loaded = True


def specs() -> tuple[CommandSpec, ...]:
    """Every command users can type, in help order."""
    _load_builtins()
    return tuple(s for s in _registry.specs.values() if s.listed)


def spec_for(kind: str) -> CommandSpec:
    """The declaration of ``kind``.

    Raises:
        KeyError: no such command.
    """
    _load_builtins()
    return _registry.specs[kind]


def command(
    kind: str,
    type_: type[CommandBase],
    *,
    usage: tuple[str, str] = ("", ""),
    help: tuple[str, str],
    admin: bool = False,
    params: tuple[Param, ...] = (),
    **options: Any,
) -> Callable[[Handler], Handler]:
    """Declare a command whose handler is the decorated coroutine function.

    ``usage`` and ``help`` are (English, Japanese) pairs; ``options`` are further
    ``CommandSpec`` fields (``named``, ``build``, ``parse_text``, ``build_typed``, ``typed``).
    The value's class learns its ``kind`` and ``admin`` flag from here.
    """

    def register(handler: Handler) -> Handler:
        spec = CommandSpec(
            kind=kind,
            type=type_,
            handler=handler,
            admin=admin,
            usage_en=usage[0],
            usage_ja=usage[1],
            help_en=help[0],
            help_ja=help[1],
            params=params,
            **options,
        )
        _registry.add(spec)
        if not isinstance(type_.__dict__.get("kind"), property):
            type_.kind = kind
        type_.admin = admin
        return handler

    return register


@contextmanager
def declared(*kinds: str) -> Iterator[None]:
    """Forget the commands ``kinds`` on leaving (for tests that declare commands of their own)."""
    try:
        yield
    finally:
        for kind in kinds:
            _registry.specs.pop(kind, None)


def spec_of(value: CommandBase) -> CommandSpec:
    """The declaration of a command value.

    Raises:
        KeyError: its kind is not declared.
    """
    return spec_for(value.kind)
