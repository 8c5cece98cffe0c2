"""The settings read without pydantic, when every value is plainly valid; else ``bot.config``.

``bot.config.Settings`` is the one definition of ShiftBrief's options. Loading pydantic-settings
to read it costs more than a whole ingest pass where nothing changed, so such a pass reads the
settings here: every field of ``Settings`` (its environment variables, its key in the TOML file,
its type, bounds and default, as indexed in ``data/settings_fields.json``, which is generated
from ``Settings`` and checked against it by ``tests/test_config_plain.py``), in its plain forms
only: digits for numbers, ``true``/``false`` for switches, JSON lists, one of the choices.

Whatever is not plainly valid (a value out of bounds, another spelling, a rule across fields
broken, a TOML file that does not parse) makes :func:`plain_settings` return None, and the
caller loads ``bot.config``, which decides and words the error as it always has: this module
never refuses a configuration, it only recognises the ones that are surely good.

Also here, for both: the rules that span several fields (:func:`settings_problem`) and the
database URL's (:func:`async_database_url`), which ``bot.config`` calls as validators.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

ENV_PREFIX = "SHIFTBRIEF_"
FIELDS_FILE = "settings_fields.json"
"""In ``bot/data``: each field of ``bot.config.Settings``, written by ``python -m
bot.config_plain``."""


class ConfigError(Exception):
    """A configuration value is invalid; the message names the variable."""


def default_database_url() -> str:
    """A SQLite file under the user's data directory."""
    import platformdirs

    data_dir = Path(platformdirs.user_data_dir("shiftbrief", appauthor=False))
    return f"sqlite+aiosqlite:///{data_dir / 'shiftbrief.db'}"


ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
"""Database URL schemes accepted (with any driver), and the async driver each one runs on."""
DATABASE_URL_FORMS = "sqlite:///path or postgresql://user:password@host/db"


def async_database_url(value: str) -> str:
    """``value`` as the async SQLAlchemy URL ShiftBrief connects with.

    Operators paste URLs from their hosting: ``postgres://`` (Heroku, Render), ``postgresql://``
    or ``sqlite:///path``, which SQLAlchemy's asyncio engine refuses ("requires an async
    driver"). Any driver given is replaced by asyncpg or aiosqlite; libpq's parameters
    (``sslmode``, ``connect_timeout``, ``application_name`` ...) keep their meaning
    (``storage.postgres_url``), and the ones asyncpg cannot honour are refused by name.

    Raises:
        ValueError: not the URL of a supported database, or a part of it is malformed; the
            message says which.
    """
    text, simple = _plain_database_url(value)
    if simple:
        return text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from storage.postgres_url import asyncpg_connect

    backend = text.partition("+")[0]
    try:
        url = make_url(text)
    except ArgumentError:
        raise ValueError(f"not a database URL; use {DATABASE_URL_FORMS}") from None
    except ValueError:  # the only part make_url converts is the port
        raise ValueError("the port after the host name is not a number") from None
    if url.port is not None and not 0 < url.port < 65536:
        raise ValueError(f"the port {url.port} is out of range (1 to 65535)")
    if backend == "sqlite" and not url.database:
        # sqlite:/// would be an in-memory database each command forgets at once.
        raise ValueError("a SQLite URL needs a file: sqlite:///path/to/shiftbrief.db")
    if backend != "sqlite":
        asyncpg_connect(url)  # refuses libpq parameters no driver of ours can honour
    return text


def _plain_database_url(value: str) -> tuple[str, bool]:
    """``value`` with its async driver, and whether it is a plain ``sqlite:///path``, which
    needs no SQLAlchemy to read.

    Raises:
        ValueError: not a supported scheme, or a SQLite URL without a file.
    """
    text = value.strip()
    scheme, separator, rest = text.partition("://")
    backend = scheme.partition("+")[0].lower()
    if not separator or backend not in ASYNC_DRIVERS:
        shown = f"{backend!r}" if separator else "no scheme"
        raise ValueError(f"not a supported database URL ({shown}); use {DATABASE_URL_FORMS}")
    text = f"{ASYNC_DRIVERS[backend]}://{rest}"
    if backend == "sqlite" and rest.startswith("/") and "@" not in rest:
        # sqlite:///path, the usual form: no host, user or port for SQLAlchemy to read, so a
        # command that never touches SQLAlchemy (`feeds list`) starts without importing it.
        if not rest[1:].partition("?")[0]:
            raise ValueError("a SQLite URL needs a file: sqlite:///path/to/shiftbrief.db")
        return text, True
    return text, False


def settings_problem(values: Mapping[str, Any]) -> str | None:
    """What breaks a rule across fields, in the words an operator reads; None when nothing.

    ``values`` maps field names to values (secrets as ``SecretStr`` or plain text alike).
    """
    if values["slack_bot_token"] or values["slack_client_id"]:
        mode = values["slack_mode"]
        if mode == "socket" and values["slack_app_token"] is None:
            return (
                "Slack in Socket Mode needs SLACK_APP_TOKEN (an xapp- token); or set "
                "SHIFTBRIEF_SLACK_MODE=http with SLACK_SIGNING_SECRET"
            )
        if mode == "http" and values["slack_signing_secret"] is None:
            return "Slack in HTTP mode needs SLACK_SIGNING_SECRET"
        if values["slack_client_id"] and values["slack_client_secret"] is None:
            return "SLACK_CLIENT_ID needs SLACK_CLIENT_SECRET (OAuth installs)"
    editor, base_url, model = values["editor"], values["llm_base_url"], values["llm_model"]
    if editor == "llm" and not (base_url and model):
        return "SHIFTBRIEF_EDITOR=llm needs SHIFTBRIEF_LLM_BASE_URL and SHIFTBRIEF_LLM_MODEL"
    if base_url and not model and editor != "extractive":
        return "SHIFTBRIEF_LLM_BASE_URL needs SHIFTBRIEF_LLM_MODEL"
    if bool(values["embed_base_url"]) != bool(values["embed_model"]):
        return (
            "SHIFTBRIEF_EMBED_BASE_URL and SHIFTBRIEF_EMBED_MODEL go together: the server "
            "and the model it serves"
        )
    shard_ids, shard_count = values["discord_shard_ids"], values["discord_shard_count"]
    if shard_ids is not None:
        if shard_count is None:
            return "SHIFTBRIEF_DISCORD_SHARD_IDS needs SHIFTBRIEF_DISCORD_SHARD_COUNT"
        if any(not 0 <= i < shard_count for i in shard_ids):
            return "every shard id must be below SHIFTBRIEF_DISCORD_SHARD_COUNT"
    return None


def valid_networks(value: tuple[str, ...]) -> tuple[str, ...]:
    """``value``, each entry a network (``10.0.0.0/8``, an address alone).

    Raises:
        ValueError: one is not.
    """
    import ipaddress  # here: most configurations name no network

    for net in value:
        ipaddress.ip_network(net, strict=False)
    return value


@dataclass(frozen=True, slots=True)
class PlainSettings:
    """The settings an ingest pass reads, from a configuration found plainly valid."""

    database_url: str
    allow_private_addresses: bool
    allowed_private_networks: tuple[str, ...]
    fetch_timeout: float
    max_feed_bytes: int
    user_agent: str
    ingest_concurrency: int
    per_host_concurrency: int
    min_check_interval: int
    max_check_interval: int


class _NotPlain(Exception):
    """A value this module does not vouch for: ``bot.config`` decides."""


def plain_settings(environ: Mapping[str, str] | None = None) -> PlainSettings | None:
    """The settings, when every value of the environment and the TOML file is plainly valid
    (the values ``bot.config.load_settings`` would give); None for ``bot.config`` to decide."""
    values = plain_values(environ)
    if values is None:
        return None
    return PlainSettings(**{name: values[name] for name in PlainSettings.__dataclass_fields__})


def plain_values(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Every field's value by name (secrets as plain text), when all are plainly valid; None
    for ``bot.config`` to decide."""
    try:
        values = _values(os.environ if environ is None else environ)
    except _NotPlain:
        return None
    return None if settings_problem(values) is not None else values


def _values(environ: Mapping[str, str]) -> dict[str, Any]:
    """Every field's value, as ``Settings`` would read it.

    Raises:
        _NotPlain: a value is not plainly valid, or the TOML file not plainly readable.
    """
    lowered = {key.lower(): value for key, value in environ.items()}  # case_sensitive=False
    toml = _toml(environ.get(ENV_PREFIX + "CONFIG_FILE", "shiftbrief.toml"))
    values: dict[str, Any] = {}
    for spec in _fields():
        name: str = spec["name"]
        env = next((lowered[n.lower()] for n in spec["env"] if n.lower() in lowered), None)
        keys = (
            [key for key in (*spec["env"], name) if key in toml]
            if spec["alias"]
            else ([name] if name in toml else [])
        )
        if len(keys) > 1:
            raise _NotPlain(name)
        if env is not None:
            value = _from_env(spec, env)
        elif keys:
            value = _from_toml(spec, toml[keys[0]])
        elif spec["default_factory"]:
            value = default_database_url()
        else:
            value = spec["default"]
            if isinstance(value, list):
                value = tuple(value)
        values[name] = _checked(spec, value)
    return values


def _toml(path: str) -> dict[str, Any]:
    file = Path(path)
    try:
        if not file.exists():
            return {}
        import tomllib  # here: most starts have no file

        with file.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, ValueError):
        raise _NotPlain(path) from None


_INT = re.compile(r"0|[1-9][0-9]{0,17}")
_FLOAT = re.compile(r"(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,15})?")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}


def _from_env(spec: Mapping[str, Any], text: str) -> Any:
    kind = spec["kind"]
    if kind in ("str", "secret"):
        return text
    if kind == "choice":
        if text not in spec["choices"]:
            raise _NotPlain(spec["name"])
        return text
    if kind == "bool":
        if text not in _BOOLS:
            raise _NotPlain(spec["name"])
        return _BOOLS[text]
    if kind == "int" and _INT.fullmatch(text):
        return int(text)
    if kind == "float" and _FLOAT.fullmatch(text):
        return float(text)
    if kind in ("strings", "ints"):  # pydantic-settings reads these as JSON
        try:
            decoded = json.loads(text)
        except ValueError:
            raise _NotPlain(spec["name"]) from None
        return _from_toml(spec, decoded)
    raise _NotPlain(spec["name"])


def _from_toml(spec: Mapping[str, Any], value: Any) -> Any:
    kind = spec["kind"]
    if value is None and spec["optional"]:
        return None
    plain = {
        "str": isinstance(value, str),
        "secret": isinstance(value, str),
        "choice": value in spec["choices"] if isinstance(value, str) else False,
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "strings": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "ints": isinstance(value, list)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value),
    }
    if not plain.get(kind, False):
        raise _NotPlain(spec["name"])
    if kind == "float":
        return float(value)
    if kind in ("strings", "ints"):
        return tuple(value)
    return value


def _checked(spec: Mapping[str, Any], value: Any) -> Any:
    """``value`` within the field's bounds and validators."""
    if value is None:
        if not spec["optional"]:
            raise _NotPlain(spec["name"])
        return None
    bounds = spec["bounds"]
    ok = (
        ("gt" not in bounds or value > bounds["gt"])
        and ("ge" not in bounds or value >= bounds["ge"])
        and ("lt" not in bounds or value < bounds["lt"])
        and ("le" not in bounds or value <= bounds["le"])
        and ("max_length" not in bounds or len(value) <= bounds["max_length"])
    )
    if not ok:
        raise _NotPlain(spec["name"])
    try:
        if spec["name"] == "database_url":
            text, simple = _plain_database_url(value)
            if not simple:  # read by SQLAlchemy: not for a plain start anyway
                raise _NotPlain(spec["name"])
            return text
        if spec["name"] == "allowed_private_networks":
            return valid_networks(value)
    except ValueError:
        raise _NotPlain(spec["name"]) from None
    return value


def _fields() -> list[dict[str, Any]]:
    text = resources.files("bot.data").joinpath(FIELDS_FILE).read_text("utf-8")
    fields: list[dict[str, Any]] = json.loads(text)
    return fields


def field_index() -> list[dict[str, Any]]:
    """Each field of ``bot.config.Settings`` as this module reads it (what ``FIELDS_FILE``
    holds): name, variables, whether they are its own names (an alias), kind, choices,
    whether None is allowed, default, and bounds. Loads pydantic."""
    import types
    import typing

    import annotated_types
    from pydantic import AliasChoices, SecretStr

    from bot.config import Settings

    kinds: dict[Any, str] = {
        str: "str",
        SecretStr: "secret",
        bool: "bool",
        int: "int",
        float: "float",
        tuple[str, ...]: "strings",
        tuple[int, ...]: "ints",
    }
    bound_names = {
        annotated_types.Gt: "gt",
        annotated_types.Ge: "ge",
        annotated_types.Lt: "lt",
        annotated_types.Le: "le",
        annotated_types.MaxLen: "max_length",
    }
    index: list[dict[str, Any]] = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        args = typing.get_args(annotation)
        optional = typing.get_origin(annotation) is types.UnionType and type(None) in args
        if optional:
            (annotation,) = (a for a in args if a is not type(None))
        choices: list[str] = []
        if typing.get_origin(annotation) is typing.Literal:
            kind, choices = "choice", list(typing.get_args(annotation))
        else:
            kind = kinds[annotation]
        alias = field.validation_alias
        if alias is not None and not isinstance(alias, AliasChoices):
            raise TypeError(f"{name}: an alias of another kind than AliasChoices")
        env = [str(c) for c in alias.choices] if alias is not None else [ENV_PREFIX + name.upper()]
        bounds: dict[str, Any] = {}
        for item in field.metadata:
            key = bound_names[type(item)]
            bounds[key] = getattr(item, key)
        factory = field.default_factory is not None
        if factory and getattr(field.default_factory, "__name__", "") != "default_database_url":
            raise TypeError(f"{name}: a default factory this module does not know")
        default = None if factory else field.default
        index.append(
            {
                "name": name,
                "env": env,
                "alias": alias is not None,
                "kind": kind,
                "choices": choices,
                "optional": optional,
                "default": list(default) if isinstance(default, tuple) else default,
                "default_factory": factory,
                "bounds": bounds,
            }
        )
    return index


def main() -> None:
    """Write ``FIELDS_FILE`` from ``bot.config.Settings`` (after a setting is added or
    changed; ``tests/test_config_plain.py`` fails until it is)."""
    target = Path(__file__).parent / "data" / FIELDS_FILE
    lines = ",\n".join(json.dumps(field, ensure_ascii=False) for field in field_index())
    target.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
