"""A missing shared corpus skips its tests on a laptop but fails the run under CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A corpus test that reads one real feed: cheap, and it asks for the ``corpus`` fixture.
CORPUS_TEST = "tests/test_parse.py::test_itmedia_snapshot_is_japanese_despite_declaring_english"


def run_corpus_test(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["SHIFTBRIEF_CORPUS"] = str(tmp_path / "no-corpus-here")
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", CORPUS_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_missing_corpus_fails_under_ci(tmp_path: Path) -> None:
    result = run_corpus_test(tmp_path, ci=True)
    assert result.returncode == 1, result.stdout
    assert "shared corpus not found" in result.stdout
    assert "CI must provide it" in result.stdout


def test_missing_corpus_skips_with_the_reason_elsewhere(tmp_path: Path) -> None:
    result = run_corpus_test(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "shared corpus not found" in result.stdout
