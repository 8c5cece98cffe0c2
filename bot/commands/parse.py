"""Reading commands: text (Slack, the console) and typed options (Discord), from the declarations.

``parse_command`` finds the command's words among the declared kinds, then reads its
parameters in order with their value parsers; ``parse_options`` reads a typed platform's options
with the same parameters. Either raises ``CommandError`` for anything it cannot understand: a
short message in the user's language that names the value and the form expected, with the usage
line to follow. The text arrives without platform markup (adapters undo it).
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar

from bot.commands.declare import CommandSpec, Param, spec_for, specs
from bot.commands.help import help_topics, kinds_in, usage
from bot.commands.messages import say
from bot.commands.model import (
    CommandBase,
    CommandOptions,
    CommandRequest,
    CommandText,
    Overview,
    Weekday,
)
from bot.commands.values import SectorIndex, ValueProblem, fold, normalise_keyword, parse_days
from bot.models import Language, SectorDef

T = TypeVar("T")

MAX_TEXT_CHARS = 4000
"""Longer command text is refused before parsing (Slack's own limit is lower)."""

# Slack and phones turn quotes into typographic ones; full-width spaces come from Japanese IMEs.
_QUOTE_MAP = str.maketrans({"“": '"', "”": '"', "„": '"', "＂": '"', "‘": "'", "’": "'", "＇": "'"})
_SPACES = re.compile(r"[\s\u3000\u00a0\u2000-\u200b\u202f\u205f\ufeff]+")


class CommandError(Exception):
    """A command the user got wrong; ``message`` and ``usage`` are meant for that user.

    Both are plain text that quotes what the user typed and contains ``<`` and ``>`` (usage
    placeholders), so adapters must escape them for their markup (Slack mrkdwn reads
    ``<#channel>`` and ``<!here>`` as links and pings).
    """

    def __init__(self, message: str, usage: str, *, language: Language = "en") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.language: Language = language

    @property
    def text(self) -> str:
        """Message and usage, ready to send."""
        return f"{self.message}\n{say('usage_label', self.language)}: {self.usage}"

    def __str__(self) -> str:
        return self.text


def _normalise_text(text: str) -> str:
    return _SPACES.sub(" ", text.translate(_QUOTE_MAP)).strip()


def _split_word(text: str) -> tuple[str, str]:
    head, _, rest = text.partition(" ")
    return fold(head).lower(), rest.strip()


def _tokenise(text: str) -> list[str] | None:
    """Shell-like words; None when quotes are unbalanced."""
    # A lone apostrophe (O'Reilly, don't) is text, not a quote: retry without single quotes.
    for quotes in ("\"'", '"'):
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""  # '#' starts channels and "C#", not comments
        lexer.escape = ""  # chat users do not expect backslashes to vanish
        lexer.quotes = quotes
        try:
            return list(lexer)
        except ValueError:
            continue
    return None


class ArgReader:
    """Reads the arguments of one command; every problem becomes a ``CommandError``."""

    def __init__(self, kind: str, args: list[str], language: Language, sectors: SectorIndex):
        self.kind = kind
        self.args = args
        self.pos = 0
        self.language: Language = language
        self.sectors = sectors

    def fail(self, key: str, **values: str) -> CommandError:
        return self.fail_with(say(key, self.language, **values))

    def fail_with(self, message: str) -> CommandError:
        return CommandError(message, usage(self.kind, self.language), language=self.language)

    def value(self, problem: ValueProblem) -> CommandError:
        return self.fail_with(problem.message(self.language))

    def arg_name(self, what: str, **values: str) -> str:
        return say(f"arg_{what}", self.language, **values)

    def missing(self, what: str, **values: str) -> CommandError:
        if what == "sector":
            return self.fail_with(
                say("missing", self.language, what=self.arg_name("sector"))
                + self.valid_sectors_sentence()
            )
        return self.fail("missing", what=self.arg_name(what, **values))

    def valid_sectors_sentence(self) -> str:
        return say("valid_sectors", self.language, valid=self.valid_sectors())

    def valid_sectors(self) -> str:
        """The sectors, as the reader is told them (names in Japanese), or "none yet"."""
        shown = [self.sectors.shown(k, self.language) for k in self.sectors.keys]
        return say("list_comma", self.language).join(shown) or say("no_sectors", self.language)

    def peek(self) -> str | None:
        return self.args[self.pos] if self.pos < len(self.args) else None

    def take(self, what: str) -> str:
        token = self.peek()
        if token is None:
            raise self.missing(what)
        self.pos += 1
        return token

    def take_optional(self) -> str | None:
        token = self.peek()
        if token is not None:
            self.pos += 1
        return token

    def rest(self) -> list[str]:
        rest, self.pos = self.args[self.pos :], len(self.args)
        return rest

    def done(self) -> None:
        if self.pos < len(self.args):
            extra = " ".join(self.args[self.pos :])
            raise self.fail("extra_words", words=extra)

    def sector(self, token: str) -> str:
        key = self.sectors.find(token)
        if key is not None:
            return key
        message = say("unknown_sector", self.language, value=token, valid=self.valid_sectors())
        if suggestion := self.sectors.suggest(token):
            shown = self.sectors.shown(suggestion, self.language)
            message += say("did_you_mean", self.language, suggestion=shown)
        raise self.fail_with(message)

    def sectors_list(self, tokens: Iterable[str]) -> tuple[str, ...]:
        # "ai, cloud" and "ai,cloud" read the same as "ai cloud".
        words = [w for token in tokens for w in re.split(r"[,、]", token) if w.strip()]
        keys: list[str] = []
        while words:
            # A name of several words, typed without quotes ("Robotics & Mobility").
            count = self.sectors.longest_name(words) or 1
            keys.append(self.sector(" ".join(words[:count])))
            words = words[count:]
        return tuple(dict.fromkeys(keys))

    def take_sector(self) -> str:
        """The next word, or the next words that together name a sector."""
        count = self.sectors.longest_name(self.args[self.pos :])
        if count:
            words, self.pos = self.args[self.pos : self.pos + count], self.pos + count
            return " ".join(words)
        return self.take("sector")

    def checked(self, token: str, read: Callable[[str], T]) -> T:
        try:
            return read(token)
        except ValueProblem as problem:
            raise self.value(problem) from None

    def free_text(self, tokens: list[str], what: str, limit: int) -> str:
        text = normalise_keyword(" ".join(tokens))
        if not text:
            raise self.missing(what)
        if len(text) > limit:
            raise self.fail("too_long", what=self.arg_name(what), limit=str(limit))
        return text

    def days_from(self, first: str) -> tuple[Weekday, ...]:
        # "mon, wed, fri" arrives as three words; glue words joined by a comma back together.
        text = first
        while (nxt := self.peek()) is not None and (text.endswith(",") or nxt.startswith(",")):
            text += self.take("value")
        return self.checked(text, parse_days)

    # --- reading declared parameters -----------------------------------------------------

    def positional(self, params: Iterable[Param]) -> dict[str, Any]:
        """Parameters in order: one word each, or the words left for a list."""
        values: dict[str, Any] = {}
        for param in params:
            if param.takes == "one":
                token: str | None
                if param.what == "sector" and self.sectors.longest_name(self.args[self.pos :]):
                    token = self.take_sector()
                elif param.required:
                    token = self.take(param.what or param.name)
                elif (token := self.take_optional()) is None:
                    continue
                values[param.name] = param.read(self, token)
            else:
                words = self.rest()
                if words or param.required:
                    values[param.name] = param.read(self, words)
        return values

    def named(self, params: Iterable[Param]) -> dict[str, Any]:
        """``name value`` (or ``name=value``) pairs in any order, each at most once."""
        by_name = {alias: p for p in params if p.offered for alias in (p.name, *p.aliases)}
        values: dict[str, Any] = {}
        while (token := self.take_optional()) is not None:
            name_text, eq, value = token.partition("=")
            name_word = fold(name_text).lower()
            param = by_name.get(name_word)
            if param is None:
                message = say("unknown_setting", self.language, value=name_text)
                close = difflib.get_close_matches(name_word, by_name, n=1, cutoff=0.5)
                if close:
                    message += say("did_you_mean", self.language, suggestion=by_name[close[0]].name)
                raise self.fail_with(message)
            if param.name in values:
                raise self.fail("repeated_setting", value=param.name)
            if not (eq and value):
                if self.peek() is None:
                    raise self.missing("value", setting=param.name)
                value = self.take("value")
            values[param.name] = param.read(self, value)
        return values


def _command_words(text: str, language: Language) -> tuple[CommandSpec | None, str]:
    """The declared command the text names, and the text after its words."""
    head, rest = _split_word(text)
    if head in ("/brief", "brief"):
        head, rest = _split_word(rest)
    if not head:
        return None, ""
    kinds = [s.kind for s in specs() if s.kind]
    words: list[str] = []
    word = head
    while True:
        depth = len(words)
        prefix = " ".join(words)
        below = [k.split() for k in kinds if depth == 0 or k.startswith(prefix + " ")]
        # Whole commands first, then groups: "deliveries, feeds, schedule, ..."
        leaves = [k[depth] for k in below if len(k) == depth + 1]
        groups = [k[depth] for k in below if len(k) > depth + 1]
        choices = tuple(dict.fromkeys([*leaves, *groups]))
        if word not in choices:
            raise _unknown(word, choices, prefix, language)
        words.append(word)
        kind = " ".join(words)
        following, after = _split_word(rest)
        if kind in kinds and not (
            following
            and any(
                k == f"{kind} {following}" or k.startswith(f"{kind} {following} ") for k in kinds
            )
        ):
            return spec_for(kind), rest
        # A command that is also a group ("settings", "settings learned"): the next word
        # decides.
        word, rest = following, after


def _unknown(word: str, choices: tuple[str, ...], group: str, language: Language) -> CommandError:
    """A command word that is missing or not one of ``choices`` (within ``group``)."""
    prefix = f"{group} " if group else ""
    if group:
        usage_text = usage(group, language)
    else:
        # Everything a user may type; admins find theirs with "help admin".
        usage_text = "\n".join(s.usage(language) for s in specs() if not s.admin)
    if not word:
        message = say("missing_subcommand", language, choices=", ".join(choices))
        return CommandError(message, usage_text, language=language)
    message = say("unknown_command", language, word=f"{prefix}{word}")
    if close := difflib.get_close_matches(word, choices, n=1, cutoff=0.5):
        message += say("did_you_mean", language, suggestion=f"{prefix}{close[0]}")
        usage_text = usage(f"{group} {close[0]}".strip(), language)
    return CommandError(message, usage_text, language=language)


def parse_command(
    text: str,
    *,
    known_sectors: Collection[str | SectorDef],
    language: Language = "en",
) -> CommandBase:
    """Parse what the user typed after ``/brief`` (a leading ``/brief`` is ignored too).

    Args:
        text: the command text, without platform markup (adapters undo it).
        known_sectors: sector keys (or ``SectorDef``s, whose English and Japanese names and
            aliases are then accepted as well); matched case-insensitively.
        language: the language of error messages.

    Returns:
        One command value; sector names come back as canonical keys.

    Raises:
        CommandError: the text is not a valid command; the message says why, in ``language``.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise CommandError(
            say("too_long", language, what=say("arg_command", language), limit=str(MAX_TEXT_CHARS)),
            usage("help", language),
            language=language,
        )
    spec, rest = _command_words(_normalise_text(text), language)
    if spec is None:
        return Overview()
    p = ArgReader(spec.kind, [], language, SectorIndex(known_sectors))
    if spec.params and spec.params[0].takes == "raw":
        return spec.make({spec.params[0].name: spec.params[0].read(p, rest)})
    tokens = _tokenise(rest)
    if tokens is None:
        raise p.fail("unbalanced_quotes")
    p.args = tokens
    if spec.parse_text is not None:
        command = spec.parse_text(p)
    else:
        command = spec.make(p.named(spec.params) if spec.named else p.positional(spec.params))
    p.done()
    return command


def parse_options(
    options: CommandOptions,
    *,
    known_sectors: Collection[str | SectorDef],
    language: Language = "en",
) -> CommandBase:
    """Read a typed platform's options with the declared parameters of ``options.kind``.

    Raises:
        CommandError: a value is missing or wrong; the message names it, in ``language``.
    """
    spec = spec_for(options.kind)
    p = ArgReader(spec.kind, [], language, SectorIndex(known_sectors))
    values: dict[str, Any] = {}
    for param in spec.params:
        names = param.option_names if param.option_name in options.values else (param.name,)
        given = [options.values.get(name) for name in names]
        if isinstance(given[0], list | tuple):
            # A whole list from an adapter's own control (App Home checkboxes), empty or not.
            values[param.name] = param.read(p, [str(v) for v in given[0]])
            continue
        given = [v for v in given if v is not None and v != ""]
        if param.takes == "rest":
            if given or param.required:
                values[param.name] = param.read(p, [str(v) for v in given])
        elif given:
            values[param.name] = param.read(p, given[0])
        elif param.required:
            raise p.missing(param.what or param.name)
    return spec.make(values, typed=True)


def names_admin_command(text: str) -> bool:
    """Whether ``text`` (what the user typed after ``/brief``) asks for an admin command.

    Decided the way ``parse_command`` reads its first word (spaces and full-width forms
    normalised, case folded, a leading ``brief`` or ``/brief`` skipped), so an adapter that
    checks admin rights only for admin commands checks them for every spelling the parser
    accepts, even when the rest of the command is wrong.
    """
    head, rest = _split_word(_normalise_text(text))
    if head in ("/brief", "brief"):
        head, _ = _split_word(rest)
    admin_words = {s.kind.split()[0] for s in specs() if s.admin and s.kind}
    user_words = {s.kind.split()[0] for s in specs() if not s.admin and s.kind}
    return head in admin_words - user_words


def parse_request(
    request: CommandRequest,
    *,
    known_sectors: Collection[str | SectorDef],
    language: Language = "en",
) -> CommandBase:
    """The request's command, reading text or typed options first when the adapter sent those.

    Raises:
        CommandError: as ``parse_command``.
    """
    command = request.command
    if isinstance(command, CommandText):
        return parse_command(command.text, known_sectors=known_sectors, language=language)
    if isinstance(command, CommandOptions):
        return parse_options(command, known_sectors=known_sectors, language=language)
    return command


def help_topic(p: ArgReader, words: list[str]) -> str | None:
    """A help topic (a command or group); an unknown one is refused with a suggestion."""
    if not words:
        return None
    topic = " ".join(w.lower().removeprefix("/") for w in words)
    topic = topic.removeprefix("brief ").strip()
    if kinds_in(topic):
        return topic
    message = say("unknown_help_topic", p.language, value=topic)
    if close := difflib.get_close_matches(topic, help_topics(), n=1, cutoff=0.5):
        message += say("did_you_mean", p.language, suggestion=close[0])
    raise p.fail_with(message)


__all__ = [
    "MAX_TEXT_CHARS",
    "ArgReader",
    "CommandError",
    "names_admin_command",
    "parse_command",
    "parse_options",
    "parse_request",
]
