"""Rendering: Markdown that feed text cannot inject into, plain text, and JSON."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from bot.briefing.cluster import cluster_articles
from bot.briefing.compose import compose_briefing
from bot.briefing.render_text import (
    briefing_to_json,
    escape_markdown,
    joined,
    render_markdown,
    render_text,
    safe_url,
    sources_count,
)
from bot.models import Profile, ReadingLink
from tests.test_compose import ALL, ARTICLES, NOW, SECTORS, art

HOSTILE = "[click](http://evil) **x** <script>alert(1)</script> `code` # _y_"


def hostile_briefing(language: str = "en"):  # type: ignore[no-untyped-def]
    bad = replace(
        art(50, HOSTILE, "Read [more](javascript:alert(1)) \x1b[31mred\x1b[0m.", {"ai": 0.95}),
        link="javascript:alert(1)",
    )
    reading = [ReadingLink("Explainer", "https://explain.example/a_(b)", sector="ai")]
    return compose_briefing(
        cluster_articles([*ARTICLES, bad]),
        Profile(sectors=ALL, language=language),  # type: ignore[arg-type]
        NOW,
        sectors=SECTORS,
        reading=reading,
    )


def test_markdown_escapes_hostile_feed_titles() -> None:
    md = render_markdown(hostile_briefing())
    assert "[click](" not in md
    assert "](http://evil" not in md
    assert "http://evil" not in md  # not even as a bare autolink
    assert "**x**" not in md
    assert not re.search(r"(?<!\\)<script>", md)  # HTML is escaped
    assert "\\[click\\](http\\://evil)" in md
    # The hostile link field is shown as text, not linked; its text links nothing either.
    assert not re.search(r"(?<!\\)\]\(javascript:", md)
    assert "\\[more\\](javascript:alert(1))" in md
    assert "\x1b" not in md


def test_markdown_escapes_only_what_markdown_needs() -> None:
    assert escape_markdown("Briefing for March 24, 2026: 3.5% more (U.S.)") == (
        "Briefing for March 24, 2026: 3.5% more (U.S.)"
    )
    assert escape_markdown("GPT-4o vs. Claude! = 2") == "GPT-4o vs. Claude! = 2"
    # What would start a block at the start of a line, and links GFM makes by itself.
    assert escape_markdown("# 1") == "\\# 1"
    assert escape_markdown("2026. A year") == "2026\\. A year"
    assert escape_markdown("- a") == "\\- a"
    assert escape_markdown("see www.evil.example or a@evil.example") == (
        "see www\\.evil.example or a\\@evil.example"
    )
    assert escape_markdown("AT&T &amp; ~~x~~ a|b") == "AT&T \\&amp; \\~\\~x\\~\\~ a\\|b"


def test_markdown_links_come_only_from_http_link_fields() -> None:
    md = render_markdown(hostile_briefing())
    assert "(https://energy-storage-news.example/1)" in md
    assert "(https://explain.example/a_%28b%29)" in md
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://x.example/p) [y](z") == "https://x.example/p%29%20[y]%28z"


def test_markdown_has_every_part_with_labels_in_the_readers_language() -> None:
    md = render_markdown(hostile_briefing())
    for heading in ("## Key points", "## By sector", "## Across sectors", "## What to watch"):
        assert heading in md
    assert "Sources: [Energy Storage News]" in md
    ja = render_markdown(hostile_briefing("ja"))
    for heading in ("## 本日の重要ポイント", "## 分野別動向", "## 今後の注目点"):
        assert heading in ja
    assert "\n情報源: [" in ja
    assert sources_count(hostile_briefing("ja").labels, 5, listed=3) == "5件の情報源"


def test_escape_markdown_keeps_the_text_readable() -> None:
    assert escape_markdown("410MWh battery") == "410MWh battery"
    assert escape_markdown("a*b") == "a\\*b"
    assert escape_markdown("line\nbreak") == "line break"


def test_plain_text_has_no_markup_and_no_control_characters() -> None:
    text = render_text(hostile_briefing())
    assert "\x1b" not in text
    assert "**" not in text.replace(HOSTILE, "")
    assert "https://energy-storage-news.example/1" in text
    assert "Key points" in text and "Sources: Energy Storage News" in text
    assert "javascript:" not in text.replace("[more](javascript:alert(1))", "")
    # Sectors are crossed as in the other renderers, not with a letter x.
    assert " × ".join(hostile_briefing().synergies[0].sector_names) in text


def test_empty_briefing_renders_its_note_and_no_empty_headings() -> None:
    b = compose_briefing([], Profile(sectors=("bio",)), NOW, sectors=SECTORS)
    for rendered in (render_markdown(b), render_text(b)):
        assert "Life science" in rendered
        assert "Key points" not in rendered
        assert "What to watch" not in rendered


def test_json_is_serialisable_with_iso_dates() -> None:
    data = briefing_to_json(hostile_briefing("ja"))
    round_tripped = json.loads(json.dumps(data, ensure_ascii=False))
    assert round_tripped["language"] == "ja"
    assert round_tripped["date"] == "2026-01-20"
    assert round_tripped["generated_at"].startswith("2026-01-20T07:00:00")
    assert {"title", "key_points", "sections", "synergies", "watch", "labels"} <= set(data)
    lead = round_tripped["sections"][0]["lead"]
    assert lead["source_count"] == len(lead["sources"])
    assert lead["published_at"].startswith("2026-01-20T")


def test_japanese_headings_are_underlined_to_their_display_width() -> None:
    from bot.briefing.render_text import display_width

    assert display_width("本日の重要ポイント") == 18
    assert display_width("Key points") == 10
    text = render_text(
        compose_briefing([], Profile(sectors=("ai",), language="ja"), NOW, sectors=SECTORS)
    )
    lines = text.splitlines()
    assert lines[1] == "=" * min(60, display_width(lines[0]))


def test_every_key_point_keeps_its_link_in_plain_text() -> None:
    # One sector: two of the three key points are stories no section lists again.
    b = compose_briefing(
        cluster_articles(ARTICLES), Profile(sectors=("energy",)), NOW, sectors=SECTORS
    )
    listed = {e.story_key for s in b.sections for e in (s.lead, *s.more)}
    alone = [p for p in b.key_points if p.story_key not in listed]
    assert alone
    text = render_text(b)
    assert all(p.link and p.link in text for p in b.key_points)


def test_a_source_count_is_shown_only_where_several_outlets_report_a_story() -> None:
    # "(1 source)" after every line says nothing and crowds the briefing; "2 sources" tells
    # the reader a story is confirmed by more than one outlet.
    for language, one in (("en", "1 source"), ("ja", "1件の情報源")):
        briefing = hostile_briefing(language)
        entries = [e for s in briefing.sections for e in (s.lead, *s.more)]
        assert any(e.source_count == 1 for e in entries)
        text, md = render_text(briefing), render_markdown(briefing)
        assert one not in text and one not in md
    en = hostile_briefing()
    several = next(s.lead for s in en.sections if s.lead.source_count > 1)
    # Where the outlets are named, their number is not stated again: "A, B (2 sources)".
    line = next(x for x in render_text(en).splitlines() if "Energy Storage News, PV" in x)
    assert line == "Sources: Energy Storage News, PV Magazine"
    assert several.source_count == 2 and "](https://pv-magazine.example" in render_markdown(en)
    assert "(2 sources)" not in render_markdown(en).split("PV Magazine](", 1)[1].split("\n")[0]
    # Where they are not all named, the count says how many there are.
    assert sources_count(en.labels, 5, listed=3) == "5 sources"
    assert sources_count(en.labels, 2, listed=2) == ""
    # Japanese lists names with 「、」, not an ASCII comma.
    assert joined(hostile_briefing("ja").labels, ("日経", "ITmedia")) == "日経、ITmedia"
