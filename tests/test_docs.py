"""The README and docs/ stay true: every setting in the table with its real default, the two set-up
commands first, the CLI commands shown exist, and the links between the documents resolve."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic.fields import FieldInfo

from bot.config import ENV_PREFIX, Settings
from shiftbrief.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"
DOCUMENTS = [README, ARCHITECTURE, *sorted(DOCS.glob("*.md"))]


def env_name(name: str, field: FieldInfo) -> str:
    """The variable an operator sets: Slack's/Discord's own name where the field has one."""
    alias = field.validation_alias
    if alias is not None:
        return str(alias.choices[0])  # type: ignore[union-attr]
    return ENV_PREFIX + name.upper()


def settings_variables() -> dict[str, FieldInfo]:
    return {env_name(name, field): field for name, field in Settings.model_fields.items()}


def readme_tables(text: str) -> list[dict[str, str]]:
    """Each Markdown table as {first cell's `code`: second cell}, in order."""
    tables: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        if current is None:
            current = {}
            tables.append(current)
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        key = re.fullmatch(r"`([^`]+)`", cells[0])
        if key and len(cells) >= 3:
            current[key.group(1)] = cells[1]
    return tables


@pytest.fixture(scope="module")
def settings_table() -> dict[str, str]:
    """The README's table of variables: the one that lists SHIFTBRIEF_DATABASE_URL."""
    tables = [t for t in readme_tables(README.read_text(encoding="utf-8")) if t]
    (table,) = [t for t in tables if "SHIFTBRIEF_DATABASE_URL" in t]
    return table


def test_readme_opens_with_the_two_set_up_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# ")
    body = [line for line in lines[1:] if line.strip()]
    assert body[0] == "```sh"
    assert body[1].split("#")[0].strip() == "make demo"
    assert body[2].split("#")[0].strip() == "make test"
    assert body[3] == "```"


def test_every_setting_is_in_the_readme_table(settings_table: dict[str, str]) -> None:
    missing = sorted(set(settings_variables()) - set(settings_table))
    assert not missing, f"add these to the README's configuration table: {missing}"
    assert "SHIFTBRIEF_CONFIG_FILE" in settings_table


def test_readme_table_names_no_setting_that_does_not_exist(settings_table: dict[str, str]) -> None:
    known = set(settings_variables()) | {"SHIFTBRIEF_CONFIG_FILE"}
    assert sorted(set(settings_table) - known) == []


def documented_default(cell: str) -> object:
    """The first `code` span of a default cell, read as JSON where it parses; unset is None."""
    if cell.startswith("unset"):
        return None
    code = re.match(r"`([^`]*)`", cell)
    assert code, f"default cell without a `value`: {cell!r}"
    try:
        return json.loads(code.group(1))
    except json.JSONDecodeError:
        return code.group(1)


# Defaults computed at run time (the SQLite path under the user's data folder) are described, not
# compared.
@pytest.mark.parametrize(
    "variable", sorted(n for n, f in settings_variables().items() if f.default_factory is None)
)
def test_readme_table_shows_the_real_default(variable: str, settings_table: dict[str, str]) -> None:
    field = settings_variables()[variable]
    cell = settings_table.get(variable)
    if cell is None:
        pytest.fail(f"{variable} is missing from the README table")
    shown = documented_default(cell)
    default = field.default
    if isinstance(default, tuple):
        default = list(default)
    if isinstance(default, float) and isinstance(shown, int):
        shown = float(shown)
    assert shown == default, f"{variable}: README says {cell}, Settings says {field.default!r}"


def shiftbrief_commands(text: str) -> list[list[str]]:
    """Command lines starting with ``shiftbrief`` inside the ``sh`` code blocks of ``text``."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            command = line.split("  #")[0].split(" | ")[-1].strip()
            if command.startswith("shiftbrief "):
                found.append(shlex.split(command.split(" < ")[0]))
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_shiftbrief_commands_in_the_docs_exist(document: Path) -> None:
    root = typer.main.get_command(app)
    commands = shiftbrief_commands(document.read_text(encoding="utf-8"))
    for argv in commands:
        command: Any = root
        words = argv[1:]
        # Typer's command groups keep their subcommands in a ``commands`` dict.
        while hasattr(command, "commands") and words and not words[0].startswith("-"):
            sub = command.commands.get(words[0])
            assert sub is not None, f"{' '.join(argv)}: no command {words[0]!r}"
            command, words = sub, words[1:]
        options = {opt for param in command.params for opt in param.opts}
        for word in words:
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"{' '.join(argv)}: no option {word}"


def test_readme_shows_the_main_commands() -> None:
    commands = shiftbrief_commands(README.read_text(encoding="utf-8"))
    assert ["shiftbrief", "run"] in commands
    assert any(argv[:3] == ["shiftbrief", "db", "upgrade"] for argv in commands)


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a heading."""
    slug = heading.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", document.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {github_anchor(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_and_anchors_resolve(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        assert linked.exists(), f"{document.name}: broken link {target}"
        if fragment and linked.suffix == ".md":
            assert fragment in anchors(linked), f"{document.name}: no heading for {target}"


def test_readme_deployment_section_links_to_the_guide() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Deployment\n", 1)[1].split("\n## ", 1)[0]
    assert "(docs/deployment.md)" in section
    for topic in ("app_manifest.yaml", "DISCORD_TOKEN", "docker compose up", "/readyz", "topology"):
        assert topic in section, topic


def test_deployment_guide_covers_what_an_operator_sets_up() -> None:
    guide = (DOCS / "deployment.md").read_text(encoding="utf-8")
    for needed in (
        "app_manifest.yaml",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "/slack/events",
        "SLACK_CLIENT_ID",
        "/slack/install",
        "applications.commands",
        "shiftbrief discord sync --guild",
        "Privileged",
        "/healthz",
        "/readyz",
        "/metrics",
        "SHIFTBRIEF_DISCORD_SHARD_COUNT",
        "SHIFTBRIEF_DISCORD_SHARD_IDS",
        "FOR UPDATE SKIP LOCKED",
        "advisory lock",
    ):
        assert needed in guide, needed


def test_architecture_names_only_files_that_exist() -> None:
    """Every repository path ARCHITECTURE.md names in backticks is there (it follows the code)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:bot|adapters|storage|shiftbrief|tests)/[^`\s<>{}*]+)`", text))
    assert len(named) > 30
    missing = sorted(path for path in named if not (ROOT / path.rstrip("/")).exists())
    assert missing == []
    assert "composition root" in text and "shiftbrief/runner.py" in text
