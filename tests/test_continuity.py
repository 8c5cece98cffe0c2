"""Seven morning digests (and a /brief today each afternoon) from a recorded week of real feeds:
no story comes back without news, and every update says what is new."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.week_replay import replay

pytestmark = pytest.mark.corpus


async def test_a_week_of_digests_repeats_nothing_without_news(
    sqlite_db: Database, corpus: Path
) -> None:
    week = await replay(sqlite_db, corpus, days=7)
    assert len(week.days) == 14
    assert week.problems() == []
    shown = [e.story_key for day in week.days for e in day.entries]
    assert len(shown) >= 10  # the week had news to tell
    assert sum(day.hidden for day in week.days) > 0  # and stories it did not tell twice
