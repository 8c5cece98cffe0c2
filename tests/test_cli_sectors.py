"""The CLI reads sector names as chat does: ``brief --sectors AI,Green``, ``--sectors 量子``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import Cli, _one_line_error


async def test_brief_takes_sectors_by_any_case_name_or_japanese(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    result = await cli("brief", "--format", "json", "--sectors", "AI,Green,量子")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sections"] == []  # nothing stored yet, but accepted
    refused = await cli("brief", "--sectors", "AI,space")
    _one_line_error(refused, "unknown sector", "'space'", "green (Green Tech / 環境・エネルギー)")
