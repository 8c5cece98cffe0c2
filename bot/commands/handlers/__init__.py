"""The built-in commands, declared next to their handlers and grouped by topic.

Importing this package declares them; the order below is the help order.
"""

from __future__ import annotations

import importlib

TOPICS = (
    "reader",
    "learning",
    "ask",
    "feeds",
    "deliveries",
    "schedules",
    "sectors",
    "feedback",
    "audit",
)

for _topic in TOPICS:
    importlib.import_module(f"{__name__}.{_topic}")
