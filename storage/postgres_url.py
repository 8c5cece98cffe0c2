"""A PostgreSQL URL as operators paste it, with libpq's parameters, for asyncpg and psycopg.

Hosting providers and ``psql`` users write libpq URLs: ``?sslmode=require&connect_timeout=5``,
``application_name``, ``sslrootcert=/etc/ca.pem``, ``options=-c search_path=app``, or a server
setting such as ``search_path`` directly. SQLAlchemy hands every query parameter to
``asyncpg.connect`` as a keyword, and asyncpg takes none of libpq's names there (a ``TypeError``).
Here each parameter gets its meaning: the ones asyncpg reads from a connection string (the SSL
files and modes, ``target_session_attrs``, ``passfile``, ``service`` ...) stay in the string it
is given, ``connect_timeout`` becomes asyncpg's ``timeout``, startup parameters the server reads
(``application_name``, ``options``, and any other name: a server setting) are passed as server
settings, and libpq client options asyncpg does not implement are refused by name, before
anything connects. APScheduler's job store connects through psycopg, which is libpq itself: it
gets libpq's own parameters as they are and the server settings through ``options``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.engine import URL

DSN_PARAMETERS = frozenset(
    {
        "host",
        "port",
        "dbname",
        "user",
        "password",
        "passfile",
        "service",
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslcrl",
        "sslpassword",
        "sslnegotiation",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
    }
)
"""libpq parameters asyncpg reads from a connection string itself."""

STARTUP_PARAMETERS = frozenset({"application_name", "options"})
"""libpq parameters that are startup parameters the server reads (asyncpg: server settings)."""

UNSUPPORTED = {
    "client_encoding": "asyncpg always talks UTF-8",
    "hostaddr": "give the address as the host",
    "fallback_application_name": "use application_name",
    "require_auth": "asyncpg does not implement it",
    "channel_binding": "asyncpg does not implement it",
    "gssencmode": "asyncpg does not implement it",
    "gssdelegation": "asyncpg does not implement it",
    "keepalives": "asyncpg does not implement it",
    "keepalives_idle": "asyncpg does not implement it",
    "keepalives_interval": "asyncpg does not implement it",
    "keepalives_count": "asyncpg does not implement it",
    "tcp_user_timeout": "asyncpg does not implement it",
    "replication": "ShiftBrief needs an ordinary connection",
    "requiressl": "use sslmode=require",
    "sslcompression": "asyncpg does not implement it",
    "sslsni": "asyncpg does not implement it",
    "sslcertmode": "asyncpg does not implement it",
    "sslcrldir": "use sslcrl",
    "sslkeylogfile": "asyncpg does not implement it",
    "requirepeer": "asyncpg does not implement it",
    "load_balance_hosts": "asyncpg does not implement it",
}
"""libpq client options asyncpg cannot honour, and what to do instead."""

TIMEOUT = "connect_timeout"


@dataclass(frozen=True)
class PostgresConnect:
    """How asyncpg connects: ``asyncpg.connect(dsn, timeout=..., server_settings=...)``."""

    dsn: str
    timeout: float | None = None
    server_settings: dict[str, str] = field(default_factory=dict)


def _single(value: str | tuple[str, ...]) -> str:
    return value[-1] if isinstance(value, tuple) else value


def _query(url: URL) -> dict[str, str]:
    return {name: _single(value) for name, value in url.query.items()}


def check_parameters(query: Mapping[str, str]) -> None:
    """Refuse what no PostgreSQL driver of ours can honour.

    Raises:
        ValueError: a libpq option asyncpg does not implement, or a malformed
            ``connect_timeout``; the message names the parameter.
    """
    for name in query:
        if name in UNSUPPORTED:
            raise ValueError(f"the libpq parameter {name!r} is not supported ({UNSUPPORTED[name]})")
    if TIMEOUT in query:
        try:
            seconds = float(query[TIMEOUT])
        except ValueError:
            raise ValueError(f"{TIMEOUT}={query[TIMEOUT]!r} is not a number of seconds") from None
        if not seconds < float("inf"):
            raise ValueError(f"{TIMEOUT}={query[TIMEOUT]!r} is not a number of seconds")


def asyncpg_connect(url: URL) -> PostgresConnect:
    """What ``asyncpg.connect`` needs for ``url`` (any driver name; libpq's parameters).

    Raises:
        ValueError: see ``check_parameters``.
    """
    query = _query(url)
    check_parameters(query)
    timeout = None
    if TIMEOUT in query:
        # libpq: zero or less sets no limit; asyncpg then keeps its default of 60 s.
        seconds = float(query[TIMEOUT])
        timeout = seconds if seconds > 0 else None
    kept = {k: v for k, v in query.items() if k in DSN_PARAMETERS}
    settings = {k: v for k, v in query.items() if k not in DSN_PARAMETERS and k != TIMEOUT}
    plain = url.set(drivername="postgresql", query=kept)
    return PostgresConnect(
        dsn=plain.render_as_string(hide_password=False),
        timeout=timeout,
        server_settings=settings,
    )


def libpq_url(url: URL) -> URL:
    """``url`` for a libpq client (psycopg): its own parameters as they are, the server
    settings it does not know as ``-c name=value`` in ``options``.

    Raises:
        ValueError: see ``check_parameters``.
    """
    query = _query(url)
    check_parameters(query)
    known = DSN_PARAMETERS | STARTUP_PARAMETERS | {TIMEOUT}
    kept = {k: v for k, v in query.items() if k in known}
    extra = [f"-c {k}={_escaped(v)}" for k, v in query.items() if k not in known]
    if extra:
        kept["options"] = " ".join([*filter(None, [kept.get("options", "")]), *extra])
    return url.set(query=kept)


def _escaped(value: str) -> str:
    """A value inside libpq's ``options``, where spaces separate arguments."""
    return value.replace("\\", "\\\\").replace(" ", "\\ ")
