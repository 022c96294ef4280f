"""The README's Testcontainers recipe (docs/examples/test_with_testcontainers.py), run as
a vendor would, against podman's Docker-compatible API (``podman system service``) and
the image built from the wheel under test. Ryuk (Testcontainers' reaper container) is
off: it is an image from a registry, and the recipe's ``with`` block removes the
container itself."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from package_support import ROOT

pytestmark = pytest.mark.package

RECIPE = ROOT / "docs" / "examples" / "test_with_testcontainers.py"


@pytest.fixture
def docker_api(tmp_path):
    """A podman API service on a socket of its own: the DOCKER_HOST to use."""
    socket_path = tmp_path / "podman.sock"
    service = subprocess.Popen(["podman", "system", "service", "--time=0",
                                f"unix://{socket_path}"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while not socket_path.exists():
        assert service.poll() is None and time.monotonic() < deadline, "no podman service"
        time.sleep(0.1)
    yield f"unix://{socket_path}"
    service.terminate()
    service.wait(timeout=30)


def test_testcontainers_recipe_passes(image, docker_api, tmp_path):
    # These machines are themselves containers: Testcontainers would then look for the
    # container's gateway; the ports podman publishes are on this host's loopback.
    env = {**os.environ, "DOCKER_HOST": docker_api, "TESTCONTAINERS_RYUK_DISABLED": "true",
           "TESTCONTAINERS_CONNECTION_MODE": "docker_host",
           "TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1", "INSI_DMP_SIM_IMAGE": image}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-p", "no:randomly", "--rootdir", str(tmp_path), str(RECIPE)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout
