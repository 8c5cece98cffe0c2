"""The HTTP port of ``shiftbrief run`` (health, readiness, metrics) alone, in its own process,
for tests/test_http_limits.py: its open-file limit can be lowered without touching the tests'.

Usage: ``python -m tests.http_worker NOFILE TIMEOUT MAX_CONNECTIONS``; prints the port, then
serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import resource
import sys

from bot.metrics import Metrics
from shiftbrief.http import HttpServer


async def main() -> None:
    nofile, timeout, connections = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))

    async def ready() -> bool:
        return True

    server = HttpServer(
        host="127.0.0.1",
        port=0,
        metrics=Metrics(),
        checks={"test": ready},
        request_timeout=timeout,
        max_connections=connections,
    )
    await server.start()
    print(server.port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.close()


if __name__ == "__main__":
    asyncio.run(main())
