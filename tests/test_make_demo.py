"""``make demo`` on a fresh folder: the first thing a new user runs, run here as they would.

The Makefile's own recipe runs (``make demo``), with ``DEMO_DIR`` pointed at a temporary folder and
``VENV`` at the environment running the tests; ``-o`` keeps make from reinstalling it. No tokens
reach the child: the demo serves its sample feeds on loopback and needs nothing else.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FEEDS = sorted((ROOT / "bot" / "demo" / "feeds").glob("*.xml"))
_SECRETS = ("SHIFTBRIEF_", "SLACK_", "DISCORD_", "OPENAI_")


def make_demo(demo_dir: Path) -> subprocess.CompletedProcess[str]:
    venv = Path(sys.prefix)
    make = shutil.which("make")
    if make is None or not (venv / "bin" / "shiftbrief").exists():
        reason = "needs make and the shiftbrief script in the running virtualenv"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SECRETS)}
    env["COLUMNS"] = "100"
    command = [make, "-s", "-C", str(ROOT), "-o", f"{venv}/.installed", "demo"]
    return subprocess.run(
        [*command, f"VENV={venv}", f"DEMO_DIR={demo_dir}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_make_demo_shows_feeds_arriving_and_briefings_and_reruns_from_scratch(
    tmp_path: Path,
) -> None:
    demo_dir = tmp_path / "demo"
    result = make_demo(demo_dir)
    out = result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + out

    assert (demo_dir / "shiftbrief.db").is_file()  # the database went where DEMO_DIR says
    assert f"Followed {len(SAMPLE_FEEDS)} sample feeds" in out
    report = re.search(r"(\d+) feeds: (\d+) ok, \d+ not modified, (\d+) failed; (\d+) new", out)
    assert report is not None, out
    assert report.group(1) == report.group(2) == str(len(SAMPLE_FEEDS))
    assert report.group(3) == "0" and int(report.group(4)) > 0
    assert "What came in" in out

    # The English reader: commands answered, then a briefing with every part a reader expects.
    assert "Subscribed to AI, Green Tech, Life Science." in out
    english = out[out.index("> /brief today") :]
    for heading in ("Key points", "By sector", "[AI]", "[Green Tech]", "[Life Science]"):
        assert heading in english
    # The Japanese reader gets Japanese replies and a Japanese briefing.
    assert "を購読しました" in out
    japanese = out[out.rindex("> /brief today") :]
    for heading in ("本日の重要ポイント", "分野別動向", "[環境・エネルギー]", "[量子・先端技術]"):
        assert heading in japanese

    # Running it again starts from scratch (--reset): the same feeds followed and archived.
    again = make_demo(demo_dir)
    assert again.returncode == 0, again.stdout + again.stderr
    followed = re.compile(r"Followed \d+ sample feeds; their \d+ existing items")
    assert followed.findall(again.stdout) == followed.findall(out) != []
