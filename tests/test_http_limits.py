"""The HTTP port under a bounded loopback flood (issue 19, item 3): slow headers and bodies are
cut, connections are bounded, and ``/healthz`` keeps answering.

Before, 1,100 connections that sent a request line and one header took ``/healthz`` down at an
open-file limit of 1024 ("socket.accept() out of system resource"), slow-header connections
stayed open for an hour, and a request announcing 1 MB and sending 10 bytes got no answer. The
server runs in its own process with an open-file limit of 256, so 400 connections reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOFILE = 256
TIMEOUT = 2.0
MAX_CONNECTIONS = 64


@pytest.fixture
def port() -> Iterator[int]:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.http_worker",
            str(NOFILE),
            str(TIMEOUT),
            str(MAX_CONNECTIONS),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield int(server.stdout.readline())
    finally:
        server.kill()
        server.wait(timeout=30)


@contextlib.asynccontextmanager
async def half_sent(port: int, count: int) -> AsyncIterator[list[asyncio.StreamReader]]:
    """``count`` connections that send a request line and one header, and never finish."""
    writers: list[asyncio.StreamWriter] = []
    readers: list[asyncio.StreamReader] = []
    try:
        for _ in range(count):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: flood\r\n")
            readers.append(reader)
            writers.append(writer)
        await asyncio.gather(*(w.drain() for w in writers), return_exceptions=True)
        yield readers
    finally:
        for writer in writers:
            writer.close()


async def healthz(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
        await writer.drain()
        return await reader.read()
    finally:
        writer.close()


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        async with asyncio.timeout(within):
            while await reader.read(1024):
                pass
        return True
    except (TimeoutError, ConnectionError):
        return False


async def test_healthz_answers_while_400_half_sent_requests_hold_connections(port: int) -> None:
    async with half_sent(port, 400):
        for _ in range(5):
            async with asyncio.timeout(20):
                answer = await healthz(port)
            assert answer.startswith(b"HTTP/1.1 200") and b'"ok"' in answer


async def test_slow_headers_and_idle_connections_are_closed(port: int) -> None:
    async with half_sent(port, 30) as readers:
        closed = await asyncio.gather(*(closed_by_server(r, TIMEOUT + 10) for r in readers))
    assert all(closed)
    # A kept-alive connection that goes quiet after its request is closed as well.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: idle\r\n\r\n")
    await writer.drain()
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    assert await closed_by_server(reader, TIMEOUT + 10)
    writer.close()


async def test_a_body_announced_and_not_sent_gets_408(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /healthz HTTP/1.1\r\nHost: slow\r\nContent-Length: 1000000\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n0123456789"
    )
    await writer.drain()
    async with asyncio.timeout(TIMEOUT + 10):
        answer = await reader.readuntil(b"\r\n")
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
