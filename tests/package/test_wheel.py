"""The distribution as a package index and a new user see it: built with
``python -m build``, installed (not editable) into a fresh virtual environment with no
source tree on the path, and the live tests run against that install."""
from __future__ import annotations

import pytest

import os
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.specifiers import SpecifierSet

import simulator
from package_support import ROOT, project_copy

pytestmark = pytest.mark.package

# The live tests run against the install: serve and its command line, every endpoint
# (INSi, DMP v2 and v1, TD0.0, control plane), scenarios, TLS, durability, the dashboard
# in Chromium, the pytest plugin in both modes. Left out: measurements (bench, Locust).
NOT_RUN = {"test_dmp_bench.py", "test_loadtests.py"}


def shipped_files() -> set[str]:
    """What the wheel must hold besides the code: every data file, under simulator/."""
    files = {f"simulator/_data/{p.relative_to(ROOT)}" for folder in ("wsdl", "scenarios")
             for p in (ROOT / folder).rglob("*") if p.is_file()}
    return files | {str(p.relative_to(ROOT)) for p in (ROOT / "simulator").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts}


def test_wheel_holds_every_file_and_the_metadata(wheel, dist):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = shipped_files() - names
    assert not missing, sorted(missing)
    metadata = Parser().parsestr(zipfile.ZipFile(wheel).read(
        f"insi_dmp_simulator-{simulator.__version__}.dist-info/METADATA").decode())
    assert metadata["Name"] == "insi-dmp-simulator"
    assert metadata["Version"] == simulator.__version__  # written once, in simulator/
    assert SpecifierSet(metadata["Requires-Python"]) == SpecifierSet(">=3.11,<3.14")
    assert "Programming Language :: Python :: 3.11" in metadata.get_all("Classifier")
    assert metadata["Description-Content-Type"] == "text/markdown"  # the README, for an index
    entry_points = zipfile.ZipFile(wheel).read(
        f"insi_dmp_simulator-{simulator.__version__}.dist-info/entry_points.txt").decode()
    assert "insi-dmp-sim = simulator.cli:main" in entry_points
    assert "insi_dmp_sim = simulator.pytest_plugin" in entry_points

    (sdist,) = dist.glob("insi_dmp_simulator-*.tar.gz")
    top = f"insi_dmp_simulator-{simulator.__version__}"
    in_sdist = {name.removeprefix(top + "/") for name in tarfile.open(sdist).getnames()}
    assert {"pyproject.toml", "setup.py", "README.md", "wsdl/insi/insi.wsdl",
            "scenarios/insi-down.yaml", "simulator/admin/templates/dashboard.html"} <= in_sdist


def run(command, **options) -> subprocess.CompletedProcess:
    print("$", " ".join(map(str, command)))
    return subprocess.run(command, text=True, capture_output=True, **options)


def test_live_tests_pass_against_the_installed_wheel(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    done = run([python, "-m", "pip", "install", "--quiet", f"{wheel}[test]"])
    assert done.returncode == 0, done.stderr[-3000:]
    project = project_copy(tmp_path / "project")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SIM_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"

    # The install is what runs: code and data come from the venv's site-packages.
    where = run([python, "-c", "import simulator, simulator.resources as r; "
                 "print(simulator.__file__); print(r.data_folder('wsdl'))"],
                cwd=project, env=env)
    assert where.returncode == 0, where.stderr
    for line in where.stdout.split():
        assert Path(line).is_relative_to(venv) and "site-packages" in line, where.stdout
    listed = run([venv / "bin" / "insi-dmp-sim", "scenarios", "list"], cwd=project, env=env)
    assert listed.returncode == 0 and "insi-down" in listed.stdout, listed

    tests = sorted(f"tests/live/{p.name}" for p in (project / "tests" / "live").glob("test_*.py")
                   if p.name not in NOT_RUN)
    done = run([python, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
                *tests], cwd=project, env=env)
    print(done.stdout[-4000:])
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
