"""Render a ``Briefing`` (and command replies) as Slack Block Kit messages (pure functions).

Feed text is untrusted: every feed-derived string is cleaned of control characters and has
``&``, ``<`` and ``>`` escaped, so ``<!channel>`` or ``<@U123>`` in a title stays text and can
never ping or link. Links come only from our own http(s) link fields, as ``<url|label>`` with
the label escaped and the URL percent-encoded (no ``|``, ``>`` or spaces). Every mrkdwn text
object is ``verbatim``, so Slack does not turn a bare URL, ``#channel`` or ``@here`` written in
feed text into a link or a mention; our explicit ``<url|label>`` links still work.

Slack refuses messages over its limits (50 blocks, section text 3000, header 150, context 10
elements, button value 2000, about 13k characters of block text in all), and slack_sdk checks
only some of them, so the renderer fits every field and splits a long briefing over several
messages, in order, each with fallback text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot import untrusted
from bot.briefing.render_text import clean_text, joined, safe_url, sources_count
from bot.commands.dispatcher import Reply
from bot.i18n import Catalog, catalog, phrase
from bot.models import Briefing, Language, SectorSection, StoryEntry
from bot.stories.identity import story_id_of

MAX_BLOCKS = 50
SECTION_TEXT = 3000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
MESSAGE_TEXT_BUDGET = 12_000
"""Characters of block text per message: Slack answers ``msg_blocks_too_long`` near 13k."""
FALLBACK_TEXT = 3000
TITLE_CHARS = 300
SUMMARY_CHARS = 1200
SOURCES_CHARS = 600
MAX_URL = 1500
"""Longer URLs are dropped (the label stays): they would crowd the section limit."""

VOTE_UP = "sb_vote_up"
VOTE_DOWN = "sb_vote_down"
MORE = "sb_more"
WHY = "sb_why"
"""Action id prefixes; the suffix after ``:`` keeps ids unique within a message."""

PHRASES: Catalog = catalog("slack.render")

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One message for chat.postMessage or response_url: ``blocks`` and the ``text`` fallback."""

    blocks: list[dict[str, Any]]
    text: str


def escape_mrkdwn(text: str, limit: int | None = None) -> str:
    """Untrusted ``text`` on one line with ``& < >`` escaped, cut to ``limit`` escaped chars.

    Cutting counts escaped characters so an entity such as ``&amp;`` is never cut in half.
    """
    out: list[str] = []
    size = 0
    for char in clean_text(text):
        piece = _ESCAPES.get(char, char)
        if limit is not None and size + len(piece) > limit - 1:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def escape_multiline(text: str) -> str:
    """Our own phrases (which keep their line breaks) with ``& < >`` escaped."""
    lines = (escape_mrkdwn(line) for line in text.splitlines())
    return "\n".join(lines)


def slack_url(url: str | None) -> str | None:
    """``url`` fit for ``<url|label>``: http(s) only, percent-encoded, ``&`` as ``&amp;``."""
    safe = safe_url(url)
    if safe is None or len(safe) > MAX_URL:
        return None
    # safe_url percent-encodes "|", ">", "<", spaces and quotes; "&" is the one left to escape.
    return safe.replace("&", "&amp;")


def mrkdwn_link(label: str, url: str | None, *, limit: int = TITLE_CHARS) -> str:
    """A link with an escaped label, or just the escaped label when the URL is unusable."""
    text = escape_mrkdwn(label, limit) or "…"
    target = slack_url(url)
    return f"<{target}|{text}>" if target else text


def mrkdwn(text: str) -> MarkdownTextObject:
    """A mrkdwn text object that Slack shows as written (``verbatim``): for escaped feed text.

    Without ``verbatim`` Slack auto-links bare URLs and conversation names and parses some
    mention words in the text; explicit ``<url|label>`` links and ``*bold*`` still work with it.
    """
    return MarkdownTextObject(text=text, verbatim=True)


def _plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=escape_mrkdwn(text, limit) or "…", emoji=True)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=mrkdwn(text[:SECTION_TEXT]))


def _context(texts: Iterable[str]) -> ContextBlock:
    elements = [mrkdwn(t) for t in texts if t][:CONTEXT_ELEMENTS]
    return ContextBlock(elements=elements)


def _button(text: str, action_id: str, value: Mapping[str, Any] | str) -> ButtonElement:
    raw = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return ButtonElement(
        text=_plain(text, BUTTON_TEXT), action_id=action_id, value=raw[:BUTTON_VALUE]
    )


def sources_line(entry: StoryEntry, labels: Mapping[str, str]) -> str:
    """ "N sources · name, name" in the reader's language, names escaped."""
    count = sources_count(labels, entry.source_count, len(entry.sources))
    names = joined(labels, (clean_text(s.name) for s in entry.sources))
    line = " · ".join(part for part in (count, names) if part)
    return escape_mrkdwn(line or labels.get("sources_one", "1 source"), SOURCES_CHARS)


def vote_value(story_key: str, sector: str | None) -> dict[str, str]:
    """What a "More like this" / "Less like this" button carries: the story key and the
    sector it was shown under (the vote teaches that sector)."""
    value = {"story": story_key}
    if sector:
        value["sector"] = sector
    return value


class _Ids:
    """Numbers action ids so they stay unique within a briefing (and so within each message)."""

    def __init__(self) -> None:
        self._n = 0

    def next(self) -> int:
        self._n += 1
        return self._n


def _story_buttons(entry: StoryEntry, sector: str | None, ids: _Ids, lang: Language) -> list[Any]:
    """ "More like this", "Less like this" and "Why this?" under one story; "Why this?" only
    for a stored story (one a digest or ``/brief today`` sent), which ``/brief why`` knows."""
    n = ids.next()
    value = vote_value(entry.story_key, sector)
    buttons = [
        _button(phrase(PHRASES, "up", lang), f"{VOTE_UP}:{n}", value),
        _button(phrase(PHRASES, "down", lang), f"{VOTE_DOWN}:{n}", value),
    ]
    if story_id_of(entry.story_key) is not None:
        why = _button(phrase(PHRASES, "why", lang), f"{WHY}:{n}", {"story": entry.story_key})
        buttons.append(why)
    return buttons


def _story_text(entry: StoryEntry, *, bold: bool, bullet: bool = False) -> str:
    link = mrkdwn_link(entry.title, entry.link)
    text = f"*{link}*" if bold else link
    if bullet:
        text = f"• {text}"
    if entry.summary:
        text += "\n" + escape_mrkdwn(entry.summary, SUMMARY_CHARS)
    if entry.why:
        text += "\n_" + escape_mrkdwn(entry.why, SUMMARY_CHARS) + "_"
    return text


def _chunks(lines: Sequence[str], heading: str, limit: int = SECTION_TEXT) -> Iterator[str]:
    """Lines joined into section texts of at most ``limit``, the heading on the first."""
    current = heading
    for line in lines:
        line = line[:limit]
        if current and len(current) + 1 + len(line) > limit:
            yield current
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        yield current


def _section_units(
    section: SectorSection, labels: Mapping[str, str], ids: _Ids, lang: Language
) -> Iterator[list[Block]]:
    lead = section.lead
    more = _button(
        phrase(PHRASES, "more_on", lang, sector=clean_text(section.name)),
        f"{MORE}:{ids.next()}",
        {"sector": section.key, "story": lead.story_key},
    )
    overview = (
        [_section(escape_mrkdwn(section.overview, SUMMARY_CHARS))] if section.overview else []
    )
    yield [
        DividerBlock(),
        HeaderBlock(text=_plain(section.name, HEADER_TEXT)),
        *overview,
        _section(_story_text(lead, bold=True)),
        _context([sources_line(lead, labels)]),
        ActionsBlock(elements=[*_story_buttons(lead, section.key, ids, lang), more]),
    ]
    for number, entry in enumerate(section.more):
        unit: list[Block] = []
        if number == 0:
            unit.append(_context([f"*{escape_mrkdwn(labels.get('more', 'More'), 200)}*"]))
        unit += [
            _section(_story_text(entry, bold=False, bullet=True)),
            _context([sources_line(entry, labels)]),
            ActionsBlock(elements=_story_buttons(entry, section.key, ids, lang)),
        ]
        yield unit
    if section.reading:
        heading = f"*{escape_mrkdwn(labels.get('related_reading', 'Related reading'), 200)}*"
        lines = [f"• {mrkdwn_link(r.title, r.url)}" for r in section.reading]
        for text in _chunks(lines, heading):
            yield [_section(text)]


def _briefing_units(briefing: Briefing) -> Iterator[list[Block]]:
    labels, lang, ids = briefing.labels, briefing.language, _Ids()
    yield [HeaderBlock(text=_plain(briefing.title, HEADER_TEXT))]
    if briefing.machine_written:
        # Machine-written text is labelled; every story keeps its source links one click away.
        yield [_context([f"_{escape_mrkdwn(labels.get('machine', 'AI summary'), 300)}_"])]
    if briefing.opening:
        yield [_section(escape_mrkdwn(briefing.opening, SECTION_TEXT))]
    if briefing.empty_note:
        yield [_section(escape_mrkdwn(briefing.empty_note, SECTION_TEXT))]
    if briefing.key_points:
        heading = f"*{escape_mrkdwn(labels.get('key_points', 'Key points'), 200)}*"
        lines = [
            f"• *{escape_mrkdwn(p.sector_name, 100)}*: {mrkdwn_link(p.text, p.link)}"
            + (f" — {escape_mrkdwn(p.why, 300)}" if p.why else "")
            for p in briefing.key_points
        ]
        for text in _chunks(lines, heading):
            yield [_section(text)]
    for section in briefing.sections:
        yield from _section_units(section, labels, ids, lang)
    if briefing.synergies:
        yield [
            DividerBlock(),
            HeaderBlock(text=_plain(labels.get("synergies", "Across sectors"), HEADER_TEXT)),
        ]
        for synergy in briefing.synergies:
            names = " × ".join(escape_mrkdwn(n, 100) for n in synergy.sector_names)
            why = escape_mrkdwn(synergy.why, SUMMARY_CHARS)
            links = "\n".join(
                f"• {mrkdwn_link(e.title, e.link)}" for e in synergy.stories or (synergy.story,)
            )
            yield [_section(f"*{names}*: {why}\n{links}"[:SECTION_TEXT])]
    if briefing.watch:
        yield [
            DividerBlock(),
            HeaderBlock(text=_plain(labels.get("watch", "What to watch"), HEADER_TEXT)),
        ]
        for number, item in enumerate(briefing.watch, 1):
            head = item.signal + (f" ({item.due_text})" if item.due_text else "")
            story = mrkdwn_link(item.story.title, item.story.link)
            text = f"{number}. *{escape_mrkdwn(head, 140)}*: "
            if item.sentence:
                text += f"{escape_mrkdwn(item.sentence, 600)}\n{story}"
            else:
                text += story
            yield [_section(text)]


def block_text_size(blocks: Iterable[Mapping[str, Any]]) -> int:
    """Characters of text in ``blocks`` (every ``text`` string, nested), as Slack counts them."""

    def walk(node: Any) -> int:
        if isinstance(node, Mapping):
            total = 0
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    total += len(value)
                else:
                    total += walk(value)
            return total
        if isinstance(node, list):
            return sum(walk(v) for v in node)
        return 0

    return sum(walk(b) for b in blocks)


def _pack(
    units: Iterable[list[dict[str, Any]]], *, reserve_blocks: int, reserve_text: int
) -> list[list[dict[str, Any]]]:
    """Whole units into messages within the block and text limits, in order."""
    messages: list[list[dict[str, Any]]] = [[]]
    size = 0
    for unit in units:
        unit_size = block_text_size(unit)
        current = messages[-1]
        too_many = len(current) + len(unit) > MAX_BLOCKS - reserve_blocks
        too_long = size + unit_size > MESSAGE_TEXT_BUDGET - reserve_text
        if current and (too_many or too_long):
            messages.append([])
            size = 0
        if messages[-1] == [] and unit and unit[0].get("type") == "divider":
            unit = unit[1:]  # a message never opens with a rule
        messages[-1].extend(unit)
        size += block_text_size(unit)
    return [m for m in messages if m]


def render_briefing_messages(briefing: Briefing) -> list[SlackMessage]:
    """The briefing as one or more messages, in order, each within every Slack limit."""
    units = [[block.to_dict() for block in unit] for unit in _briefing_units(briefing)]
    # Room for the "part n of m" line added to every message after the first.
    parts = _pack(units, reserve_blocks=1, reserve_text=HEADER_TEXT + 50)
    title = escape_mrkdwn(briefing.title, FALLBACK_TEXT - 100)
    lang = briefing.language
    messages = []
    for index, blocks in enumerate(parts):
        if len(parts) == 1:
            text = title
        else:
            text = phrase(PHRASES, "part", lang, title=title, n=index + 1, total=len(parts))
        if index > 0:
            part = ContextBlock(elements=[mrkdwn(text[: HEADER_TEXT + 40])])
            blocks = [part.to_dict(), *blocks]
        messages.append(SlackMessage(blocks=blocks, text=text))
    return messages


def _result_line(entry: StoryEntry) -> str:
    link = mrkdwn_link(entry.title, entry.link)
    source = ", ".join(clean_text(s.name) for s in entry.sources)
    when = entry.published_at.strftime("%Y-%m-%d") if entry.published_at else ""
    detail = " · ".join(x for x in (source, when) if x)
    return f"• {link}" + (f"\n{escape_mrkdwn(detail, 300)}" if detail else "")


def render_reply(reply: Reply) -> SlackMessage:
    """A command's text and search results as one message (the briefing is rendered apart).

    The text holds our phrases but may echo what the user typed, so it is escaped too.
    """
    blocks: list[Block] = []
    # Quoted outside text is cleaned to one line here and escaped with our phrases just after:
    # escape_mrkdwn, as for feed text everywhere (escaping it first would escape it twice).
    text = escape_multiline(untrusted.render(reply.text, clean_text)) if reply.text else ""
    if text:
        blocks += [_section(chunk) for chunk in _chunks(text.splitlines(), "")]
    blocks += [_section(_result_line(entry)) for entry in reply.results]
    dicts = [b.to_dict() for b in blocks[:MAX_BLOCKS]]
    fallback = text[:FALLBACK_TEXT] or (
        escape_mrkdwn(reply.results[0].title, FALLBACK_TEXT) if reply.results else ""
    )
    return SlackMessage(blocks=dicts, text=fallback)


CHOSEN_MARK = " ✓"


def mark_vote(blocks: Sequence[Mapping[str, Any]], action_id: str) -> list[dict[str, Any]]:
    """``blocks`` of a posted message with the pressed 👍/👎 shown as chosen (the other not).

    Returns a copy; the message can then be updated in place (chat.update or response_url).
    """
    out: list[dict[str, Any]] = [json.loads(json.dumps(block)) for block in blocks]
    suffix = action_id.partition(":")[2]
    for block in out:
        if block.get("type") != "actions":
            continue
        ids = [e.get("action_id", "") for e in block.get("elements", [])]
        if action_id not in ids:
            continue
        for element in block["elements"]:
            element_id = element.get("action_id", "")
            if not element_id.startswith((VOTE_UP, VOTE_DOWN)) or not element_id.endswith(
                f":{suffix}"
            ):
                continue
            text = element["text"]["text"].removesuffix(CHOSEN_MARK)
            if element_id == action_id:
                element["style"] = "primary"
                element["text"]["text"] = text + CHOSEN_MARK
            else:
                element.pop("style", None)
                element["text"]["text"] = text
    return out
