"""The ``shiftbrief`` command line (typer + rich), one module per command group.

Every command reads the validated settings once, opens the database (migrating it first) and
prints either a rich table for people or JSON for scripts. Errors are one clear line on stderr and
a non-zero exit, never a traceback. ``shiftbrief run`` hands over to ``shiftbrief.runner``, the
composition root; the other commands build what they need through ``bot.app`` the same way.

Modules: ``base`` (apps, consoles, shared helpers), ``feeds`` (feeds group, ingest), ``briefs``
(demo, classify, brief), ``archive`` (embed, ask), ``admin`` (db, console, discord sync,
export, import, run).

Every command module is imported to register its commands, so a module imports at its top only
what declaring the commands needs (typer, the option types); a command imports its machinery
in its body. `shiftbrief feeds list` then starts without the editor's model client, numpy,
aiohttp or Alembic, and on a migrated SQLite file without SQLAlchemy or pydantic-settings
(``storage.plain_sqlite``, ``bot.config_plain``; ``tests/test_startup.py``, timed by
``bench/startup.py``); so does an ingest pass where nothing changed (``bot.ingest.plain_pass``),
which loads not even pydantic (typer needs it for an option's value, but not for a bool option
whose value is a bool: ``base`` makes ``--help`` such an option).
"""

from __future__ import annotations

import sqlite3
import sys

from bot.config_plain import ConfigError
from shiftbrief.cli.base import UserError, app, err

# Importing a group's module registers its commands; this order is the order of `--help`.
# isort: off
from shiftbrief.cli import feeds
from shiftbrief.cli import briefs
from shiftbrief.cli import archive
from shiftbrief.cli import admin
# isort: on

__all__ = ["admin", "app", "archive", "briefs", "feeds", "main"]


def main() -> None:
    """Entry point of the ``shiftbrief`` console script."""
    try:
        app()
    except (UserError, ConfigError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except sqlite3.Error as exc:  # a command that reads SQLite directly (storage.plain_sqlite)
        err.print(f"error: database: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except OSError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except Exception as exc:
        if (reason := _database_reason(exc)) is None:
            raise
        err.print(f"error: database: {reason}", markup=False, highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


def _database_reason(exc: Exception) -> str | None:
    """What a SQLAlchemy error says, in one line; None for any other error. SQLAlchemy is only
    looked at when a command loaded it (``feeds list`` may not)."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import SQLAlchemyError

    if not isinstance(exc, SQLAlchemyError):
        return None
    orig = getattr(exc, "orig", None)
    return str(orig) if orig is not None else str(exc).splitlines()[0]
