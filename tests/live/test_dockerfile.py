"""The Dockerfile, checked without a Docker engine: its instructions are read, and its
install, start and health-check commands are run as plain commands, the way the
container would run them (the system-level user creation excepted)."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from server_process import free_port

ROOT = Path(__file__).resolve().parents[2]
HEALTHY_WITHIN = 2.0


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text()
    logical, current = [], ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [(item.split(None, 1)[0].upper(), item.split(None, 1)[1]) for item in logical]


def values(name: str) -> list[str]:
    return [args for instruction, args in instructions() if instruction == name]


def environment() -> dict[str, str]:
    env = {}
    for args in values("ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def test_dockerfile_shape():
    assert values("FROM") == ["python:3.11-slim"]
    assert values("USER") and values("USER")[-1] not in ("root", "0")
    env = environment()
    assert (env["SIM_HOST"], env["SIM_PORT"], env["SIM_DATA_DIR"]) == ("0.0.0.0", "8080", "/data")
    assert values("VOLUME") == ['["/data"]'] and values("EXPOSE") == ["8080"]
    healthcheck = values("HEALTHCHECK")[0]
    assert "/_admin/health" in healthcheck and "--start-period" in healthcheck
    assert json.loads(values("CMD")[0]) == ["insi-dmp-sim", "serve"]
    for args in values("COPY"):
        *sources, _ = args.split()
        assert all((ROOT / source).exists() for source in sources), args


def test_install_start_and_healthcheck_commands_work_outside_docker(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    for args in values("COPY"):
        *sources, _ = args.split()
        for source in sources:
            src = ROOT / source
            if src.is_dir():
                shutil.copytree(src, app / source,
                                ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(src, app / source)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "VIRTUAL_ENV": str(venv)}
    env = {k: v for k, v in env.items() if not k.startswith("SIM_")}
    pip_runs = [args for args in values("RUN") if args.startswith("pip ")]
    assert pip_runs == ["pip install -e ."]
    subprocess.run(pip_runs[0], shell=True, cwd=app, env=env, check=True,
                   stdout=subprocess.DEVNULL)

    port = free_port()  # docker run -e SIM_PORT=... -v <dir>:/data
    env.update(environment(), SIM_PORT=str(port), SIM_DATA_DIR=str(tmp_path / "data"),
               SIM_HOST="127.0.0.1")
    command = json.loads(values("CMD")[0])
    health = json.loads(values("HEALTHCHECK")[0].split("CMD", 1)[1].strip())
    started = time.monotonic()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen(command, cwd=app, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while subprocess.run(health, env=env, capture_output=True).returncode != 0:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() - started < 20, "never healthy"
            time.sleep(0.05)
        healthy_after = time.monotonic() - started
        assert healthy_after < HEALTHY_WITHIN, f"healthy after {healthy_after:.2f} s"
        answer = requests.get(f"http://127.0.0.1:{port}/lps?wsdl", timeout=5)
        assert answer.status_code == 200 and b"ICIRServiceBinding" in answer.content
        assert (tmp_path / "data" / "simulator.sqlite3").exists()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
        server.wait(timeout=15)
        log.close()
