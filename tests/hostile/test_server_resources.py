"""Resources of the real server under hostile or unlucky conditions (issue 14): memory
after large accepted requests, a full disk, SIGTERM with requests in flight, and the
database lock shared by the greenlets of one worker."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import requests

from simulator.kit import hl7, registry as reg
from dmp_builders.client import SET_AUTHORIZATION, set_authorization
from hostile_payloads import package
from live_hostile import (
    HANG_GUARD, SOAP_CT, insi_request, resident_mb, spawn_server, worker_pids)

LARGE_PARTS = 40  # issue 14: ~40 accepted requests of 3.5 MB brought a worker near 1 GB
# Large requests before the first measure: a worker's first ones raise its heap to a
# high-water mark that varied from 5 to 22 MB between runs of the same code (two
# workers, a loaded machine); the test is after the growth that goes on past it.
LARGE_WARMUP = 6
LARGE_BYTES = 3_500_000
TRIMMED_GROWTH_MB = 20  # the bound the memory benchmark and the soak allow a worker


# --- memory after large accepted requests ------------------------------------------------

def large_request(seed: int) -> tuple[str, bytes]:
    """An INSi search, answered in-band, carrying a 3.5 MB MTOM part in an ignored
    header block (parsed, inlined as 4.7 MB of base64, then dropped)."""
    return package(insi_request(), parts=[("0.2", bytes([seed % 251]) * LARGE_BYTES)])


def workers_mb(server) -> dict[int, float]:
    return {pid: resident_mb(pid) for pid in worker_pids(server)}


def growth_after_large_requests(tmp_path: Path, name: str, env: dict) -> dict[int, tuple]:
    """{worker pid: (MB before, MB after)} around LARGE_PARTS large requests, on a
    fresh server after a warm-up of small ones and LARGE_WARMUP large ones."""
    server = spawn_server(tmp_path, name, population=0, env=env)
    try:
        server.wait_healthy()
        for _ in range(10):  # warm-up: both workers, every code path once
            requests.post(server.lps_url, data=insi_request(), timeout=HANG_GUARD,
                          headers={"Content-Type": SOAP_CT})
        for number in range(LARGE_WARMUP):
            content_type, body = large_request(LARGE_PARTS + number)
            requests.post(server.lps_url, data=body, timeout=HANG_GUARD,
                          headers={"Content-Type": content_type})
        before = workers_mb(server)
        for number in range(LARGE_PARTS):
            content_type, body = large_request(number)
            answer = requests.post(server.lps_url, data=body, timeout=HANG_GUARD,
                                   headers={"Content-Type": content_type})
            assert answer.status_code == 200 and b"RESULTAT" in answer.content
        after = workers_mb(server)
    finally:
        server.stop()
    return {pid: (before[pid], after[pid]) for pid in before}


def test_workers_give_memory_back_after_large_requests(tmp_path):
    """``SIM_MEMORY_TRIM_BYTES`` (default 1 MB): after each large request the worker
    returns its freed heap to the system (malloc_trim). The workers grow by at most
    TRIMMED_GROWTH_MB over the 140 MB of requests and, when they grow more than twice
    that with trimming off (0, same run), by at most half as much as then.

    The comparison needs freed heap to give back: with a parser per request and spyne
    reading every body, the untrimmed workers grew by 100-120 MB; reading bodies
    directly with one parser (issue 15) they grow by about 13 MB, trimmed 8-12 MB.
    Measured after LARGE_WARMUP large requests (three runs, this machine): trimmed
    1-7 MB, untrimmed 1-14 MB; from the first large request on, 5-22 MB either way."""
    trimmed = growth_after_large_requests(tmp_path, "trim-on", {})
    untrimmed = growth_after_large_requests(tmp_path, "trim-off", {"SIM_MEMORY_TRIM_BYTES": "0"})

    def show(figures):
        return ", ".join(f"{b:.0f} -> {a:.0f} MB" for b, a in figures.values())
    print(f"\n{LARGE_PARTS} requests of 3.5 MB, per worker: trimmed {show(trimmed)}; "
          f"untrimmed {show(untrimmed)}")
    grown = max(a - b for b, a in trimmed.values())
    grown_untrimmed = max(a - b for b, a in untrimmed.values())
    assert grown < TRIMMED_GROWTH_MB, (trimmed, untrimmed)
    if grown_untrimmed > 2 * TRIMMED_GROWTH_MB:
        assert grown < grown_untrimmed / 2, (trimmed, untrimmed)


# --- disk full ---------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 6 MB tmpfs (root only; skipped elsewhere); ``grow()`` gives it room again."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")

    class Disk:
        path = mount

        @staticmethod
        def grow():
            subprocess.run(["mount", "-o", "remount,size=24m", str(mount)], check=True)
    try:
        yield Disk
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_keeps_reads_working_and_says_so_to_writes(small_disk):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_durability_kill import NS, call, next_feed, query
    from dmp_live import DMP_PATH, SUCCESS, parse, simulated_now

    server = spawn_server(small_disk.path, "full", "--date", "2025-03-03T09:30:00+00:00",
                          population=0)
    try:
        server.wait_healthy()
        base = server.base_url
        call(base, "patients", hl7.create(), "urn:hl7-org:v3:PRPA_IN201311UV02")
        call(base, "habilitations", set_authorization("AJOUT"), SET_AUTHORIZATION)
        now = simulated_now(base)

        def feed() -> requests.Response:
            _, content_type, raw = next_feed(base, now, 1)
            return requests.post(f"{base}{DMP_PATH}/repository", data=raw, timeout=HANG_GUARD,
                                 headers={"Content-Type": content_type})
        stored = 0
        while True:  # feed until the disk is full (6 MB: a few dozen feeds)
            answer = feed()
            body = parse(answer.content).find(f"{{{NS['soap']}}}Body")[0]
            if answer.status_code != 200 or body.get("status") != SUCCESS:
                break
            stored += 1
            assert stored < 500, "the disk never filled"
        assert answer.status_code == 500
        assert "the simulator's storage is full: nothing of this request was stored" \
            in answer.text
        for _ in range(3):  # reads keep working, the journal too
            found = query(base, reg.find_documents())
            assert found.get("status") == SUCCESS
            assert len(found.findall(".//{*}ExtrinsicObject")) == 2 * stored
        journal = server.admin("GET", "/_admin/journal", params={"limit": 5})
        assert journal.status_code == 200 and journal.json()["entries"], journal.text
        assert server.admin("GET", "/metrics").status_code == 200

        small_disk.grow()  # space comes back: writes work again, nothing lost
        answer = feed()
        assert parse(answer.content).find(f"{{{NS['soap']}}}Body")[0].get("status") == SUCCESS
        found = query(base, reg.find_documents())
        assert len(found.findall(".//{*}ExtrinsicObject")) == 2 * (stored + 1)
    finally:
        server.stop()
    print(f"\ndisk full after {stored} feeds: reads, journal and metrics answered; the next "
          "feed got the storage-full fault; after growing the disk the next feed was stored")


# --- SIGTERM with requests in flight --------------------------------------------------------

SLOW_SCENARIO = textwrap.dedent("""\
    name: slow-for-drain
    rules:
      - name: slower-than-the-drain
        match: {service: insi}
        times: 1
        latency: 60s
        action: {fault: desir_1020}
      - name: within-the-drain
        match: {service: insi}
        latency: 1s
    """)


def test_sigterm_drains_requests_in_flight_with_their_scenario_outcome(tmp_path):
    """SIGTERM while two requests wait in injected delays: the one that ends within
    ``SIM_GRACEFUL_TIMEOUT`` gets its normal answer, the one delayed beyond gets its
    scenario's fault before the deadline; neither connection is cut."""
    server = spawn_server(tmp_path, "drain", population=0,
                          env={"SIM_GRACEFUL_TIMEOUT": "4"})
    answers: dict[str, object] = {}
    try:
        server.wait_healthy()
        server.activate(SLOW_SCENARIO)

        def search(name: str, body: bytes) -> None:
            try:
                answers[name] = requests.post(server.lps_url, data=body, timeout=HANG_GUARD,
                                              headers={"Content-Type": SOAP_CT})
            except requests.RequestException as error:
                answers[name] = error
        threads = [threading.Thread(target=search, args=(name, insi_request()))
                   for name in ("beyond", "within")]  # the first takes the rule of times: 1
        for thread in threads:
            thread.start()
            time.sleep(0.3)  # in its delay before the next one starts
        waited = server.terminate()
        for thread in threads:
            thread.join(HANG_GUARD)
    finally:
        server.stop()
    beyond, within = answers["beyond"], answers["within"]
    assert isinstance(within, requests.Response) and within.status_code == 200, within
    assert isinstance(beyond, requests.Response), f"connection cut: {beyond!r}"
    assert beyond.status_code == 500 and b"DESIR_1020" in beyond.content.upper(), beyond.text
    print(f"\nSIGTERM with 2 delayed requests: exit after {waited:.1f} s, the 1 s one "
          "answered normally, the 60 s one got its scenario's fault")


# --- the database lock --------------------------------------------------------------------

LOCK_PROBE = textwrap.dedent("""\
    import os, sys, tempfile
    from pathlib import Path
    from simulator.store.database import Database
    db = Database(Path(tempfile.mkdtemp()) / "probe.db", "CREATE TABLE t (x)")
    db.execute("SELECT 1")  # used in the 'master', as preload does
    pid = os.fork()
    if pid:
        sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    from gevent import monkey
    monkey.patch_all()  # what gunicorn's gevent worker does after the fork
    import gevent
    holders, peak, errors = [0], [0], []

    def transaction(number):
        try:
            with db.transaction() as conn:
                holders[0] += 1
                peak[0] = max(peak[0], holders[0])
                conn.execute("INSERT INTO t VALUES (?)", (number,))
                gevent.sleep(0.01)  # a transaction that yields
                holders[0] -= 1
        except Exception as error:
            errors.append(repr(error))
    gevent.joinall([gevent.spawn(transaction, n) for n in range(5)])
    rows = db.execute("SELECT count(*) FROM t")[0][0]
    print(f"peak={peak[0]} rows={rows} errors={errors}")
    os._exit(0 if (peak[0], rows, errors) == (1, 5, []) else 1)
    """)


def test_the_database_lock_is_cooperative_in_a_forked_gevent_worker():
    """The app (and its Database) is built in gunicorn's master, before the fork and the
    gevent patch: five greenlets whose transactions yield must take turns."""
    done = subprocess.run([sys.executable, "-c", LOCK_PROBE], capture_output=True,
                          text=True, timeout=HANG_GUARD)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "peak=1 rows=5 errors=[]" in done.stdout
