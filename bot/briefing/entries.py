"""One story as a reader sees it: its ``StoryEntry`` and the marks of feed text (pure).

The composer (``bot.briefing.compose``) decides which stories a reader gets and in what role;
this module writes each of them: the editor's text when it wrote the story, otherwise the
extractive headline, summary and reason in the feed's own language, marked "[EN]", "[JA]",
"[DE]" when that is not the reader's.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.briefing.editor.base import StoryText
from bot.briefing.editor.dates import is_japanese
from bot.briefing.editor.extractive import shown_article, story_summary
from bot.briefing.editor.reasons import why_sentence
from bot.briefing.editor.text import trim_summary
from bot.briefing.outlets import distinct_sources, shown_link
from bot.models import Language, SourceRef, Story, StoryEntry


def story_entry(
    story: Story,
    language: Language,
    *,
    text: StoryText | None,
    lead: bool,
    sentences: int,
    chars: int,
    sectors: Iterable[str],
) -> StoryEntry:
    """``story`` for a reader of ``language``.

    Args:
        story: The story.
        language: The reader's language.
        text: What the editor wrote for it in that language, if anything.
        lead: Whether it leads its section (a lead shows its reason apart from its summary).
        sentences: At most this many sentences of summary...
        chars: ...and at most this many characters.
        sectors: The keys of the sectors it is shown under.
    """
    shown = shown_article(story, language)
    if text is not None:
        title, why = text.headline, text.why
        summary = trim_summary(text.summary, max_sentences=sentences, max_chars=chars)
    else:
        title, why = " ".join(shown.title.split()), why_sentence(story, shown)
        # A lead shows its reason apart from its summary; a one-line entry keeps its line
        # and has no reason when that line is the reason.
        leave_out = why if lead else ""
        summary = story_summary(story, shown, sentences=sentences, chars=chars, leave_out=leave_out)
        if why and why in summary:
            why = ""
    # By outlet: the same article carried by two feeds is one source (bot.briefing.outlets).
    sources = [
        SourceRef(a.source, shown_link(a.link)) for a in distinct_sources((shown, *story.articles))
    ]
    dated = [a.published_at for a in story.articles if a.published_at is not None]
    # Feed text in another language than the reader's is marked: "[EN]", "[JA]", "[DE]".
    written_in = shown.language.lower().split("-")[0]
    foreign = written_in if text is None and written_in not in ("", "und", language) else None
    if foreign:
        title = f"[{foreign.upper()}] {title}"
    return StoryEntry(
        story_key=story.key,
        title=title,
        summary=summary,
        link=shown_link(shown.link),
        sources=tuple(sources),
        sectors=tuple(sectors),
        published_at=min(dated) if dated else None,
        language=foreign,
        why=why,
        machine_written=text is not None and text.machine_written,
    )


def marked_sentence(sentence: str, language: Language, machine_written: bool) -> str:
    """A source's sentence in the other language than the reader's, marked as feed text in
    another language is ("[JA] …" for an English reader); a model's is in the reader's."""
    if machine_written or is_japanese(sentence) == (language == "ja"):
        return sentence
    return f"[{'JA' if is_japanese(sentence) else 'EN'}] {sentence}"
