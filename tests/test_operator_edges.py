"""What a new operator hits at the command line (issue 19, operators' rough edges).

Each run is the real ``shiftbrief`` command on a SQLite file: a sector given by name is the
sector, a sector that is none is refused in one line, an export never dies on rows older
versions stored unchecked, and refusals name the setting that would change them.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from sqlalchemy import select, update

from storage.db import make_engine, make_sessionmaker
from storage.models import Feed
from tests.test_cli import Cli, _one_line_error


async def _hints(cli: Cli) -> dict[str, str | None]:
    listed = json.loads((await cli("feeds", "list", "--json")).stdout)
    return {f["url"]: f["sector"] for f in listed}


async def test_feeds_add_reads_a_sector_as_brief_sectors_does(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    by_name = await cli("feeds", "add", "https://q.example/rss", "--sector", "量子")
    assert by_name.returncode == 0, by_name.stderr
    also = await cli("feeds", "add", "https://r.example/rss", "--sector", "Robotics & Mobility")
    assert also.returncode == 0, also.stderr
    _one_line_error(
        await cli("feeds", "add", "https://b.example/rss", "--sector", "bogus"),
        "unknown sector 'bogus'",
        "quantum",
    )
    assert await _hints(cli) == {
        "https://q.example/rss": "quantum",
        "https://r.example/rss": "mobility",
    }


async def test_export_survives_hints_an_older_version_stored_unchecked(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    for n in range(3):
        assert (await cli("feeds", "add", f"https://{n}.example/rss")).returncode == 0
    engine = make_engine(cli.env["SHIFTBRIEF_DATABASE_URL"])
    async with make_sessionmaker(engine).begin() as session:
        urls = list((await session.scalars(select(Feed.url).order_by(Feed.id))).all())
        for url, hint in zip(urls, ("量子", "bogus", "green"), strict=True):
            await session.execute(update(Feed).where(Feed.url == url).values(sector_hint=hint))
    await engine.dispose()
    exported = await cli("export")
    assert exported.returncode == 0, exported.stderr
    assert "Traceback" not in exported.stderr
    document = json.loads(exported.stdout)
    assert {f["url"]: f["sector_hint"] for f in document["feeds"]} == {
        "https://0.example/rss": "quantum",
        "https://1.example/rss": None,
        "https://2.example/rss": "green",
    }
    assert "bogus" in exported.stderr  # the hint left out is named
    # ... and the document imports into a new database.
    (tmp_path / "config.json").write_text(exported.stdout, encoding="utf-8")
    other = Cli(tmp_path, database="other.db")
    imported = await other("import", str(tmp_path / "config.json"))
    assert imported.returncode == 0, imported.stderr


async def test_a_loopback_refusal_names_the_setting_that_allows_it(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    _one_line_error(
        await cli("feeds", "add", "http://127.0.0.1:8000/feed.xml"),
        "127.0.0.1 is a loopback address",
        "SHIFTBRIEF_ALLOW_PRIVATE_ADDRESSES=true",
    )
    allowed = await cli(
        "feeds", "add", "http://127.0.0.1:8000/feed.xml", SHIFTBRIEF_ALLOW_PRIVATE_ADDRESSES="true"
    )
    assert allowed.returncode == 0, allowed.stderr


async def test_an_unreachable_postgresql_names_shiftbrief_database_url(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://shiftbrief:secret@127.0.0.1:{port}/shiftbrief"
    result = await Cli(tmp_path)("feeds", "list", SHIFTBRIEF_DATABASE_URL=url)
    _one_line_error(result, "cannot reach the database", "SHIFTBRIEF_DATABASE_URL")
    assert "secret" not in result.stderr
