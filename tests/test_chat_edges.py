"""What readers and admins hit in chat (issue 19, operators' rough edges), on the console.

Real commands through the dispatcher on a SQLite file: sector names of several words typed
without quotes, a Japanese alias, refusals and settings in Japanese words, and the tenant's
audit log, which admins of that tenant alone can read.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.console import ConsoleAdapter
from bot.commands.dispatcher import Dispatcher
from bot.commands.grammar import CommandRequest, CommandText, Invocation
from bot.untrusted import plain
from tests.conftest import Database

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _dispatcher(db: Database, now: datetime = NOW) -> Dispatcher:
    return Dispatcher(sessionmaker=db.sessionmaker, clock=lambda: now)


async def _ask(db: Database, text: str, *, user: str = "aiko", locale: str = "en") -> Any:
    console = ConsoleAdapter(user_id=user, locale=locale, stdout=io.StringIO())
    return await console.ask(_dispatcher(db), text)


async def test_a_sector_name_of_several_words_needs_no_quotes(sqlite_db: Database) -> None:
    summary = await _ask(sqlite_db, "/brief sector Robotics & Mobility")
    assert not summary.error, summary.text
    assert summary.briefing is not None
    subscribed = await _ask(sqlite_db, "/brief subscribe Robotics & Mobility, AI")
    assert not subscribed.error and "Robotics & Mobility, AI" in plain(subscribed.text)
    # A date after the name is still a date.
    dated = await _ask(sqlite_db, "/brief sector Robotics & Mobility yesterday")
    assert not dated.error, dated.text


async def test_robotto_is_robotics_and_mobility(sqlite_db: Database) -> None:
    reply = await _ask(sqlite_db, "/brief subscribe ロボット", user="ken", locale="ja")
    assert not reply.error and "ロボティクス・モビリティ" in reply.text


async def test_japanese_refusals_name_sectors_in_japanese(sqlite_db: Database) -> None:
    refused = await _ask(sqlite_db, "/brief subscribe 宇宙", user="ken", locale="ja")
    assert refused.error
    assert "量子・先端技術" in refused.text and "ロボティクス・モビリティ" in refused.text
    assert "quantum" not in refused.text and "mobility" not in refused.text
    # English readers are told the keys they can type.
    english = await _ask(sqlite_db, "/brief subscribe space")
    assert "quantum" in english.text and "mobility" in english.text


async def test_japanese_settings_name_the_days_in_japanese(sqlite_db: Database) -> None:
    reply = await _ask(sqlite_db, "/brief settings days mon,wed,fri", user="ken", locale="ja")
    assert not reply.error
    assert "月、水、金" in reply.text and "mon" not in reply.text
    english = await _ask(sqlite_db, "/brief settings days mon,wed,fri")
    assert "mon, wed, fri" in english.text


async def _admin(db: Database, text: str, *, tenant: str, user: str, now: datetime) -> Any:
    request = CommandRequest(CommandText(text), Invocation("slack", tenant, user, "C1", True))
    return await _dispatcher(db, now).handle(request)


async def test_admin_audit_says_who_changed_what_in_this_tenant_only(sqlite_db: Database) -> None:
    at = NOW
    for text in (
        "admin feeds add https://grid.example/rss green",
        "admin sectors add space Space 宇宙 rocket",
        "admin schedule set <#C42|news> 07:30 Asia/Tokyo mon-fri",
    ):
        at += timedelta(minutes=1)
        reply = await _admin(sqlite_db, text, tenant="TA", user="UALICE", now=at)
        assert not reply.error, reply.text
    schedule = re.search(r"Digest (\d+)", reply.text)
    assert schedule is not None
    at += timedelta(minutes=1)
    await _admin(
        sqlite_db, f"admin schedule remove {schedule[1]}", tenant="TA", user="UALICE", now=at
    )
    await _admin(
        sqlite_db, "admin feeds add https://other.example/rss", tenant="TB", user="UBOB", now=at
    )
    log = await _admin(sqlite_db, "admin audit", tenant="TA", user="UALICE", now=at)
    lines = plain(log.text).splitlines()
    assert len(lines) == 5, log.text
    assert "schedule remove" in lines[1] and "UALICE" in lines[1]  # newest first
    assert "https://grid.example/rss" in lines[-1] and "feeds add" in lines[-1]
    assert any("07:30" in line and "Asia/Tokyo" in line for line in lines)
    # Another workspace's changes and admins stay out of it; it is for admins only.
    assert "other.example" not in log.text and "UBOB" not in log.text
    other = await _admin(sqlite_db, "admin audit", tenant="TB", user="UBOB", now=at)
    assert "other.example" in other.text and "grid.example" not in other.text
    request = CommandRequest(CommandText("admin audit"), Invocation("slack", "TA", "UEVE", "C1"))
    refused = await _dispatcher(sqlite_db, at).handle(request)
    assert "admins" in refused.text and "grid.example" not in refused.text
