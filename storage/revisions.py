"""The migration scripts' head revisions, read from their text: no SQLAlchemy, no Alembic.

Every start compares these with the revision the database records, so a database already at the
heads is opened without loading Alembic and every migration script (``storage.db``), and a
command that only lists rows can skip SQLAlchemy too (``storage.plain_sqlite``).
"""

from __future__ import annotations

import re
from pathlib import Path

VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"

_REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


def script_heads(versions: Path = VERSIONS_DIR) -> frozenset[str] | None:
    """The head revisions of the migration scripts, read from their ``revision`` and
    ``down_revision`` lines; None when a script does not read plainly (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        source = script.read_text("utf-8")
        found = _REVISION.findall(source)
        down = _DOWN_REVISION.findall(source)
        if len(found) != 1 or len(down) != 1:
            return None
        revisions.add(found[0])
        parents.update(_QUOTED.findall(down[0]))
    heads = frozenset(revisions - parents)
    return heads or None
