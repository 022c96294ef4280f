"""The command line as a user meets it: one-line errors, the Ready line, logs, clean exit.

Every bad input ends with one line on stderr and a non-zero status, never a traceback;
"Ready" comes once the port is bound and names URLs that answer; ``--log-format json``
gives one JSON object per line, and the access log carries the journal's request id;
a data directory the simulator created is removed when it stops.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from server_process import CONSOLE_SCRIPT, EXIT_WITHIN, free_port, run_cli, spawn_server
from simulator.testing import start_simulator

READY = re.compile(r"Ready on port (\d+): INSi (\S+) \(WSDL (\S+)\), DMP (\S+), dashboard ([^\s\"]+)")


def one_line_failure(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("insi-dmp-sim: "), done.stderr
    return lines[0]


def test_bad_inputs_are_one_line_and_a_non_zero_exit(tmp_path):
    broken_yaml = tmp_path / "broken.yaml"
    broken_yaml.write_text("rules: [\n  - name: x\n")
    bad_identities = tmp_path / "persons.csv"
    bad_identities.write_text("nom,prenom\nDUPONT\n")
    port = str(free_port())
    cases = {
        "missing identities file": (["--identities-file", str(tmp_path / "none.csv")],
                                    "none.csv"),
        "identities file not valid": (["--identities-file", str(bad_identities)],
                                      "persons.csv"),
        "identities YAML broken": (["--identities-file", str(broken_yaml)], "valid YAML"),
        "scenario YAML broken": (["--scenario", str(broken_yaml)], "not valid YAML"),
        "port out of range": (["--port", "65536"], "SIM_PORT"),
        "port not a number": (["--port", "http"], "--port"),
        "log level unknown": (["--log-level", "loud"], "--log-level"),
        "date not ISO": (["--date", "15/01/2023"], "ISO-8601"),
        "unknown flag": (["--bogus"], "unrecognized arguments: --bogus"),
        "scenario unknown": (["--scenario", "no-such-scenario"], "no-such-scenario"),
    }
    for name, (argv, expected) in cases.items():
        done = run_cli("serve", "--port", port, *argv)
        assert expected in one_line_failure(done), (name, done.stderr)


def test_a_port_in_use_fails_at_once(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run_cli("serve", "--port", str(taken.getsockname()[1]))
    line = one_line_failure(done)
    # gunicorn alone would log "Connection in use" and retry five times, a second apart.
    assert "cannot listen on 127.0.0.1:" in line and "in use" in line
    assert "Connection in use" not in done.stdout + done.stderr


def wait_for_ready(server) -> re.Match:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = READY.search(server.log_tail(100_000))
        if match:
            return match
        assert server.process.poll() is None, server.log_tail()
        time.sleep(0.05)
    raise AssertionError(f"no Ready line:\n{server.log_tail()}")


def test_ready_names_the_real_port_and_json_logs_carry_the_request_id(tmp_path):
    server = spawn_server(tmp_path, "json", "--port", "0", "--log-format", "json",
                          "--access-log")
    try:
        ready = wait_for_ready(server)
        port, insi, wsdl, dmp, dashboard = ready.groups()
        assert port != "0" and insi == f"http://127.0.0.1:{port}/lps"
        assert b"ICIRServiceBinding" in requests.get(wsdl, timeout=10).content
        assert requests.get(dashboard, timeout=10).status_code == 200
        assert requests.get(dmp + "patients?wsdl", timeout=10).status_code == 200
        answer = requests.post(insi, data=b"<not-soap/>", timeout=10, headers={
            "Content-Type": "application/soap+xml; charset=utf-8"})
        request_id = answer.headers["X-Request-Id"]
        deadline = time.monotonic() + 10  # another worker's entries come within 0.2 s
        while time.monotonic() < deadline:
            journal = requests.get(f"http://127.0.0.1:{port}/_admin/journal",
                                   timeout=10).json()["entries"]
            if request_id in {entry["request_id"] for entry in journal}:
                break
            time.sleep(0.1)
        assert request_id in {entry["request_id"] for entry in journal}
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=EXIT_WITHIN)
        assert server.process.returncode == 0
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log.read_text().splitlines()]  # all JSON
    access = [line for line in lines if line["logger"] == "gunicorn.access"
              and line["path"] == "/lps" and line["method"] == "POST"]
    assert [line["request_id"] for line in access] == [request_id]
    assert access[0]["status"] == answer.status_code and access[0]["duration_ms"] >= 0
    ready_line = next(line for line in lines if line.get("message", "").startswith("Ready"))
    assert ready_line["port"] == int(port) and ready_line["urls"]["wsdl"] == wsdl
    assert all({"time", "level", "logger"} <= set(line) for line in lines)


def test_a_temporary_data_directory_is_removed_at_exit(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIM_")}
    env.update(TMPDIR=str(tmp), SIM_POPULATION="50", SIM_PORT=str(free_port()))
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(CONSOLE_SCRIPT), "serve"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while "Ready on port" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.05)
        created = list(tmp.glob("insi-dmp-sim-*"))
        assert len(created) == 1 and (created[0] / "simulator.sqlite3").exists()
        process.send_signal(signal.SIGINT)  # Ctrl-C
        process.wait(timeout=EXIT_WITHIN)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log.read_text()
    assert process.returncode == 0 and "Traceback" not in output, output
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_the_plugin_removes_the_data_directory_it_created(mode, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with start_simulator(mode) as sim:
        assert sim.admin("GET", "/health")["status"] == "ok"
        assert len(list(tmp_path.glob("insi-dmp-sim-test-*"))) == 1
    assert list(tmp_path.glob("insi-dmp-sim-test-*")) == []


def test_process_mode_says_why_the_server_did_not_start(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_IDENTITIES_FILE", str(tmp_path / "absent.csv"))
    with pytest.raises(RuntimeError, match=r"did not become healthy(.|\n)*absent\.csv"):
        with start_simulator("process"):
            pass
