"""Every part of a digest exactly once on Slack and Discord, also across ``kill -9``.

A killed worker leaves at most one part per delivery posted but unrecorded; the restarted one
looks it up on the platform (Slack message metadata through conversations.history, Discord's
channel messages) before posting it again. The fakes speak those APIs on loopback.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.killharness import run_fanout


async def test_ten_kills_mid_fanout_leave_every_reader_every_part_once(
    sqlite_db: Database, tmp_path: Path
) -> None:
    outcome = await run_fanout(sqlite_db, tmp_path, kills=10, seed=11, readers=40)
    assert outcome.kills == 10 and outcome.restarts == 10
    assert outcome.kills_before_reply > 0  # some parts were posted and never heard of
    assert outcome.readers_with_problems == []
    assert (outcome.duplicates, outcome.losses) == (0, 0)
    assert outcome.parts_expected == 20 * 3 + 20 * 2  # several parts per reader
    assert outcome.posts == outcome.parts_expected
    assert outcome.ledger_disagrees == []
