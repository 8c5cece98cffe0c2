"""Configuration, validated once at start (pydantic-settings).

Every option is an environment variable prefixed ``SHIFTBRIEF_``; an optional TOML file named by
``SHIFTBRIEF_CONFIG_FILE`` (default ``shiftbrief.toml`` in the working directory, if present)
supplies the same keys in lower case. Environment variables win over the file.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# The rules are plain functions, shared with the start that reads plainly valid settings
# without pydantic (bot.config_plain, whose index of the fields below a test keeps true).
from bot.config_plain import (
    ASYNC_DRIVERS,
    DATABASE_URL_FORMS,
    ENV_PREFIX,
    ConfigError,
    async_database_url,
    default_database_url,
    settings_problem,
    valid_networks,
)

__all__ = [
    "ASYNC_DRIVERS",
    "DATABASE_URL_FORMS",
    "ENV_PREFIX",
    "ConfigError",
    "Settings",
    "async_database_url",
    "default_database_url",
    "load_settings",
]


class Settings(BaseSettings):
    """All of ShiftBrief's options. Field ``x`` is read from ``SHIFTBRIEF_X``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        case_sensitive=False,
        frozen=True,
        populate_by_name=True,
    )

    database_url: str = Field(default_factory=default_database_url)
    """``sqlite:///path`` or ``postgresql://user:password@host/db`` (``postgres://`` too), run
    on the async drivers (``async_database_url``)."""
    allow_private_addresses: bool = False
    """Let feeds live on loopback, private and link-local addresses (off: SSRF protection)."""
    allowed_private_networks: tuple[str, ...] = ()
    """CIDR blocks that stay reachable while private addresses are refused (an intranet feed)."""
    fetch_timeout: float = Field(default=20.0, gt=0, le=300)
    """Seconds for a whole feed fetch, connect to last byte."""
    max_feed_bytes: int = Field(default=10 * 1024 * 1024, gt=1024)
    """Largest feed body accepted, after decompression."""
    max_items_per_feed: int = Field(default=5000, ge=10, le=1_000_000)
    """Entries stored from one feed document: the newest ones are kept, and feed health notes
    how many were left out (an archive dump of 100,000 entries is no news feed)."""
    per_host_concurrency: int = Field(default=2, ge=1, le=32)
    """Feeds fetched at once from one host."""
    ingest_concurrency: int = Field(default=16, ge=1, le=256)
    """Feeds fetched at once in total."""
    parse_processes: int | None = Field(default=None, ge=0, le=32)
    """Worker processes that parse feeds in a pass with more than a handful of changed feeds
    (feedparser is pure Python, so a thread adds no CPU); unset: one per core when there is
    more than one; 0 parses in one thread."""
    min_check_interval: int = Field(default=15 * 60, ge=60)
    """Seconds: a feed is never checked more often than this."""
    max_check_interval: int = Field(default=24 * 3600, ge=300)
    """Seconds: a feed is checked at least this often (also the cap of error back-off)."""
    user_agent: str = "ShiftBrief/0.1 (+https://github.com/shiftbrief/shiftbrief)"
    """User-Agent sent with every feed request."""
    max_feeds_per_tenant: int = Field(default=200, ge=0)
    """Feeds one workspace's or server's admins may follow (0: no limit); the operator's
    shared catalog is not limited."""

    # --- Running: HTTP port, admins, schedules -----------------------------------------------
    http_host: str = "0.0.0.0"  # noqa: S104 - a server in a container listens on every interface
    """Interface of the HTTP server (Slack HTTP mode, health and metrics)."""
    http_port: int = Field(default=8080, ge=0, le=65535)
    """Port of the HTTP server (0: any free port)."""
    http_request_timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds a client has to send a request's headers, and again its body; an idle
    connection is closed after as long."""
    http_max_connections: int = Field(default=256, ge=8, le=65535)
    """Connections the HTTP server keeps open at once; past it, the longest idle one closes."""
    admin_user_ids: tuple[str, ...] = ()
    """Platform user ids (JSON list) that hold admin rights besides workspace admins/owners."""
    digest_grace_seconds: int = Field(default=6 * 3600, ge=0)
    """Seconds: a digest missed while the bot was down is sent late within this, else skipped."""
    ingest_interval_seconds: int = Field(default=300, ge=10)
    """How often `shiftbrief run` looks for feeds that are due."""
    scheduler_takeover_seconds: float = Field(default=15.0, gt=0, le=60)
    """With several processes on PostgreSQL: how often a standby tries to take over the
    scheduler (and the leader re-reads schedules changed elsewhere)."""
    delivery_lease_seconds: float = Field(default=120.0, ge=5)
    """A digest claimed by a process that stopped answering is taken over after this long."""
    log_format: Literal["auto", "json", "text"] = "auto"
    """Log lines as JSON (for collectors) or text; auto: text on a terminal, JSON otherwise."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level logged."""

    # --- Data care ---------------------------------------------------------------------------
    retention_items_days: int = Field(default=180, ge=0)
    """Items older than this many days are deleted (0 keeps them forever)."""
    retention_deliveries_days: int = Field(default=90, ge=0)
    """Delivery ledger rows older than this many days are deleted (0 keeps them forever)."""

    # --- Editor: summaries by a language model (optional) -----------------------------------
    editor: Literal["auto", "extractive", "llm"] = "auto"
    """Who writes briefings: "extractive" (no model), "llm" (needs ``llm_base_url`` and
    ``llm_model``), or "auto": the model when ``llm_base_url`` is set, else extractive."""
    llm_base_url: str | None = None
    """An OpenAI-compatible endpoint: Ollama (http://localhost:11434/v1), vLLM, llama.cpp's
    server, LM Studio, OpenAI or Azure OpenAI. Unset: no model, extractive text."""
    llm_model: str | None = None
    """The model name the endpoint knows (e.g. "qwen2.5:7b-instruct")."""
    llm_api_key: SecretStr | None = None
    """Sent as a bearer token when set (local servers usually need none)."""
    llm_max_calls_per_edition: int = Field(default=200, ge=0)
    """Model calls one edition may make; stories beyond get extractive text."""
    llm_timeout: float = Field(default=30.0, gt=0, le=600)
    """Seconds for one model call, connect to last byte."""
    llm_concurrency: int = Field(default=4, ge=1, le=64)
    """Model calls in flight at once."""
    llm_budget_seconds: float = Field(default=120.0, gt=0, le=3600)
    """Seconds the editor may spend on one edition, retries included; what is not written by
    then is extractive. Scheduled editions start being written this long (plus a minute) before
    they are due, and a digest waits for the writing a few seconds at most."""
    llm_retries: int = Field(default=2, ge=0, le=10)
    """Retries of a call answered 429 or 5xx (after Retry-After, or with backoff)."""

    # --- Embeddings (story clustering, sector checks) ---------------------------------------
    embed_base_url: str | None = None
    """An OpenAI-compatible ``/v1/embeddings`` server serving multilingual-e5-small (Text
    Embeddings Inference, vLLM, Infinity, Ollama). Unset: the packaged model, in process."""
    embed_model: str | None = Field(default=None, max_length=200)
    """The model name that server knows (e.g. "intfloat/multilingual-e5-small"); stored with
    every vector, so a change of model embeds items again instead of mixing vectors."""
    embed_api_key: SecretStr | None = None
    """Sent as a bearer token when set."""
    embed_batch: int = Field(default=64, ge=1, le=2048)
    """Texts per request to the embedding server (and per stored batch)."""
    embed_timeout: float = Field(default=60.0, gt=0, le=600)
    """Seconds for one request to the embedding server."""

    # --- Slack (names as Slack's own tools use them) ----------------------------------------
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "SHIFTBRIEF_SLACK_BOT_TOKEN")
    )
    """xoxb- token of a single-workspace install."""
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "SHIFTBRIEF_SLACK_APP_TOKEN")
    )
    """xapp- token for Socket Mode."""
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "SHIFTBRIEF_SLACK_SIGNING_SECRET"),
    )
    """Verifies requests in HTTP mode."""
    slack_client_id: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_CLIENT_ID", "SHIFTBRIEF_SLACK_CLIENT_ID")
    )
    """OAuth client id, for multi-workspace installs in HTTP mode."""
    slack_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "SHIFTBRIEF_SLACK_CLIENT_SECRET"),
    )
    """OAuth client secret, for multi-workspace installs in HTTP mode."""
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL", "SHIFTBRIEF_SLACK_API_URL"),
    )
    """Slack Web API base URL (tests, GovSlack)."""
    slack_mode: Literal["socket", "http"] = "socket"
    """Socket Mode (default) or HTTP mode (events and commands at /slack/events)."""
    slack_messages_per_second: float = Field(default=1.0, gt=0)
    """Pacing of posts to one Slack channel."""

    # --- Discord -----------------------------------------------------------------------------
    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "SHIFTBRIEF_DISCORD_TOKEN")
    )
    """Bot token; Discord starts when it is set."""
    discord_admin_role: str | None = None
    """A role name whose members may use admin commands besides those with Manage Server."""
    discord_api_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_API_URL", "SHIFTBRIEF_DISCORD_API_URL")
    )
    """Discord REST base URL, for tests against a local server (default: Discord's)."""
    discord_requests_per_second: int = Field(default=50, ge=1)
    """Global pacing of Discord requests per bot."""
    discord_channel_messages: int = Field(default=5, ge=1)
    """Messages allowed per channel in each window of ``discord_channel_window`` seconds."""
    discord_channel_window: float = Field(default=5.0, gt=0)
    """Seconds of the per-channel window (see ``discord_channel_messages``)."""
    discord_shard_count: int | None = Field(default=None, ge=1)
    """Total shards across every process (unset: Discord's recommendation, one process)."""
    discord_shard_ids: tuple[int, ...] | None = None
    """The shards this process runs (JSON list, e.g. [0, 1]); needs ``discord_shard_count``."""

    @field_validator("database_url")
    @classmethod
    def _async_database_url(cls, value: str) -> str:
        return async_database_url(value)

    @model_validator(mode="after")
    def _rules_across_fields(self) -> Settings:
        problem = settings_problem({name: getattr(self, name) for name in type(self).model_fields})
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def uses_llm(self) -> bool:
        """Whether briefings are written by the configured model."""
        return self.editor != "extractive" and bool(self.llm_base_url and self.llm_model)

    @field_validator("allowed_private_networks")
    @classmethod
    def _valid_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return valid_networks(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get(ENV_PREFIX + "CONFIG_FILE", "shiftbrief.toml")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the configuration once.

    Raises:
        ConfigError: a value is invalid; the message names the environment variable.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if not err["loc"]:  # a rule across fields names its variables in the message
                problems.append(str(err["msg"]).removeprefix("Value error, "))
                continue
            field = str(err["loc"][0])
            # Fields read from Slack's/Discord's own variable names report that name (upper case).
            name = field if field.isupper() else ENV_PREFIX + field.upper()
            problems.append(f"{name}: {str(err['msg']).removeprefix('Value error, ')}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
    except ValueError as exc:  # a TOML file that does not parse
        raise ConfigError(f"invalid configuration file: {exc}") from None
