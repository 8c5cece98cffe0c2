"""A SQLite migration is all or nothing: ``shiftbrief db upgrade`` killed with SIGKILL at any
statement leaves the file as it was or fully migrated, and the next upgrade finishes the job.

Before, each CREATE TABLE committed on its own (Python's sqlite3 opens transactions only for
INSERT, UPDATE and DELETE): a kill about a second in left ``feeds`` and an empty
``alembic_version``, and every later command failed with "table feeds already exists".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = ["ai", "green", "life", "mobility", "quantum"]


def _attempts(folder: Path, scenario: str, kills: int) -> tuple[int, list[dict[str, Any]]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.migration_kill_worker", str(folder), scenario, str(kills)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    first, attempts = lines[0], lines[1:]
    assert first["status"] == 0, done.stderr
    return first["total"], attempts


@pytest.mark.parametrize("scenario", ["fresh", "data"])
def test_a_kill_at_any_statement_leaves_the_file_as_it_was_or_migrated(
    tmp_path: Path, scenario: str
) -> None:
    total, attempts = _attempts(tmp_path, scenario, kills=8)
    assert total > 20 and len(attempts) >= 9
    before = attempts[0]["after_kill"]  # killed at the start: what the file held before
    head = attempts[-1]["after"]
    assert head["revision"] is not None and head["revision"] != before["revision"]
    for attempt in attempts:
        assert attempt["killed"], attempt
        # All or nothing: never some tables without their revision.
        assert attempt["after_kill"] in (before, head), attempt
        # And the next upgrade finishes with every row in place.
        assert attempt["upgrade_again"] == 0, attempt
        assert attempt["after"] == head, attempt
    assert sum(a["after_kill"] == before for a in attempts) >= 8  # the kills landed mid-way
    if scenario == "data":
        assert head["feeds"] == ["https://a.example/feed", "https://b.example/feed"]
        assert head["feed_owners"] == [1, 2]
        assert "space" in head["sectors"] and head["related_reading"] == ["AI 101"]
    else:
        assert head["sectors"] == BUILTIN
