"""Logging set-up: JSON lines for log collectors, readable text on a terminal.

Records carry ids (delivery, subscriber, tenant, feed, platform) as ``extra`` fields; the JSON
formatter writes them as keys, so a collector can filter on them.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from bot.briefing.render_text import clean_lines
from bot.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TerminalFormatter(logging.Formatter):
    """Readable lines for a terminal, without the escape sequences a feed's text or a server's
    error message may carry (a log line must not retitle, clear or hyperlink the terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        return clean_lines(super().format(record))


def configure_logging(settings: Settings) -> None:
    """Send log records to stderr in the configured format (``auto``: JSON unless a terminal)."""
    use_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not sys.stderr.isatty()
    )
    handler = logging.StreamHandler(sys.stderr)
    if use_json:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(TerminalFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # Libraries' chatter at INFO drowns our own lines.
    for noisy in ("apscheduler.executors", "aiohttp.access", "discord.gateway"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
