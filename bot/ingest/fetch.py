"""Fetch feed documents over HTTP, politely and safely.

One :class:`FeedFetcher` owns one aiohttp session for a whole ingest pass, so connections are
pooled and the per-host limit holds across feeds. It never raises for an HTTP or network
problem: every outcome is a :class:`FetchResult` whose ``error`` says what went wrong in words an
admin understands ("timed out after 20 s", "HTTP 500").
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Protocol, Self

import aiohttp
from yarl import URL

from bot.ingest.netguard import (
    ALLOWED_SCHEMES,
    AddressPolicy,
    AddressSettings,
    GuardedResolver,
    UnsafeURLError,
)

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch of a feed URL produced.

    Attributes:
        url: the URL asked for.
        final_url: where the body came from after redirects.
        status: the last HTTP status, or None when no response arrived.
        body: the decompressed body (empty unless the fetch succeeded).
        headers: the last response's headers, names in lower case.
        etag: the validator to send as If-None-Match next time.
        last_modified: the validator to send as If-Modified-Since next time.
        retry_after: seconds the server asked us to wait (429/503), when it said.
        max_age: Cache-Control max-age in seconds, when given.
        permanent_url: the new address when every redirect hop was permanent (301/308).
        error: why the fetch failed, for people; None on success and on 304.
    """

    url: str
    final_url: str
    status: int | None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    max_age: int | None = None
    permanent_url: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """A body arrived and can be parsed."""
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def not_modified(self) -> bool:
        """The server answered 304 to our conditional request."""
        return self.error is None and self.status == 304


def format_size(n_bytes: int) -> str:
    """``10485760`` -> ``"10 MB"``; small sizes in KB or bytes."""
    if n_bytes >= 1024 * 1024:
        return f"{n_bytes / (1024 * 1024):.3g} MB"
    if n_bytes >= 1024:
        return f"{n_bytes / 1024:.3g} KB"
    return f"{n_bytes} bytes"


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delay seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(value: str | None) -> int | None:
    """The max-age of a Cache-Control header, in seconds, or None."""
    if not value:
        return None
    if "no-store" in value.lower() or "no-cache" in value.lower():
        return 0
    match = _MAX_AGE.search(value)
    return int(match.group(1)) if match else None


class FetchSettings(AddressSettings, Protocol):
    """The settings a fetcher reads (``bot.config.Settings`` has them)."""

    @property
    def fetch_timeout(self) -> float: ...
    @property
    def max_feed_bytes(self) -> int: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def ingest_concurrency(self) -> int: ...
    @property
    def per_host_concurrency(self) -> int: ...


class _Failed(Exception):
    """Internal: ends a fetch with a message for people."""


class FeedFetcher:
    """Fetches feeds through one pooled, SSRF-guarded aiohttp session.

    Use as ``async with FeedFetcher.from_settings(settings) as fetcher:``.
    """

    def __init__(
        self,
        *,
        policy: AddressPolicy,
        timeout: float = 20.0,
        max_bytes: int = 10 * 1024 * 1024,
        user_agent: str = "ShiftBrief",
        limit: int = 16,
        limit_per_host: int = 2,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._policy = policy
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._user_agent = user_agent
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._clock = clock if clock is not None else _utc_now
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(
        cls, settings: FetchSettings, *, clock: Callable[[], datetime] | None = None
    ) -> FeedFetcher:
        """A fetcher configured from the validated settings."""
        return cls(
            policy=AddressPolicy.from_settings(settings),
            timeout=settings.fetch_timeout,
            max_bytes=settings.max_feed_bytes,
            user_agent=settings.user_agent,
            limit=settings.ingest_concurrency,
            limit_per_host=settings.per_host_concurrency,
            clock=clock,
        )

    async def __aenter__(self) -> Self:
        connector = aiohttp.TCPConnector(
            limit=self._limit,
            limit_per_host=self._limit_per_host,
            resolver=GuardedResolver(policy=self._policy),
            ttl_dns_cache=60,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # A backstop; the whole fetch, redirects and body included, is bounded below.
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            headers={"User-Agent": self._user_agent, "Accept": ACCEPT},
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch ``url``, conditionally when validators from last time are given.

        Never raises for HTTP or network problems; see :class:`FetchResult`.
        """
        if self._session is None:
            raise RuntimeError("FeedFetcher used outside 'async with'")
        state = _Hops(url=url)
        try:
            async with asyncio.timeout(self._timeout):
                return await self._fetch(self._session, state, etag, last_modified)
        except TimeoutError:
            message = f"timed out after {self._timeout:g} s"
        except _Failed as exc:
            message = str(exc)
        except UnsafeURLError as exc:
            message = str(exc)
        except aiohttp.ClientConnectorDNSError as exc:
            message = f"could not resolve host {exc.host}"
        except aiohttp.ClientConnectorCertificateError as exc:
            message = f"TLS certificate problem with {exc.host}: {exc.certificate_error}"
        except aiohttp.ClientSSLError as exc:
            message = f"TLS error with {exc.host}"
        except aiohttp.ClientConnectorError as exc:
            message = f"could not connect to {exc.host}:{exc.port} ({exc.os_error.strerror})"
        except aiohttp.ClientPayloadError:
            message = "the body could not be read (broken transfer or compression)"
        except aiohttp.ServerDisconnectedError:
            message = "the server closed the connection"
        except aiohttp.ClientError as exc:
            message = f"network error: {exc.__class__.__name__} {exc}".strip()
        except ValueError as exc:  # yarl: a Location header that is not a URL
            message = f"invalid URL: {exc}"
        log.info("fetch %s failed: %s", url, message)
        return FetchResult(
            url=url,
            final_url=str(state.current),
            status=state.status,
            headers=state.headers,
            retry_after=state.retry_after,
            error=message,
        )

    async def _fetch(
        self,
        session: aiohttp.ClientSession,
        state: _Hops,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        target = URL(state.url)
        for _hop in range(MAX_REDIRECTS + 1):
            state.current = target
            if target.scheme.lower() not in ALLOWED_SCHEMES:
                raise _Failed(f"refused: redirect to a {target.scheme or 'relative'} URL")
            self._policy.check_url_host(target)
            async with session.get(target, headers=headers, allow_redirects=False) as resp:
                state.status = resp.status
                state.headers = {k.lower(): v for k, v in resp.headers.items()}
                if resp.status in REDIRECT_STATUSES and "Location" in resp.headers:
                    state.permanent = state.permanent and resp.status in PERMANENT_REDIRECTS
                    target = target.join(URL(resp.headers["Location"])).with_fragment(None)
                    continue
                return await self._finish(resp, state)
        raise _Failed(f"more than {MAX_REDIRECTS} redirects")

    async def _finish(self, resp: aiohttp.ClientResponse, state: _Hops) -> FetchResult:
        hdrs = state.headers
        common = {
            "url": state.url,
            "final_url": str(state.current),
            "status": resp.status,
            "headers": hdrs,
            "etag": hdrs.get("etag"),
            "last_modified": hdrs.get("last-modified"),
            "max_age": parse_max_age(hdrs.get("cache-control")),
            "permanent_url": (
                str(state.current) if state.permanent and str(state.current) != state.url else None
            ),
        }
        if resp.status == 304:
            return FetchResult(**common)  # type: ignore[arg-type]
        if resp.status in (429, 503):
            state.retry_after = parse_retry_after(hdrs.get("retry-after"), now=self._clock())
        if resp.status >= 300:
            reason = f" {resp.reason}" if resp.reason else ""
            raise _Failed(f"HTTP {resp.status}{reason}")
        declared = resp.content_length
        if declared is not None and declared > self._max_bytes:
            raise _Failed(f"body larger than {format_size(self._max_bytes)}")
        chunks: list[bytes] = []
        size = 0
        # Counted after decompression, so a small gzip bomb cannot fill memory.
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > self._max_bytes:
                raise _Failed(f"body larger than {format_size(self._max_bytes)}")
            chunks.append(chunk)
        return FetchResult(body=b"".join(chunks), **common)  # type: ignore[arg-type]


@dataclass(slots=True)
class _Hops:
    """Where a fetch has got to, so a failure can still report the last status and headers."""

    url: str
    current: URL | str = ""
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float | None = None
    permanent: bool = True

    def __post_init__(self) -> None:
        self.current = self.url


def _utc_now() -> datetime:
    return datetime.now(UTC)
