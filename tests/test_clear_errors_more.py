"""More bad input, one clear line each and nothing lost (issue 19, item 5): a date at the end of
the calendar, a number no export holds, libpq's URL parameters, an empty SQLite path."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import load_settings
from bot.delivery.schedule import sync_database_url
from bot.metrics import Metrics
from storage.db import make_engine
from tests.conftest import Database
from tests.slack_api import SlackAPI
from tests.test_cli import Cli, _one_line_error
from tests.test_editor_llm import briefings, edit, entries
from tests.test_replay_and_injection import post, sign, slack_api, slack_app

__all__ = ["slack_api"]  # the fixture


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
async def test_brief_for_a_date_at_the_end_of_the_calendar(tmp_path: Path, day: str) -> None:
    result = await Cli(tmp_path)("brief", "--date", day)
    if day == "9999-12-31":
        _one_line_error(result, "--date 9999-12-31", "out of range")
    else:  # the first day there is: simply no news
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


async def test_an_import_with_a_5000_digit_number_is_one_line_and_writes_nothing(
    tmp_path: Path,
) -> None:
    cli = Cli(tmp_path)
    document = json.loads((await cli("export")).stdout)
    document["feeds"] = [{"url": "https://a.example/rss", "weight": 1}]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(document).replace('"weight": 1', '"weight": ' + "9" * 5000))
    _one_line_error(await cli("import", str(path)), "big.json", "5000 digits")
    assert json.loads((await cli("feeds", "list", "--json")).stdout) == []


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite+aiosqlite://", "sqlite://"])
async def test_an_empty_sqlite_path_is_refused_not_a_throwaway_database(
    tmp_path: Path, url: str
) -> None:
    cli = Cli(tmp_path)
    result = await cli("feeds", "add", "https://a.example/rss", SHIFTBRIEF_DATABASE_URL=url)
    _one_line_error(result, "SHIFTBRIEF_DATABASE_URL", "needs a file")
    assert "Added" not in result.stdout


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("keepalives=1", ("'keepalives'", "not supported")),
        ("tcp_user_timeout=1000", ("'tcp_user_timeout'",)),
        ("client_encoding=latin1", ("'client_encoding'", "UTF-8")),
        ("connect_timeout=soon", ("connect_timeout", "not a number")),
    ],
)
async def test_libpq_parameters_asyncpg_cannot_honour_are_refused_by_name(
    tmp_path: Path, query: str, words: tuple[str, ...]
) -> None:
    url = f"postgresql://shiftbrief@db.invalid/shiftbrief?sslmode=require&{query}"
    result = await Cli(tmp_path)("feeds", "list", SHIFTBRIEF_DATABASE_URL=url)
    _one_line_error(result, "SHIFTBRIEF_DATABASE_URL", *words)


async def test_libpq_parameters_keep_their_meaning_on_asyncpg_and_psycopg(
    postgres_db: Database, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not used over a Unix socket\n")
    pasted = make_url(postgres_db.url).update_query_dict(
        {
            "connect_timeout": "5",
            "application_name": "probe",
            "sslmode": "prefer",
            "sslrootcert": str(ca),
            "target_session_attrs": "read-write",
            "search_path": "public, pg_catalog",  # a server setting, passed through
            "statement_timeout": "7s",
        }
    )
    settings = load_settings(database_url=pasted.render_as_string(hide_password=False))
    engine = make_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            shown = [
                (await conn.execute(text(f"SHOW {name}"))).scalar()
                for name in ("application_name", "search_path", "statement_timeout")
            ]
        assert shown == ["probe", "public, pg_catalog", "7s"]
    finally:
        await engine.dispose()
    # APScheduler's job store (psycopg, which is libpq) gets the same settings.
    sync = create_engine(sync_database_url(settings.database_url))
    try:
        assert sync.dialect.driver == "psycopg"
        with sync.connect() as conn:
            shown = [
                conn.execute(text(f"SHOW {name}")).scalar()
                for name in ("application_name", "search_path", "statement_timeout")
            ]
        assert shown == ["probe", "public, pg_catalog", "7s"]
    finally:
        sync.dispose()


# --------------------------------------------------------------------------- Slack payloads


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=%5B%5D", "application/x-www-form-urlencoded"),  # payload=[]
        ("payload=not+json", "application/x-www-form-urlencoded"),
        ("payload=%22text%22", "application/x-www-form-urlencoded"),
        ("payload=" + "%5B" * 5000, "application/x-www-form-urlencoded"),
        ("[1, 2]", "application/json"),
        ("{not json", "application/json"),
    ],
    ids=["empty-list", "not-json", "a-string", "deep", "json-list", "json-broken"],
)
async def test_a_signed_body_bolt_cannot_read_gets_400_and_no_traceback(
    slack_api: SlackAPI,
    sqlite_db: Database,
    caplog: pytest.LogCaptureFixture,
    body: str,
    content_type: str,
) -> None:
    request = sign(body)
    request.headers["Content-Type"] = content_type
    with caplog.at_level(logging.WARNING):
        async with slack_app(slack_api, sqlite_db.url) as app, aiohttp.ClientSession() as http:
            assert await post(http, app.url, request) == 400
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    [refusal] = [r.getMessage() for r in caplog.records if "refused a Slack request" in r.message]
    assert "\n" not in refusal


# --------------------------------------------------------------------------- a model endpoint


async def test_a_model_answering_200_with_an_html_page_is_one_warning_line(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    page = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>"

    async def html(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", html)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with caplog.at_level(logging.INFO):
            context = await edit(f"http://127.0.0.1:{port}/v1", sqlite_db, Metrics())
    finally:
        await runner.cleanup()
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().count("\n") for r in problems] == [0]
    assert "not a chat completion" in problems[0].getMessage() and not problems[0].exc_info
    assert "SHIFTBRIEF_LLM_BASE_URL" in problems[0].getMessage()
    # Every reader still gets a briefing, in extractive text.
    for briefing in briefings(context):
        assert briefing.sections and not any(e.machine_written for e in entries(briefing))
