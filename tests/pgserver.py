"""A throwaway PostgreSQL cluster for the test session.

Uses the server binaries from Debian's packages (``.ci/run`` installs them where missing). The
cluster lives in a temporary folder, listens only on a Unix socket in that folder (no TCP port to
collide with) and trusts local connections. PostgreSQL refuses to run as root, so as root the
cluster is created and started as the ``postgres`` user.

``pg_ctl`` detaches the server, so it would outlive a test run that is interrupted (SIGINT,
SIGTERM, even SIGKILL) before its teardown. Each cluster therefore has a watchdog, a small
process of its own session that holds the read end of a pipe whose write end only the test
process has: when that process ends, however it ends, the pipe closes and the watchdog stops
the server and deletes the folder (``python -m tests.pgserver --watch ROOT BINDIR``).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when no server is installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for found in (shutil.which("initdb"), *(f"{c}/initdb" for c in candidates)):
        if found and Path(found).exists():
            return Path(found).resolve().parent
    return None


@dataclass
class PostgresCluster:
    bindir: Path
    root: Path
    watchdog: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, database: str, driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://postgres@/{database}?host={self.socket_dir}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        self.start_server()

    def start_server(self) -> None:
        """Start (or start again) the server of the initialised cluster."""
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "-l",
            str(self.root / "server.log"),
            "start",
        )

    def stop_server(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        """Stop the server (if it runs) and delete the cluster."""
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "status")
        except subprocess.CalledProcessError:
            pass  # not running
        else:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            if self.watchdog is not None:
                # Closing our end tells it we are done; it finds nothing left to stop.
                assert self.watchdog.stdin is not None
                self.watchdog.stdin.close()
                self.watchdog.wait(30)
                self.watchdog = None

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(
            "psql",
            "-h",
            str(self.socket_dir),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAtc",
            sql,
        ).stdout


def start_cluster() -> PostgresCluster | None:
    """Start a cluster in a new temporary folder; None when no server binaries exist."""
    bindir = find_bindir()
    if bindir is None:
        return None
    # Short path: Unix socket paths are limited to about 100 bytes.
    root = Path(tempfile.mkdtemp(prefix="sbpg-", dir="/tmp"))
    os.chmod(root, 0o755)
    cluster = PostgresCluster(bindir=bindir, root=root, watchdog=_watch(root, bindir))
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _watch(root: Path, bindir: Path) -> subprocess.Popen[bytes]:
    """Start the watchdog of the cluster in ``root`` (see the module docstring)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.pgserver", "--watch", str(root), str(bindir)],
        stdin=subprocess.PIPE,
        cwd=ROOT,
        # Its own session: a Ctrl-C to the test run's process group must not stop it first.
        start_new_session=True,
    )


def _watchdog(root: Path, bindir: Path) -> None:
    """Wait for the test process to end (EOF on stdin), then remove its cluster."""
    sys.stdin.buffer.read()
    if not root.exists():
        return  # stopped and deleted by the test process itself
    try:
        PostgresCluster(bindir=bindir, root=root).stop()
    except (OSError, subprocess.SubprocessError):
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__" and sys.argv[1:2] == ["--watch"]:
    _watchdog(Path(sys.argv[2]), Path(sys.argv[3]))
