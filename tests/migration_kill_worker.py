"""Kill ``shiftbrief db upgrade`` with SIGKILL at chosen SQL statements, then run it again.

Used by tests/test_migration_kills.py. Importing the CLI takes seconds on a busy machine, so
this process imports it once and forks a child per attempt: the child sets
``SHIFTBRIEF_DATABASE_URL``, counts the statements the migration sends and kills itself with
SIGKILL just before statement N (as ``kill -9`` would at that moment); another child then runs
``shiftbrief db upgrade`` to the end. What each file held after the kill and after the second
upgrade is written to stdout as one JSON object per attempt.

Usage: ``python -m tests.migration_kill_worker FOLDER SCENARIO KILLS`` where SCENARIO is
``fresh`` (an empty file) or ``data`` (a file at 0009 with feeds, an admin's sector and a
reading link, upgraded to the head) and KILLS is how many kill points to spread over the run.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from shiftbrief.cli import app

OLD = "0009_embed"
NOW = "2026-11-28 08:00:00+00:00"
_statements = 0
_kill_at: int | None = None


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_args: Any) -> None:
    global _statements
    _statements += 1
    if _kill_at is not None and _statements >= _kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


def _in_child(path: Path, args: list[str], kill_at: int | None = None) -> tuple[int, int]:
    """Run ``shiftbrief ARGS`` on ``path`` in a forked child: (wait status, statements run)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        global _kill_at
        os.close(read)
        # Keep stdout for the parent's JSON lines.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.environ["SHIFTBRIEF_DATABASE_URL"] = f"sqlite:///{path}"
        _kill_at = kill_at
        code = 0
        try:
            app(args=args, prog_name="shiftbrief", standalone_mode=False)
        except BaseException as exc:  # reported to the parent as a failed exit
            print(f"child failed: {exc!r}", file=sys.stderr)
            code = 1
        os.write(write, str(_statements).encode())
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        ran = pipe.read()
    _, status = os.waitpid(pid, 0)
    return status, int(ran or 0)


def _state(path: Path) -> dict[str, Any]:
    """What the file holds: tables, the recorded revision and the rows a test looks at."""
    if not path.exists():
        return {"tables": [], "revision": None}
    with sqlite3.connect(path) as conn:
        tables = sorted(
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        )
        state: dict[str, Any] = {"tables": tables, "revision": None}
        if "alembic_version" in tables:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            state["revision"] = row[0] if row else None
        for table, query in (
            ("sectors", "SELECT key FROM sectors ORDER BY key"),
            ("feeds", "SELECT url FROM feeds ORDER BY url"),
            ("feed_owners", "SELECT feed_id FROM feed_owners ORDER BY feed_id"),
            ("related_reading", "SELECT title FROM related_reading ORDER BY id"),
        ):
            if table in tables:
                state[table] = [r[0] for r in conn.execute(query)]
    return state


def _old_install(path: Path) -> None:
    """A file at 0009 with two feeds, an admin's sector and a reading link."""
    pid = os.fork()
    if pid == 0:
        import asyncio

        from storage.db import make_engine, upgrade

        async def migrate() -> None:
            engine = make_engine(f"sqlite+aiosqlite:///{path}")
            await upgrade(engine, OLD)
            await engine.dispose()

        asyncio.run(migrate())
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0, status
    with sqlite3.connect(path) as conn:
        for url in ("https://a.example/feed", "https://b.example/feed"):
            conn.execute(
                "INSERT INTO feeds (url, weight, disabled, created_at) VALUES (?, 1.0, 0, ?)",
                (url, NOW),
            )
        conn.execute(
            "INSERT INTO sectors (key, name_en, name_ja, keywords, builtin, created_at) "
            "VALUES ('space', 'Space', '宇宙', '[]', 0, ?)",
            (NOW,),
        )
        conn.execute(
            "INSERT INTO related_reading (sector_key, url, title, created_at) "
            "VALUES ('ai', 'https://learn.example/ai', 'AI 101', ?)",
            (NOW,),
        )


def main() -> None:
    folder, scenario, kills = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    folder.mkdir(parents=True, exist_ok=True)

    def prepared(name: str) -> Path:
        path = folder / f"{name}.db"
        if scenario == "data":
            _old_install(path)
        return path

    # A first run, not killed, counts the statements of the whole upgrade.
    status, total = _in_child(prepared("count"), ["db", "upgrade"])
    print(json.dumps({"total": total, "status": status}), flush=True)
    points = sorted({max(1, round(total * (i + 1) / (kills + 1))) for i in range(kills)})
    points += [total - 1, total]  # the last statements: around the commit
    for n, kill_at in enumerate(dict.fromkeys(points)):
        path = prepared(f"kill{n}")
        killed, _ = _in_child(path, ["db", "upgrade"], kill_at)
        after_kill = _state(path)
        again, _ = _in_child(path, ["db", "upgrade"])
        print(
            json.dumps(
                {
                    "kill_at": kill_at,
                    "killed": os.WIFSIGNALED(killed) and os.WTERMSIG(killed) == signal.SIGKILL,
                    "after_kill": after_kill,
                    "upgrade_again": again,
                    "after": _state(path),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
