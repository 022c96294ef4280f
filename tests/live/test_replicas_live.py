"""Replicas (issue 17 item 4): TWO real ``insi-dmp-sim serve`` processes (their own
ports, 2 gunicorn workers each) on ONE real PostgreSQL database behave as one simulator.

- a feed acknowledged by replica A is found and retrieved through B; an identity added
  on A is found by INSi on B;
- a clock, a scenario and a reset set on A hold on B for every request sent one cache
  bound (SIM_STATE_CACHE_SECONDS) after A answered: the test waits the bound, then asks;
  it never bounds how long anything takes;
- concurrent feeds of one uniqueId through A and B keep one winner, the others get the
  registry's XDSDuplicateUniqueIdInRegistry, as within one process;
- a ``times: N`` rule fires N times in all across A and B, not N on each;
- SIGKILL of a replica while feeds are in flight: every feed it acknowledged is found,
  byte for byte, through the survivor;
- a replica joining live ones keeps their clock and scenario;
- the journal and /metrics say which replica answered; GET /_admin/replicas on either
  lists both with their heartbeats (and the dashboard shows them), a killed one turns
  stale, one stopped cleanly leaves the list.

The PostgreSQL server is the session's (tests/postgres_server.py): without one these
tests skip, and fail under SIM_TEST_REQUIRE_POSTGRES=1 (.ci/run).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from chaos_live import outcome, post, traits
from dmp_live import (
    DMP_PATH, FAILURE, NS, SUCCESS, DOCTOR, DmpLive, Feed, feed_package, hl7_ack, parse,
    retrieve_raw, simulated_now, td02, unique_ids, unique_oid)
from server_process import spawn_server
from simulator.kit import hl7, registry as reg, xds

SIM_DATE = "2025-03-03T09:30:00+00:00"
BOUND = 1.0  # SIM_STATE_CACHE_SECONDS of both replicas: the documented staleness bound
HEARTBEAT = 0.5  # SIM_REPLICA_HEARTBEAT_SECONDS
ROUNDS = 12  # requests on fresh connections: either worker of a replica may answer
HTTP_TIMEOUT = 15
PAIR = {"replica-a", "replica-b"}  # the module's replicas
PERSON = {"birth_name": "REPLIQUE", "first_names": "ANNE-SOPHIE", "sex": "F",
          "birth_date": "1988-04-09", "birth_place": "35238", "nir": "2880435238123"}


def start_replica(tmp_dir, name: str, database_url: str):
    """``serve`` on ``database_url`` as replica ``name`` (healthy when returned)."""
    process = spawn_server(tmp_dir, name, "--date", SIM_DATE, workers=2, env={
        "SIM_DATABASE_URL": database_url, "SIM_STATE_CACHE_SECONDS": str(BOUND),
        "SIM_REPLICA_ID": name, "SIM_REPLICA_HEARTBEAT_SECONDS": str(HEARTBEAT)})
    process.wait_healthy()
    return process


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, database_url):
    """(A, B): two serve processes on one database."""
    tmp_dir = tmp_path_factory.mktemp("replicas")
    started = []
    try:
        for name in ("replica-a", "replica-b"):
            started.append(start_replica(tmp_dir, name, database_url))
        yield tuple(started)
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def a_b(replicas):
    """(A, B) after a reset through A, with ADRUN's DMP open and the doctor authorised,
    and one bound waited so that B's workers see the reset."""
    a, b = replicas
    assert a.admin("POST", "/_admin/reset").status_code == 200
    dmp = DmpLive(a.base_url)
    assert hl7_ack(dmp.patients(hl7.create()).body) == ("AA", None)
    assert dmp.set_authorization().result.status == "DMPOK"
    dmp.close()
    time.sleep(BOUND)
    return a, b


def fresh_json(server, path: str) -> dict:
    """GET on a new connection (no keep-alive: another worker may answer)."""
    response = requests.get(server.url(path), timeout=HTTP_TIMEOUT,
                            headers={"Connection": "close"})
    assert response.status_code == 200, response.text
    return response.json()


def document_uids(found) -> set[str]:
    """uniqueIds of the documents proper (lot signatures left aside)."""
    return {uid for uid in unique_ids(found) if ".8121.21." in uid}


def found_through(server, *docs: xds.Doc) -> set[str]:
    """The uniqueIds among ``docs`` that TD3.1 finds through ``server``."""
    dmp = DmpLive(server.base_url)
    try:
        answer = dmp.registry(reg.find_documents())
        assert answer.body.get("status") == SUCCESS
        return document_uids(answer.body) & {doc.unique_id for doc in docs}
    finally:
        dmp.close()


def post_feed(base_url: str, package, session=None) -> Feed:
    content_type, raw, request = package
    http = (session or requests).post(f"{base_url}{DMP_PATH}/repository", data=raw,
                                      headers={"Content-Type": content_type},
                                      timeout=HTTP_TIMEOUT)
    assert http.status_code == 200, http.text
    return Feed(request, http, parse(http.content).find(f"{{{NS['soap']}}}Body")[0])


# --------------------------------------------------------------------------
# 1. Documents and identities
# --------------------------------------------------------------------------


def test_a_feed_acknowledged_by_a_is_found_and_retrieved_through_b(a_b):
    a, b = a_b
    doc = xds.Doc(unique_id=unique_oid())
    assert DmpLive(a.base_url).feed((doc,)).status == SUCCESS
    assert found_through(b, doc) == {doc.unique_id}
    http, _, parts = retrieve_raw(b.base_url, doc.unique_id)
    assert http.headers["Content-Type"].startswith("multipart/related")
    assert list(parts.values()) == [doc.bytes()]  # byte for byte


def test_an_identity_added_on_a_is_found_by_insi_on_b(a_b):
    a, b = a_b
    search = traits(PERSON["birth_name"], "ANNE-SOPHIE", "F", PERSON["birth_date"])
    assert outcome(post(b.lps_url, search)) == "CR 01"  # nobody yet
    assert a.admin("POST", "/_admin/identities", json=PERSON).status_code == 201
    answer = post(b.lps_url, search)
    assert outcome(answer) == "CR 00" and PERSON["nir"].encode() in answer.content


# --------------------------------------------------------------------------
# 2. Clock, scenario, reset: within the bound
# --------------------------------------------------------------------------


def test_a_clock_set_on_a_holds_on_b_for_every_request_after_the_bound(a_b):
    a, b = a_b
    for moment in ("2023-02-01T08:00:00+00:00", "2022-12-15T10:30:00+00:00"):
        a.set_clock(moment)
        time.sleep(BOUND)
        seen = {fresh_json(b, "/_admin/clock")["now"][:19] for _ in range(ROUNDS)}
        assert seen == {moment[:19]}
        # ... and B's services answer at that date (the journal's simulated time)
        assert outcome(post(b.lps_url, traits())) == "CR 00"
        assert poll(lambda: [e for e in b.journal() if e["service"] == "insi" and
                             e["replica"] == "replica-b" and e["at"][:19] == moment[:19]])


def test_a_scenario_set_on_a_holds_on_b_for_every_request_after_the_bound(a_b):
    a, b = a_b
    activation = a.activate("name: all-down\nrules:\n  - match: {service: insi}\n"
                            "    action: {fault: desir_1020}\n")["activation"]
    time.sleep(BOUND)
    assert {fresh_json(b, "/_admin/scenario").get("activation") for _ in range(ROUNDS)} \
        == {activation}
    assert {outcome(post(b.lps_url, traits())) for _ in range(ROUNDS)} == \
        {"fault desir_1020"}
    assert a.admin("DELETE", "/_admin/scenario").status_code == 200
    time.sleep(BOUND)
    assert {outcome(post(b.lps_url, traits())) for _ in range(ROUNDS)} == {"CR 00"}


def test_a_reset_on_a_holds_on_b_for_every_request_after_the_bound(a_b):
    a, b = a_b
    doc = xds.Doc(unique_id=unique_oid())
    assert DmpLive(b.base_url).feed((doc,)).status == SUCCESS
    assert b.admin("POST", "/_admin/identities", json=PERSON).status_code == 201
    b.set_clock("2024-06-01T12:00:00+00:00")
    b.activate("name: down\nrules:\n  - match: {service: insi}\n"
               "    action: {fault: desir_1020}\n")
    time.sleep(BOUND)

    assert a.admin("POST", "/_admin/reset").status_code == 200
    time.sleep(BOUND)
    assert {fresh_json(b, "/_admin/clock")["now"][:13] for _ in range(ROUNDS)} == \
        {SIM_DATE[:13]}  # the configured start again (running from 09:30)
    assert {fresh_json(b, "/_admin/scenario")["active"] for _ in range(ROUNDS)} == {False}
    dmp = DmpLive(b.base_url)
    assert td02(dmp.patients(hl7.query()).body)[0] == "NF"  # no DMP any more
    assert b.admin("GET", f"/_admin/identities?q={PERSON['birth_name']}").json()["total"] == 0
    assert outcome(post(b.lps_url, traits())) == "CR 00"


# --------------------------------------------------------------------------
# 3. Races: one winner across replicas
# --------------------------------------------------------------------------


def test_one_unique_id_fed_through_a_and_b_at_once_registers_once(a_b):
    a, b = a_b
    doc = xds.Doc(unique_id=unique_oid())
    now = simulated_now(a.base_url)
    targets = [a.base_url, b.base_url] * 5
    packages = [feed_package(url, (doc,), DOCTOR, now) for url in targets]
    barrier = threading.Barrier(len(targets))

    def one(index: int) -> tuple[str, Feed]:
        with requests.Session() as session:
            session.get(targets[index] + "/_admin/health", timeout=HTTP_TIMEOUT)
            barrier.wait(timeout=HTTP_TIMEOUT)
            return targets[index], post_feed(targets[index], packages[index], session)

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        results = list(pool.map(one, range(len(targets))))
    outcomes = Counter((r.status, tuple(r.error_codes)) for _, r in results)
    assert outcomes == {(SUCCESS, ()): 1,
                        (FAILURE, ("XDSDuplicateUniqueIdInRegistry",)): 9}
    for server in (a, b):
        dmp = DmpLive(server.base_url)
        found = dmp.registry(reg.find_documents()).body
        assert unique_ids(found).count(doc.unique_id) == 1
        dmp.close()


# --------------------------------------------------------------------------
# 4. A times: N rule counts across replicas
# --------------------------------------------------------------------------

THREE_TIMES = ("name: three\nseed: 1\nrules:\n  - name: three-faults\n"
               "    match: {service: insi}\n    times: 3\n    action: {fault: desir_1020}\n")


def test_a_times_rule_fires_n_times_in_all_across_a_and_b(a_b):
    a, b = a_b
    a.activate(THREE_TIMES)
    time.sleep(BOUND)
    # alternately through A and B: per-process counters would give 3 faults on each
    outcomes = [outcome(post(server.lps_url, traits())) for server in (a, b) * 6]
    assert outcomes == ["fault desir_1020"] * 3 + ["CR 00"] * 9
    for server in (a, b):
        rule = fresh_json(server, "/_admin/scenario")["rules"][0]
        assert (rule["matched"], rule["fired"]) == (12, 3)


def test_a_times_rule_fires_n_times_in_all_under_concurrent_calls(a_b):
    a, b = a_b
    a.activate(THREE_TIMES)
    time.sleep(BOUND)
    targets = [a.lps_url, b.lps_url] * 10
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        outcomes = Counter(pool.map(lambda url: outcome(post(url, traits())), targets))
    assert outcomes == {"fault desir_1020": 3, "CR 00": 17}
    assert a.admin("DELETE", "/_admin/scenario").status_code == 200


# --------------------------------------------------------------------------
# Which replica answered: journal, /metrics, /_admin/replicas
# --------------------------------------------------------------------------


def poll(check, attempts: int = 100, pause: float = 0.1):
    """``check()`` once it is truthy (B flushes its own journal: a read on A sees B's
    entries once B's flusher wrote them), else its last value."""
    for _ in range(attempts):
        found = check()
        if found:
            return found
        time.sleep(pause)
    return check()


def test_the_journal_and_metrics_say_which_replica_answered(a_b):
    a, b = a_b
    for server in (a, b):
        assert outcome(post(server.lps_url, traits(marker=f"which-{server.port}"))) == "CR 00"

    def entries():
        found = {e["replica"] for e in a.journal()
                 if e["request_id"] and e["service"] == "insi"}
        return found if found == {"replica-a", "replica-b"} else None
    assert poll(entries) == {"replica-a", "replica-b"}
    only_b = a.admin("GET", "/_admin/journal", params={"replica": "replica-b"}).json()
    assert only_b["count"] >= 1 and {e["replica"] for e in only_b["entries"]} == {"replica-b"}

    def labelled() -> set[str]:
        text = b.metrics()
        found = {sample.labels.get("replica") for family in text_string_to_metric_families(text)
                 for sample in family.samples if sample.name == "insi_dmp_sim_requests_total"}
        return found if found == {"replica-a", "replica-b"} else None
    assert poll(labelled) == {"replica-a", "replica-b"}


def test_each_replica_lists_both_with_their_heartbeats(a_b):
    a, b = a_b
    for server, me in ((a, "replica-a"), (b, "replica-b")):
        listed = fresh_json(server, "/_admin/replicas")
        assert listed["replica"] == me
        # (a replica killed by another test of this module may be listed too, stale)
        rows = {r["replica"]: r for r in listed["replicas"] if r["replica"] in PAIR}
        assert set(rows) == PAIR
        assert all(r["alive"] and r["details"]["workers"] == 2 for r in rows.values())
        assert [name for name, r in rows.items() if r["self"]] == [me]
    # the workers' heartbeats move last_seen on without any request to the replica
    before = {r["replica"]: r["last_seen"] for r in fresh_json(a, "/_admin/replicas")["replicas"]}
    time.sleep(HEARTBEAT * 3)
    after = {r["replica"]: r["last_seen"] for r in fresh_json(a, "/_admin/replicas")["replicas"]}
    assert after["replica-b"] > before["replica-b"]


# --------------------------------------------------------------------------
# 5. SIGKILL of a replica with feeds in flight
# --------------------------------------------------------------------------


def test_sigkill_of_a_replica_loses_no_acknowledged_feed(a_b, tmp_path, database_url):
    a, b = a_b
    # A replica joining live ones keeps their clock and scenario (its own --date and
    # scenario apply only to a database no live replica uses).
    a.set_clock("2025-03-04T10:00:00+00:00")
    activation = a.activate("name: insi-only\nrules:\n  - match: {service: insi}\n"
                            "    action: {fault: desir_1020}\n")["activation"]
    victim = start_replica(tmp_path, "replica-c", database_url)
    time.sleep(BOUND)
    for server in (b, victim):
        assert fresh_json(server, "/_admin/clock")["now"][:19] == "2025-03-04T10:00:00"
        assert fresh_json(server, "/_admin/scenario").get("activation") == activation
    acknowledged: list[xds.Doc] = []
    lock, stop = threading.Lock(), threading.Event()
    now = simulated_now(victim.base_url)

    def feed_until_killed() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                doc = xds.Doc(unique_id=unique_oid())
                package = feed_package(victim.base_url, (doc,), DOCTOR, now)
                try:
                    answer = post_feed(victim.base_url, package, session)
                except (requests.RequestException, AssertionError):
                    return  # the replica is gone: this feed was not acknowledged
                if answer.status == SUCCESS:
                    with lock:
                        acknowledged.append(doc)

    try:
        threads = [threading.Thread(target=feed_until_killed) for _ in range(4)]
        for thread in threads:
            thread.start()
        assert poll(lambda: len(acknowledged) >= 12, attempts=600), "no feed acknowledged"
        os.killpg(victim.process.pid, signal.SIGKILL)  # feeds in flight
        victim.process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=HTTP_TIMEOUT * 2)
    finally:
        stop.set()
        victim.stop()

    with lock:
        kept = list(acknowledged)
    assert found_through(b, *kept) == {doc.unique_id for doc in kept}
    for doc in kept[:3] + kept[-3:]:  # the first and the last acknowledged, byte for byte
        _, _, parts = retrieve_raw(b.base_url, doc.unique_id)
        assert list(parts.values()) == [doc.bytes()]

    def stale():
        rows = {r["replica"]: r for r in fresh_json(b, "/_admin/replicas")["replicas"]}
        return rows if not rows["replica-c"]["alive"] else None
    time.sleep(HEARTBEAT * 3)
    rows = poll(stale)
    assert rows and rows["replica-b"]["alive"] and not rows["replica-c"]["alive"]


# --------------------------------------------------------------------------
# The dashboard of either replica shows both
# --------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                    "(.ci/run installs Debian's chromium package)")
def test_the_dashboard_of_b_shows_both_replicas(a_b, tmp_path):
    _, b = a_b
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", b.url("/_admin/")],
        capture_output=True, timeout=60, check=True).stdout.decode()
    table = dom[dom.index('<table id="replicas">'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<tr class="(ok|fault)"><td><code>([^<]+)</code>( <span class="muted">'
                      r'\(this one\)</span>)?</td>\s*<td>(alive|stale)</td>', table)
    assert [(name, bool(this), state) for _, name, this, state in rows if name in PAIR] == \
        [("replica-a", False, "alive"), ("replica-b", True, "alive")]


def test_a_replica_stopped_cleanly_leaves_the_list(a_b, tmp_path, database_url):
    _, b = a_b
    leaving = start_replica(tmp_path, "replica-d", database_url)
    listed = {r["replica"] for r in fresh_json(b, "/_admin/replicas")["replicas"]}
    assert "replica-d" in listed
    leaving.stop()  # SIGTERM: gunicorn's graceful stop
    listed = {r["replica"] for r in fresh_json(b, "/_admin/replicas")["replicas"]}
    assert "replica-d" not in listed and PAIR <= listed
