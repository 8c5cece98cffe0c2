"""Render a ``Briefing`` (and command replies) as Discord messages with embeds (pure).

Discord's limits are checked here, because neither Discord.py nor the API does so politely (the
API refuses the whole message): embed title 256, description 4096, 25 fields of 256/1024,
footer 2048, 6000 characters across a message's embeds, 10 embeds a message, content 2000, and
5 rows of buttons. A long briefing becomes several messages, in reading order.

Feed text is untrusted: Discord markdown characters are backslash-escaped and every ``@`` gets a
zero-width space after it, so ``@everyone``, ``<@id>``, ``<@&id>`` and ``<#id>`` stay text even
where ``AllowedMentions`` would not apply (embeds are never pinged, but content is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import discord

from bot import untrusted
from bot.briefing.render_text import clean_text, joined, safe_url, sources_count
from bot.commands.dispatcher import Reply
from bot.i18n import Catalog, catalog, phrase
from bot.models import Briefing, SectorSection, StoryEntry
from bot.stories.identity import story_id_of

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
CONTENT_LIMIT = 2000
ROWS_PER_MESSAGE = 5
SELECT_OPTIONS = 25
MAX_LINK_URL = 512
"""Longer URLs are left out of masked links, so one link cannot eat a whole field."""

SECTOR_COLOURS: dict[str, int] = {
    "ai": 0x5865F2,
    "green": 0x2ECC71,
    "quantum": 0x9B59B6,
    "mobility": 0xE67E22,
    "life": 0xE91E63,
}
_FALLBACK_COLOURS = (0x1ABC9C, 0x3498DB, 0xF1C40F, 0xE74C3C, 0x95A5A6, 0x11806A, 0x206694)
HEADER_COLOUR = 0x2B2D31
SYNERGY_COLOUR = 0x00B0F4
WATCH_COLOUR = 0xFEE75C

PHRASES: Catalog = catalog("discord.render")
_MARKDOWN = re.compile(r"([\\*_~|`>#\-\[\]()<:])")
_ZWSP = "\u200b"
_MASKED_LINK = re.compile(r"\]\s*\(")


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """The buttons under one story: 👍 "More like this", 👎 "Less like this", "More on
    <sector>" and "Why this?"."""

    story_key: str
    sector_key: str
    more_label: str
    """The "More on <sector>" button text, in the reader's language (at most 80 characters)."""
    why_label: str = "Why this?"
    """The "Why this?" button text, in the reader's language."""
    up_label: str = "More like this"
    down_label: str = "Less like this"
    """The vote buttons' text (beside 👍 and 👎), in the reader's language."""
    others: tuple[tuple[str, str], ...] = ()
    """(story key, title) of the sector's other stored stories: a "Why this?" menu on a second
    row answers for them (a message holds five rows, too few for a row per story)."""
    others_label: str = "Why this? Another story"

    @property
    def rows(self) -> int:
        """How many of a message's five component rows these controls take."""
        return 2 if self.others else 1


@dataclass(slots=True)
class DiscordMessage:
    """One message to send: ``content`` (may be empty), embeds, and rows of feedback buttons."""

    content: str = ""
    embeds: list[discord.Embed] = field(default_factory=list)
    feedback: list[FeedbackRow] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Component rows the message's controls take (Discord allows five)."""
        return sum(row.rows for row in self.feedback)

    @property
    def embed_chars(self) -> int:
        return sum(len(e) for e in self.embeds)


def defuse_mentions(text: str) -> str:
    """``text`` with every ``@`` unable to start a mention (a zero-width space after it)."""
    return text.replace("@", "@" + _ZWSP)


def defuse_our_text(text: str) -> str:
    """Our phrases as Discord content: no mention, and no masked link. Our phrases hold none,
    but a refusal echoes what the user typed (``/brief subscribe [x](https://evil.example)``);
    a zero-width space between ``]`` and ``(`` leaves it plain text, the address visible."""
    return defuse_mentions(_MASKED_LINK.sub("]" + _ZWSP + "(", text))


def escape_discord(text: str) -> str:
    """Feed-derived ``text`` made inert: one line, markdown escaped, mentions defused."""
    return defuse_mentions(_MARKDOWN.sub(r"\\\1", clean_text(text)))


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip("\\") + "…"


def sector_colour(key: str) -> int:
    """The sector's own colour; sectors admins added get a stable one from a palette."""
    if key in SECTOR_COLOURS:
        return SECTOR_COLOURS[key]
    return _FALLBACK_COLOURS[sum(key.encode()) % len(_FALLBACK_COLOURS)]


def _link(label: str, url: str | None, *, limit: int = 200) -> str:
    """A masked link whose label is escaped feed text; just the label without a usable URL."""
    text = escape_discord(truncate(clean_text(label), limit))
    target = safe_url(url)
    if target and len(target) <= MAX_LINK_URL:
        # Angle brackets keep Discord from unfurling a preview for every story.
        return f"[{text}](<{target}>)"
    return text


def _sources_line(entry: StoryEntry, labels: dict[str, str]) -> str:
    names = joined(labels, (_link(s.name, s.url, limit=60) for s in entry.sources[:5]))
    if len(entry.sources) > 5:
        names = joined(labels, (names, "…"))
    count = sources_count(labels, entry.source_count, min(len(entry.sources), 5))
    line = f"-# {escape_discord(labels.get('sources', 'Sources'))}: {names}"
    return f"{line} ({count})" if count else line


class _EmbedSeries:
    """Embeds that continue one another when a section outgrows one embed's limits."""

    def __init__(self, title: str, colour: int, *, footer: str | None = None) -> None:
        # Titles render markdown and are feed text too (the headline, admin-made sector names).
        self._title = truncate(escape_discord(title), TITLE_LIMIT - 5)
        self._colour = colour
        self._footer = truncate(footer, FOOTER_LIMIT) if footer else None
        self.embeds: list[discord.Embed] = []
        self._open()

    def _open(self) -> None:
        n = len(self.embeds) + 1
        title = self._title if n == 1 else f"{self._title} ({n})"
        embed = discord.Embed(title=title, colour=self._colour, description="")
        if self._footer:
            embed.set_footer(text=self._footer)
        self.embeds.append(embed)

    @property
    def _current(self) -> discord.Embed:
        return self.embeds[-1]

    def add_line(self, line: str) -> None:
        line = truncate(line, DESCRIPTION_LIMIT)
        embed = self._current
        description = embed.description or ""
        extra = len(line) + (1 if description else 0)
        if description and (
            len(description) + extra > DESCRIPTION_LIMIT or len(embed) + extra > EMBED_TOTAL_LIMIT
        ):
            self._open()
            embed, description, extra = self._current, "", len(line)
        embed.description = f"{description}\n{line}" if description else line

    def add_field(self, name: str, value: str) -> None:
        name = truncate(name or "\u200b", FIELD_NAME_LIMIT)
        value = truncate(value or "\u200b", FIELD_VALUE_LIMIT)
        embed = self._current
        if len(embed.fields) >= FIELDS_LIMIT or len(embed) + len(name) + len(value) > (
            EMBED_TOTAL_LIMIT
        ):
            self._open()
            embed = self._current
        embed.add_field(name=name, value=value, inline=False)

    def finish(self) -> list[discord.Embed]:
        for embed in self.embeds:
            if not embed.description:
                embed.description = None
        return self.embeds


def _lines_into_fields(series: _EmbedSeries, name: str, lines: Iterable[str]) -> None:
    """Lines under one field name, spread over as many fields as 1024 characters need."""
    value = ""
    for line in lines:
        line = truncate(line, FIELD_VALUE_LIMIT)
        if value and len(value) + 1 + len(line) > FIELD_VALUE_LIMIT:
            series.add_field(name, value)
            value = ""
        value = f"{value}\n{line}" if value else line
    if value:
        series.add_field(name, value)


def render_header(briefing: Briefing) -> list[discord.Embed]:
    """The title embed: the empty note or the key points, with the date in the footer."""
    labels = briefing.labels
    footer = f"ShiftBrief · {briefing.date.isoformat()}"
    series = _EmbedSeries(clean_text(briefing.title), HEADER_COLOUR, footer=footer)
    if briefing.machine_written:
        # Machine-written text is labelled; every story keeps its source links one click away.
        series.add_line(f"*{escape_discord(labels.get('machine', 'AI summary'))}*")
    if briefing.opening:
        series.add_line(escape_discord(truncate(clean_text(briefing.opening), 1000)))
    if briefing.empty_note:
        series.add_line(escape_discord(briefing.empty_note))
    if briefing.key_points:
        series.add_line(f"**{escape_discord(labels.get('key_points', 'Key points'))}**")
        for point in briefing.key_points:
            sector = escape_discord(truncate(point.sector_name, 60))
            why = f" — {escape_discord(truncate(clean_text(point.why), 300))}" if point.why else ""
            series.add_line(f"• **{sector}**: {_link(point.text, point.link, limit=300)}{why}")
    embeds = series.finish()
    embeds[0].timestamp = briefing.generated_at
    return embeds


def render_sector(section: SectorSection, labels: dict[str, str]) -> list[discord.Embed]:
    """One sector: its lead story in the description, the others and related reading as fields."""
    series = _EmbedSeries(clean_text(section.name), sector_colour(section.key))
    lead = section.lead
    if section.overview:
        series.add_line(escape_discord(truncate(clean_text(section.overview), 800)))
    series.add_line(f"**{_link(lead.title, lead.link, limit=250)}**")
    if lead.summary:
        series.add_line(escape_discord(truncate(clean_text(lead.summary), 1500)))
    if lead.why:
        series.add_line(f"*{escape_discord(truncate(clean_text(lead.why), 400))}*")
    series.add_line(_sources_line(lead, labels))
    more_label = escape_discord(labels.get("more", "More"))
    read_label = escape_discord(labels.get("read", "Read"))
    for entry in section.more:
        parts = []
        if entry.summary:
            parts.append(escape_discord(truncate(clean_text(entry.summary), 600)))
        tail = [sources_count(labels, entry.source_count)]
        if (link := safe_url(entry.link)) and len(link) <= MAX_LINK_URL:
            tail.insert(0, f"[{read_label}](<{link}>)")
        if any(tail):
            parts.append(" · ".join(t for t in tail if t))
        name = escape_discord(truncate(clean_text(entry.title), 200))
        series.add_field(
            f"{more_label}: {name}" if entry is section.more[0] else name, "\n".join(parts)
        )
    if section.reading:
        label = escape_discord(labels.get("related_reading", "Related reading"))
        _lines_into_fields(series, label, (f"• {_link(r.title, r.url)}" for r in section.reading))
    return series.finish()


def render_synergies(briefing: Briefing) -> list[discord.Embed]:
    labels = briefing.labels
    series = _EmbedSeries(labels.get("synergies", "Across sectors"), SYNERGY_COLOUR)
    for synergy in briefing.synergies:
        names = " × ".join(escape_discord(truncate(n, 60)) for n in synergy.sector_names)
        why = escape_discord(truncate(clean_text(synergy.why), 400))
        series.add_line(f"• **{names}**: {why}")
        for entry in synergy.stories or (synergy.story,):
            series.add_line(f"  ◦ {_link(entry.title, entry.link, limit=200)}")
    return series.finish()


def render_watch(briefing: Briefing) -> list[discord.Embed]:
    labels = briefing.labels
    series = _EmbedSeries(labels.get("watch", "What to watch"), WATCH_COLOUR)
    for number, item in enumerate(briefing.watch, 1):
        head = item.signal + (f" ({item.due_text})" if item.due_text else "")
        story = _link(item.story.title, item.story.link)
        line = f"{number}\\. **{escape_discord(truncate(head, 100))}**: "
        if item.sentence:
            line += f"{escape_discord(truncate(clean_text(item.sentence), 400))}\n{story}"
        else:
            line += story
        series.add_line(line)
    return series.finish()


def _pack(blocks: Sequence[tuple[discord.Embed, FeedbackRow | None]]) -> list[DiscordMessage]:
    """Embeds (with their button rows) into as few messages as every limit allows, in order."""
    messages: list[DiscordMessage] = []
    current = DiscordMessage()
    for embed, row in blocks:
        rows_needed = row.rows if row is not None else 0
        if current.embeds and (
            len(current.embeds) >= EMBEDS_PER_MESSAGE
            or current.embed_chars + len(embed) > EMBED_TOTAL_LIMIT
            or current.rows + rows_needed > ROWS_PER_MESSAGE
        ):
            messages.append(current)
            current = DiscordMessage()
        current.embeds.append(embed)
        if row is not None:
            current.feedback.append(row)
    if current.embeds:
        messages.append(current)
    return messages


def render_briefing_messages(briefing: Briefing) -> list[DiscordMessage]:
    """The briefing as messages to post in order: header, one embed per sector (with 👍/👎 and
    "More on" buttons for its lead story), synergies, what to watch."""
    blocks: list[tuple[discord.Embed, FeedbackRow | None]] = []
    blocks += [(e, None) for e in render_header(briefing)]
    for section in briefing.sections:
        more = phrase(PHRASES, "more_on", briefing.language, name=clean_text(section.name))
        row = FeedbackRow(
            section.lead.story_key,
            section.key,
            truncate(more, 80),
            why_label=truncate(phrase(PHRASES, "why", briefing.language), 80),
            up_label=truncate(phrase(PHRASES, "up", briefing.language), 80),
            down_label=truncate(phrase(PHRASES, "down", briefing.language), 80),
            others=tuple(
                (e.story_key, truncate(clean_text(e.title), 100) or "…")
                for e in section.more
                if story_id_of(e.story_key) is not None
            )[:SELECT_OPTIONS],
            others_label=truncate(phrase(PHRASES, "why_other", briefing.language), 150),
        )
        for i, embed in enumerate(render_sector(section, briefing.labels)):
            blocks.append((embed, row if i == 0 else None))
    if briefing.synergies:
        blocks += [(e, None) for e in render_synergies(briefing)]
    if briefing.watch:
        blocks += [(e, None) for e in render_watch(briefing)]
    return _pack(blocks)


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, broken between lines where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            pieces.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current.strip():
        pieces.append(current)
    return pieces


def render_results(title: str, results: Sequence[StoryEntry]) -> list[discord.Embed]:
    """Search hits as an embed of linked titles with their source and date."""
    series = _EmbedSeries(truncate(clean_text(title), TITLE_LIMIT), HEADER_COLOUR)
    for entry in results:
        source = ", ".join(escape_discord(truncate(s.name, 60)) for s in entry.sources[:3])
        when = entry.published_at.strftime("%Y-%m-%d") if entry.published_at else ""
        meta = " · ".join(p for p in (source, when) if p)
        series.add_line(
            f"• {_link(entry.title, entry.link, limit=250)}" + (f" — {meta}" if meta else "")
        )
    return series.finish()


def render_reply(reply: Reply) -> list[DiscordMessage]:
    """A dispatcher reply as messages: our text as content (mentions and masked links defused:
    it may echo what the user typed; quoted outside text escaped like feed text), search
    results as an embed, then the briefing, if any."""
    text = untrusted.render(reply.text.strip(), escape_discord, defuse_our_text)
    pieces = split_text(text) if text else []
    messages = [DiscordMessage(content=p) for p in pieces]
    if reply.results:
        # The heading is in ``text`` already; the embed title stays short and neutral.
        results = _pack([(e, None) for e in render_results("🔎", reply.results)])
        messages += results
    if reply.briefing is not None:
        messages += render_briefing_messages(reply.briefing)
    # Fold a trailing text piece into the first embed message so a reply is one message if it can.
    if len(pieces) >= 1 and len(messages) > len(pieces) and not messages[len(pieces)].content:
        messages[len(pieces)].content = messages[len(pieces) - 1].content
        del messages[len(pieces) - 1]
    return messages
