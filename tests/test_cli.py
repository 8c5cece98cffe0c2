"""The ``shiftbrief`` command as a user runs it: real processes, a real database file."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.feedserver import Entry, FeedServer, make_rss

ROOT = Path(__file__).resolve().parents[1]


class Cli:
    def __init__(self, tmp: Path, database: str = "shiftbrief.db") -> None:
        self.tmp = tmp
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SHIFTBRIEF_", "SLACK_", "DISCORD_"))
            },
            "SHIFTBRIEF_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / database}",
            "SHIFTBRIEF_CONFIG_FILE": str(tmp / "none.toml"),
        }

    async def __call__(
        self, *args: str, stdin: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", "from shiftbrief.cli import main; main()", *args],
            cwd=self.tmp,
            env={**self.env, **env},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


async def test_feeds_add_list_export_and_remove(cli: Cli) -> None:
    added = await cli("feeds", "add", "https://grid.example/rss", "--sector", "green")
    assert added.returncode == 0, added.stderr
    assert "Added feed 1" in added.stdout
    _one_line_error(await cli("feeds", "add", "https://grid.example/rss"), "already")
    listed = json.loads((await cli("feeds", "list", "--json")).stdout)
    assert [(f["id"], f["url"], f["sector"]) for f in listed] == [
        (1, "https://grid.example/rss", "green")
    ]
    opml = await cli("feeds", "export-opml")
    assert 'xmlUrl="https://grid.example/rss"' in opml.stdout and 'version="2.0"' in opml.stdout
    assert (await cli("feeds", "remove", "1")).returncode == 0
    _one_line_error(await cli("feeds", "remove", "1"), "no feed with id 1")


async def test_bad_input_is_one_clear_line(cli: Cli, tmp_path: Path) -> None:
    _one_line_error(await cli("feeds", "add", "ftp://files.example/feed"), "http")
    _one_line_error(await cli("feeds", "add", "http://10.0.0.8/feed"), "private")
    _one_line_error(
        await cli("feeds", "list", SHIFTBRIEF_FETCH_TIMEOUT="-3"), "SHIFTBRIEF_FETCH_TIMEOUT"
    )
    _one_line_error(
        await cli("feeds", "import-opml", str(tmp_path / "missing.opml")), "cannot read"
    )
    (tmp_path / "bad.opml").write_text("<opml><body>", encoding="utf-8")
    _one_line_error(
        await cli("feeds", "import-opml", str(tmp_path / "bad.opml")), "not well-formed"
    )
    _one_line_error(await cli("brief", "--sectors", "space"), "unknown sector")
    _one_line_error(await cli("brief", "--date", "yesterday"), "--date")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    _one_line_error(await cli("import", str(tmp_path / "bad.json")), "not JSON")
    (tmp_path / "wrong.json").write_text('{"format": "something-else"}', encoding="utf-8")
    _one_line_error(await cli("import", str(tmp_path / "wrong.json")), "wrong.json")


async def test_import_opml_follows_every_feed_once(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "subs.opml").write_text(
        """<?xml version="1.0"?><opml version="2.0"><body>
        <outline text="ai"><outline type="rss" text="A" xmlUrl="https://a.example/rss"/></outline>
        <outline type="rss" text="B" xmlUrl="https://b.example/atom"/>
        <outline type="rss" text="Local" xmlUrl="http://127.0.0.1/feed"/>
        </body></opml>""",
        encoding="utf-8",
    )
    first = await cli("feeds", "import-opml", str(tmp_path / "subs.opml"))
    assert "Imported 2 feeds (0 already followed, 1 refused)" in first.stdout, first
    again = await cli("feeds", "import-opml", str(tmp_path / "subs.opml"))
    assert "Imported 0 feeds (2 already followed, 1 refused)" in again.stdout
    listed = json.loads((await cli("feeds", "list", "--json")).stdout)
    assert {(f["url"], f["sector"]) for f in listed} == {
        ("https://a.example/rss", "ai"),
        ("https://b.example/atom", None),
    }


async def test_ingest_json_then_brief_and_classify(cli: Cli) -> None:
    entries = [
        Entry(
            title="Sodium-ion battery plant starts production",
            summary="2 GWh a year.",
            link="https://grid.example/1",
            guid="g1",
            pub_date=None,
        ),
        Entry(
            title="Neutral-atom quantum computer reaches 1,000 qubits",
            summary="",
            link="https://grid.example/2",
            guid="g2",
            pub_date=None,
        ),
    ]
    private = {"SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS": '["127.0.0.1/32"]'}
    async with FeedServer() as server:
        server.set("/feed.xml", body=make_rss(entries[:1]))
        await cli("feeds", "add", server.url("/feed.xml"), **private)
        first = await cli("ingest", "--json", "--all", **private)
        report: dict[str, Any] = json.loads(first.stdout)
        assert {k: report[k] for k in ("feeds", "ok", "failed", "not_modified", "new_items")} == {
            "feeds": 1,
            "ok": 1,
            "failed": 0,
            "not_modified": 0,
            "new_items": 1,
        }
        server.set("/feed.xml", body=make_rss(entries))
        # This pass parses in a worker process (SHIFTBRIEF_PARSE_PROCESSES) and stops it after.
        second = json.loads(
            (
                await cli("ingest", "--json", "--all", SHIFTBRIEF_PARSE_PROCESSES="1", **private)
            ).stdout
        )
        assert second["new_items"] == 1
    brief = json.loads((await cli("brief", "--format", "json", "--sectors", "quantum")).stdout)
    titles = [s["lead"]["title"] for s in brief["sections"]]
    assert titles == ["Neutral-atom quantum computer reaches 1,000 qubits"]
    lines = (
        '{"id": 7, "title": "LLM agents write code", "summary": ""}\n{"id": 8, "title": "Cats"}\n'
    )
    classified = [json.loads(x) for x in (await cli("classify", stdin=lines)).stdout.splitlines()]
    assert classified[0]["id"] == 7 and classified[0]["sectors"][0]["key"] == "ai"
    assert classified[1] == {"id": 8, "sectors": []}


async def test_export_then_import_into_an_empty_database(cli: Cli, tmp_path: Path) -> None:
    await cli("feeds", "add", "https://grid.example/rss", "--sector", "green")
    await cli("console", "--user", "u1", stdin="/brief subscribe ai green\n/brief mute crypto\n")
    exported = await cli("export", str(tmp_path / "config.json"))
    assert exported.returncode == 0, exported.stderr
    other = Cli(tmp_path, "other.db")
    imported = await other("import", str(tmp_path / "config.json"))
    assert imported.returncode == 0, imported.stderr
    first = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    second = json.loads((await other("export")).stdout)
    first.pop("exported_at"), second.pop("exported_at")
    assert first == second
    assert [s["mute"] for s in second["subscribers"]] == [["crypto"]]
