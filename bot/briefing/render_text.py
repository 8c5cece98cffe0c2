"""Render a ``Briefing`` as Markdown, as plain terminal text, or as JSON-ready data (pure).

Feed text is untrusted: Markdown escapes every character that could start markup, a link or
an HTML tag, and defuses bare URLs; plain text drops control characters (terminal escape
sequences). Links come only from our own link fields, and only when they are http(s).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from bot.models import Briefing, KeyPoint, ReadingLink, SourceRef, StoryEntry

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN_INLINE = re.compile(
    r"[\\`*_\[\]<|~]|&(?=#?\w+;)|(?<=[A-Za-z]):(?=//)|(?<=\bwww)\.|(?<=\w)@(?=\w)"
)
"""What starts markup anywhere in a line: emphasis, code, links, HTML, tables, strikethrough,
entities (``&lt;``), and the ``http://``, ``www.`` and ``a@b.c`` that GFM turns into links."""
_MARKDOWN_LINE_START = re.compile(r"^(?:[#>+=-]|\d+[.)])")
"""What starts a block at the start of a line: a heading, quote, list item or rule."""


def clean_text(text: str) -> str:
    """``text`` on one line, without control characters or bidirectional overrides."""
    return " ".join(_CONTROL.sub(" ", text).split())


def clean_lines(text: str) -> str:
    """``text`` with its line breaks and tabs kept (a traceback's shape), but no other control
    characters (terminal escape sequences) or bidirectional overrides."""
    return _CONTROL.sub(" ", text)


def escape_markdown(text: str) -> str:
    """Feed-derived ``text`` made inert in Markdown, escaping only what could start markup.

    Inline, that is emphasis, code, links, HTML, tables and strikethrough characters, entities
    such as ``&lt;`` (they would decode into markup), and the ``:`` of ``http://``, the ``.``
    of ``www.`` and the ``@`` of an address (GFM would link them). At the start, a character
    that would open a block (``#``, ``>``, ``-``, ``+``, ``=``, ``1.``). "Briefing for March
    24, 2026: 3.5% more" stays as it reads.
    """
    escaped = _MARKDOWN_INLINE.sub(lambda m: "\\" + m.group(0), clean_text(text))
    return _MARKDOWN_LINE_START.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], escaped)


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) URL with a host, percent-encoded so it cannot end a link."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=":/?#@!$&'*+,;=%~-._[]").replace("(", "%28").replace(")", "%29")


def _md_link(text: str, url: str | None) -> str:
    label = escape_markdown(text)
    target = safe_url(url)
    return f"[{label}]({target})" if target else label


def sources_count(labels: Mapping[str, str], n: int, listed: int = 0) -> str:
    """ "3 sources" in the reader's language; empty where it would say nothing.

    One source says nothing, and neither does a count of the outlets already named on the line
    (``listed``): "Sources: A, B (2 sources)" states the number twice.
    """
    if n <= max(1, listed):
        return ""
    return labels.get("sources_many", "{n} sources").replace("{n}", str(n))


def joined(labels: Mapping[str, str], names: Iterable[str]) -> str:
    """Names listed with the reader's language's separator ("a, b"; "a、b")."""
    return labels.get("list_separator", ", ").join(names)


def _counted(line: str, labels: Mapping[str, str], n: int, listed: int = 0) -> str:
    count = sources_count(labels, n, listed)
    return f"{line} ({count})" if count else line


def _md_sources(entry: StoryEntry, labels: dict[str, str]) -> str:
    links = joined(labels, (_md_link(s.name, s.url) for s in entry.sources))
    line = f"{labels.get('sources', 'Sources')}: {links}"
    return _counted(line, labels, entry.source_count, len(entry.sources))


def _md_key_point(point: KeyPoint) -> str:
    line = f"- **{escape_markdown(point.sector_name)}**: {_md_link(point.text, point.link)}"
    return line + (f" — {escape_markdown(point.why)}" if point.why else "")


def machine_note(briefing: Briefing) -> str:
    """The label saying some text was machine-written (empty when none was)."""
    if not briefing.machine_written:
        return ""
    return briefing.labels.get("machine", "Summaries written by a language model")


def watch_line(signal: str, due_text: str, sentence: str) -> str:
    """ "Plan (March 2027): the sentence" as plain text, escaped by the caller."""
    head = f"{signal} ({due_text})" if due_text else signal
    return f"{head}: {sentence}" if sentence else head


def render_markdown(briefing: Briefing) -> str:
    """The briefing as Markdown (CommonMark/GFM); feed text cannot inject markup or links."""
    labels = briefing.labels
    out = [f"# {escape_markdown(briefing.title)}", ""]
    if briefing.machine_written:
        out += [f"*{escape_markdown(machine_note(briefing))}*", ""]
    if briefing.opening:
        out += [escape_markdown(briefing.opening), ""]
    if briefing.empty_note:
        out += [escape_markdown(briefing.empty_note), ""]
    if briefing.key_points:
        out += [f"## {escape_markdown(labels.get('key_points', 'Key points'))}", ""]
        out += [_md_key_point(p) for p in briefing.key_points]
        out.append("")
    if briefing.sections:
        out += [f"## {escape_markdown(labels.get('by_sector', 'By sector'))}", ""]
        for section in briefing.sections:
            out += [f"### {escape_markdown(section.name)}", ""]
            if section.overview:
                out += [escape_markdown(section.overview), ""]
            lead = section.lead
            out.append(f"**{_md_link(lead.title, lead.link)}**")
            if lead.summary:
                out += ["", escape_markdown(lead.summary)]
            if lead.why:
                out += ["", f"*{escape_markdown(lead.why)}*"]
            out += ["", _md_sources(lead, labels), ""]
            if section.more:
                out += [f"*{escape_markdown(labels.get('more', 'More'))}*", ""]
                for entry in section.more:
                    line = f"- {_md_link(entry.title, entry.link)}"
                    if entry.summary:
                        line += f": {escape_markdown(entry.summary)}"
                    out.append(_counted(line, labels, entry.source_count))
                out.append("")
            if section.reading:
                out += [
                    f"*{escape_markdown(labels.get('related_reading', 'Related reading'))}*",
                    "",
                ]
                out += [f"- {_md_link(r.title, r.url)}" for r in section.reading]
                out.append("")
    if briefing.synergies:
        out += [f"## {escape_markdown(labels.get('synergies', 'Across sectors'))}", ""]
        for synergy in briefing.synergies:
            names = " × ".join(escape_markdown(n) for n in synergy.sector_names)
            out.append(f"- **{names}**: {escape_markdown(synergy.why)}")
            for entry in synergy.stories or (synergy.story,):
                out.append(f"  - {_md_link(entry.title, entry.link)}")
        out.append("")
    if briefing.watch:
        out += [f"## {escape_markdown(labels.get('watch', 'What to watch'))}", ""]
        for number, item in enumerate(briefing.watch, 1):
            head = item.signal + (f" ({item.due_text})" if item.due_text else "")
            story = _md_link(item.story.title, item.story.link)
            text = escape_markdown(item.sentence) if item.sentence else story
            out.append(f"{number}. **{escape_markdown(head)}**: {text}")
            if item.sentence:
                out.append(f"   {story}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _heading(text: str, underline: str) -> list[str]:
    text = clean_text(text)
    return [text, underline * max(4, min(display_width(text), 60))]


def display_width(text: str) -> int:
    """Terminal columns: wide and full-width characters (Japanese) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _text_link(url: str | None) -> str | None:
    return safe_url(url)


def render_text(briefing: Briefing) -> str:
    """The briefing as plain text for terminals: no markup, control characters removed."""
    labels = briefing.labels
    out = [*_heading(briefing.title, "="), ""]
    if briefing.machine_written:
        out += [f"({clean_text(machine_note(briefing))})", ""]
    if briefing.opening:
        out += [clean_text(briefing.opening), ""]
    if briefing.empty_note:
        out += [clean_text(briefing.empty_note), ""]
    if briefing.key_points:
        out += [*_heading(labels.get("key_points", "Key points"), "-")]
        for p in briefing.key_points:
            why = f" - {clean_text(p.why)}" if p.why else ""
            out.append(f"* {clean_text(p.sector_name)}: {clean_text(p.text)}{why}")
            # A key point may be a story no section lists again: its link is here.
            link = _text_link(p.link)
            if link:
                out.append(f"  {link}")
        out.append("")
    if briefing.sections:
        out += [*_heading(labels.get("by_sector", "By sector"), "-"), ""]
        for section in briefing.sections:
            out.append(f"[{clean_text(section.name)}]")
            if section.overview:
                out.append(clean_text(section.overview))
            lead = section.lead
            out.append(clean_text(lead.title))
            if lead.summary:
                out.append(clean_text(lead.summary))
            if lead.why:
                out.append(clean_text(lead.why))
            out.append(_text_sources(lead, labels))
            for entry in section.more:
                line = f"  * {clean_text(entry.title)}"
                if entry.summary:
                    line += f": {clean_text(entry.summary)}"
                out.append(_counted(line, labels, entry.source_count))
                link = _text_link(entry.link)
                if link:
                    out.append(f"    {link}")
            for reading in section.reading:
                link = _text_link(reading.url)
                label = clean_text(labels.get("related_reading", "Related reading"))
                out.append(
                    f"  > {label}: {clean_text(reading.title)}" + (f" {link}" if link else "")
                )
            out.append("")
    if briefing.synergies:
        out += [*_heading(labels.get("synergies", "Across sectors"), "-")]
        for synergy in briefing.synergies:
            names = " × ".join(clean_text(n) for n in synergy.sector_names)
            out.append(f"* {names}: {clean_text(synergy.why)}")
            for entry in synergy.stories or (synergy.story,):
                link = _text_link(entry.link)
                out.append(f"  - {clean_text(entry.title)}" + (f" {link}" if link else ""))
        out.append("")
    if briefing.watch:
        out += [*_heading(labels.get("watch", "What to watch"), "-")]
        for number, item in enumerate(briefing.watch, 1):
            line = watch_line(item.signal, item.due_text, item.sentence or item.story.title)
            out.append(f"{number}. {clean_text(line)}")
            if item.sentence:
                out.append(f"   {clean_text(item.story.title)}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _text_sources(entry: StoryEntry, labels: dict[str, str]) -> str:
    names = joined(labels, (clean_text(s.name) for s in entry.sources))
    line = _counted(
        f"{clean_text(labels.get('sources', 'Sources'))}: {names}",
        labels,
        entry.source_count,
        len(entry.sources),
    )
    link = _text_link(entry.link)
    return f"{line}\n{link}" if link else line


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _source_json(source: SourceRef) -> dict[str, Any]:
    return {"name": source.name, "url": source.url}


def _entry_json(entry: StoryEntry) -> dict[str, Any]:
    return {
        "story_key": entry.story_key,
        "title": entry.title,
        "summary": entry.summary,
        "link": entry.link,
        "sources": [_source_json(s) for s in entry.sources],
        "source_count": entry.source_count,
        "sectors": list(entry.sectors),
        "published_at": _iso(entry.published_at),
        "language": entry.language,
        # A reason when there is one; never an empty string standing for none.
        **({"why": entry.why} if entry.why else {}),
        "machine_written": entry.machine_written,
    }


def _reading_json(link: ReadingLink) -> dict[str, Any]:
    return {"title": link.title, "url": link.url, "sector": link.sector, "keyword": link.keyword}


def briefing_to_json(briefing: Briefing) -> dict[str, Any]:
    """The briefing as JSON-ready data (datetimes in ISO 8601); text is left unescaped."""
    return {
        "title": briefing.title,
        "language": briefing.language,
        "length": briefing.length,
        "date": briefing.date.isoformat(),
        "generated_at": briefing.generated_at.isoformat(),
        "is_empty": briefing.is_empty,
        "empty_note": briefing.empty_note,
        "opening": briefing.opening,
        "machine_written": briefing.machine_written,
        "labels": dict(briefing.labels),
        "key_points": [
            {
                "sector": p.sector,
                "sector_name": p.sector_name,
                "text": p.text,
                "story_key": p.story_key,
                "link": p.link,
                **({"why": p.why} if p.why else {}),
            }
            for p in briefing.key_points
        ],
        "sections": [
            {
                "key": s.key,
                "name": s.name,
                "lead": _entry_json(s.lead),
                "more": [_entry_json(e) for e in s.more],
                "reading": [_reading_json(r) for r in s.reading],
                "overview": s.overview,
            }
            for s in briefing.sections
        ],
        "synergies": [
            {
                "sectors": list(s.sectors),
                "sector_names": list(s.sector_names),
                "why": s.why,
                "story": _entry_json(s.story),
                "stories": [_entry_json(e) for e in s.stories],
                "machine_written": s.machine_written,
            }
            for s in briefing.synergies
        ],
        "watch": [
            {
                "signal": w.signal,
                "sentence": w.sentence,
                "due": _iso(w.due),
                "due_text": w.due_text,
                "machine_written": w.machine_written,
                "story": _entry_json(w.story),
            }
            for w in briefing.watch
        ],
    }
