"""An interrupted test run leaves no PostgreSQL server and no cluster folder behind.

A test run of its own starts the session's cluster and waits; it is then stopped as a person
or a CI timeout stops it, with SIGINT or SIGTERM. The server (detached by ``pg_ctl``) must be
gone and its folder deleted soon after (``tests/pgserver.py``: teardown, else the watchdog).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pgserver import find_bindir

ROOT = Path(__file__).resolve().parents[1]
INNER = """
import pathlib, os, time

def test_waits_with_the_cluster_running(postgres):
    pathlib.Path(os.environ["CLUSTER_FILE"]).write_text(str(postgres.root))
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is gone for our purpose; its parent (init, for pg_ctl's daemon) reaps it.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def _wait(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.mark.postgres
@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_leaves_no_server_and_no_folder(
    tmp_path: Path, stop_with: signal.Signals
) -> None:
    if find_bindir() is None or os.environ.get("SHIFTBRIEF_SKIP_POSTGRES") == "1":
        pytest.skip("no PostgreSQL server installed")
    (tmp_path / "test_inner.py").write_text(INNER)
    cluster_file = tmp_path / "cluster"
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         str(tmp_path / "test_inner.py")],
        cwd=ROOT,
        env={**os.environ, "CLUSTER_FILE": str(cluster_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert _wait(cluster_file.exists, 180), "the inner run never started its cluster"
        root = Path(cluster_file.read_text())
        server = int((root / "data" / "postmaster.pid").read_text().split()[0])
        assert _alive(server)
        run.send_signal(stop_with)
        run.wait(120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert _wait(lambda: not _alive(server) and not root.exists(), 60), (
        f"after {stop_with.name}: server {server} alive={_alive(server)}, "
        f"{root} exists={root.exists()}"
    )
