"""Ingest beside a peer-style baseline: 200 real feeds on loopback, whole processes, paired.

Run from the repository root: ``nice .venv/bin/python bench/ingest.py``.

The real snapshots of ``../shared/corpus/realfeeds/`` are served, repeated under different URLs
until there are 200 feeds, by a loopback server in its own process (listen backlog 128) that
answers conditional requests (ETag / Last-Modified) with 304. Two contenders run as whole
processes, started the way a user starts them:

* ours: ``shiftbrief ingest --all --json`` on a SQLite file that already follows the 200 feeds
  (each round starts from a fresh copy), everything ingest does included: SSRF checks, size caps,
  parsing, hygiene, language, storing, classification;
* peer: a few lines written here in the way popular feed bots read feeds: every feed fetched at
  once with aiohttp and each body parsed with feedparser's defaults, entries counted; it keeps the
  validators in a JSON file for its next run. No database, no classification, no SSRF checks.

Each round runs ours and the peer's first pass back to back, then both unchanged passes (every
feed answers 304), alternating which goes first, so the machine's load (other agents share it)
falls on both alike. Wall time is the process's, from start to exit; CPU is user + system of
the process and its children.

Memory is what the machine needs at once, for both contenders alike: every 10 ms the resident
memory of the process and of all its descendants (parse workers) is read at the same instant and
summed, and the figure is the highest such sum over the run (the peak of the sum, not the sum of
each process's peak). ``tree`` sums RSS, so a page two processes share (a library's code)
counts twice: an upper bound. ``pss`` sums proportional set sizes, where a shared page is split
between the processes that map it: the closest to the memory the tree takes from the machine
(pages shared with processes outside the tree are split with them too, for both contenders).
``main`` is the kernel's high-water mark of the process itself (VmHWM), exact; for the peer,
one process, it is its whole figure. Prints medians, the median of the paired ratios, the entry
counts and the load average, then one JSON line.

``--ours-python`` runs another checkout's ShiftBrief (a venv of ``main``) for before/after.
``--steps`` prints what each step of reading a feed costs per item, in this process.
``--memory`` prints where the first pass's memory goes (``bench/ingest_memory.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus" / "realfeeds"
FEEDS = 200
PASSES = ("first", "unchanged")


# --- the peer ------------------------------------------------------------------------------


async def peer_pass(urls: list[str], state_file: Path) -> dict[str, int]:
    """Fetch every feed at once, parse each body with feedparser, count entries."""
    import aiohttp
    import feedparser

    state: dict[str, dict[str, str]] = (
        json.loads(state_file.read_text()) if state_file.exists() else {}
    )
    counts = {"feeds": len(urls), "entries": 0, "not_modified": 0, "failed": 0}

    async def one(session: aiohttp.ClientSession, url: str) -> None:
        headers = {}
        known = state.get(url, {})
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("modified"):
            headers["If-Modified-Since"] = known["modified"]
        try:
            async with session.get(url, headers=headers) as resp:
                if resp.status == 304:
                    counts["not_modified"] += 1
                    return
                body = await resp.read()
                content_type = resp.headers.get("Content-Type", "")
                state[url] = {
                    "etag": resp.headers.get("ETag", ""),
                    "modified": resp.headers.get("Last-Modified", ""),
                }
        except (aiohttp.ClientError, TimeoutError):
            counts["failed"] += 1
            return
        parsed = feedparser.parse(
            body, response_headers={"content-type": content_type, "content-location": url}
        )
        counts["entries"] += len(parsed.entries)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, url) for url in urls))
    state_file.write_text(json.dumps(state))
    return counts


# --- serving and running -------------------------------------------------------------------


def corpus_routes(n_feeds: int = FEEDS) -> dict[str, object]:
    """The real snapshots, repeated under different paths up to ``n_feeds``."""
    from tests.feedserver import Route

    files = sorted(CORPUS.glob("*.xml"))
    if not files:
        raise SystemExit(f"no snapshots in {CORPUS}")
    routes: dict[str, object] = {}
    for i in range(n_feeds):
        source = files[i % len(files)]
        # No charset: each document is decoded by its own declaration, as its publisher meant.
        routes[f"/{i}/{source.name}"] = Route(
            body=source.read_bytes(), conditional=True, content_type="application/xml"
        )
    return routes


@dataclass
class Run:
    """One whole process: what it took and what it printed."""

    seconds: float
    cpu: float
    peak_tree_mb: float
    """Peak over the run of the RSS of the process and its descendants, summed at each instant."""
    peak_pss_mb: float
    """Peak of their proportional set sizes summed (library pages they share counted once)."""
    peak_main_mb: float
    """The process's own high-water mark of RSS (VmHWM)."""
    out: dict[str, int]


def _tree_memory_kb(pid: int) -> tuple[int, int, int]:
    """High-water mark of ``pid``'s own resident memory; resident memory of it and its
    descendants now, summed (shared pages count once per process); and their proportional set
    sizes now, summed (shared pages split)."""
    own = rss = pss = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            own = next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return own, rss, pss


def run_process(argv: list[str], *, env: dict[str, str], cwd: Path) -> Run:
    """Run ``argv`` to its end: wall time, CPU of it and its children, peak memory."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peaks = [0, 0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for i, value in enumerate(_tree_memory_kb(proc.pid)):
                peaks[i] = max(peaks[i], value)
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{stderr[-3000:]}")
    # Children are run one at a time, so the difference is this process and its workers.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    out = json.loads(lines[-1]) if lines else {}
    return Run(seconds, cpu, peaks[1] / 1024, peaks[2] / 1024, peaks[0] / 1024, out)


def ours_env(db: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in _environment().items()
        if not key.startswith(("SHIFTBRIEF_", "SLACK_", "DISCORD_"))
    }
    env.update(
        SHIFTBRIEF_DATABASE_URL=f"sqlite:///{db}",
        SHIFTBRIEF_CONFIG_FILE=str(db.parent / "absent.toml"),
        SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS='["127.0.0.1/32"]',
        # Every feed lives on one loopback host here; real ones are spread over many hosts.
        SHIFTBRIEF_PER_HOST_CONCURRENCY="16",
        SHIFTBRIEF_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def _environment() -> dict[str, str]:
    """This environment, with bytecode caching on (both contenders start from cached .pyc)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def cache_bytecode(python: Path) -> None:
    """Compile ShiftBrief's modules for ``python``, as an installed package would have them."""
    where = subprocess.run(
        [str(python), "-c", "import bot, pathlib; print(pathlib.Path(bot.__file__).parents[1])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    packages = [str(Path(where) / name) for name in ("bot", "storage", "shiftbrief", "adapters")]
    subprocess.run([str(python), "-m", "compileall", "-q", *packages], check=True)


def follow_feeds(shiftbrief: Path, urls: list[str], db: Path, extra: dict[str, str]) -> None:
    """A database that follows every feed (migrated, nothing fetched), through the CLI."""
    opml = db.parent / "feeds.opml"
    outlines = "".join(f"<outline type='rss' xmlUrl={quoteattr(url)}/>" for url in urls)
    opml.write_text(f"<opml version='2.0'><head/><body>{outlines}</body></opml>")
    subprocess.run(
        [str(shiftbrief), "feeds", "import-opml", str(opml)],
        env=ours_env(db, extra),
        cwd=db.parent,
        check=True,
        capture_output=True,
    )


def _ours_counts(report: dict[str, int]) -> dict[str, int]:
    keys = ("feeds", "ok", "not_modified", "failed", "new_items")
    return {key: int(report.get(key, 0)) for key in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument(
        "--ours-python",
        type=Path,
        default=Path(sys.executable),
        help="the python of the ShiftBrief to measure (its venv's shiftbrief script is run)",
    )
    parser.add_argument("--ours-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--peer-child", nargs=2, metavar=("URLS", "STATE"), help=argparse.SUPPRESS)
    parser.add_argument("--steps", action="store_true", help="per-item cost of each step")
    parser.add_argument(
        "--memory", action="store_true", help="where the first pass's memory goes, step by step"
    )
    args = parser.parse_args()
    if args.peer_child:
        urls = json.loads(Path(args.peer_child[0]).read_text())
        print(json.dumps(asyncio.run(peer_pass(urls, Path(args.peer_child[1])))))
        return
    if args.steps:
        from bench.ingest_steps import main as steps_main

        steps_main()
        return
    if args.memory:
        from bench.ingest_memory import main as memory_main

        memory_main([f"--feeds={args.feeds}", *(f"--ours-env={e}" for e in args.ours_env)])
        return

    from tests.feedserver import serve_in_process

    extra = dict(item.split("=", 1) for item in args.ours_env)
    shiftbrief = args.ours_python.parent / "shiftbrief"
    routes = corpus_routes(args.feeds)
    body_mb = sum(len(r.body) for r in routes.values()) / 1e6  # type: ignore[attr-defined]
    runs: dict[tuple[str, str], list[Run]] = {}
    load_before = os.getloadavg()
    with serve_in_process(routes) as server, tempfile.TemporaryDirectory() as tmp_name:  # type: ignore[arg-type]
        tmp = Path(tmp_name)
        urls = [server.url(path) for path in routes]
        (tmp / "urls.json").write_text(json.dumps(urls))
        template = tmp / "template" / "shiftbrief.db"
        template.parent.mkdir()
        cache_bytecode(args.ours_python)
        follow_feeds(shiftbrief, urls, template, extra)
        for number in range(args.rounds):
            work = tmp / f"round{number}"
            work.mkdir()
            shutil.copy(template, work / "shiftbrief.db")
            ours = (
                [str(shiftbrief), "ingest", "--all", "--json"],
                ours_env(work / "shiftbrief.db", extra),
            )
            peer = (
                [
                    sys.executable,
                    __file__,
                    "--peer-child",
                    str(tmp / "urls.json"),
                    str(work / "peer-state.json"),
                ],
                _environment(),
            )
            order = [("ours", ours), ("peer", peer)]
            if number % 2:
                order.reverse()
            for pass_name in PASSES:
                for who, (argv, env) in order:
                    run = run_process(argv, env=env, cwd=work)
                    if who == "ours":
                        run.out = _ours_counts(run.out)
                    runs.setdefault((who, pass_name), []).append(run)
            shutil.rmtree(work)
    load_after = os.getloadavg()
    report(runs, args, body_mb, load_before, load_after)


def report(
    runs: dict[tuple[str, str], list[Run]],
    args: argparse.Namespace,
    body_mb: float,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    med = statistics.median
    print(
        f"{args.feeds} feeds ({len(list(CORPUS.glob('*.xml')))} real snapshots repeated), "
        f"{body_mb:.1f} MB of XML, loopback, {args.rounds} paired rounds; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"ours: {args.ours_python} {' '.join(args.ours_env)}"
    )
    print(
        "wall and cpu in seconds; memory in MB, the peak over the run of the sum over the "
        "process and its parse workers at one instant: tree = RSS summed (shared library pages "
        "counted once per process), pss = proportional set sizes summed (shared pages counted "
        "once: what the machine needs at once); main = the process alone (VmHWM); ratios are "
        "medians of the paired ours/peer ratios"
    )
    print(
        f"{'pass':10} {'who':5} {'wall':>7} {'ratio':>6} {'cpu':>6} {'tree':>6} {'ratio':>6} "
        f"{'pss':>6} {'ratio':>6} {'main':>6} {'ratio':>6} {'entries':>8}"
    )
    figures: dict[str, object] = {"feeds": args.feeds, "rounds": args.rounds}
    for pass_name in PASSES:
        ours, peer = runs[("ours", pass_name)], runs[("peer", pass_name)]

        def ratio(measure: str, ours: list[Run] = ours, peer: list[Run] = peer) -> float:
            return med(
                getattr(o, measure) / getattr(p, measure) for o, p in zip(ours, peer, strict=True)
            )

        ratios = {m: ratio(m) for m in ("seconds", "peak_tree_mb", "peak_pss_mb", "peak_main_mb")}
        for who, group in (("ours", ours), ("peer", peer)):
            entries = group[-1].out.get("new_items" if who == "ours" else "entries", 0)
            cells = [f"{pass_name:10} {who:5}"]
            for measure in ("seconds", "cpu", "peak_tree_mb", "peak_pss_mb", "peak_main_mb"):
                value = med(getattr(r, measure) for r in group)
                cells.append(f"{value:7.2f}" if measure == "seconds" else f"{value:6.0f}")
                if measure in ratios:
                    cells.append(f"{ratios[measure] if who == 'ours' else 1.0:6.2f}")
                if measure == "cpu":
                    cells[-1] = f"{value:6.2f}"
            cells.append(f"{entries:8d}")
            print(" ".join(cells))
            figures[f"{pass_name}_{who}"] = {
                "wall_s": [round(r.seconds, 3) for r in group],
                "cpu_s": [round(r.cpu, 3) for r in group],
                "peak_tree_mb": [round(r.peak_tree_mb, 1) for r in group],
                "peak_pss_mb": [round(r.peak_pss_mb, 1) for r in group],
                "peak_main_mb": [round(r.peak_main_mb, 1) for r in group],
                "out": group[-1].out,
            }
        figures[f"{pass_name}_ratios"] = {m: round(v, 3) for m, v in ratios.items()}
    figures["load_average"] = [load_before[0], load_after[0]]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
