"""Helpers of the wheel and container checks (the fixtures are in conftest.py)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def require(condition: bool, why: str) -> None:
    """Skip when ``condition`` fails, or fail when CI requires the container checks."""
    if not condition:
        if os.environ.get("INSI_DMP_SIM_REQUIRE_CONTAINERS") == "1":
            pytest.fail(why)
        pytest.skip(why)


def project_copy(destination: Path) -> Path:
    """The project's files without the ``simulator`` package (nor venvs, builds, git):
    tests run from there import the simulator that is installed, not the source."""
    skip = {".git", ".venv", "dist", "build", "wheels", "simulator", ".pytest_cache"}
    shutil.copytree(ROOT, destination, ignore=lambda folder, names: [
        n for n in names if (Path(folder) == ROOT and n in skip) or n == "__pycache__"
        or n.endswith(".egg-info")])
    return destination


def podman_ready() -> bool:
    return shutil.which("podman") is not None and subprocess.run(
        ["podman", "info"], capture_output=True).returncode == 0


def podman(*args, check=True, timeout=600) -> subprocess.CompletedProcess:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {done.returncode}\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done
