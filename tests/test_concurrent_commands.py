"""Commands arriving at once from new users of a new workspace all succeed (issue 11, §2).

Slack acknowledges a command before it runs, so one user's ``subscribe`` followed at once by
``settings`` run at the same time, and so do the first commands of a workspace's readers: the
tenant and subscriber rows must be created once, whoever gets there first.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.commands.dispatcher import Dispatcher
from bot.commands.grammar import CommandRequest, CommandText, Invocation
from storage.models import Subscriber, Tenant
from tests.conftest import Database

NOW = datetime(2025, 3, 4, 7, 0, tzinfo=UTC)


async def test_twenty_commands_at_once_from_ten_new_users_all_succeed(db: Database) -> None:
    dispatcher = Dispatcher(sessionmaker=db.sessionmaker, clock=lambda: NOW)
    users = [f"U{n:02d}" for n in range(10)]

    def request(user: str, text: str) -> CommandRequest:
        return CommandRequest(CommandText(text), Invocation("slack", "TNEW", user, "C1"))

    requests = [
        r
        for user in users
        for r in (request(user, "subscribe ai"), request(user, "settings time 07:45"))
    ]
    replies = await asyncio.gather(*(dispatcher.handle(r) for r in requests))

    assert [r.error for r in replies] == [False] * 20, [r.text for r in replies if r.error]
    assert sum("Subscribed to" in r.text for r in replies) == 10
    assert sum("Settings saved" in r.text for r in replies) == 10
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Tenant)) == 1
        rows = (
            await session.execute(select(Subscriber).order_by(Subscriber.external_id))
        ).scalars()
        saved = [(s.external_id, s.sectors, s.delivery_time) for s in rows]
    assert saved == [(user, ["ai"], "07:45") for user in users]
