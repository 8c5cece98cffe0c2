"""A vote taken back (a removed 👍/👎 reaction) on SQLite and PostgreSQL: it no longer counts,
and only while it is still the reader's vote on that story."""

from __future__ import annotations

from sqlalchemy import select

from bot.commands.dispatcher import Dispatcher
from bot.commands.model import CommandRequest, Invocation, Vote
from storage.models import Feedback
from tests.conftest import Database
from tests.test_slack_adapter import NOW

READER = Invocation(platform="slack", tenant_id="T1", user_id="U1", locale="en")


async def test_a_withdrawn_vote_counts_zero_unless_the_reader_voted_the_other_way(
    db: Database,
) -> None:
    dispatcher = Dispatcher(sessionmaker=db.sessionmaker, clock=lambda: NOW)

    async def send(vote: Vote) -> str:
        reply = await dispatcher.handle(CommandRequest(vote, READER))
        assert not reply.error, reply.text
        return reply.text

    async def values() -> dict[str, int]:
        async with db.sessionmaker() as session:
            rows = (await session.execute(select(Feedback))).scalars()
            return {r.story_key: r.value for r in rows}

    await send(Vote("t1", 1, "ai"))
    await send(Vote("t2", 1, "ai"))
    await send(Vote("t2", -1, "ai"))  # voted the other way since
    assert "no longer counts" in await send(Vote("t1", 1, "ai", withdraw=True))
    await send(Vote("t2", 1, "ai", withdraw=True))
    await send(Vote("t3", -1, withdraw=True))  # never voted: nothing to take back
    assert await values() == {"t1": 0, "t2": -1}
