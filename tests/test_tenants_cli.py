"""The operator's CLI across tenants: ``--tenant PLATFORM:ID`` manages one tenant's feeds,
without it the shared catalog; ``feeds list`` shows each feed's owners; imports are shared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import Cli, _one_line_error


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def _owners(result: object) -> dict[str, list[str]]:
    listed = json.loads(result.stdout)  # type: ignore[attr-defined]
    return {f["url"]: f["owners"] for f in listed}


async def test_feeds_add_list_and_remove_per_tenant(cli: Cli) -> None:
    added = await cli("feeds", "add", "--tenant", "slack:T123", "https://a.example/rss")
    assert added.returncode == 0, added.stderr
    assert (await cli("feeds", "add", "https://shared.example/rss")).returncode == 0
    both = await cli("feeds", "add", "--tenant", "discord:456", "https://a.example/rss")
    assert both.returncode == 0, both.stderr
    _one_line_error(
        await cli("feeds", "add", "--tenant", "slack:T123", "https://a.example/rss"), "already"
    )
    assert _owners(await cli("feeds", "list", "--json")) == {
        "https://a.example/rss": ["slack:T123", "discord:456"],
        "https://shared.example/rss": ["shared"],
    }
    table = (await cli("feeds", "list")).stdout
    assert "slack:T123" in table and "shared" in table
    # What one tenant sees: the shared catalog and its own.
    seen = _owners(await cli("feeds", "list", "--json", "--tenant", "discord:456"))
    assert set(seen) == {"https://a.example/rss", "https://shared.example/rss"}

    # Without --tenant, remove acts on the shared catalog only.
    _one_line_error(await cli("feeds", "remove", "1"), "shared catalog", "no feed with id 1")
    removed = await cli("feeds", "remove", "--tenant", "slack:T123", "1")
    assert removed.returncode == 0, removed.stderr
    assert _owners(await cli("feeds", "list", "--json"))["https://a.example/rss"] == ["discord:456"]


async def test_a_malformed_or_unknown_tenant_is_one_clear_line(cli: Cli) -> None:
    _one_line_error(
        await cli("feeds", "add", "--tenant", "T123", "https://a.example/rss"), "PLATFORM:ID"
    )
    _one_line_error(
        await cli("feeds", "add", "--tenant", "irc:x", "https://a.example/rss"), "slack"
    )
    _one_line_error(await cli("feeds", "list", "--tenant", "slack:TNOPE"), "slack:TNOPE")
    _one_line_error(await cli("feeds", "remove", "--tenant", "slack:", "1"), "PLATFORM:ID")


async def test_export_and_import_keep_who_owns_what(cli: Cli, tmp_path: Path) -> None:
    """Moving an install keeps a tenant's feeds its own: none turns into the shared catalog
    (which would show one tenant's intranet feeds to every other)."""
    own = await cli("feeds", "add", "--tenant", "slack:T1", "https://own.example/rss")
    assert own.returncode == 0, own.stderr
    assert (await cli("feeds", "add", "https://shared.example/rss")).returncode == 0
    exported = await cli("export")
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    document["feeds"].append({"url": "https://imported.example/rss"})  # no owners: shared
    (tmp_path / "doc.json").write_text(json.dumps(document))
    other = Cli(tmp_path, "other.db")
    imported = await other("import", str(tmp_path / "doc.json"))
    assert imported.returncode == 0, imported.stderr
    assert _owners(await other("feeds", "list", "--json")) == {
        "https://own.example/rss": ["slack:T1"],
        "https://shared.example/rss": ["shared"],
        "https://imported.example/rss": ["shared"],
    }
    # A document naming an owner it does not define writes nothing.
    document["feeds"].append(
        {"url": "https://x.example/rss", "owners": [{"platform": "slack", "external_id": "T9"}]}
    )
    (tmp_path / "bad.json").write_text(json.dumps(document))
    _one_line_error(await other("import", str(tmp_path / "bad.json")), "T9", "not in tenants")
