"""Configuration: read once, and a bad value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("SHIFTBRIEF_", "SLACK_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_use_a_sqlite_file_and_refuse_private_addresses() -> None:
    settings = load_settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("shiftbrief.db")
    assert settings.allow_private_addresses is False


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIFTBRIEF_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS", '["10.1.0.0/16"]')
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
    settings = load_settings()
    assert settings.allow_private_addresses is True
    assert settings.allowed_private_networks == ("10.1.0.0/16",)
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-test"
    assert "xoxb-test" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SHIFTBRIEF_ALLOW_PRIVATE_ADDRESSES", "perhaps"),
        ("SHIFTBRIEF_DATABASE_URL", "mysql://x"),
        ("SHIFTBRIEF_HTTP_PORT", "99999"),
        ("SHIFTBRIEF_SLACK_MODE", "pigeon"),
        ("SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS", '["not-a-network"]'),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_a_toml_file_supplies_settings_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "shiftbrief.toml").write_text(
        'fetch_timeout = 5\nuser_agent = "from-file"\n', encoding="utf-8"
    )
    monkeypatch.setenv("SHIFTBRIEF_USER_AGENT", "from-env")
    settings = load_settings()
    assert settings.fetch_timeout == 5
    assert settings.user_agent == "from-env"


def test_a_broken_toml_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "conf.toml"
    bad.write_text("fetch_timeout = = 5\n", encoding="utf-8")
    monkeypatch.setenv("SHIFTBRIEF_CONFIG_FILE", str(bad))
    with pytest.raises(ConfigError, match="configuration file"):
        load_settings()


def test_shard_ids_need_a_count_that_covers_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIFTBRIEF_DISCORD_SHARD_IDS", "[0, 3]")
    with pytest.raises(ConfigError, match="needs SHIFTBRIEF_DISCORD_SHARD_COUNT"):
        load_settings()
    monkeypatch.setenv("SHIFTBRIEF_DISCORD_SHARD_COUNT", "2")
    with pytest.raises(ConfigError, match="below SHIFTBRIEF_DISCORD_SHARD_COUNT"):
        load_settings()
    monkeypatch.setenv("SHIFTBRIEF_DISCORD_SHARD_COUNT", "4")
    assert load_settings().discord_shard_ids == (0, 3)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SHIFTBRIEF_SLACK_MODE": "http"}, "SLACK_SIGNING_SECRET"),
        (
            {
                "SLACK_CLIENT_ID": "1.2",
                "SHIFTBRIEF_SLACK_MODE": "http",
                "SLACK_SIGNING_SECRET": "s",
            },
            "SLACK_CLIENT_SECRET",
        ),
    ],
)
def test_slack_without_the_secrets_its_mode_needs_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///shiftbrief.db", "sqlite+aiosqlite:///shiftbrief.db"),
        ("SQLite+pysqlite:////srv/a.db?timeout=3", "sqlite+aiosqlite:////srv/a.db?timeout=3"),
        ("sqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("sqlite://host/x.db", "sqlite+aiosqlite://host/x.db"),  # read by SQLAlchemy
        ("sqlite:///", None),
        ("sqlite:///?mode=ro", None),
        ("sqlite://", None),
    ],
)
def test_sqlite_urls_run_on_aiosqlite_and_need_a_file(url: str, expected: str | None) -> None:
    # sqlite:///path is checked without SQLAlchemy (so `feeds list` starts without it); the
    # verdicts are the ones SQLAlchemy's make_url gave before.
    if expected is None:
        with pytest.raises(ConfigError, match=r"SHIFTBRIEF_DATABASE_URL.*needs a file"):
            load_settings(database_url=url)
    else:
        assert load_settings(database_url=url).database_url == expected
