"""Discord embeds from briefings: every limit held, order kept, feed text inert."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest

from adapters.discord.render import (
    render_briefing_messages,
    render_reply,
    split_text,
)
from adapters.discord.views import feedback_view
from bot.commands.dispatcher import Reply
from bot.models import (
    Briefing,
    KeyPoint,
    ReadingLink,
    SectorSection,
    SourceRef,
    StoryEntry,
    Synergy,
    WatchEntry,
)

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
SECTORS = [("ai", "AI"), ("green", "Green tech"), ("quantum", "Quantum"), ("life", "Life")]


def entry(n: int, *, text: str = "Story", long: bool = True, stored: bool = False) -> StoryEntry:
    summary = f"{text} summary {n}. " * (40 if long else 1)
    return StoryEntry(
        story_key=f"t{n + 1}" if stored else f"s{n}",
        title=f"{text} {n} " + ("headline words " * 30 if long else ""),
        summary=summary,
        link=f"https://news.example/{n}?q=" + "x" * 100,
        sources=tuple(
            SourceRef(f"{text} source {k}", f"https://src{k}.example/{n}") for k in range(3)
        ),
        sectors=("ai",),
        published_at=NOW,
    )


def make_briefing(
    stories: int, *, text: str = "Story", language: str = "en", stored: bool = False
) -> Briefing:
    """``stories`` stories spread over the sectors, with key points, synergies and watch items."""
    per = max(1, stories // len(SECTORS))
    sections = []
    n = 0
    for key, name in SECTORS:
        if n >= stories:
            break
        count = min(per, stories - n)
        items = [entry(n + i, text=text, stored=stored) for i in range(count)]
        n += count
        reading = (ReadingLink(f"{text} explainer", "https://explain.example/a", sector=key),)
        sections.append(SectorSection(key, name, items[0], tuple(items[1:]), reading))
    if n < stories:
        extra = tuple(entry(n + i, text=text, stored=stored) for i in range(stories - n))
        first = sections[0]
        sections[0] = SectorSection(
            first.key, first.name, first.lead, first.more + extra, first.reading
        )
    everything = [s.lead for s in sections] + [e for s in sections for e in s.more]
    return Briefing(
        title=f"Briefing for 1 May: {text}",
        language=language,  # type: ignore[arg-type]
        length="full",
        date=date(2024, 5, 1),
        generated_at=NOW,
        key_points=tuple(
            KeyPoint(s.key, s.name, s.lead.title, s.lead.story_key, s.lead.link) for s in sections
        ),
        sections=tuple(sections),
        synergies=tuple(
            Synergy(("ai", "green"), ("AI", "Green tech"), f"{text} connects", e)
            for e in everything[:5]
        ),
        watch=tuple(WatchEntry("Deadline", e) for e in everything[:8]),
        labels={"key_points": "Key points", "sources": "Sources", "more": "Also"},
    )


def check_limits(messages: list) -> None:  # type: ignore[type-arg]
    for message in messages:
        payload = [e.to_dict() for e in message.embeds]
        assert 1 <= len(payload) <= 10
        assert len(message.content) <= 2000
        assert sum(len(e) for e in message.embeds) <= 6000
        assert message.rows == sum(row.rows for row in message.feedback) <= 5
        for embed in payload:
            assert len(embed.get("title", "")) <= 256
            assert len(embed.get("description", "")) <= 4096
            assert len(embed.get("footer", {}).get("text", "")) <= 2048
            fields = embed.get("fields", [])
            assert len(fields) <= 25
            for f in fields:
                assert 1 <= len(f["name"]) <= 256 and 1 <= len(f["value"]) <= 1024


@pytest.mark.parametrize("stored", [False, True])
@pytest.mark.parametrize("stories", [1, 2, 5, 10, 20, 40, 80])
def test_every_limit_holds_for_briefings_of_1_to_80_stories(stories: int, stored: bool) -> None:
    messages = render_briefing_messages(make_briefing(stories, stored=stored))
    check_limits(messages)
    text = json.dumps([[e.to_dict() for e in m.embeds] for m in messages])
    # Nothing is dropped: every story's key shows up in a link.
    for n in range(stories):
        assert f"news.example/{n}?" in text, n


def test_a_long_briefing_splits_over_messages_in_reading_order() -> None:
    messages = render_briefing_messages(make_briefing(80))
    assert len(messages) > 1
    titles = [e.title or "" for m in messages for e in m.embeds]
    assert titles[0].startswith("Briefing for 1 May")
    sector_first = [
        next(i for i, t in enumerate(titles) if t.startswith(name)) for _, name in SECTORS
    ]
    assert sector_first == sorted(sector_first)
    assert titles.index("Across sectors") > sector_first[-1]
    assert titles.index("What to watch") > titles.index("Across sectors")


def test_each_sector_has_its_colour_and_feedback_buttons() -> None:
    messages = render_briefing_messages(make_briefing(4))
    by_title = {e.title: e for m in messages for e in m.embeds}
    assert by_title["AI"].colour != by_title["Green tech"].colour
    rows = [row for m in messages for row in m.feedback]
    assert [(r.story_key, r.sector_key) for r in rows] == [
        ("s0", "ai"),
        ("s1", "green"),
        ("s2", "quantum"),
        ("s3", "life"),
    ]
    assert rows[0].more_label == "More on AI"


HOSTILE = (
    "@everyone @here <@123456789012345678> <@!123456789012345678> <@&223456789012345678> "
    "<#323456789012345678> [click](https://evil.example) **bold** ||spoiler|| # Heading"
)


def test_feed_text_can_never_mention_or_inject_markdown() -> None:
    messages = render_briefing_messages(make_briefing(6, text=HOSTILE))
    text = json.dumps([[e.to_dict() for e in m.embeds] for m in messages], ensure_ascii=False)
    assert "@everyone" not in text and "@here" not in text
    assert not re.search(r"<[@#][!&]?\d+>", text)
    assert "](https://evil.example)" not in text  # feed text does not make links
    assert "**bold**" not in text and "||spoiler||" not in text


def test_an_empty_briefing_is_one_message_with_the_note() -> None:
    empty = Briefing(
        title="Briefing for 1 May",
        language="en",
        length="full",
        date=date(2024, 5, 1),
        generated_at=NOW,
        empty_note="Nothing new in your sectors.",
    )
    [message] = render_briefing_messages(empty)
    assert message.embeds[0].description == "Nothing new in your sectors."
    assert not message.feedback


def test_japanese_briefing_keeps_its_text_and_labels() -> None:
    messages = render_briefing_messages(
        make_briefing(3, text="量子コンピュータの新発表", language="ja")
    )
    check_limits(messages)
    assert "量子コンピュータの新発表" in (messages[0].embeds[0].title or "")
    assert messages[0].feedback[0].more_label.endswith("をもっと見る")
    row = messages[0].feedback[0]
    assert (row.up_label, row.down_label, row.why_label) == (
        "もっと見たい",
        "あまり見たくない",
        "なぜこの記事？",
    )


def test_reply_text_is_split_at_2000_and_defused() -> None:
    lines = [f"{n} feed @everyone <@123456789012345678>" for n in range(200)]
    messages = render_reply(Reply(text="\n".join(lines)))
    assert len(messages) > 1
    assert all(len(m.content) <= 2000 for m in messages)
    joined = "\n".join(m.content for m in messages)
    assert "@everyone" not in joined and "<@123456789012345678>" not in joined
    assert joined.replace("\u200b", "") == "\n".join(lines)


def test_reply_with_results_is_one_message_with_text_and_an_embed() -> None:
    hits = tuple(entry(n, long=False) for n in range(10))
    [message] = render_reply(Reply(text="Archive results for “chips”:", results=hits))
    assert message.content.startswith("Archive results")
    assert (message.embeds[0].description or "").count("news.example") == 10


def test_split_text_cuts_a_very_long_line() -> None:
    pieces = split_text("x" * 4500)
    assert [len(p) for p in pieces] == [2000, 2000, 500]


async def test_every_story_of_a_sector_has_why_this_in_buttons_or_the_menu() -> None:
    briefing = make_briefing(40, stored=True)
    messages = render_briefing_messages(briefing)
    offered: set[str] = set()
    for message in messages:
        view = feedback_view(message.feedback)
        if view is None:
            continue
        payload = view.to_components()
        view.stop()
        assert len(payload) <= 5 and all(len(row["components"]) <= 5 for row in payload)
        for row in payload:
            for component in row["components"]:
                if component["custom_id"].startswith("sb:y:"):
                    offered.add(component["custom_id"].removeprefix("sb:y:"))
                if component["type"] == 3:  # the "Why this?" menu
                    assert 1 <= len(component["options"]) <= 25
                    assert all(1 <= len(o["label"]) <= 100 for o in component["options"])
                    offered.update(o["value"] for o in component["options"])
    every = {e.story_key for s in briefing.sections for e in (s.lead, *s.more)}
    assert offered == every
