"""The "Across sectors" part of a Slack briefing: sector names are escaped like feed text.

Sector names come from admins (``/brief admin sectors add``) and the explanation from feed text;
neither may ping a channel, mention someone or inject a link into the synergy line.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.slack.render import render_briefing_messages
from bot.models import SectorSection, Synergy
from tests.test_render_slack import assert_within_limits, briefing, entry, texts


def _synergy_lines(blocks: list[dict[str, Any]]) -> list[str]:
    after = texts(blocks)[texts(blocks).index("Across sectors") + 1 :]
    return [t for t in after if " × " in t]


def test_synergy_sector_names_cannot_ping_mention_or_link() -> None:
    story = entry("s1", "Grid batteries meet model training", link="https://news.example/s1")
    names = ("R&D <!channel>", "<@U42|boss> <https://evil.example|click>")
    brief = briefing(
        [SectorSection(key="ai", name="AI", lead=story)],
        synergies=(Synergy(("ai", "green"), names, "Why: <!here> & more", story),),
    )
    (message,) = render_briefing_messages(brief)
    assert_within_limits(message.blocks)
    (line,) = _synergy_lines(message.blocks)

    assert line.startswith("*R&amp;D &lt;!channel&gt; × &lt;@U42|boss&gt; &lt;https://evil")
    assert "Why: &lt;!here&gt; &amp; more" in line
    for token in ("<!channel>", "<!here>", "<@U42", "<https://evil"):
        assert token not in line
    # The one link on the line is the story's own.
    assert re.findall(r"<([^>|]*)\|", line) == ["https://news.example/s1"]


def test_a_long_synergy_sector_name_is_cut_without_breaking_an_entity() -> None:
    story = entry("s1", "Story", link="https://news.example/s1")
    long_name = "&" * 150  # each "&" becomes five characters: "&amp;"
    brief = briefing(
        [SectorSection(key="ai", name="AI", lead=story)],
        synergies=(Synergy(("ai", "green"), (long_name, "Green"), "Why.", story),),
    )
    (message,) = render_briefing_messages(brief)
    (line,) = _synergy_lines(message.blocks)
    first = line[1 : line.index(" × ")]
    assert first.endswith("…")
    assert set(first[:-1].split("&amp;")) == {""}  # whole entities only, none cut in half
    assert len(first) <= 100
