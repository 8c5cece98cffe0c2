"""Settings read without pydantic are the settings ``bot.config`` reads, or none at all.

``bot.config_plain`` only recognises configurations that are plainly valid, from an index of
``Settings``' fields; anything else is left to ``bot.config``, which words the error. Each case
below reads one environment (and TOML file) both ways.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import ConfigError, Settings, load_settings
from bot.config_plain import FIELDS_FILE, field_index, plain_settings, plain_values


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.lower().startswith(("shiftbrief_", "slack_", "discord_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _pydantic_values(settings: Settings) -> dict[str, Any]:
    return {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in ((name, getattr(settings, name)) for name in Settings.model_fields)
    }


def test_the_field_index_is_the_settings_fields() -> None:
    """After a setting is added or changed: ``python -m bot.config_plain`` rewrites it."""
    stored = json.loads((Path(__file__).parents[1] / "bot" / "data" / FIELDS_FILE).read_text())
    assert stored == json.loads(json.dumps(field_index()))


VALID: dict[str, dict[str, str]] = {
    "defaults": {},
    "ingest as the benchmarks run it": {
        "SHIFTBRIEF_DATABASE_URL": "sqlite:///srv/shiftbrief.db",
        "SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS": '["127.0.0.1/32", "10.1.0.0/16"]',
        "SHIFTBRIEF_PER_HOST_CONCURRENCY": "16",
        "SHIFTBRIEF_LOG_LEVEL": "WARNING",
    },
    "every kind of value, names in any case": {
        "shiftbrief_allow_private_addresses": "true",
        "SHIFTBRIEF_FETCH_TIMEOUT": "7.5",
        "SHIFTBRIEF_MIN_CHECK_INTERVAL": "600",
        "SHIFTBRIEF_PARSE_PROCESSES": "0",
        "SHIFTBRIEF_USER_AGENT": "",
        "SHIFTBRIEF_ADMIN_USER_IDS": '["U1", "U2"]',
        "SHIFTBRIEF_DISCORD_SHARD_IDS": "[0, 1]",
        "SHIFTBRIEF_DISCORD_SHARD_COUNT": "2",
        "SHIFTBRIEF_EDITOR": "llm",
        "SHIFTBRIEF_LLM_BASE_URL": "http://127.0.0.1:11434/v1",
        "SHIFTBRIEF_LLM_MODEL": "qwen2.5:7b-instruct",
        "SHIFTBRIEF_LLM_API_KEY": "sk-secret",
    },
    "Slack by its own variable names": {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SHIFTBRIEF_SLACK_APP_TOKEN": "xapp-1",
        "SLACK_APP_TOKEN": "xapp-2",
        "DISCORD_TOKEN": "d-1",
    },
}


@pytest.mark.parametrize("environ", VALID.values(), ids=VALID.keys())
def test_plainly_valid_settings_are_the_ones_pydantic_reads(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert plain_values() == _pydantic_values(load_settings())


def test_a_toml_file_is_read_alike_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "shiftbrief.toml").write_text(
        'fetch_timeout = 12\nper_host_concurrency = 4\nallowed_private_networks = ["10.0.0.0/8"]\n'
        'SLACK_BOT_TOKEN = "xoxb-file"\nslack_app_token = "xapp-file"\nlog_level = "ERROR"\n'
        "unknown_key = 3\n"
    )
    monkeypatch.setenv("SHIFTBRIEF_PER_HOST_CONCURRENCY", "8")
    plain = plain_values()
    assert plain == _pydantic_values(load_settings())
    assert (
        plain is not None and plain["fetch_timeout"] == 12.0 and plain["per_host_concurrency"] == 8
    )
    settings = plain_settings()
    assert settings is not None and settings.allowed_private_networks == ("10.0.0.0/8",)


INVALID = {
    "out of bounds": {"SHIFTBRIEF_INGEST_CONCURRENCY": "0"},
    "not a number": {"SHIFTBRIEF_FETCH_TIMEOUT": "soon"},
    "not a switch": {"SHIFTBRIEF_ALLOW_PRIVATE_ADDRESSES": "perhaps"},
    "not a choice": {"SHIFTBRIEF_SLACK_MODE": "pigeon"},
    "not a network": {"SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS": '["not-a-network"]'},
    "not JSON": {"SHIFTBRIEF_ADMIN_USER_IDS": "U1,U2"},
    "not a database": {"SHIFTBRIEF_DATABASE_URL": "mysql://x"},
    "a SQLite URL without a file": {"SHIFTBRIEF_DATABASE_URL": "sqlite:///"},
    "a rule across fields": {"SLACK_BOT_TOKEN": "xoxb-1"},
    "a model without its server": {"SHIFTBRIEF_EMBED_MODEL": "e5"},
    "a shard beyond the count": {
        "SHIFTBRIEF_DISCORD_SHARD_IDS": "[0, 3]",
        "SHIFTBRIEF_DISCORD_SHARD_COUNT": "2",
    },
}


@pytest.mark.parametrize("environ", INVALID.values(), ids=INVALID.keys())
def test_an_invalid_setting_is_left_to_pydantic_to_word(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert plain_values() is None
    with pytest.raises(ConfigError):
        load_settings()


def test_a_toml_file_that_does_not_parse_is_left_to_pydantic(tmp_path: Path) -> None:
    (tmp_path / "shiftbrief.toml").write_text("fetch_timeout = \n")
    assert plain_values() is None
    with pytest.raises(ConfigError, match="invalid configuration file"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SHIFTBRIEF_FETCH_TIMEOUT", "2e1"),
        ("SHIFTBRIEF_INGEST_CONCURRENCY", "016"),
        ("SHIFTBRIEF_ALLOW_PRIVATE_ADDRESSES", "yes"),
        ("SHIFTBRIEF_DATABASE_URL", "postgresql://u@db.example/shiftbrief"),
    ],
)
def test_a_valid_value_in_another_spelling_is_left_to_pydantic(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    assert plain_values() is None
    load_settings()  # valid all the same
