"""How long ``shiftbrief`` commands take as whole processes, start to exit (issue 20).

Run from the repository root: ``nice .venv/bin/python bench/startup.py [--runs 15]``.

A fresh SQLite file follows a few tiny feeds served on loopback (a feed server in its own
process, answering conditional requests with 304) and has fetched them once, so:

* ``--help``: the command tree and its help, nothing else;
* ``feeds list``: the goal of issue 20 is under 0.5 s wall with cached bytecode;
* ``ingest --all --json``: a pass where every feed answers 304 (nothing to parse or store).

Each command runs ``--runs`` times, as the console script runs it (a fresh interpreter, bytecode
compiled beforehand), one at a time and in turns, so a burst of load from other programs falls on
all of them alike. Prints the median wall and CPU (user + system) of each, its spread, and the
load average before and after, then one JSON line.

``--python`` runs another checkout's interpreter; ``--source DIR`` puts DIR first on the path
(a ``git archive`` of another commit, run with this venv's libraries). ``--compare DIR`` runs
DIR's code too, in turns with this one on the same database, and prints both (before/after on
a machine whose load keeps changing).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "feeds list": ["feeds", "list"],
    "ingest (unchanged)": ["ingest", "--all", "--json"],
}
FEEDS = 5
# What the console script does (see the venv's bin/shiftbrief), so --source can take effect.
SCRIPT = "import sys\nfrom shiftbrief.cli import main\nsys.argv[0] = 'shiftbrief'\nsys.exit(main())"


def environment(tmp: Path, source: Path | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SHIFTBRIEF_", "SLACK_", "DISCORD_", "PYTHONDONTWRITEBYTECODE"))
    }
    env.update(
        SHIFTBRIEF_DATABASE_URL=f"sqlite:///{tmp / 'shiftbrief.db'}",
        SHIFTBRIEF_CONFIG_FILE=str(tmp / "absent.toml"),
        SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS='["127.0.0.1/32"]',
        SHIFTBRIEF_LOG_LEVEL="WARNING",
    )
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def run(python: Path, args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run ``shiftbrief ARGS`` once: its wall time and CPU (user + system) in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [str(python), "-c", SCRIPT, *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"shiftbrief {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def cache_bytecode(python: Path, env: dict[str, str]) -> None:
    """Compile ShiftBrief's modules, as an installed package would have them."""
    where = subprocess.run(
        [str(python), "-c", "import bot, pathlib; print(pathlib.Path(bot.__file__).parents[1])"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    packages = [str(Path(where) / name) for name in ("bot", "storage", "shiftbrief", "adapters")]
    subprocess.run([str(python), "-m", "compileall", "-q", *packages], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--compare", type=Path, default=None, metavar="DIR")
    args = parser.parse_args()

    from tests.feedserver import Entry, Route, make_rss, serve_in_process

    routes = {
        f"/{i}/feed.xml": Route(
            body=make_rss(
                [Entry(f"Story {i}.{j}", "Grid batteries.", guid=f"{i}-{j}") for j in range(5)]
            ),
            conditional=True,
        )
        for i in range(FEEDS)
    }
    sources = {"this": args.source}
    if args.compare is not None:
        sources["compare"] = args.compare
    timings: dict[str, list[tuple[float, float]]] = {
        label(who, name): [] for who in sources for name in COMMANDS
    }
    load_before = os.getloadavg()
    with serve_in_process(routes) as server, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        envs = {who: environment(tmp, source) for who, source in sources.items()}
        for env in envs.values():
            cache_bytecode(args.python, env)
        env = envs["this"]
        for path in routes:
            run(args.python, ["feeds", "add", server.url(path)], env, tmp)
        run(args.python, ["ingest", "--all", "--json"], env, tmp)  # the first pass stores
        for _ in range(args.runs):
            for name, command in COMMANDS.items():
                for who, who_env in envs.items():
                    timings[label(who, name)].append(run(args.python, command, who_env, tmp))
    load_after = os.getloadavg()
    report(timings, args, load_before, load_after)


def label(who: str, command: str) -> str:
    return command if who == "this" else f"{command} [compare]"


def report(
    timings: dict[str, list[tuple[float, float]]],
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    med = statistics.median
    print(
        f"{args.runs} runs of each, {FEEDS} feeds on loopback; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; python {args.python}"
        + (f", source {args.source}" if args.source else "")
        + (f", compared with {args.compare}" if args.compare else "")
    )
    print(f"{'command':30} {'wall':>6} {'cpu':>6} {'wall min':>9} {'wall max':>9}   (seconds)")
    figures: dict[str, object] = {"runs": args.runs, "load_average": [load_before, load_after]}
    for name, runs in timings.items():
        walls = [w for w, _ in runs]
        cpus = [c for _, c in runs]
        print(f"{name:30} {med(walls):6.3f} {med(cpus):6.3f} {min(walls):9.3f} {max(walls):9.3f}")
        figures[name] = {"wall_s": round(med(walls), 3), "cpu_s": round(med(cpus), 3)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
