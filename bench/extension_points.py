"""How many files a new command, a new built-in sector and a new platform adapter touch.

Each addition is made for real in a fresh copy of the committed tree (``git archive HEAD``), the
files git sees changed are counted (tests not included), and the copy is then run to show the
addition works: the command answers through the dispatcher in both languages, the sector is
offered to readers and classifies a headline, the adapter is built by the registry and receives
a briefing, and the README settings check still passes. Run: ``python bench/extension_points.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fresh_copy(into: Path) -> None:
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "init", "-q"], cwd=into, check=True)
    subprocess.run([*git, "add", "-A"], cwd=into, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=into, check=True)


def changed_files(tree: Path) -> list[str]:
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(line[3:] for line in status.splitlines())


def run_in(tree: Path, code: str) -> str:
    """Run ``code`` with the copy's packages first on the path; its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTBRIEF_")}
    env["PYTHONPATH"] = str(tree)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"check failed in {tree}:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text("utf-8") + textwrap.dedent(text), "utf-8")


def add_command(tree: Path) -> str:
    append(
        tree / "bot/commands/handlers/reader.py",
        '''

        @dataclass(frozen=True, slots=True)
        class Ping(CommandBase):
            """Check the bot answers."""


        @command("ping", Ping, usage=("", ""), help=("check the bot answers", "応答の確認"))
        async def ping(ctx: Context, command: Ping) -> Reply:
            return Reply(text=ctx.say(MESSAGES, "pong"))
        ''',
    )
    reader = tree / "bot/commands/handlers/reader.py"
    text = reader.read_text("utf-8")
    text = text.replace(
        "from datetime import UTC", "from dataclasses import dataclass\nfrom datetime import UTC", 1
    )
    text = text.replace(
        "from bot.commands.model import (", "from bot.commands.model import (\n    CommandBase,", 1
    )
    reader.write_text(text, "utf-8")
    for language, pong in (("en", "pong"), ("ja", "ポン")):
        locale = tree / f"bot/data/locale/{language}.toml"
        locale.write_text(
            locale.read_text("utf-8").replace(
                "[handlers.reader]\n", f'[handlers.reader]\npong = "{pong}"\n', 1
            ),
            "utf-8",
        )
    return """
        import asyncio, tempfile
        from datetime import UTC, datetime
        from bot.app import open_app
        from bot.commands.dispatcher import Dispatcher
        from bot.commands.grammar import CommandRequest, CommandText, Invocation, help_text
        from bot.config import Settings

        async def main():
            url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/x.db"
            async with open_app(Settings(database_url=url)) as ctx:
                d = Dispatcher(sessionmaker=ctx.sessionmaker, clock=lambda: datetime.now(UTC))
                ping = CommandText("ping")
                en = Invocation(platform="slack", tenant_id="T", user_id="U")
                ja = Invocation(platform="slack", tenant_id="T", user_id="V", locale="ja-JP")
                en = await d.handle(CommandRequest(ping, en))
                ja = await d.handle(CommandRequest(ping, ja))
            assert (en.text, ja.text) == ("pong", "ポン"), (en, ja)
            assert "応答の確認" in help_text("ja") and "check the bot answers" in help_text("en")
            print("answers 'pong' / 'ポン'; listed in both helps")

        asyncio.run(main())
        """


def add_sector(tree: Path) -> str:
    (tree / "bot/data/sectors/space.toml").write_text(
        textwrap.dedent(
            """\
            key = "space"
            name_en = "Space Tech"
            name_ja = "宇宙"
            order = 6

            [[terms]]
            weight = 1.0
            kind = "topic"
            texts = ["satellite", "satellites", "rocket launch", "orbit", "人工衛星", "ロケット"]
            """
        ),
        "utf-8",
    )
    (tree / "storage/migrations/versions/0009_space.py").write_text(
        textwrap.dedent(
            '''\
            """Space Tech, a built-in sector."""

            from __future__ import annotations

            from datetime import UTC, datetime

            import sqlalchemy as sa
            from alembic import op

            revision = "0009_space"
            down_revision = "0008_editor"
            branch_labels = None
            depends_on = None


            def upgrade() -> None:
                op.execute(
                    sa.text(
                        "INSERT INTO sectors (key, name_en, name_ja, keywords, builtin,"
                        " created_at) VALUES ('space', 'Space Tech', '宇宙', '[]', :yes, :now)"
                    ).bindparams(yes=True, now=datetime.now(UTC))
                )


            def downgrade() -> None:
                op.execute("DELETE FROM sectors WHERE key = 'space'")
            '''
        ),
        "utf-8",
    )
    return """
        import asyncio, tempfile
        from bot.app import open_app
        from bot.briefing.classify import Classifier
        from bot.briefing.edition import load_sector_defs
        from bot.briefing.sectors import default_sectors
        from bot.commands.grammar import parse_command
        from bot.config import Settings

        async def main():
            url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/x.db"
            async with open_app(Settings(database_url=url)) as ctx:
                async with ctx.sessionmaker() as session:
                    defs = await load_sector_defs(session)
            space = next(s for s in defs if s.key == "space")
            assert space.name_ja == "宇宙"
            parse_command("subscribe 宇宙", known_sectors=defs)
            classifier = Classifier(sectors=default_sectors())
            scores = classifier.classify("Rocket launch puts 40 satellites in orbit")
            assert scores and scores[0].key == "space", scores
            print("offered to readers as 'Space Tech' / '宇宙'; classifies a launch headline")

        asyncio.run(main())
        """


def add_adapter(tree: Path) -> str:
    package = tree / "adapters/outbox"
    package.mkdir()
    (package / "__init__.py").write_text('"""A platform that writes briefings to a folder."""\n')
    (package / "adapter.py").write_text(
        textwrap.dedent(
            '''\
            """Briefings as JSON files in a folder: the smallest platform adapter."""

            from __future__ import annotations

            import json
            from pathlib import Path
            from typing import Any, ClassVar

            from bot.briefing.render_text import briefing_to_json
            from bot.platform import MessageRef


            class OutboxAdapter:
                platform: ClassVar[str] = "outbox"

                def __init__(self, *, settings: Any, sessionmaker: Any, clock: Any) -> None:
                    self.folder = Path(settings.outbox_folder)

                async def start(self, dispatcher: Any) -> None:
                    self.dispatcher = dispatcher

                async def close(self) -> None:
                    pass

                async def reply(self, invocation: Any, reply: Any) -> None:
                    pass

                async def send_briefing(self, dest: Any, briefing: Any, **_: Any) -> MessageRef:
                    path = self.folder / f"{dest.external_id}.json"
                    path.write_text(json.dumps(briefing_to_json(briefing)), "utf-8")
                    return MessageRef(platform="outbox", channel_id=dest.external_id,
                                      message_ids=(path.name,))
            '''
        ),
        "utf-8",
    )
    registry = tree / "adapters/registry.py"
    registry.write_text(
        registry.read_text("utf-8").replace(
            "\n]\n",
            '\n    Platform("outbox", lambda s: bool(s.outbox_folder), '
            '"adapters.outbox.adapter:OutboxAdapter"),\n]\n',
            1,
        ),
        "utf-8",
    )
    config = tree / "bot/config.py"
    config.write_text(
        config.read_text("utf-8").replace(
            "    # --- Discord ---",
            '    outbox_folder: str | None = None\n    """Write briefings to this folder."""\n\n'
            "    # --- Discord ---",
            1,
        ),
        "utf-8",
    )
    readme = tree / "README.md"
    readme.write_text(
        readme.read_text("utf-8").replace(
            "| `DISCORD_TOKEN` |",
            "| `SHIFTBRIEF_OUTBOX_FOLDER` | unset | write briefings to this folder |\n"
            "| `DISCORD_TOKEN` |",
            1,
        ),
        "utf-8",
    )
    return """
        import subprocess, sys, tempfile
        from adapters import registry
        from bot.config import Settings

        folder = tempfile.mkdtemp()
        [adapter] = registry.configured_adapters(
            Settings(outbox_folder=folder), sessionmaker=None, clock=None)
        assert adapter.platform == "outbox"
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        tests = subprocess.run([*pytest, "tests/test_docs.py", "-k", "setting"],
                               capture_output=True, text=True)
        assert tests.returncode == 0, tests.stdout[-2000:]
        print("built by the registry when SHIFTBRIEF_OUTBOX_FOLDER is set; README check passes")
        """


CASES: dict[str, Callable[[Path], str]] = {
    "command (with a reply phrase)": add_command,
    "built-in sector": add_sector,
    "platform adapter": add_adapter,
}


def main() -> None:
    results = {}
    for name, make in CASES.items():
        with tempfile.TemporaryDirectory(prefix="sb-ext-") as tmp:
            tree = Path(tmp)
            fresh_copy(tree)
            check = make(tree)
            files = changed_files(tree)
            shown = run_in(tree, check)
            results[name] = {"files": len(files), "which": files, "works": shown}
            print(f"{name}: {len(files)} files: {', '.join(files)}\n    {shown}", flush=True)
    print(json.dumps({k: v["files"] for k, v in results.items()}))


if __name__ == "__main__":
    main()
