"""The console adapter: a chat simulator in the terminal, and the default when no platform is set.

Lines typed at the prompt go through the same ``CommandRequest`` -> ``Dispatcher`` -> ``Reply``
path as Slack and Discord; briefings are shown with the plain-text or Markdown renderer.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar, TextIO

from bot import untrusted
from bot.briefing.render_text import clean_text, render_markdown, render_text, safe_url
from bot.commands.dispatcher import Dispatcher, Reply
from bot.commands.grammar import CommandRequest, CommandText, Invocation
from bot.models import Briefing
from bot.platform import Destination, MessageRef, OnSent


def render_reply(reply: Reply, *, markdown: bool = False) -> str:
    """A reply as the console shows it: our text, then any results, then any briefing.

    Outside text (quoted in ``reply.text``, and every result) goes through ``clean_text``, the
    terminal's defusing: no escape sequences (ESC, OSC-8 links, BEL) reach the terminal.
    """
    parts: list[str] = []
    if reply.text:
        parts.append(untrusted.render(reply.text, clean_text))
    for entry in reply.results:
        when = entry.published_at.strftime("%Y-%m-%d") if entry.published_at else ""
        source = ", ".join(clean_text(s.name) for s in entry.sources)
        line = f"- {clean_text(entry.title)} ({source}{', ' + when if when else ''})"
        link = safe_url(entry.link)
        parts.append(line + (f"\n  {link}" if link else ""))
    if reply.briefing is not None:
        parts.append(render_briefing(reply.briefing, markdown=markdown))
    return "\n".join(parts)


def render_briefing(briefing: Briefing, *, markdown: bool = False) -> str:
    return render_markdown(briefing) if markdown else render_text(briefing)


class ConsoleAdapter:
    """Reads ``/brief ...`` lines from ``stdin`` and prints the answers to ``stdout``.

    Args:
        user_id: who the typed commands come from.
        tenant_id: the simulated workspace.
        is_admin: whether this user holds admin rights (the ``--admin`` switch).
        markdown: render briefings as Markdown instead of plain text.
    """

    platform: ClassVar[str] = "console"

    def __init__(
        self,
        *,
        user_id: str = "console-user",
        tenant_id: str = "local",
        is_admin: bool = False,
        locale: str | None = None,
        markdown: bool = False,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        prompt: str = "> ",
    ) -> None:
        self.user_id = user_id
        self.tenant_id = tenant_id
        self.is_admin = is_admin
        self.locale = locale
        self.markdown = markdown
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._prompt = prompt
        self._ids: Callable[[], int] = itertools.count(1).__next__

    def invocation(self) -> Invocation:
        return Invocation(
            platform=self.platform,
            tenant_id=self.tenant_id,
            user_id=self.user_id,
            channel_id="console",
            is_admin=self.is_admin,
            locale=self.locale,
        )

    async def ask(self, dispatcher: Dispatcher, text: str) -> Reply:
        """One command, as a user would type it; the answer is also printed."""
        invocation = self.invocation()
        reply = await dispatcher.handle(CommandRequest(CommandText(text), invocation))
        await self.reply(invocation, reply)
        return reply

    async def start(self, dispatcher: Dispatcher) -> None:
        """Serve typed lines until end of input or ``quit``."""
        interactive = self._stdin.isatty()
        while True:
            if interactive:
                self._stdout.write(self._prompt)
                self._stdout.flush()
            line = await asyncio.to_thread(self._stdin.readline)
            if not line:
                break
            text = line.strip()
            if text in ("quit", "exit", "/quit"):
                break
            if not text:
                continue
            if not interactive:
                self._stdout.write(f"{self._prompt}{text}\n")
            await self.ask(dispatcher, text)

    async def close(self) -> None:
        self._stdout.flush()

    async def reply(self, invocation: Invocation, reply: Reply) -> None:
        self._write(render_reply(reply, markdown=self.markdown))

    async def send_briefing(
        self,
        dest: Destination,
        briefing: Briefing,
        *,
        start_part: int = 0,
        idempotency_key: str | None = None,
        on_sent: OnSent | None = None,
        resume_since: datetime | None = None,
    ) -> MessageRef:
        """Print the briefing as one part; ``start_part`` past it prints nothing.

        ``resume_since`` is ignored: a terminal cannot be asked what it printed.
        """
        if start_part > 0:
            # The one part was shown already (the engine resumes after what on_sent recorded).
            return MessageRef(platform=self.platform, channel_id=dest.external_id, message_ids=())
        self._write(f"[digest to {dest.kind} {dest.external_id}]\n")
        self._write(render_briefing(briefing, markdown=self.markdown))
        message_id = str(self._ids())
        if on_sent is not None:
            await on_sent(message_id)
        return MessageRef(
            platform=self.platform, channel_id=dest.external_id, message_ids=(message_id,)
        )

    def _write(self, text: str) -> None:
        self._stdout.write(text.rstrip("\n") + "\n\n")
        self._stdout.flush()
