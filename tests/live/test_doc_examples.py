"""Every example of the docs runs: the fenced ``python`` and ``sh`` blocks of README.md and
docs/*.md, each against a live simulator in the state the docs start from
(``insi-dmp-sim serve --date 2025-01-15T10:00:00Z``, frozen, freshly reset).

- ``python`` blocks that define ``test_`` functions are a vendor's pytest file: run by a
  pytest subprocess attached to the simulator (``--sim-url``), beside ``vendor_client.py``
  (docs/examples/test_vendor_client.py), which they import; they must all pass.
- other ``python`` blocks run as a script (``python -c``), ``sh`` blocks with
  ``bash -euo pipefail`` and a ``curl`` that fails on an HTTP error; both must exit 0.

The address the docs use (``127.0.0.1:8080``, ``localhost:8080``, ``sim:8080``) becomes
the live server's. A block that cannot run here is listed in :data:`NOT_RUN` with the
test that covers it instead; a listed block that no longer exists fails the test too.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.settings import Settings
from simulator.testing import start_simulator

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
VENDOR_CLIENT = ROOT / "docs" / "examples" / "test_vendor_client.py"
START = "2025-01-15T10:00:00Z"
_BLOCK = re.compile(r"^```(python|sh)\n(.*?)^```", re.S | re.M)
_ADDRESS = re.compile(r"(https?://)?(127\.0\.0\.1|localhost|sim):8080")

# (file, a line of the block) -> why it does not run here, and what covers it.
NOT_RUN = {
    ("README.md", "python3 -m pip install build"):
        "builds and installs the wheel: tests/package/test_wheel.py",
    ("README.md", "docker build -t insi-dmp-sim ."):
        "builds and runs the image: tests/package/test_container.py",
    ("README.md", "from testcontainers.core.container import DockerContainer"):
        "needs the image: tests/package/test_testcontainers.py runs this recipe",
    ("README.md", "SIM_FROZEN=true insi-dmp-sim serve --date 2025-01-15T10:00:00Z"):
        "starts the server the examples run against: this test starts it so",
    ("README.md", "curl -s https://localhost:8080/lps --cacert pki/test-ca-cert.pem"):
        "needs a TLS server and its PKI: tests/live/test_tls.py",
    ("kit.md", "insi-dmp-sim serve --dmp-trusted-cas pki/test-ca-cert.pem"):
        "starts a server: tests/live/test_dmp_signatures_live.py trusts that PKI",
}

# (file, a line of the block) -> a line of the block of the same file the docs run before
# it (the state it continues from).
PRECEDED_BY = {
    ("README.md", "opposes_bris_de_glace"): "cd docs/examples/dmp",
    ("kit.md", 'signing.signer_of("pki/org-sign-key.pem"'): "insi-dmp-sim certs --out pki",
}


def blocks() -> list[tuple[str, int, str, str]]:
    """(file name, line, language, code) of every python and sh block of the docs."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            line = text[:match.start()].count("\n") + 1
            found.append((path.name, line, match.group(1), match.group(2)))
    return found


def not_run_reason(name: str, code: str) -> str | None:
    return next((why for (doc, line), why in NOT_RUN.items()
                 if doc == name and line in code), None)


EXAMPLES = [b for b in blocks() if not not_run_reason(b[0], b[3])]


def test_every_block_not_run_still_exists():
    present = {(name, line) for name, _, _, code in blocks() for (doc, line) in NOT_RUN
               if doc == name and line in code}
    assert present == set(NOT_RUN)


@pytest.fixture(scope="module")
def server():
    with start_simulator("thread", Settings.from_env(population=50, date=START,
                                                     frozen=True)) as handle:
        yield handle


@pytest.fixture
def workdir(tmp_path, server):
    """A fresh simulator at the docs' start, and a directory holding what the examples
    read beside them (docs/, a scenario file)."""
    server.reset()
    server.set_clock(START, frozen=True)
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    scenarios = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    (tmp_path / "my-scenario.yaml").write_text(
        re.search(r"^```yaml\n(.*?)^```", scenarios, re.S | re.M).group(1))
    return tmp_path


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIM_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_every_preceding_block_exists():
    for (doc, marker), before in PRECEDED_BY.items():
        found = [(n, c) for n, _, _, c in blocks() if n == doc]
        assert any(marker in c for _, c in found) and any(before in c for _, c in found)


@pytest.mark.parametrize("name,line,language,code", EXAMPLES,
                         ids=[f"{b[0]}:{b[1]}" for b in EXAMPLES])
def test_the_example_runs(server, workdir, name, line, language, code):
    before = next((first for (doc, marker), first in PRECEDED_BY.items()
                   if doc == name and marker in code), None)
    if before:
        _, first_line, first_language, first_code = next(
            b for b in EXAMPLES if b[0] == name and before in b[3])
        run_example(server, workdir, name, first_line, first_language, first_code)
    run_example(server, workdir, name, line, language, code)


def run_example(server, workdir, name, line, language, code):
    """Run one block in ``workdir``; it must succeed."""
    host = server.base_url.split("://", 1)[1]
    code = _ADDRESS.sub(lambda m: (m.group(1) or "") + host, code)
    if language == "python" and re.search(r"^def test_", code, re.M):
        (workdir / "vendor_client.py").write_text(VENDOR_CLIENT.read_text())
        (workdir / "test_example.py").write_text(code)
        command = [sys.executable, "-m", "pytest", "test_example.py", "-q",
                   "-p", "no:cacheprovider", "-p", "no:randomly", "--sim-url",
                   server.base_url]
    elif language == "python":
        command = [sys.executable, "-c", code]
    else:
        # curl fails on an HTTP error (its body still shown) instead of exiting 0.
        command = ["bash", "-euo", "pipefail", "-c",
                   'curl() { command curl --fail-with-body "$@"; }\n' + code]
    process = subprocess.run(command, cwd=workdir, env=_env(), capture_output=True,
                             text=True, timeout=240)
    report = f"{name}:{line}\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    assert process.returncode == 0, report
    if command[1:3] == ["-m", "pytest"]:
        assert re.search(r"\d+ passed", process.stdout) and "failed" not in process.stdout, \
            report
