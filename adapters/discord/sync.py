"""Registering the /brief tree with Discord, only when it changed or when asked.

Discord allows 200 command creates a day per guild, and a reconnect must not spend them: the
hash of the last synced payload (localisations included) is kept in a small JSON file.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import discord
import platformdirs

from adapters.discord.client import ShiftBriefClient, use_translator

log = logging.getLogger(__name__)


def default_sync_state_path() -> Path:
    """Where the hash of the last command sync is kept (next to the default database)."""
    return Path(platformdirs.user_data_dir("shiftbrief", appauthor=False)) / "discord-commands.json"


async def command_payload(client: ShiftBriefClient) -> list[dict[str, Any]]:
    """The command definitions as Discord receives them on sync, localisations included."""
    await use_translator(client)
    translator = client.tree.translator
    assert translator is not None
    return [
        await c.get_translated_payload(client.tree, translator) for c in client.tree.get_commands()
    ]


async def command_hash(client: ShiftBriefClient) -> str:
    """A hash of the synced payload: a changed translation is a change worth a sync."""
    text = json.dumps(await command_payload(client), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _sync_key(client: ShiftBriefClient, guild_id: int | None) -> str:
    return f"{client.application_id}:{guild_id or 'global'}"


def _read_sync_state(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


async def sync_commands(client: ShiftBriefClient, guild_id: int | None = None) -> list[str]:
    """Register the command tree with Discord (globally, or in one guild for quick testing) and
    remember its hash; for ``shiftbrief discord sync [--guild ID]``.

    Returns:
        The names of the commands Discord now has.
    """
    # The tree syncs what its translator gives; without one Discord would get no Japanese.
    await use_translator(client)
    if guild_id is not None:
        # Only that guild: the global commands stay as they are (else a test server lists
        # /brief twice, once global and once its own).
        guild = discord.Object(id=guild_id)
        client.tree.copy_global_to(guild=guild)
        synced = await client.tree.sync(guild=guild)
    else:
        synced = await client.tree.sync()
    path = client.adapter.sync_state_path
    state = _read_sync_state(path)
    state[_sync_key(client, guild_id)] = await command_hash(client)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
    log.info("synced %d Discord commands (guild=%s)", len(synced), guild_id or "global")
    return [c.name for c in synced]


async def sync_if_changed(client: ShiftBriefClient) -> bool:
    """Sync the global commands only when their definition changed since the last sync."""
    state = _read_sync_state(client.adapter.sync_state_path)
    if state.get(_sync_key(client, None)) == await command_hash(client):
        return False
    await sync_commands(client)
    return True
