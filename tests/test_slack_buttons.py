"""Slack's briefing buttons end to end: a signed block_actions request in, answers and rows out."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from adapters.slack.render import MORE, render_briefing_messages
from storage.models import Feedback
from tests import test_slack_adapter as base
from tests.test_render_slack import long_briefing
from tests.test_slack_adapter import TEAM_ID, Slack, actions_body, add_item, all_text

slack = base.slack  # the fixture


def more_button(sector: str) -> dict[str, Any]:
    """The "More on <sector>" button of a rendered briefing."""
    for message in render_briefing_messages(long_briefing(10)):
        for block in message.blocks:
            for element in block.get("elements", []) if block["type"] == "actions" else []:
                if (
                    element["action_id"].startswith(MORE)
                    and json.loads(element["value"]).get("sector") == sector
                ):
                    return dict(element)
    raise AssertionError(f"no More button for {sector}")


def press(slack: Slack, button: dict[str, Any], *, user: str = "U7") -> str:
    return actions_body(
        {
            "user": {"id": user, "team_id": TEAM_ID},
            "channel": {"id": "C1"},
            "container": {"type": "message", "message_ts": "1700.2", "channel_id": "C1"},
            "message": {"ts": "1700.2", "text": "briefing", "blocks": []},
            "response_url": slack.api.response_url("more"),
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "value": button["value"],
                    "block_id": "b",
                    "action_ts": "1",
                }
            ],
        }
    )


async def test_more_answers_with_that_sectors_summary_and_is_stored(slack: Slack) -> None:
    await add_item(slack.sessionmaker, "Robot arm learns to fold laundry from video", "ai")
    await add_item(slack.sessionmaker, "Offshore wind farm doubles its output", "green")
    button = more_button("ai")
    assert (await slack.post(press(slack, button))).status == 200
    answers = await slack.answers("more")
    text = " ".join(all_text(a) for a in answers)
    assert "Robot arm learns to fold laundry" in text
    assert "Offshore wind farm" not in text
    assert all(a.get("response_type") == "ephemeral" for a in answers)
    async with slack.sessionmaker() as session:
        (row,) = (await session.execute(select(Feedback))).scalars()
    assert (row.user_id, row.kind, row.sector_key, row.tenant_id) == ("U7", "more", "ai", TEAM_ID)
    assert row.story_key == json.loads(button["value"])["story"]
