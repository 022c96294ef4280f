"""The wheel and container checks (``pytest -m package``; ``.ci/run`` runs them after the
ordinary suite). Every test module here is marked ``package`` (``pytestmark``): the
default run leaves them out.

Inputs, all optional, set by ``.ci/run``:
- ``INSI_DMP_SIM_DIST``: a folder with the sdist and wheel already built (else built here);
- ``INSI_DMP_SIM_BASE_IMAGE``: the image the Dockerfile builds on (else its default);
- ``INSI_DMP_SIM_WHEELS``: a folder of dependency wheels for builds without an index;
- ``INSI_DMP_SIM_REQUIRE_CONTAINERS=1``: fail, instead of skipping, without podman.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from package_support import ROOT, podman, podman_ready, project_copy, require

sys.path.insert(0, str(ROOT / "tests"))  # envelopes.py


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
    """A folder with the project's sdist and wheel, built by ``python -m build``."""
    given = os.environ.get("INSI_DMP_SIM_DIST")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                   check=True, stdout=subprocess.DEVNULL)
    return out


@pytest.fixture(scope="session")
def wheel(dist) -> Path:
    """The built wheel."""
    (found,) = dist.glob("insi_dmp_simulator-*-py3-none-any.whl")
    return found


@pytest.fixture(scope="session")
def image(wheel, tmp_path_factory) -> str:
    """The image built from the Dockerfile and the wheel under test."""
    require(podman_ready(), "podman is not installed or cannot run here")
    context = project_copy(tmp_path_factory.mktemp("context") / "context")
    (context / "dist").mkdir()
    shutil.copy(wheel, context / "dist")
    build_args = ["--build-arg", f"PACKAGE=dist/{wheel.name}"]
    if os.environ.get("INSI_DMP_SIM_BASE_IMAGE"):
        build_args += ["--build-arg", f"BASE={os.environ['INSI_DMP_SIM_BASE_IMAGE']}"]
    if os.environ.get("INSI_DMP_SIM_WHEELS"):
        shutil.copytree(os.environ["INSI_DMP_SIM_WHEELS"], context / "wheels")
        build_args += ["--build-arg", "PIP_ARGS=--no-index --find-links wheels"]
    tag = f"localhost/insi-dmp-sim-test:{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    podman("build", "--format", "docker", "--network", "host", *build_args, "-t", tag,
           str(context))
    print(f"image built in {time.monotonic() - started:.1f} s")
    yield tag
    podman("rmi", "-f", tag, check=False)
