"""``/brief ask`` answers only the asker: ephemeral in Slack, an ephemeral response in Discord;
and ``shiftbrief ask --json`` prints the answer with its sources."""

from __future__ import annotations

import json

from tests.discord_api import FakeDiscord
from tests.test_cli import Cli, cli  # noqa: F401  (fixture)
from tests.test_discord_adapter import Env, answered, api, callbacks, env, interaction  # noqa: F401
from tests.test_slack_adapter import Slack, add_item, all_text, slack  # noqa: F401

TITLE = "Sodium-ion battery maker ships grid storage cells to Sweden"
QUESTION = "sodium-ion battery grid storage cells Sweden"


async def test_slack_ask_answers_only_the_asker(slack: Slack) -> None:  # noqa: F811
    await add_item(slack.sessionmaker, TITLE, sector="green")
    await slack.command(f"ask {QUESTION}")
    [answer] = await slack.answers()
    assert answer["response_type"] == "ephemeral"
    assert TITLE in all_text(answer) and "From the archive" in all_text(answer)


async def test_discord_ask_is_an_ephemeral_response(env: Env, api: FakeDiscord) -> None:  # noqa: F811
    await add_item(env.db.sessionmaker, TITLE, sector="green")
    env.receive(interaction("ask", [{"name": "question", "type": 3, "value": QUESTION}]))
    [answer] = await answered(env)
    assert callbacks(api)[0]["data"]["flags"] & 64  # deferred ephemerally
    assert answer["flags"] & 64
    assert "From the archive" in answer["content"]
    assert "grid storage cells to Sweden" in json.dumps(answer["embeds"], ensure_ascii=False)


async def test_cli_ask_json_lists_the_sources_best_first(cli: Cli) -> None:  # noqa: F811
    import sqlite3

    from tests.test_slack_adapter import NOW

    seeded = await cli("db", "upgrade")
    assert seeded.returncode == 0, seeded.stderr
    db = sqlite3.connect(cli.tmp / "shiftbrief.db")
    db.execute(
        "INSERT INTO feeds (url, title, weight, disabled, created_at) "
        "VALUES ('https://wire.example/rss', 'Wire', 1.0, 0, ?)",
        (NOW.isoformat(),),
    )
    db.execute(
        "INSERT INTO items (feed_id, content_hash, title, summary, link, language, "
        "published_at, first_seen_at, is_backlog, search_text) "
        "VALUES (1, 'h', ?, 'The cells store 410 MWh.', 'https://wire.example/1', 'en', ?, ?, 0, "
        "'sodium ion battery maker ships grid storage cells to sweden the cells store 410 mwh')",
        (TITLE, NOW.isoformat(), NOW.isoformat()),
    )
    db.commit()
    db.close()
    result = await cli("ask", QUESTION, "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answer"] == "The cells store 410 MWh. [1]"
    assert answer["sources"] == [
        {
            "title": TITLE,
            "link": "https://wire.example/1",
            "published": NOW.isoformat(),
            "outlet": "Wire",
        }
    ]
    nothing = json.loads((await cli("ask", "recipe for sourdough bread", "--json")).stdout)
    assert nothing == {"answer": "", "sources": []}
