"""The loop of a parser worker process (started by ``bot.ingest.workers.WorkerPool``).

Only what reading feeds needs is imported here: the parsers, the language model, pickle. Each
request is a length (8 bytes, big-endian) and a pickled ``(function, args, kwargs)``, the
function itself or its name as ``"module:function"``; each
answer a length and a pickled ``(True, result)`` or ``(False, exception)``. Standard output
carries nothing else: anything printed goes to standard error.
"""

from __future__ import annotations

import contextlib
import importlib
import pickle
import struct
import sys

_HEADER = struct.Struct(">Q")
_LARGE = 256 * 1024
"""Requests and answers this large (in bytes) are followed by a trim of the allocator."""


def serve() -> None:
    """Answer calls until the input closes."""
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        _serve()


def _serve() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Nothing else may write to the answers' stream.
    sys.stdout = sys.stderr
    from bot.ingest import allocator, reader  # noqa: F401 - imported once, before the first call
    from bot.ingest.parse import warm_up

    allocator.fix_mmap_threshold()
    warm_up()
    while True:
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(header)
        func, args, kwargs = pickle.loads(stdin.read(size))  # noqa: S301 - from our parent
        try:
            if isinstance(func, str):  # "module:function", which the parent need not import
                module, name = func.split(":")
                func = getattr(importlib.import_module(module), name)
            answer = pickle.dumps((True, func(*args, **kwargs)), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # raised again in the caller
            try:
                answer = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                answer = pickle.dumps((False, RuntimeError(repr(exc))))
        stdout.write(_HEADER.pack(len(answer)))
        stdout.write(answer)
        stdout.flush()
        large = size + len(answer) >= _LARGE
        del answer, func, args, kwargs
        if large:  # a large feed's parse leaves nothing resident while the next is read
            allocator.trim()
