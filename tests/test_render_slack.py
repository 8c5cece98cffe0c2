"""Block Kit rendering: escaping of feed text, links, limits, and splitting long briefings."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from adapters.slack.render import (
    MAX_BLOCKS,
    block_text_size,
    escape_mrkdwn,
    mark_vote,
    render_briefing_messages,
    render_reply,
)
from bot.commands.dispatcher import Reply
from bot.models import (
    Briefing,
    KeyPoint,
    SectorSection,
    SourceRef,
    StoryEntry,
    Synergy,
    WatchEntry,
)

LABELS = {
    "key_points": "Key points",
    "more": "Also in this sector",
    "sources_one": "1 source",
    "sources_many": "{n} sources",
    "synergies": "Across sectors",
    "watch": "What to watch",
    "related_reading": "Related reading",
}
NOW = datetime(2025, 3, 4, 7, 0, tzinfo=UTC)
SECTORS = ["ai", "green", "bio", "quantum", "robotics"]


def entry(
    key: str, title: str, *, link: str | None = None, summary: str = "", n: int = 2
) -> StoryEntry:
    return StoryEntry(
        story_key=key,
        title=title,
        summary=summary,
        link=link if link is not None else f"https://news.example/{key}",
        sources=tuple(SourceRef(f"Source {i}", f"https://s{i}.example/") for i in range(n)),
        sectors=("ai",),
        published_at=NOW,
    )


def briefing(sections: list[SectorSection], **extra: Any) -> Briefing:
    return Briefing(
        title=extra.pop("title", "Briefing for 2025-03-04: chips"),
        language="en",
        length="full",
        date=date(2025, 3, 4),
        generated_at=NOW,
        sections=tuple(sections),
        labels=LABELS,
        **extra,
    )


def long_briefing(stories: int = 60, repeats: int = 18) -> Briefing:
    """``stories`` stories over five sectors, with long summaries, plus the other parts."""
    per = stories // len(SECTORS)
    summary = (
        "A long sentence about what happened & why it matters to <readers>. " * repeats
    ).strip()
    sections = []
    for s, key in enumerate(SECTORS):
        entries = [
            entry(f"{key}-{i:02d}", f"Story {s * per + i} in {key}", summary=summary, n=1 + i % 4)
            for i in range(per)
        ]
        sections.append(
            SectorSection(key=key, name=key.upper(), lead=entries[0], more=tuple(entries[1:]))
        )
    lead = sections[0].lead
    return briefing(
        sections,
        key_points=tuple(KeyPoint(k, k.upper(), f"Point on {k}", f"{k}-00", None) for k in SECTORS),
        synergies=(Synergy(("ai", "green"), ("AI", "GREEN"), "Connects AI and green.", lead),),
        watch=(WatchEntry("Deadline", lead),),
    )


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "text" and isinstance(v, str):
                    found.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return found


def assert_within_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert block_text_size(blocks) <= 13_000
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None
        assert parsed.to_dict() == raw  # slack_sdk validates its limits on to_dict()
        if raw["type"] == "section":
            assert len(raw["text"]["text"]) <= 3000
        if raw["type"] == "header":
            assert len(raw["text"]["text"]) <= 150
        if raw["type"] == "context":
            assert 1 <= len(raw["elements"]) <= 10
        if raw["type"] == "actions":
            ids = [e["action_id"] for e in raw["elements"]]
            for element in raw["elements"]:
                assert len(element["value"]) <= 2000
                assert len(element["text"]["text"]) <= 75
            assert len(ids) == len(set(ids))


@pytest.mark.parametrize("repeats", [18, 0], ids=["long-summaries", "titles-only"])
def test_sixty_story_briefing_splits_into_valid_messages_in_order(repeats: int) -> None:
    """Long summaries hit the text budget first; bare titles hit the 50-block limit."""
    brief = long_briefing(60, repeats)
    messages = render_briefing_messages(brief)

    assert len(messages) > 1
    story_order: list[str] = []
    for number, message in enumerate(messages, 1):
        assert_within_limits(message.blocks)
        assert message.text.startswith("Briefing for 2025-03-04")
        assert f"part {number} of {len(messages)}" in message.text
        ids = [
            e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
        ]
        assert len(ids) == len(set(ids))
        for block in message.blocks:
            if block["type"] == "actions":
                value = json.loads(block["elements"][0]["value"])
                story_order.append(value["story"])
    every = [e.story_key for s in brief.sections for e in (s.lead, *s.more)]
    assert story_order == every  # every story once, in the briefing's order
    # The header opens the first message; the synergies and the watch list close the last.
    assert messages[0].blocks[0]["type"] == "header"
    last = json.dumps(messages[-1].blocks)
    assert "What to watch" in last


def test_feed_text_cannot_ping_or_link() -> None:
    hostile = "<!channel> urgent <@U123> see <https://evil.example|here> & <!here>"
    story = entry("s1", hostile, link="https://news.example/a", summary=hostile)
    story = StoryEntry(
        story_key="s1",
        title=hostile,
        summary=hostile,
        link="https://news.example/a",
        sources=(SourceRef("<!everyone> Daily", None),),
        sectors=("ai",),
        published_at=NOW,
    )
    brief = briefing(
        [SectorSection(key="ai", name="<@U999> AI", lead=story)],
        title=f"Briefing: {hostile}",
        key_points=(KeyPoint("ai", "<!subteam^S1>", hostile, "s1", "https://news.example/a"),),
    )
    (message,) = render_briefing_messages(brief)
    assert_within_limits(message.blocks)
    everything = " ".join([*texts(message.blocks), message.text])
    for token in ("<!channel>", "<@U123>", "<!here>", "<!everyone>", "<@U999>", "<!subteam"):
        assert token not in everything
    assert "&lt;!channel&gt; urgent &lt;@U123&gt;" in everything
    # The only links are ours, from the link field.
    links = re.findall(r"<([^>]*)>", everything)
    assert links and all(link.startswith("https://news.example/a|") for link in links)


def test_links_come_only_from_http_link_fields_and_cannot_break_out() -> None:
    sneaky = entry("s1", "Title", link="https://news.example/a|b>c <!channel> d")
    bad = entry("s2", "Script", link="javascript:alert(1)")
    brief = briefing([SectorSection(key="ai", name="AI", lead=sneaky, more=(bad,))])
    (message,) = render_briefing_messages(brief)
    section_texts = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    first = next(t for t in section_texts if "Title" in t)
    (url,) = re.findall(r"<([^|>]*)\|Title>", first)
    assert url.startswith("https://news.example/a%7Cb%3Ec")
    assert " " not in url and "<" not in url
    assert not any("javascript" in t and "<" in t for t in section_texts)
    assert any("Script" in t for t in section_texts)


def test_long_fields_are_cut_without_breaking_entities() -> None:
    title = "&" * 400
    brief = briefing(
        [SectorSection(key="ai", name="N" * 300, lead=entry("s", title, summary="<" * 5000))],
        title="T&" * 200,
    )
    (message,) = render_briefing_messages(brief)
    assert_within_limits(message.blocks)
    header = message.blocks[0]["text"]["text"]
    assert header.endswith("…") and len(header) <= 150
    assert not re.search(r"&(?!amp;|lt;|gt;)", header.replace("…", ""))
    assert escape_mrkdwn("a&b", 5) == "a…"


def test_empty_briefing_still_renders_a_valid_message() -> None:
    brief = briefing([], empty_note="Nothing new <today>")
    (message,) = render_briefing_messages(brief)
    assert_within_limits(message.blocks)
    assert "Nothing new &lt;today&gt;" in json.dumps(message.blocks)


def test_reply_text_and_results_are_escaped() -> None:
    reply = Reply(
        text="Nothing matches “<!channel>”.\nTry `/brief search <words>`.",
        results=(entry("item:1", "<@U1> wins", n=1),),
    )
    message = render_reply(reply)
    assert_within_limits(message.blocks)
    dumped = json.dumps(message.blocks)
    assert "<!channel>" not in dumped and "<@U1>" not in dumped
    assert "&lt;words&gt;" in message.text
    assert "Source 0" in dumped and "2025-03-04" in dumped


def test_marking_a_vote_highlights_only_the_pressed_button() -> None:
    (message,) = render_briefing_messages(long_briefing(5))[:1]
    actions = [b for b in message.blocks if b["type"] == "actions"]
    up = actions[1]["elements"][0]["action_id"]
    down = actions[1]["elements"][1]["action_id"]
    marked = mark_vote(message.blocks, up)
    assert_within_limits(marked)
    chosen = [e for b in marked if b["type"] == "actions" for e in b["elements"] if e.get("style")]
    assert [e["action_id"] for e in chosen] == [up]
    again = mark_vote(marked, down)
    chosen = [e for b in again if b["type"] == "actions" for e in b["elements"] if e.get("style")]
    assert [e["action_id"] for e in chosen] == [down]
    assert all(
        e["text"]["text"].count("✓") <= 1
        for b in again
        if b["type"] == "actions"
        for e in b["elements"]
    )


def mrkdwn_objects(node: Any) -> list[dict[str, Any]]:
    """Every mrkdwn text object in ``node``, nested."""
    if isinstance(node, dict):
        own = [node] if node.get("type") == "mrkdwn" else []
        return own + [o for v in node.values() for o in mrkdwn_objects(v)]
    if isinstance(node, list):
        return [o for v in node for o in mrkdwn_objects(v)]
    return []


# Slack, unless verbatim, would link the URL and the channel name and parse the mention words.
AUTO_LINKED = "read https://evil.example/x in #general, @here @channel"


def test_feed_text_is_sent_verbatim_so_slack_does_not_auto_link_it() -> None:
    story = entry("s1", AUTO_LINKED, summary=AUTO_LINKED, link="https://news.example/s1")
    brief = briefing(
        [SectorSection(key="ai", name="AI", lead=story, more=(entry("s2", AUTO_LINKED),))],
        key_points=(KeyPoint("ai", "AI", AUTO_LINKED, "s1", "https://news.example/s1"),),
        synergies=(Synergy(("ai", "green"), ("AI", "GREEN"), AUTO_LINKED, story),),
        watch=(WatchEntry(AUTO_LINKED, story),),
        empty_note=AUTO_LINKED,
    )
    messages = [
        *render_briefing_messages(brief),
        *render_briefing_messages(long_briefing(60)),
        render_reply(Reply(text=AUTO_LINKED, results=(story,))),
    ]
    objects = [o for m in messages for o in mrkdwn_objects(m.blocks)]
    # Titles, summary, key point, synergy, watch line, empty note, reply text and result.
    assert len([o for o in objects if "evil.example" in o["text"]]) >= 8
    assert objects and all(o.get("verbatim") is True for o in objects)
    for message in messages:
        assert_within_limits(message.blocks)  # slack_sdk's block models accept verbatim
    # Our own links still are links: verbatim keeps explicit <url|label>.
    lead = next(o["text"] for o in objects if o["text"].startswith("*<https://news.example/s1|"))
    assert "https://evil.example/x" in lead
