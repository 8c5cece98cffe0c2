"""Parser worker processes: feeds are parsed on every core, off the event loop.

feedparser is pure Python, so threads add no CPU; a pass with many changed feeds parses them in
worker processes instead. Each worker is a fresh interpreter running
``bot.ingest.parser_worker.serve``: it imports the parsers and loads the language model once,
then answers requests one at a time over its standard input and output (a length, then a
pickle). It never imports what started it (multiprocessing's spawn would run the ``shiftbrief``
script, the whole command line with it, in every worker), nor this module's asyncio. Requests
and answers are plain values: a document in, tuples of items out.

A worker that dies (killed, out of memory on a monstrous feed) fails only the call it was
serving, with :class:`WorkerDied`; the next call starts a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import struct
import sys
from collections.abc import Callable
from typing import Any, TypeVar, overload

__all__ = ["WorkerDied", "WorkerPool", "available_cores"]

T = TypeVar("T")

_HEADER = struct.Struct(">Q")  # as in bot.ingest.parser_worker
_SYS_PATH = "SHIFTBRIEF_WORKER_SYS_PATH"
_STOP_SECONDS = 5.0


class WorkerDied(Exception):
    """The worker process ended while it handled the call."""


def available_cores() -> int:
    """The CPUs this process may run on (its affinity, where the system tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def call(self, payload: bytes) -> bytes:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(_HEADER.pack(len(payload)))
            stdin.write(payload)
            await stdin.drain()
            (size,) = _HEADER.unpack(await stdout.readexactly(_HEADER.size))
            return await stdout.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError) as exc:
            raise WorkerDied(f"the parser process ended ({self.process.returncode})") from exc

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


class WorkerPool:
    """Up to ``size`` worker processes, each serving one call at a time, started as calls need
    them. Use from one event loop; ``close`` stops them."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()

    @overload
    async def call(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...

    @overload
    async def call(self, func: str, /, *args: Any, **kwargs: Any) -> Any: ...

    async def call(self, func: Callable[..., T] | str, /, *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)`` in a worker: ``func`` is a module-level function, or its
        name as ``"module:function"`` so that this process need not import its module;
        everything passed or returned must pickle. Its exceptions are raised here.

        Raises:
            WorkerDied: the worker ended before it answered.
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        async with self._slots:
            # Pickled once a worker is free: calls waiting for one hold their arguments (a
            # feed's body) once, not twice.
            payload = pickle.dumps((func, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
            # An idle worker, else a new one: a worker that died left its slot free.
            worker = self._idle.pop() if self._idle else await self._start()
            try:
                answer = await worker.call(payload)
            except BaseException:
                # Killed, or cancelled mid-request: its pipes hold half a message, so it goes.
                worker.kill()
                self._all.discard(worker)
                raise
            finally:
                del payload
            self._idle.append(worker)
        ok, value = pickle.loads(answer)  # noqa: S301 - our own worker, over its own pipe
        del answer
        if not ok:
            raise value
        return value

    async def _start(self) -> _Worker:
        worker = _Worker(await _start())
        self._all.add(worker)
        return worker

    async def close(self) -> None:
        """Stop every worker: each ends when its input closes; one that does not is killed."""
        workers, self._all = self._all, set()
        self._idle = []
        for worker in workers:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        for worker in workers:
            try:
                await asyncio.wait_for(worker.process.wait(), _STOP_SECONDS)
            except TimeoutError:
                worker.kill()
                await worker.process.wait()

    def kill(self) -> None:
        """Stop every worker at once, from anywhere (a last resort when no loop runs)."""
        for worker in self._all:
            worker.kill()
        self._all = set()
        self._idle = []


async def _start() -> asyncio.subprocess.Process:
    env = dict(os.environ)
    # The worker finds our modules where this process found them (a checkout, a venv).
    env[_SYS_PATH] = json.dumps([p for p in sys.path if p])
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _BOOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )


_BOOT = f"""
import json, os, sys
sys.path[:0] = [p for p in json.loads(os.environ.pop("{_SYS_PATH}", "[]")) if p not in sys.path]
from bot.ingest.parser_worker import serve
serve()
"""
