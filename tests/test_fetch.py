"""The fetcher against a real loopback server, and the address guard on its own."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from yarl import URL

from bot.config import Settings
from bot.ingest.fetch import FeedFetcher, parse_max_age, parse_retry_after
from bot.ingest.netguard import AddressPolicy, UnsafeURLError, validate_feed_url
from tests.feedserver import FeedServer

LOOPBACK_ONLY = AddressPolicy.build(allowed_networks=["127.0.0.1/32"])


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


def _fetcher(**kwargs: object) -> FeedFetcher:
    options: dict[str, object] = {"policy": LOOPBACK_ONLY, "timeout": 5.0, "user_agent": "SB-test"}
    options.update(kwargs)
    return FeedFetcher(**options)  # type: ignore[arg-type]


async def test_sends_user_agent_and_validators_and_reads_304(server: FeedServer) -> None:
    route = server.set("/f.xml", body=b"<rss/>", conditional=True)
    async with _fetcher() as fetcher:
        first = await fetcher.fetch(server.url("/f.xml"))
        second = await fetcher.fetch(
            server.url("/f.xml"), etag=first.etag, last_modified=first.last_modified
        )
    assert first.ok and first.body == b"<rss/>"
    assert first.etag == route.etag
    assert server.requests["/f.xml"][0]["User-Agent"] == "SB-test"
    assert "If-None-Match" not in server.requests["/f.xml"][0]
    assert server.last_headers("/f.xml")["If-None-Match"] == route.etag
    assert server.last_headers("/f.xml")["If-Modified-Since"] == route.last_modified
    assert second.not_modified and second.error is None and second.body == b""


async def test_gzip_body_is_decompressed(server: FeedServer) -> None:
    server.set(
        "/z.xml",
        body=gzip.compress(b"<rss>" + b"x" * 5000 + b"</rss>"),
        headers={"Content-Encoding": "gzip"},
    )
    async with _fetcher() as fetcher:
        result = await fetcher.fetch(server.url("/z.xml"))
    assert result.ok and result.body.startswith(b"<rss>") and len(result.body) == 5011


async def test_size_cap_counts_decompressed_bytes(server: FeedServer) -> None:
    # 2 MB of zeros compress to about 2 KB: the cap must apply after decompression.
    server.set(
        "/bomb.xml", body=gzip.compress(b"\0" * 2_000_000), headers={"Content-Encoding": "gzip"}
    )
    async with _fetcher(max_bytes=100_000) as fetcher:
        result = await fetcher.fetch(server.url("/bomb.xml"))
    assert not result.ok
    assert result.error == "body larger than 97.7 KB"


async def test_streamed_body_without_length_is_capped() -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(200):  # 12.5 MB
            await resp.write(b"y" * 65536)
        return resp

    app = web.Application()
    app.router.add_get("/big", chunked)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with _fetcher(max_bytes=10 * 1024 * 1024) as fetcher:
            result = await fetcher.fetch(f"http://127.0.0.1:{port}/big")
    finally:
        await runner.cleanup()
    assert result.error == "body larger than 10 MB"


async def test_http_errors_are_reported_not_raised(server: FeedServer) -> None:
    server.set("/gone.xml", status=410, body=b"gone")
    async with _fetcher() as fetcher:
        missing = await fetcher.fetch(server.url("/nothing-here"))
        gone = await fetcher.fetch(server.url("/gone.xml"))
    assert missing.error == "HTTP 404 Not Found" and missing.status == 404
    assert gone.error == "HTTP 410 Gone"


async def test_connection_refused_is_reported(server: FeedServer) -> None:
    port = server.port
    await server.stop()
    async with _fetcher() as fetcher:
        result = await fetcher.fetch(f"http://127.0.0.1:{port}/f.xml")
    assert result.error is not None and result.error.startswith("could not connect to 127.0.0.1")


async def test_redirects_are_followed_and_limited(server: FeedServer) -> None:
    server.set("/final.xml", body=b"<rss/>")
    server.set("/hop1", status=302, headers={"Location": "/final.xml"})
    for i in range(7):
        server.set(f"/loop{i}", status=307, headers={"Location": f"/loop{i + 1}"})
    async with _fetcher() as fetcher:
        ok = await fetcher.fetch(server.url("/hop1"))
        looped = await fetcher.fetch(server.url("/loop0"))
    assert ok.ok and ok.final_url == server.url("/final.xml")
    assert ok.permanent_url is None  # a 302 does not move the feed
    assert looped.error == "more than 5 redirects"


async def test_redirect_to_another_scheme_is_refused(server: FeedServer) -> None:
    server.set("/ftp", status=301, headers={"Location": "file:///etc/passwd"})
    async with _fetcher() as fetcher:
        result = await fetcher.fetch(server.url("/ftp"))
    assert result.error == "refused: redirect to a file URL"


async def test_retry_after_is_reported_on_429(server: FeedServer) -> None:
    server.set("/busy", status=429, headers={"Retry-After": "120"})
    async with _fetcher() as fetcher:
        result = await fetcher.fetch(server.url("/busy"))
    assert result.retry_after == 120.0
    assert result.error == "HTTP 429 Too Many Requests"


def test_retry_after_and_max_age_parsing() -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert parse_retry_after("3600", now=now) == 3600.0
    assert parse_retry_after("Mon, 02 Mar 2026 09:00:00 GMT", now=now) == 3600.0
    assert parse_retry_after("Mon, 02 Mar 2026 07:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_max_age("public, max-age=600") == 600
    assert parse_max_age("no-cache") == 0
    assert parse_max_age(None) is None


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.2", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("[::1]", "loopback"),
        ("[fe80::1]", "link-local"),
        ("[fc00::1]", "private"),
        ("[::ffff:10.0.0.1]", "private"),
        ("[64:ff9b::a9fe:a9fe]", "link-local"),  # NAT64 of 169.254.169.254
        ("[2002:a00:1::]", "private"),  # 6to4 of 10.0.0.1
        ("[2001:0:4136:e378:8000:63bf:f5ff:fffe]", "private"),  # Teredo of 10.0.0.1
    ],
)
def test_non_public_ip_literals_are_refused(host: str, kind: str) -> None:
    with pytest.raises(UnsafeURLError, match=f"is an? {kind.split()[0]}"):
        LOOPBACK_ONLY.check_url_host(URL(f"http://{host}/feed"))


def test_public_and_allow_listed_addresses_pass() -> None:
    LOOPBACK_ONLY.check_url_host(URL("http://93.184.216.34/feed"))
    LOOPBACK_ONLY.check_url_host(URL("http://127.0.0.1:8080/feed"))
    AddressPolicy.build(allow_private=True).check_url_host(URL("http://10.0.0.1/"))
    intranet = AddressPolicy.build(allowed_networks=["10.20.0.0/16"])
    intranet.check_url_host(URL("http://10.20.3.4/"))
    with pytest.raises(UnsafeURLError):
        intranet.check_url_host(URL("http://10.21.0.1/"))


async def test_name_resolving_to_loopback_is_refused_before_connecting(
    server: FeedServer,
) -> None:
    server.set("/f.xml", body=b"<rss/>")
    settings = Settings(allow_private_addresses=False)
    async with FeedFetcher.from_settings(settings) as fetcher:
        result = await fetcher.fetch(server.url("/f.xml", host="localhost"))
    assert result.error is not None
    assert result.error.startswith("refused: localhost resolves to a non-public address")
    assert server.count("/f.xml") == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/feed", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("https://user:pw@example.com/feed", "user name or password"),
        ("https:///feed", "no host"),
        ("", "empty"),
        ("https://exa mple.com/", "spaces"),
    ],
)
def test_validate_feed_url_rejects_bad_shapes(url: str, message: str) -> None:
    with pytest.raises(UnsafeURLError, match=message):
        validate_feed_url(url)


def test_validate_feed_url_keeps_good_urls() -> None:
    assert (
        validate_feed_url("  https://example.com/feed.xml#top ") == "https://example.com/feed.xml"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/feed",
        "http://LOCALHOST.:1/x",
        "http://feeds.localhost/rss",
        "http://0x7f000001/feed",
        "http://2130706433/feed",
        "http://127.1/feed",
        "http://0177.0.0.1/feed",
        "http://[::1]/feed",
    ],
)
def test_loopback_in_any_spelling_is_refused_when_a_feed_is_added(url: str) -> None:
    """Not only at fetch time: an admin learns at once, and no feed is left failing."""
    with pytest.raises(UnsafeURLError, match="refused"):
        validate_feed_url(url, AddressPolicy())
    # The operator's allowance for private networks covers these spellings too.
    assert validate_feed_url(url, AddressPolicy(allow_private=True))


def test_names_that_merely_look_numeric_are_left_to_the_resolver() -> None:
    assert validate_feed_url("https://1password.example/feed", AddressPolicy())
    assert validate_feed_url("https://123.example/feed", AddressPolicy())
